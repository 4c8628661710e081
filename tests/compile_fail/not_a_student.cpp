// Must NOT compile: something that is neither a student nor a layer spec as the student.
#include <b2m/b2m.hpp>
using namespace b2m;
int main() {
    matrix<float> weights;
    auto trainer = train::make_trainer(weights, loss::mse(nn::output, data::targets), optim::adam({}));
    (void)trainer;
}

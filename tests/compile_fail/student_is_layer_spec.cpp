// Must NOT compile: a layer spec given to make_trainer as the student.
#include <b2m/b2m.hpp>
using namespace b2m;
int main() {
    auto trainer = train::make_trainer(nn::dense(4, 2), loss::mse(nn::output, data::targets), optim::adam({}));
    (void)trainer;
}

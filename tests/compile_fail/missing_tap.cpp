// Must NOT compile: the objective reads a tap the student does not contain.
#include <b2m/b2m.hpp>
using namespace b2m;
int main() {
    auto student = nn::sequential(nn::dense(4, 8), nn::relu{}, nn::tap<"embed">{}, nn::dense(8, 2));
    auto trainer = train::make_trainer(student, loss::mse(nn::tap<"embedding">{}, data::brain), optim::adam({}));
    (void)trainer;
}

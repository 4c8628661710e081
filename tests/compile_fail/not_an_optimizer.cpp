// Must NOT compile: optimiser options (not the spec optim::adam(options)) as the optimiser.
#include <b2m/b2m.hpp>
using namespace b2m;
int main() {
    auto student = nn::sequential(nn::dense(4, 8), nn::relu{}, nn::dense(8, 2));
    auto trainer = train::make_trainer(student, loss::mse(nn::output, data::targets), optim::adam_options{.lr = 0.1});
    (void)trainer;
}

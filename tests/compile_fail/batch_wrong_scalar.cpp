// Must NOT compile: a batch<double> given to a float trainer.
#include <b2m/b2m.hpp>
using namespace b2m;
int main() {
    auto student = nn::sequential(nn::dense(4, 8), nn::relu{}, nn::dense(8, 2));
    auto trainer = train::make_trainer(student, loss::mse(nn::output, data::targets), optim::adam({}));
    train::batch<double> data;
    train::fit(trainer, data, nullptr, {.epochs = 1});
}

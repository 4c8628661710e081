// Must NOT compile: an argument after the options that has no callback hook.
#include <b2m/b2m.hpp>
using namespace b2m;
struct logger {
    void log(const train::epoch_record&) {}
};
int main() {
    auto student = nn::sequential(nn::dense(4, 8), nn::relu{}, nn::dense(8, 2));
    auto trainer = train::make_trainer(student, loss::mse(nn::output, data::targets), optim::adam({}));
    train::batch<float> data;
    train::fit(trainer, data, nullptr, {.epochs = 1}, logger{});
}

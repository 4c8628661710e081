// Must NOT compile: a callback whose on_epoch_end has the wrong signature (it would
// otherwise never be called).
#include <b2m/b2m.hpp>
using namespace b2m;
struct stop_at_ten {
    void on_epoch_end(const train::fit_state&) {}  // wrong: takes no epoch_record, returns void
};
int main() {
    auto student = nn::sequential(nn::dense(4, 8), nn::relu{}, nn::dense(8, 2));
    auto trainer = train::make_trainer(student, loss::mse(nn::output, data::targets), optim::adam({}));
    train::batch<float> data;
    train::fit(trainer, data, nullptr, {.epochs = 1}, stop_at_ten{});
}

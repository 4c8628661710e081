// Must compile: make_trainer, fit and callbacks used correctly (the controls of the
// entry-point cases): a moved and a named student, a double trainer with a batch<double>,
// a callback using every hook, a user-written layer that meets nn::layer_object.
#include <b2m/b2m.hpp>
using namespace b2m;
template <real T>
struct half_object {
    static constexpr int rank_out = 0;
    matrix<T> y, gx;
    void init(rng&) {}
    const matrix<T>& forward(const matrix<T>& x, const nn::step_context&) { return y = 0.5 * x; }
    const matrix<T>& backward(const matrix<T>& gy, bool) { return gx = 0.5 * gy; }
    template <class F> void for_each_param(F&&) {}
};
struct half {
    template <real T> half_object<T> make() const { return {}; }
};
struct every_hook {
    void on_fit_begin(const train::fit_state&) {}
    void on_epoch_begin(const train::fit_state&) {}
    void on_step(const train::fit_state&, std::size_t, std::size_t, double) {}
    bool on_epoch_end(const train::fit_state&, const train::epoch_record&) { return true; }
};
struct only_end {
    bool on_epoch_end(const train::fit_state&, const train::epoch_record&) { return true; }
};
int main() {
    auto student = nn::sequential<double>(nn::dense(4, 8), half{}, nn::relu{}, nn::dense(8, 2));
    auto trainer = train::make_trainer(student, loss::mse(nn::output, data::targets), optim::adam({}));
    train::batch<double> data;
    train::fit(trainer, data, nullptr, {.epochs = 1}, every_hook{}, only_end{}, train::progress{},
               train::early_stopping{});
    auto owned = train::make_trainer(std::move(student), loss::mse(nn::output, data::targets), optim::sgd({}));
    train::fit(owned, data, &data, {.epochs = 1});
}

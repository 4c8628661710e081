// A GRU student on a sequence decision task (evidence accumulation) that checks its own result.
//
// Task: each trial is a sequence of up to 50 steps with 2 inputs per step: noisy evidence
// e_t = 0.15 * s + N(0, 1) for a hidden sign s = +-1, and a pure-noise distractor. Trials
// have variable lengths (20..50 steps); the lengths travel in the batch (data::batch::lengths)
// and train::fit hands them to the GRU, so padded steps, which hold garbage, are ignored.
// The correct decision is the sign of the summed evidence over the valid steps, so the
// student must integrate over time.
// Student: GRU(2, 32) -> last_step -> Dense(32, 2), cross-entropy, Adam.
// Exits 1 unless held-out accuracy exceeds 0.85 (chance 0.5).
#include <b2m/b2m.hpp>

#include <cstdio>

using namespace b2m;

namespace {
constexpr std::size_t steps = 50, features = 2, hidden = 32;

/// x (n, steps*features), labels (n), lengths (n): valid steps per trial.
train::batch<float> make_trials(std::size_t n, rng& r) {
    train::batch<float> t;
    t.x = matrix<float>::from_shape({n, steps * features});
    t.labels = index_vector::from_shape({n});
    t.lengths = index_vector::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) {
        const double sign = r.uniform() < 0.5 ? -1.0 : 1.0;
        const std::size_t len = 20 + r.below(steps - 20 + 1);
        double sum = 0;
        for (std::size_t s = 0; s < steps; ++s) {
            float* x = &t.x(i, s * features);
            if (s < len) {
                x[0] = float(0.15 * sign + r.normal());
                x[1] = float(r.normal());
                sum += x[0];
            } else {  // padding: large garbage the masked GRU must ignore
                x[0] = float(5.0 * r.normal());
                x[1] = float(5.0 * r.normal());
            }
        }
        t.labels(i) = sum > 0 ? 1 : 0;
        t.lengths(i) = std::int64_t(len);
    }
    return t;
}
} // namespace

int main() {
    rng data_rng(11);
    const train::batch<float> train_set = make_trials(4096, data_rng);
    const train::batch<float> test_set = make_trials(2000, data_rng);

    auto student = nn::sequential(nn::gru(features, hidden), nn::tap<"states">{}, nn::last_step(hidden),
                                  nn::dense(hidden, 2, true, nn::init::fan_in_uniform));
    auto trainer = train::make_trainer(student, loss::cross_entropy(nn::output, data::labels),
                                       optim::adam({.lr = 1e-2}), {.seed = 3, .clip_norm = 5.0});
    const auto report = train::fit(trainer, train_set, &test_set, {.epochs = 4, .batch_size = 64, .shuffle_seed = 5},
                                   train::progress{});
    const double acc = report.epochs.back().val_accuracy;
    std::printf("final test accuracy %.3f (chance 0.5)\n", acc);
    return acc > 0.85 ? 0 : 1;
}

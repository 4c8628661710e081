// A GRU student on a sequence decision task (evidence accumulation) that checks its own result.
//
// Task: each trial is a sequence of up to 50 steps with 2 inputs per step: noisy evidence
// e_t = 0.15 * s + N(0, 1) for a hidden sign s = +-1, and a pure-noise distractor. Trials
// have variable lengths (20..50 steps, passed to the GRU with set_lengths; padded steps
// hold garbage that must be ignored). The correct decision is the sign of the summed
// evidence over the valid steps, so the student must integrate over time.
// Student: GRU(2, 32) -> last_step -> Dense(32, 2), cross-entropy, Adam.
// Exits 1 unless held-out accuracy exceeds 0.85 (chance 0.5).
#include <b2m/b2m.hpp>

#include <cstdio>
#include <numeric>
#include <vector>

using namespace b2m;

namespace {
constexpr std::size_t steps = 50, features = 2, hidden = 32;

struct trials {
    train::batch<float> data;          // x (N, steps*features), labels (N)
    std::vector<std::int64_t> lengths;  // valid steps per trial
};

trials make_trials(std::size_t n, rng& r) {
    trials t;
    t.data.x = matrix<float>::from_shape({n, steps * features});
    t.data.labels = index_vector::from_shape({n});
    t.lengths.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double sign = r.uniform() < 0.5 ? -1.0 : 1.0;
        const std::size_t len = 20 + r.below(steps - 20 + 1);
        double sum = 0;
        for (std::size_t s = 0; s < steps; ++s) {
            float* x = &t.data.x(i, s * features);
            if (s < len) {
                x[0] = float(0.15 * sign + r.normal());
                x[1] = float(r.normal());
                sum += x[0];
            } else {  // padding: large garbage the masked GRU must ignore
                x[0] = float(5.0 * r.normal());
                x[1] = float(5.0 * r.normal());
            }
        }
        t.data.labels(i) = sum > 0 ? 1 : 0;
        t.lengths[i] = std::int64_t(len);
    }
    return t;
}

/// Copies trials idx[begin, end) into out (reusing its buffers).
void gather(const trials& d, const std::vector<std::size_t>& idx, std::size_t begin, std::size_t end, trials& out) {
    const std::size_t n = end - begin, w = d.data.x.shape(1);
    ensure_shape(out.data.x, n, w);
    if (out.data.labels.size() != n) out.data.labels.resize({n});
    out.lengths.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::copy_n(d.data.x.data() + idx[begin + i] * w, w, out.data.x.data() + i * w);
        out.data.labels(i) = d.data.labels(idx[begin + i]);
        out.lengths[i] = d.lengths[idx[begin + i]];
    }
}

double accuracy(const matrix<float>& logits, const index_vector& labels) {
    std::size_t hit = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) hit += (logits(i, 1) > logits(i, 0) ? 1 : 0) == labels(i);
    return double(hit) / double(labels.size());
}
} // namespace

int main() {
    rng data_rng(11);
    const trials train_set = make_trials(4096, data_rng);
    const trials test_set = make_trials(2000, data_rng);

    auto student = nn::sequential(nn::gru(features, hidden), nn::tap<"states">{}, nn::last_step(hidden),
                                  nn::dense(hidden, 2, true, nn::init::fan_in_uniform));
    auto trainer = train::make_trainer(student, loss::cross_entropy(nn::output, data::labels),
                                       optim::adam({.lr = 1e-2}), {.seed = 3, .clip_norm = 5.0});
    auto& gru = trainer.student().layer<0>();

    auto evaluate = [&] {
        gru.set_lengths(test_set.lengths);
        return accuracy(trainer.predict(test_set.data.x), test_set.data.labels);
    };

    std::vector<std::size_t> order(train_set.data.size());
    std::iota(order.begin(), order.end(), 0);
    rng shuffle_rng(5);
    trials b;
    const std::size_t batch = 64;
    for (int epoch = 1; epoch <= 4; ++epoch) {
        shuffle_rng.shuffle(order);
        double loss = 0;
        std::size_t n = 0;
        for (std::size_t s = 0; s + batch <= order.size(); s += batch, ++n) {
            gather(train_set, order, s, s + batch, b);
            gru.set_lengths(b.lengths);
            loss += trainer.step(b.data).total;
        }
        std::printf("epoch %d  train loss %.4f  test accuracy %.3f\n", epoch, loss / double(n), evaluate());
    }
    const double acc = evaluate();
    std::printf("final test accuracy %.3f (chance 0.5)\n", acc);
    return acc > 0.85 ? 0 : 1;
}

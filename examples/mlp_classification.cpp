// Trains an MLP on a synthetic but learnable task and checks its own result.
//
// Task: 20-dimensional inputs, 5 classes given by a fixed random "teacher" MLP (argmax of
// its outputs). A student MLP (20 -> 64 -> 64 -> 5, ReLU) is trained with Adam on 4000
// examples and tested on 1000 held-out ones. Exits 1 if test accuracy stays near chance.
#include <b2m/b2m.hpp>

#include <cstdio>
#include <numeric>
#include <vector>

using namespace b2m;

namespace {
constexpr std::size_t features = 20, classes = 5;

/// Draws n inputs and labels them with the teacher network.
train::batch<float> make_data(std::size_t n, rng& r) {
    static auto teacher = [] {
        auto t = nn::sequential(nn::dense(features, 32), nn::tanh{}, nn::dense(32, classes));
        t.init(rng(12345));
        return t;
    }();
    train::batch<float> d;
    d.x = matrix<float>::from_shape({n, features});
    r.fill_normal(d.x);
    const auto& logits = teacher.forward(d.x, {.training = false});
    d.labels = index_vector::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t best = 0;
        for (std::size_t j = 1; j < classes; ++j)
            if (logits(i, j) > logits(i, best)) best = j;
        d.labels(i) = std::int64_t(best);
    }
    return d;
}

/// Copies rows idx[begin, end) of d into out (reusing out's buffers).
void gather(const train::batch<float>& d, const std::vector<std::size_t>& idx, std::size_t begin, std::size_t end,
            train::batch<float>& out) {
    const std::size_t n = end - begin, f = d.x.shape(1);
    ensure_shape(out.x, n, f);
    if (out.labels.size() != n) out.labels.resize({n});
    for (std::size_t i = 0; i < n; ++i) {
        std::copy_n(d.x.data() + idx[begin + i] * f, f, out.x.data() + i * f);
        out.labels(i) = d.labels(idx[begin + i]);
    }
}

double accuracy(const matrix<float>& logits, const index_vector& labels) {
    std::size_t hit = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        std::size_t best = 0;
        for (std::size_t j = 1; j < logits.shape(1); ++j)
            if (logits(i, j) > logits(i, best)) best = j;
        hit += std::int64_t(best) == labels(i);
    }
    return double(hit) / double(labels.size());
}
} // namespace

int main() {
    rng data_rng(2024);
    const auto train_set = make_data(4000, data_rng);
    const auto test_set = make_data(1000, data_rng);

    auto student = nn::sequential(nn::dense(features, 64), nn::relu{}, nn::dense(64, 64), nn::relu{},
                                  nn::tap<"embed">{}, nn::dense(64, classes));
    auto trainer = train::make_trainer(student, loss::cross_entropy(nn::output, data::labels),
                                       optim::adam({.lr = 3e-3}), {.seed = 7});

    std::vector<std::size_t> order(train_set.size());
    std::iota(order.begin(), order.end(), 0);
    rng shuffle_rng(99);
    train::batch<float> b;
    const std::size_t batch = 128;
    for (int epoch = 1; epoch <= 15; ++epoch) {
        shuffle_rng.shuffle(order);
        double loss = 0;
        std::size_t steps = 0;
        for (std::size_t s = 0; s + batch <= order.size(); s += batch, ++steps) {
            gather(train_set, order, s, s + batch, b);
            loss += trainer.step(b).total;
        }
        if (epoch % 5 == 0 || epoch == 1)
            std::printf("epoch %2d  train loss %.4f  test accuracy %.3f\n", epoch, loss / double(steps),
                        accuracy(trainer.predict(test_set.x), test_set.labels));
    }
    const double acc = accuracy(trainer.predict(test_set.x), test_set.labels);
    const double chance = 1.0 / double(classes);
    std::printf("final test accuracy %.3f (chance %.3f)\n", acc, chance);
    return acc > chance + 0.3 ? 0 : 1;
}

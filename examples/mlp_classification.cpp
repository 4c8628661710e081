// Trains an MLP on a synthetic but learnable task and checks its own result.
//
// Task: 20-dimensional inputs, 5 classes given by a fixed random "teacher" MLP (argmax of
// its outputs). A student MLP (20 -> 64 -> 64 -> 5, ReLU) is trained with Adam on 4000
// examples and tested on 1000 held-out ones. Exits 1 if test accuracy stays near chance.
#include <b2m/b2m.hpp>

#include <cstdio>

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

} // namespace

int main() {
    rng data_rng(2024);
    const auto train_set = make_data(4000, data_rng);
    const auto test_set = make_data(1000, data_rng);

    auto student = nn::sequential(nn::dense(features, 64), nn::relu{}, nn::dense(64, 64), nn::relu{},
                                  nn::tap<"embed">{}, nn::dense(64, classes));
    auto trainer = train::make_trainer(student, loss::cross_entropy(nn::output, data::labels),
                                       optim::adam({.lr = 3e-3}), {.seed = 7});

    const auto report = train::fit(trainer, train_set, &test_set, {.epochs = 15, .batch_size = 128, .shuffle_seed = 99},
                                   train::progress{});
    const double acc = report.epochs.back().val_accuracy;
    const double chance = 1.0 / double(classes);
    std::printf("final test accuracy %.3f (chance %.3f)\n", acc, chance);
    return acc > chance + 0.3 ? 0 : 1;
}

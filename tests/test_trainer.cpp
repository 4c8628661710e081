// The trainer: a step reduces the loss, seeds make runs identical, a non-finite loss is
// reported (naming the term) and not trained on, shape errors are named.
#include <doctest/doctest.h>

#include <b2m/b2m.hpp>

#include <cmath>

using namespace b2m;

namespace {
train::batch<float> xor_batch() {
    train::batch<float> b;
    b.x = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    b.labels = {0, 1, 1, 0};
    b.targets = {{0}, {1}, {1}, {0}};
    return b;
}
auto make(std::uint64_t seed) {
    auto net = nn::sequential(nn::dense(2, 16), nn::tanh{}, nn::tap<"h">{}, nn::dense(16, 2));
    return train::make_trainer(std::move(net), loss::cross_entropy(nn::output, data::labels), optim::adam({.lr = 0.05}),
                               {.seed = seed});
}
} // namespace

TEST_CASE("training on XOR drives the loss down and classifies all four points") {
    auto t = make(1);
    const auto b = xor_batch();
    const float first = t.step(b).total;
    float last = first;
    for (int i = 0; i < 300; ++i) last = t.step(b).total;
    CHECK(last < 0.05f * first);
    const auto& y = t.predict(b.x);
    for (std::size_t i = 0; i < 4; ++i) CHECK((y(i, 1) > y(i, 0)) == (b.labels(i) == 1));
}

TEST_CASE("the same seed gives bit-identical runs - another seed does not") {
    auto a = make(3), b = make(3), c = make(4);
    const auto batch = xor_batch();
    for (int i = 0; i < 20; ++i) {
        a.step(batch);
        b.step(batch);
        c.step(batch);
    }
    CHECK(a.predict(batch.x) == b.predict(batch.x));
    CHECK(a.predict(batch.x) != c.predict(batch.x));
}

TEST_CASE("a NaN loss is reported with the term's name and the parameters stay untouched") {
    auto net = nn::sequential(nn::dense(2, 3), nn::tap<"h">{}, nn::dense(3, 1));
    auto t = train::make_trainer(net, loss::mse(nn::output, data::targets) + 0.5 * loss::mse(nn::tap<"h">{}, data::brain),
                                 optim::sgd({.lr = 0.1}), {.seed = 1});
    auto b = xor_batch();
    b.brain = xt::zeros<float>({4, 3});
    b.brain(2, 1) = std::nanf("");
    const auto before = t.student().layer<0>().weight();
    CHECK_THROWS_WITH_AS(t.step(b), doctest::Contains("objective term 'mse(nn::tap<\"h\">, data::brain)' is not finite"),
                         nonfinite_error);
    CHECK(t.student().layer<0>().weight() == before);
    b.brain(2, 1) = 0.0f;
    const auto r = t.step(b);
    CHECK(std::isfinite(r.total));
    CHECK(r.total == doctest::Approx(r.values[0] + 0.5f * r.values[1]));
}

TEST_CASE("per-term values, names and clipping are reported") {
    auto net = nn::sequential(nn::dense(2, 3), nn::tap<"h">{}, nn::dense(3, 2));
    auto t = train::make_trainer(net, loss::cross_entropy(nn::output, data::labels) + 2.0 * loss::mse(nn::tap<"h">{}, data::brain),
                                 optim::adam({}), {.seed = 1, .clip_norm = 1e-3});
    auto b = xor_batch();
    b.brain = xt::ones<float>({4, 3});
    const auto r = t.step(b);
    CHECK(t.term_names()[0] == "cross_entropy(nn::output)");
    CHECK(t.term_names()[1] == "mse(nn::tap<\"h\">, data::brain)");
    CHECK(r.grad_norm > 1e-3);
}

TEST_CASE("a batch whose inputs do not fit the student is a named shape error") {
    auto t = make(1);
    train::batch<float> b;
    b.x = xt::zeros<float>({4, 3});
    b.labels = {0, 1, 1, 0};
    CHECK_THROWS_WITH_AS(t.step(b), doctest::Contains("input has shape (4, 3)"), shape_error);
    b.x = xt::zeros<float>({0, 2});
    CHECK_THROWS_AS(t.step(b), data_error);
}

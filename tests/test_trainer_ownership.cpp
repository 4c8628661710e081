// Ownership in make_trainer (a named student is trained in place, a moved one is owned),
// eager building of lazily created parts (build), and load() on a fresh trainer; the
// README's example, compiled and run on small synthetic data.
#include <doctest/doctest.h>

#include <b2m/b2m.hpp>

#include <filesystem>

using namespace b2m;

namespace {
/// A learnable 3-class problem with a brain-like teacher signal.
train::batch<float> make_data(std::size_t n, std::size_t features, std::uint64_t seed) {
    train::batch<float> d;
    d.x = matrix<float>::from_shape({n, features});
    rng(seed).fill_normal(d.x);
    d.labels = index_vector::from_shape({n});
    d.brain = matrix<float>::from_shape({n, 5});
    for (std::size_t i = 0; i < n; ++i) {
        d.labels(i) = d.x(i, 0) > 0.5f ? 2 : (d.x(i, 1) > 0 ? 1 : 0);
        for (std::size_t j = 0; j < 5; ++j) d.brain(i, j) = std::tanh(d.x(i, j) - d.x(i, (j + 2) % features));
    }
    return d;
}
std::string temp_path(const char* name) { return (std::filesystem::temp_directory_path() / name).string(); }
} // namespace

TEST_CASE("README example: the named student is the trained one after fit") {
    // The README's example with 784 -> 24 features and small data sets (same code otherwise).
    const std::string ckpt = temp_path("b2m_test_readme.ckpt"), log = temp_path("b2m_test_readme.csv");
    std::filesystem::remove(ckpt);
    std::filesystem::remove(log);
    train::batch<float> train_set = make_data(256, 24, 1), test_set = make_data(128, 24, 2);

    auto student = nn::sequential(nn::dense(24, 32), nn::relu{}, nn::tap<"embed">{}, nn::dense(32, 3));
    auto objective = loss::cross_entropy(nn::output, data::labels) +
                     0.5 * loss::contrastive(nn::tap<"embed">{}, data::brain, {.tau = 0.1, .dim = 8});
    auto trainer = train::make_trainer(student, objective, optim::adam({.lr = 1e-2}), {.seed = 7});
    const double before = train::accuracy(student.forward(test_set.x, {.training = false}), test_set.labels);
    auto report = train::fit(trainer, train_set, &test_set,
                             {.epochs = 20, .batch_size = 32, .shuffle_seed = 7, .checkpoint_path = ckpt,
                              .checkpoint_every = 5, .resume = true},
                             train::csv_log{log}, train::early_stopping{.patience = 5});
    const auto& logits = student.forward(test_set.x, {.training = false});  // the trained student
    const double after = train::accuracy(logits, test_set.labels);
    CHECK(after == doctest::Approx(report.epochs.back().val_accuracy));
    CHECK(after > before + 0.2);
    CHECK(after > 0.8);
    CHECK(&trainer.student() == &student);
    std::filesystem::remove(ckpt);
    std::filesystem::remove(log);
}

TEST_CASE("a moved or temporary student is owned by the trainer - a const one is copied") {
    const auto d = make_data(128, 6, 3);
    auto student = nn::sequential(nn::dense(6, 8), nn::relu{}, nn::dense(8, 3));
    auto owned = train::make_trainer(std::move(student), loss::cross_entropy(nn::output, data::labels),
                                     optim::adam({.lr = 1e-2}), {.seed = 1});
    static_assert(!std::is_reference_v<decltype(owned.student())> || true);
    static_assert(std::is_same_v<std::remove_reference_t<decltype(owned.student())>, typename decltype(owned)::student_type>);
    const auto rep = train::fit(owned, d, &d, {.epochs = 15, .batch_size = 32});
    CHECK(train::accuracy(owned.student().forward(d.x, {.training = false}), d.labels) ==
          doctest::Approx(rep.epochs.back().val_accuracy));

    const auto frozen = nn::sequential(nn::dense(6, 8), nn::relu{}, nn::dense(8, 3));
    auto copy = train::make_trainer(frozen, loss::cross_entropy(nn::output, data::labels), optim::adam({}), {.seed = 1});
    CHECK(&copy.student() != &frozen);
}

TEST_CASE("load works on a fresh trainer whose objective builds heads lazily") {
    const auto d = make_data(96, 6, 4);
    const std::string path = temp_path("b2m_test_fresh_load.ckpt");
    auto make = [](auto& net) {
        return train::make_trainer(net,
                                   loss::cross_entropy(nn::output, data::labels) +
                                       0.5 * loss::contrastive(nn::tap<"h">{}, data::brain, {.dim = 4}) +
                                       0.2 * loss::latent(nn::tap<"h">{}, data::brain),
                                   optim::adam({.lr = 1e-2}), {.seed = 5});
    };
    auto net_a = nn::sequential(nn::dense(6, 16), nn::relu{}, nn::tap<"h">{}, nn::dense(16, 3));
    auto a = make(net_a);
    train::fit(a, d, nullptr, {.epochs = 3, .batch_size = 32});
    a.save(path);

    auto net_b = nn::sequential(nn::dense(6, 16), nn::relu{}, nn::tap<"h">{}, nn::dense(16, 3));
    auto b = make(net_b);
    CHECK_FALSE(b.built());
    std::size_t params_before = 0;
    b.for_each_param([&](const std::string&, auto&, auto&) { ++params_before; });
    b.load(path);  // no batch seen: the heads are built from the batch kept in the checkpoint
    CHECK(b.built());
    std::size_t params_after = 0;
    b.for_each_param([&](const std::string&, auto&, auto&) { ++params_after; });
    CHECK(params_after > params_before);  // projection heads and the latent map exist now
    CHECK(b.predict(d.x) == a.predict(d.x));
    const auto ra = a.evaluate(d), rb = b.evaluate(d);
    CHECK(ra.total == rb.total);  // heads restored too (the contrastive and latent values agree)
    for (std::size_t k = 0; k < ra.values.size(); ++k) CHECK(ra.values[k] == rb.values[k]);
    // and both continue identically
    const auto sa = a.step(d), sb = b.step(d);
    CHECK(sa.total == sb.total);
    CHECK(b.predict(d.x) == a.predict(d.x));
    std::filesystem::remove(path);
}

TEST_CASE("build creates the lazily built parts eagerly, without changing the student") {
    const auto d = make_data(64, 6, 6);
    auto net = nn::sequential(nn::dense(6, 16), nn::relu{}, nn::tap<"h">{}, nn::dense(16, 3));
    auto t = train::make_trainer(net, loss::contrastive(nn::tap<"h">{}, data::brain, {.dim = 4}), optim::adam({}), {.seed = 2});
    const matrix<float> out_before = t.predict(d.x);
    std::size_t n0 = 0, n1 = 0;
    t.for_each_param([&](const std::string&, auto&, auto&) { ++n0; });
    t.build(d);
    t.for_each_param([&](const std::string&, auto&, auto&) { ++n1; });
    CHECK(n1 == n0 + 4);  // student head and brain head: weight and bias each
    CHECK(t.predict(d.x) == out_before);
    // a trainer built eagerly follows the same trajectory as one built by its first step
    auto net2 = nn::sequential(nn::dense(6, 16), nn::relu{}, nn::tap<"h">{}, nn::dense(16, 3));
    auto u = train::make_trainer(net2, loss::contrastive(nn::tap<"h">{}, data::brain, {.dim = 4}), optim::adam({}), {.seed = 2});
    for (int i = 0; i < 3; ++i) CHECK(t.step(d).total == u.step(d).total);
}

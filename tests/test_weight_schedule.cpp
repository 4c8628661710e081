// Objective term weights that change during training: schedules (warm-up, cosine decay),
// weights set by a callback of one's own, logged per epoch and kept in checkpoints.
#include <doctest/doctest.h>

#include <b2m/b2m.hpp>

#include <filesystem>
#include <fstream>
#include <numbers>
#include <sstream>

using namespace b2m;

namespace {
train::batch<float> make_data(std::size_t n, std::uint64_t seed) {
    train::batch<float> d;
    d.x = matrix<float>::from_shape({n, 6});
    rng(seed).fill_normal(d.x);
    d.labels = index_vector::from_shape({n});
    d.brain = matrix<float>::from_shape({n, 3});
    for (std::size_t i = 0; i < n; ++i) {
        d.labels(i) = d.x(i, 0) > 0.5f ? 2 : (d.x(i, 1) > 0 ? 1 : 0);
        for (std::size_t j = 0; j < 3; ++j) d.brain(i, j) = std::tanh(d.x(i, j) + d.x(i, (j + 1) % 6));
    }
    return d;
}
auto make(double brain_weight, std::uint64_t seed = 3) {
    return train::make_trainer(nn::sequential(nn::dense(6, 12), nn::relu{}, nn::dense(12, 3)),
                               loss::cross_entropy(nn::output, data::labels) + brain_weight * loss::mse(nn::output, data::brain),
                               optim::adam({.lr = 1e-2}), {.seed = seed});
}
std::string temp_path(const char* name) { return (std::filesystem::temp_directory_path() / name).string(); }

/// Halves the brain term's weight after every epoch (a callback of one's own).
struct halve_brain_weight {
    bool on_epoch_end(const train::fit_state& s, const train::epoch_record&) {
        s.weights[1] *= 0.5;
        return true;
    }
};
} // namespace

TEST_CASE("schedule factors: warm-up is linear to 1, cosine decay is half a cosine to its floor") {
    const train::warmup w{.epochs = 5, .start = 0.2};
    CHECK(w.factor(1, 10) == doctest::Approx(0.2));
    CHECK(w.factor(3, 10) == doctest::Approx(0.6));
    CHECK(w.factor(5, 10) == doctest::Approx(1.0));
    CHECK(w.factor(9, 10) == doctest::Approx(1.0));
    const train::cosine_decay c{.floor = 0.1};
    CHECK(c.factor(1, 9) == doctest::Approx(1.0));
    CHECK(c.factor(5, 9) == doctest::Approx(0.1 + 0.9 * 0.5 * (1 + std::cos(std::numbers::pi * 0.5))));
    CHECK(c.factor(9, 9) == doctest::Approx(0.1));
    CHECK(c.factor(12, 9) == doctest::Approx(0.1));
    const train::cosine_decay c4{.epochs = 4, .floor = 0.0};
    CHECK(c4.factor(2, 100) == doctest::Approx(0.5 * (1 + std::cos(std::numbers::pi / 3))));
}

TEST_CASE("a warm-up of the brain term sets the weight each epoch trains with, logs it and applies it") {
    const auto d = make_data(128, 1);
    const std::string log = temp_path("b2m_test_weight_schedule.csv");
    std::filesystem::remove(log);
    auto t = make(0.5);
    const auto rep = train::fit(t, d, nullptr, {.epochs = 6, .batch_size = 32, .shuffle_seed = 1}, train::csv_log{log},
                                train::weight_schedule{1, train::warmup{.epochs = 4}});
    REQUIRE(rep.epochs.size() == 6);
    const double expected[] = {0.0, 0.5 / 3, 1.0 / 3, 0.5, 0.5, 0.5};
    for (std::size_t e = 0; e < 6; ++e) {
        CAPTURE(e);
        REQUIRE(rep.epochs[e].weights.size() == 2);
        CHECK(rep.epochs[e].weights[0] == doctest::Approx(1.0));
        CHECK(rep.epochs[e].weights[1] == doctest::Approx(expected[e]).epsilon(1e-6));
        // the weights were applied: each step's total is the weighted sum of its terms, so
        // the epoch means are too
        CHECK(rep.epochs[e].train_total ==
              doctest::Approx(rep.epochs[e].train_terms[0] + expected[e] * rep.epochs[e].train_terms[1]).epsilon(1e-5));
    }
    // CSV: the weight_mse column holds the schedule
    std::ifstream in(log);
    std::string line;
    std::getline(in, line);
    CHECK(line.rfind("epoch,lr,weight_cross_entropy,weight_mse,", 0) == 0);
    for (std::size_t e = 0; e < 6; ++e) {
        REQUIRE(std::getline(in, line));
        std::stringstream ss(line);
        std::string cell;
        for (int c = 0; c < 4; ++c) std::getline(ss, cell, ',');
        CHECK(std::stod(cell) == doctest::Approx(expected[e]).epsilon(1e-6));
    }
    std::filesystem::remove(log);

    // epoch 1 trained with weight 0: the same parameters as a run of the task term alone
    auto a = make(0.5), b = make(0.0);
    train::fit(a, d, nullptr, {.epochs = 1, .batch_size = 32, .shuffle_seed = 1}, train::weight_schedule{1, train::warmup{.epochs = 4}});
    train::fit(b, d, nullptr, {.epochs = 1, .batch_size = 32, .shuffle_seed = 1});
    CHECK(a.predict(d.x) == b.predict(d.x));
    auto c = make(0.5);
    train::fit(c, d, nullptr, {.epochs = 1, .batch_size = 32, .shuffle_seed = 1});
    CHECK_FALSE(c.predict(d.x) == b.predict(d.x));  // and the brain term does change training
}

TEST_CASE("weights set by a callback carry over a checkpoint: a resumed run matches an uninterrupted one") {
    const auto d = make_data(96, 2);
    const std::string ckpt = temp_path("b2m_test_weight_resume.ckpt");
    std::filesystem::remove(ckpt);
    auto full = make(0.8);
    const auto rf = train::fit(full, d, nullptr, {.epochs = 5, .batch_size = 32, .shuffle_seed = 4}, halve_brain_weight{});
    auto first = make(0.8);
    train::fit(first, d, nullptr, {.epochs = 3, .batch_size = 32, .shuffle_seed = 4, .checkpoint_path = ckpt},
               halve_brain_weight{});
    auto resumed = make(0.8);
    const auto rr = train::fit(resumed, d, nullptr,
                               {.epochs = 5, .batch_size = 32, .shuffle_seed = 4, .checkpoint_path = ckpt, .resume = true},
                               halve_brain_weight{});
    REQUIRE(rr.resumed_after == 3);
    REQUIRE(rr.epochs.size() == 2);
    CHECK(rr.epochs[0].weights[1] == rf.epochs[3].weights[1]);
    CHECK(rf.epochs[3].weights[1] == doctest::Approx(0.1));
    CHECK(resumed.predict(d.x) == full.predict(d.x));
    CHECK(resumed.objective().weights()[1] == full.objective().weights()[1]);
    std::filesystem::remove(ckpt);
}

TEST_CASE("a schedule for a term that does not exist, or a non-finite weight, is a clear error") {
    const auto d = make_data(64, 3);
    auto t = make(0.5);
    CHECK_THROWS_WITH_AS(train::fit(t, d, nullptr, {.epochs = 1}, train::weight_schedule{2, train::warmup{}}),
                         doctest::Contains("term 2 does not exist (the objective has 2 terms)"), error);
    struct poison {
        void on_epoch_begin(const train::fit_state& s) { s.weights[0] = std::nan(""); }
    };
    CHECK_THROWS_WITH_AS(train::fit(t, d, nullptr, {.epochs = 1}, poison{}),
                         doctest::Contains("cross_entropy(nn::output)' to a non-finite value"), data_error);
}

// TEST_SUITE("teacher"): on a simulated subject whose responses carry the task's latent
// structure, a student trained with each brain term reaches a target test accuracy in
// fewer epochs than the same student without it, averaged over seeds.
//
// Task (sim::latent_world): 64-d stimuli, the class is argmax of a linear read-out of a
// hidden 4-d latent z = x M. Only 96 labelled training stimuli, so cross-entropy alone
// must find the 4 relevant directions among 64 from few labels; the subject's responses
// (100 targets, a random tanh map of z plus noise) to the same 96 stimuli tell the student
// which directions matter. Measure: epochs until test accuracy >= 0.60 (cross-entropy alone
// plateaus near 0.62), capped at 201, over 9 seeds, PAIRED by seed (same initialisation
// and data order): each term must be faster than cross-entropy alone in at least 7 of the 9
// seeds (one-sided sign test p = 0.09) and by a median of at least 3 epochs. (The former
// check, a mean of 5 seeds, let one slow baseline seed carry the comparison.)
#include <doctest/doctest.h>

#include <b2m/loss.hpp>
#include <b2m/nn.hpp>
#include <b2m/optim.hpp>
#include <b2m/sim.hpp>
#include <b2m/train.hpp>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <vector>

using namespace b2m;

namespace {
constexpr std::size_t F = 64, K = 4, C = 4, V = 100, N_TRAIN = 96, N_TEST = 1000, MAX_EPOCHS = 200, BATCH = 32;
constexpr double TARGET = 0.60;
double best_accuracy = 0;  // best test accuracy of the last run (printed)

struct setup {
    sim::latent_world world{{.features = F, .latent_dim = K, .classes = C, .task_share = 1.0, .seed = 11}};
    train::batch<float> train_set, test_set;
    matrix<double> train_brain;
    setup() {
        rng r(5);
        sim::subject subj(world, {.voxels = V, .noise = 0.3, .id = 0});
        const auto x = world.stimuli(N_TRAIN, r);
        const auto rec = subj.record(x, 1, r);
        train_set.x = xt::cast<float>(x);
        train_set.labels = world.labels(x);
        train_brain = rec.brain;
        train_set.brain = xt::cast<float>(rec.brain);
        train_set.stimulus = rec.stimulus;
        const auto xt_ = world.stimuli(N_TEST, r);
        test_set.x = xt::cast<float>(xt_);
        test_set.labels = world.labels(xt_);
    }
};

const setup& sim_data() {
    static const setup s;
    return s;
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

void gather(const train::batch<float>& d, const std::vector<std::size_t>& idx, std::size_t b, std::size_t e,
            train::batch<float>& out) {
    const std::size_t n = e - b;
    ensure_shape(out.x, n, d.x.shape(1));
    ensure_shape(out.brain, n, d.brain.shape(1));
    if (out.labels.size() != n) out.labels.resize({n});
    if (out.stimulus.size() != n) out.stimulus.resize({n});
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t r = idx[b + i];
        std::copy_n(d.x.data() + r * d.x.shape(1), d.x.shape(1), out.x.data() + i * d.x.shape(1));
        std::copy_n(d.brain.data() + r * d.brain.shape(1), d.brain.shape(1), out.brain.data() + i * d.brain.shape(1));
        out.labels(i) = d.labels(r);
        out.stimulus(i) = d.stimulus(r);
    }
}

/// Epochs until test accuracy >= TARGET (MAX_EPOCHS + 1 if never).
template <class Objective>
std::size_t epochs_to_target(const Objective& objective, std::uint64_t seed) {
    const auto& d = sim_data();
    auto student = nn::sequential(nn::dense(F, 32), nn::relu{}, nn::tap<"h">{}, nn::dense(32, C));
    auto trainer = train::make_trainer(student, objective, optim::adam({.lr = 5e-3}), {.seed = seed});
    std::vector<std::size_t> order(N_TRAIN);
    std::iota(order.begin(), order.end(), 0);
    rng shuffle(seed + 100);
    train::batch<float> b;
    for (std::size_t epoch = 1; epoch <= MAX_EPOCHS; ++epoch) {
        shuffle.shuffle(order);
        for (std::size_t s = 0; s + BATCH <= N_TRAIN; s += BATCH) {
            gather(d.train_set, order, s, s + BATCH, b);
            trainer.step(b);
        }
        const double acc = accuracy(trainer.predict(d.test_set.x), d.test_set.labels);
        best_accuracy = std::max(best_accuracy, acc);
        if (acc >= TARGET) return epoch;
    }
    return MAX_EPOCHS + 1;
}

template <class Objective>
std::vector<double> seed_epochs(const Objective& objective, const char* what) {  // per seed 1..9
    std::vector<double> e;
    std::printf("%-22s", what);
    for (std::uint64_t seed = 1; seed <= 9; ++seed) {
        e.push_back(double(epochs_to_target(objective, seed)));
        std::printf(" %4.0f (%.2f)", e.back(), best_accuracy);
        best_accuracy = 0;
    }
    std::vector<double> sorted = e;
    std::sort(sorted.begin(), sorted.end());
    std::printf("   median %.0f\n", sorted[4]);
    return e;
}

/// Term faster than the baseline: wins in >= 7 of 9 paired seeds, median paired gain >= 3.
void check_faster(const std::vector<double>& term, const std::vector<double>& base, const char* what) {
    std::vector<double> d;
    std::size_t wins = 0;
    for (std::size_t i = 0; i < base.size(); ++i) d.push_back(term[i] - base[i]), wins += term[i] < base[i];
    std::sort(d.begin(), d.end());
    INFO(what << ": faster in " << wins << " of " << base.size() << " seeds, median paired difference " << d[d.size() / 2]);
    CHECK(wins >= 7);
    CHECK(d[d.size() / 2] <= -3.0);
}
} // namespace

TEST_SUITE("teacher") {
    TEST_CASE("each brain term speeds up learning on a simulated subject carrying the task latent") {
        const auto ce = loss::cross_entropy(nn::output, data::labels);
        const auto base = seed_epochs(ce, "cross-entropy only");
        const auto P = loss::brain_reduction::pca(sim_data().train_brain, K);
        // Contrastive: the tap itself against a learned brain projection (a student head would
        // absorb the alignment with so few trials); a soft temperature.
        const auto con = seed_epochs(
            ce + 5.0 * loss::contrastive(nn::tap<"h">{}, data::brain, {.tau = 1.0, .dim = 32, .project_student = false}),
            "+ contrastive");
        const auto lat = seed_epochs(ce + 5.0 * loss::latent(nn::tap<"h">{}, data::brain, P), "+ latent (PCA)");
        const auto enc = seed_epochs(
            ce + 5.0 * loss::encoding_alignment(nn::tap<"h">{}, data::brain, {.units = 32}), "+ encoding alignment");
        const auto rsa = seed_epochs(ce + 5.0 * loss::rsa_loss(nn::tap<"h">{}, data::brain), "+ rsa");
        const auto cka = seed_epochs(ce + 5.0 * loss::cka_loss(nn::tap<"h">{}, data::brain), "+ cka");
        // Measured (9 seeds): faster in 9, 7, 8, 8, 9 seeds; median paired gains 10, 7, 5, 9, 10 epochs.
        check_faster(con, base, "contrastive");
        check_faster(lat, base, "latent");
        check_faster(enc, base, "encoding alignment");
        check_faster(rsa, base, "rsa");
        check_faster(cka, base, "cka");
    }
}

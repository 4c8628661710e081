#include <doctest/doctest.h>

#include <b2m/sim.hpp>

#include <cmath>

#include <xtensor/xview.hpp>

using namespace b2m;

namespace {
double corr(const matrix<double>& a, const matrix<double>& b) {
    double ma = 0, mb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) ma += a.data()[i], mb += b.data()[i];
    ma /= double(a.size());
    mb /= double(b.size());
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double x = a.data()[i] - ma, y = b.data()[i] - mb;
        sab += x * y, saa += x * x, sbb += y * y;
    }
    return sab / std::sqrt(saa * sbb);
}
} // namespace

namespace {
/// A world, 300 of its stimuli and one subject recorded from them (the shared setup of the
/// sim.subject cases).
struct recorded_world {
    sim::latent_world world{{.features = 20, .latent_dim = 3, .classes = 3, .seed = 4}};
    matrix<double> x = [this] {
        rng r(1);
        return world.stimuli(300, r);
    }();
    sim::subject s0{world, {.voxels = 50, .noise = 0.5, .variability = 0.3, .id = 0}};
};

/// Nearest-class-mean accuracy of the labels in the latent of 2000 stimuli of a 2-class world.
double latent_class_accuracy(double task_share, rng& r) {
    sim::latent_world world({.features = 20, .latent_dim = 3, .classes = 2, .task_share = task_share, .seed = 5});
    const auto x = world.stimuli(2000, r);
    const auto y = world.labels(x);
    const auto z = world.latent(x);
    double mean[2][3] = {};
    double count[2] = {};
    for (std::size_t i = 0; i < 2000; ++i) {
        count[y(i)] += 1;
        for (std::size_t k = 0; k < 3; ++k) mean[y(i)][k] += z(i, k);
    }
    for (int c = 0; c < 2; ++c)
        for (int k = 0; k < 3; ++k) mean[c][k] /= count[c];
    std::size_t hit = 0;
    for (std::size_t i = 0; i < 2000; ++i) {
        double d[2] = {};
        for (int c = 0; c < 2; ++c)
            for (std::size_t k = 0; k < 3; ++k) d[c] += (z(i, k) - mean[c][k]) * (z(i, k) - mean[c][k]);
        hit += std::int64_t(d[1] < d[0]) == y(i);
    }
    return double(hit) / 2000;
}
} // namespace

TEST_CASE_FIXTURE(recorded_world, "sim.subject gives the same recording from the same seed") {
    rng a(9), b(9);
    const auto r1 = s0.record(x, 2, a), r2 = s0.record(x, 2, b);
    CHECK(r1.brain == r2.brain);
}

TEST_CASE_FIXTURE(recorded_world, "sim.subject records each stimulus the given number of times in a row") {
    rng a(9);
    const auto r1 = s0.record(x, 2, a);
    CHECK(r1.brain.shape(0) == 600);
    CHECK(r1.stimulus(0) == 0);
    CHECK(r1.stimulus(1) == 0);
    CHECK(r1.stimulus(2) == 1);
}

TEST_CASE_FIXTURE(recorded_world, "sim.subject repeats of one stimulus agree more when the noise is lower") {
    auto repeat_corr = [&](double noise) {
        sim::subject s(world, {.voxels = 50, .noise = noise, .id = 0});
        rng rr(3);
        const auto rec = s.record(x, 2, rr);
        matrix<double> even = xt::view(rec.brain, xt::range(0, 600, 2), xt::all());
        matrix<double> odd = xt::view(rec.brain, xt::range(1, 600, 2), xt::all());
        return corr(even, odd);
    };
    const double low = repeat_corr(0.2), high = repeat_corr(1.0);
    CHECK(low > 0.9);
    CHECK(high < low - 0.2);
}

TEST_CASE_FIXTURE(recorded_world, "sim.subject signals of two subjects share the group map but not perfectly") {
    sim::subject s1(world, {.voxels = 50, .variability = 0.3, .id = 1});
    const double between = corr(s0.signal(x), s1.signal(x));
    CHECK(between > 0.3);
    CHECK(between < 0.99);
}

TEST_CASE_FIXTURE(recorded_world, "sim.subject responses depend on the stimulus only through its latent") {
    CHECK(xt::allclose(s0.signal_from_latent(world.latent(x)), s0.signal(x)));
}

TEST_CASE_FIXTURE(recorded_world, "sim.subject refuses a negative noise level") {
    CHECK_THROWS_AS(sim::subject(world, {.noise = -1}), error);
}

TEST_CASE("sim.latent_world with task_share 1 puts the task in the latent") {
    rng r(2);
    const double acc = latent_class_accuracy(1.0, r);
    CHECK(acc > 0.85);
}

TEST_CASE("sim.latent_world with task_share 0 takes the task out of the latent") {
    rng r(2);
    const double acc = latent_class_accuracy(0.0, r);
    CHECK(acc < 0.6);
}

TEST_CASE("sim - canonical HRF and the fMRI-like time series") {
    const auto h = sim::canonical_hrf(1.0);
    double sum = 0;
    std::size_t peak = 0;
    for (std::size_t i = 0; i < h.size(); ++i) {
        sum += h(i);
        if (h(i) > h(peak)) peak = i;
    }
    CHECK(sum == doctest::Approx(1.0));
    CHECK(peak >= 4);
    CHECK(peak <= 6);
    matrix<double> impulse = xt::zeros<double>({40, 1});
    impulse(2, 0) = 1;
    const auto y = sim::convolve_time(impulse, h);
    CHECK(y(1, 0) == 0.0);
    CHECK(y(2 + peak, 0) == doctest::Approx(h(peak)));
    sim::latent_world world({.features = 10, .latent_dim = 2, .seed = 1});
    rng r(4);
    sim::subject s(world, {.voxels = 5, .noise = 0.1});
    const auto ts = s.time_series(world.stimuli(60, r), 2.0, r);
    CHECK(ts.shape(0) == 60);
    CHECK(ts.shape(1) == 5);
}

TEST_CASE("sim.decision_subject - population activity follows the accumulated evidence") {
    sim::decision_subject s({.steps = 30, .inputs = 8, .neurons = 16, .seed = 2});
    rng r(6);
    const auto d = s.trials(400, r);
    CHECK(d.x.shape(1) == 30 * 8);
    CHECK(d.brain.shape(1) == 30 * 16);
    CHECK(d.latent.shape(1) == 30);
    // The final accumulated evidence predicts the label well above chance.
    std::size_t hit = 0;
    for (std::size_t i = 0; i < 400; ++i) hit += std::int64_t(d.latent(i, 29) > 0) == d.labels(i);
    CHECK(double(hit) / 400 > 0.8);
    // Neuron 0's activity at the last step tracks the latent (|correlation| high).
    matrix<double> a = matrix<double>::from_shape({400, 1}), n0 = matrix<double>::from_shape({400, 1});
    for (std::size_t i = 0; i < 400; ++i) {
        a(i, 0) = d.latent(i, 29);
        n0(i, 0) = d.brain(i, 29 * 16);
    }
    CHECK(std::abs(corr(a, n0)) > 0.5);
}

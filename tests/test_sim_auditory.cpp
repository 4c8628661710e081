// sim::auditory_world / auditory_subject: the simulated listener of the audio-fMRI study.
// Its ground truth must be recoverable (an encoding model on the true latents, with HRF
// delays, reaches the known noise ceiling on a held-out run), repeats must be exact, and
// the five sound categories must differ in ways a waveform model can see.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include <b2m/brain/delays.hpp>
#include <b2m/brain/metrics.hpp>
#include <b2m/brain/ridge.hpp>
#include <b2m/sim/auditory_subject.hpp>

using namespace b2m;

namespace {
struct split_rows {
    matrix<double> train, test;
};
/// Rows of m whose run is (test ? == held : != held).
matrix<double> rows_of(const matrix<double>& m, const index_vector& run, std::int64_t held, bool test) {
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < run.size(); ++i)
        if ((run(i) == held) == test) idx.push_back(i);
    matrix<double> out = matrix<double>::from_shape({idx.size(), m.shape(1)});
    for (std::size_t i = 0; i < idx.size(); ++i) std::copy_n(m.data() + idx[i] * m.shape(1), m.shape(1), out.data() + i * m.shape(1));
    return out;
}
/// Delayed latents, run by run (delays never cross a run boundary).
matrix<double> delayed(const matrix<double>& z, const index_vector& run, std::size_t runs, std::size_t volumes,
                       const std::vector<int>& delays) {
    matrix<double> out = matrix<double>::from_shape({z.shape(0), z.shape(1) * delays.size()});
    for (std::size_t r = 0; r < runs; ++r) {
        const matrix<double> seg = rows_of(z, run, std::int64_t(r), true);
        const matrix<double> d = brain::stack_delays(seg, delays);
        std::copy_n(d.data(), d.size(), out.data() + r * volumes * out.shape(1));
    }
    return out;
}
}  // namespace

TEST_CASE("auditory scan - shapes, repeated runs identical in sound and clean BOLD, deterministic") {
    sim::auditory_world world({.samples = 256, .seed = 4});
    sim::auditory_subject s(world, {.parcels = 12, .noise = 0.5});
    rng r(9);
    const auto scan = s.scan({.runs = 4, .volumes = 30, .repeat_runs = 2}, r);
    CHECK(scan.waveforms.shape() == std::array<std::size_t, 2>{120, 256});
    CHECK(scan.bold.shape() == std::array<std::size_t, 2>{120, 12});
    for (std::size_t v = 0; v < 30; ++v) {
        CHECK(scan.stimulus(v) == scan.stimulus(30 + v));
        for (std::size_t t = 0; t < 256; ++t) REQUIRE(scan.waveforms(v, t) == scan.waveforms(30 + v, t));
        for (std::size_t j = 0; j < 12; ++j) REQUIRE(scan.clean_bold(v, j) == scan.clean_bold(30 + v, j));
    }
    // Non-repeated runs play new clips.
    for (std::size_t v = 0; v < 30; ++v) CHECK(scan.stimulus(60 + v) != scan.stimulus(v));
    // Noise is independent across repeats.
    CHECK(scan.bold(0, 0) != scan.bold(30, 0));
    rng r2(9);
    const auto again = s.scan({.runs = 4, .volumes = 30, .repeat_runs = 2}, r2);
    CHECK(again.bold == scan.bold);
    CHECK(xt::amax(xt::abs(scan.waveforms))() <= 1.0);
}

TEST_CASE("auditory categories differ in what a waveform model can see - tonal vs noisy, modulated vs steady") {
    sim::auditory_world world({.samples = 1024, .seed = 2});
    rng r(5);
    const auto set = world.clips(200, r);
    // Zero-crossing regularity: tonal clips have lag-1 autocorrelation near cos(2 pi f / fs) with
    // a clean periodicity; noise bursts are less predictable. Measure normalised lag-p
    // autocorrelation at the clip's own period p (from the pitch latent).
    double tonal_sum = 0, noise_sum = 0;
    int tonal_n = 0, noise_n = 0;
    for (std::size_t i = 0; i < 200; ++i) {
        const auto c = sim::sound_category(set.category(i));
        if (c != sim::sound_category::harmonic && c != sim::sound_category::noise_burst) continue;
        const double f = 250.0 * std::exp2(set.latent(i, 0));
        const std::size_t p = std::size_t(std::lround(4000.0 / f));
        double num = 0, den = 0;
        for (std::size_t t = 0; t + p < 1024; ++t) {
            num += set.waveforms(i, t) * set.waveforms(i, t + p);
            den += set.waveforms(i, t) * set.waveforms(i, t);
        }
        (c == sim::sound_category::harmonic ? tonal_sum : noise_sum) += num / den;
        (c == sim::sound_category::harmonic ? tonal_n : noise_n) += 1;
    }
    CHECK(tonal_sum / tonal_n > 0.8);
    CHECK(noise_sum / noise_n < tonal_sum / tonal_n - 0.3);
    // Amplitude modulation: the envelope of AM tones varies far more than that of steady tones.
    auto envelope_cv = [&](std::size_t i) {
        std::vector<double> e;
        for (std::size_t t0 = 0; t0 + 32 <= 1024; t0 += 32) {
            double q = 0;
            for (std::size_t t = t0; t < t0 + 32; ++t) q += set.waveforms(i, t) * set.waveforms(i, t);
            e.push_back(std::sqrt(q / 32));
        }
        double m = 0, v = 0;
        for (double x : e) m += x;
        m /= double(e.size());
        for (double x : e) v += (x - m) * (x - m);
        return std::sqrt(v / double(e.size())) / m;
    };
    double am = 0, steady = 0;
    for (std::size_t i = 0; i < 200; ++i) {
        if (sim::sound_category(set.category(i)) == sim::sound_category::am_tone) am += envelope_cv(i);
        if (sim::sound_category(set.category(i)) == sim::sound_category::harmonic) steady += envelope_cv(i);
    }
    CHECK(am > 3 * steady);
}

TEST_CASE("auditory ground truth is recoverable - delayed true latents reach the noise ceiling on a held-out run") {
    sim::auditory_world world({.samples = 128, .seed = 7});
    const double noise = 0.7;
    sim::auditory_subject s(world, {.parcels = 30, .noise = noise, .tr = 2.0});
    rng r(11);
    const std::size_t runs = 10, volumes = 150;
    const auto scan = s.scan({.runs = runs, .volumes = volumes, .repeat_runs = 2}, r);
    std::vector<int> delays;
    for (int d = 0; d <= 12; ++d) delays.push_back(d);  // 24 s of the HRF at TR 2 s (the tail after is < 1% of its mass)
    const matrix<double> x = delayed(scan.latent, scan.run, runs, volumes, delays);
    const std::int64_t held = 9;  // a run with clips never seen in training
    brain::ridge_cv<double> m({.alphas = {0.01, 0.1, 1, 10, 100}});
    m.fit(rows_of(x, scan.run, held, false), rows_of(scan.bold, scan.run, held, false));
    const matrix<double> yt = rows_of(scan.bold, scan.run, held, true);
    const vector<double> r2 = m.score_per_target(rows_of(x, scan.run, held, true), yt);
    // Known ceiling on that run: 1 - noise variance / variance of the recorded BOLD.
    const vector<double> clean_r2 = brain::r2_columns(yt, rows_of(scan.clean_bold, scan.run, held, true));
    std::vector<double> gap;
    for (std::size_t j = 0; j < r2.size(); ++j) gap.push_back(clean_r2(j) - r2(j));
    std::sort(gap.begin(), gap.end());
    const double median_gap = gap[gap.size() / 2];
    INFO("median ceiling - model R^2 = " << median_gap << "; median ceiling " << brain::median(clean_r2));
    CHECK(brain::median(clean_r2) > 0.5);  // 1 / (1 + 0.7^2) = 0.67 expected
    CHECK(std::abs(median_gap) < 0.05);    // the stated margin
    // A control that cannot reach it: the same model with the latent rows shuffled in time.
    matrix<double> zs = scan.latent;
    rng rs(1);
    std::vector<std::size_t> perm(zs.shape(0));
    for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = i;
    rs.shuffle(perm);
    for (std::size_t i = 0; i < perm.size(); ++i)
        std::copy_n(scan.latent.data() + perm[i] * 6, 6, zs.data() + i * 6);
    const matrix<double> xs = delayed(zs, scan.run, runs, volumes, delays);
    brain::ridge_cv<double> ms({.alphas = {0.01, 0.1, 1, 10, 100, 1000}});
    ms.fit(rows_of(xs, scan.run, held, false), rows_of(scan.bold, scan.run, held, false));
    CHECK(brain::median(ms.score_per_target(rows_of(xs, scan.run, held, true), yt)) < 0.1);
    // The repeat-based noise ceiling (runs 0 and 1 play the same clips) estimates the same
    // signal fraction: reliability of one run ~ 1 / (1 + noise^2).
    std::vector<std::int64_t> ids;
    matrix<double> rep = rows_of(scan.bold, scan.run, 0, true);
    const matrix<double> rep1 = rows_of(scan.bold, scan.run, 1, true);
    matrix<double> both = matrix<double>::from_shape({2 * volumes, 30});
    for (std::size_t v = 0; v < volumes; ++v) {
        std::copy_n(rep.data() + v * 30, 30, both.data() + (2 * v) * 30);
        std::copy_n(rep1.data() + v * 30, 30, both.data() + (2 * v + 1) * 30);
        ids.push_back(std::int64_t(v));
        ids.push_back(std::int64_t(v));
    }
    const auto nc = brain::noise_ceiling(both, ids);
    vector<double> split = nc.split_half_r;
    INFO("median split-half r " << brain::median(split));
    CHECK(std::abs(brain::median(split) - 1.0 / (1.0 + noise * noise)) < 0.1);
}

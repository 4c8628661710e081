// b2m/sim/auditory_subject.hpp - a simulated listener in an fMRI scanner: synthetic sound
// clips with a known auditory feature space, and parcel BOLD time series over several runs
// (the stand-in for the audio-fMRI data of Freteault et al., which is not available here).
//
//   sim::auditory_world world({.samples = 1024, .seed = 1});
//   sim::auditory_subject listener(world, {.parcels = 40, .noise = 0.7});
//   rng r(3);
//   sim::auditory_scan scan = listener.scan({.runs = 6, .volumes = 60, .repeat_runs = 2}, r);
//   // scan.waveforms (runs*volumes, samples), scan.category, scan.latent, scan.bold, scan.run
//
// What it represents:
// - A clip is one volume's sound (`samples` samples at `sample_rate` Hz), drawn from five
//   categories with structure a 1-D conv net can learn: 0 harmonic tone (f0 and 1-5
//   harmonics), 1 noise burst (band-pass noise around a centre frequency), 2 amplitude-
//   modulated tone, 3 frequency sweep, 4 click train.
// - Its true auditory latent z (k = 6, each roughly in [-1, 1]): pitch (log2 of the f0 or
//   centre frequency around 250 Hz), loudness, modulation rate (AM or click rate; 0 when
//   the clip has none), sweep (FM slope; 0 when none), tonality (+1 tonal, -1 noise or
//   clicks), brightness (number of harmonics; 0 for non-harmonic clips).
// - A subject maps the latent linearly to parcels, n = z A + c (A: k x P, drawn from the
//   world's seed and the subject id), convolves every run with the canonical HRF at TR `tr`
//   (sim/hemodynamic.hpp), and adds Gaussian noise of sd `noise` x the parcel's clean BOLD sd.
// - Runs are sequences of clips; the first `repeat_runs` runs play the same clips (the
//   repeats a noise ceiling needs); the others play new clips.
// How it differs from real fMRI: sounds are short (a clip per volume, ~0.25 s instead of a
// TR of ~1.5 s of continuous audio), the latent is 6 known features rather than the rich
// cortical code, the map from latent to parcel is linear and the HRF is the same for every
// parcel and known, noise is white (no drift, motion or physiological noise), and there is
// no attention or adaptation. What it keeps: slow, delayed, noisy parcel responses to a
// stimulus whose relevant features a network must compute from the waveform; runs; repeats.
// Ensures: every draw is a pure function of (seed, subject id, the rng given to scan).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>

#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/sim/hemodynamic.hpp"

namespace b2m::sim {

/// Options of an auditory_world.
struct auditory_world_options {
    std::size_t samples = 1024;   ///< waveform samples per clip (one clip per volume)
    double sample_rate = 4000;    ///< Hz
    std::uint64_t seed = 0;       ///< draws the subjects' maps (clips are drawn from the rng given to clips)
};

/// Categories of clips.
enum class sound_category : std::int64_t { harmonic = 0, noise_burst = 1, am_tone = 2, sweep = 3, clicks = 4 };
inline constexpr std::size_t sound_categories = 5;
inline constexpr std::size_t auditory_latent_dim = 6;

/// The clips and their latents (rows are clips).
struct sound_set {
    matrix<double> waveforms;  ///< (n, samples), peak amplitude <= 1
    matrix<double> latent;     ///< (n, 6): pitch, loudness, modulation, sweep, tonality, brightness
    index_vector category;     ///< (n) sound_category
};

/// Synthetic sound clips of five categories with a 6-dimensional acoustic latent.
class auditory_world {
public:
    /// Throws b2m::error unless samples >= 64 and sample_rate >= 1000 Hz.
    explicit auditory_world(auditory_world_options o) : opt_(o) {
        if (o.samples < 64) throw error("sim::auditory_world: samples must be >= 64");
        if (!(o.sample_rate >= 1000)) throw error("sim::auditory_world: sample_rate must be >= 1000 Hz");
    }
    const auditory_world_options& options() const { return opt_; } ///< The options it was built with.

    /// n random clips, categories balanced in turn (clip i has category i mod 5).
    sound_set clips(std::size_t n, rng& r) const {
        sound_set s;
        const std::size_t m = opt_.samples;
        s.waveforms = xt::zeros<double>({n, m});
        s.latent = xt::zeros<double>({n, auditory_latent_dim});
        s.category = index_vector::from_shape({n});
        const double fs = opt_.sample_rate, two_pi = 2 * std::numbers::pi;
        for (std::size_t i = 0; i < n; ++i) {
            const auto c = sound_category(std::int64_t(i % sound_categories));
            s.category(i) = std::int64_t(c);
            const double pitch = 2 * r.uniform() - 1;           // log2(f / 250 Hz) in [-1, 1]
            const double loud = 2 * r.uniform() - 1;            // amplitude 0.5 * 2^(loud) / 2
            const double f = 250.0 * std::exp2(pitch);
            const double amp = 0.25 * std::exp2(loud);
            const double phase = two_pi * r.uniform();
            double mod = 0, sweep = 0, tonal = 1, bright = 0;
            double* w = s.waveforms.data() + i * m;
            switch (c) {
            case sound_category::harmonic: {
                const std::size_t h = 1 + r.below(5);
                bright = (double(h) - 3.0) / 2.0;
                for (std::size_t t = 0; t < m; ++t)
                    for (std::size_t k = 1; k <= h; ++k)
                        w[t] += std::sin(two_pi * f * double(k) * double(t) / fs + phase * double(k)) / double(h);
                break;
            }
            case sound_category::noise_burst: {
                tonal = -1;
                // Band-pass noise: white noise through a two-pole resonator at f (bandwidth f/4).
                const double bw = f / 4, rad = std::exp(-std::numbers::pi * bw / fs);
                const double a1 = 2 * rad * std::cos(two_pi * f / fs), a2 = -rad * rad;
                double y1 = 0, y2 = 0, peak = 0;
                for (std::size_t t = 0; t < m; ++t) {
                    const double y = r.normal() + a1 * y1 + a2 * y2;
                    y2 = y1, y1 = y, w[t] = y, peak = std::max(peak, std::abs(y));
                }
                for (std::size_t t = 0; t < m; ++t) w[t] /= peak;
                break;
            }
            case sound_category::am_tone: {
                mod = 2 * r.uniform() - 1;  // rate 2^(mod*1.5 + 4.5) Hz: about 8 to 64 Hz
                const double rate = std::exp2(mod * 1.5 + 4.5);
                for (std::size_t t = 0; t < m; ++t)
                    w[t] = 0.5 * (1 + std::sin(two_pi * rate * double(t) / fs)) * std::sin(two_pi * f * double(t) / fs + phase);
                break;
            }
            case sound_category::sweep: {
                sweep = 2 * r.uniform() - 1;  // f goes from f / 2^sweep to f * 2^sweep over the clip
                const double dur = double(m) / fs;
                double ph = phase;
                for (std::size_t t = 0; t < m; ++t) {
                    const double ft = f * std::exp2(sweep * (2 * double(t) / fs / dur - 1));
                    ph += two_pi * ft / fs;
                    w[t] = std::sin(ph);
                }
                break;
            }
            case sound_category::clicks: {
                tonal = -1;
                mod = 2 * r.uniform() - 1;  // click rate, same scale as AM
                const double rate = std::exp2(mod * 1.5 + 4.5);
                const std::size_t period = std::max<std::size_t>(2, std::size_t(fs / rate));
                const std::size_t offset = r.below(period);
                // A click is a decaying burst at the clip's pitch (so pitch stays audible).
                for (std::size_t t0 = offset; t0 < m; t0 += period)
                    for (std::size_t t = t0; t < std::min(m, t0 + period); ++t) {
                        const double dt = double(t - t0) / fs;
                        w[t] += std::exp(-dt * 400.0) * std::sin(two_pi * f * 4 * dt);
                    }
                break;
            }
            }
            for (std::size_t t = 0; t < m; ++t) w[t] *= amp;
            const double z[auditory_latent_dim] = {pitch, loud, mod, sweep, tonal, bright};
            std::copy_n(z, auditory_latent_dim, s.latent.data() + i * auditory_latent_dim);
        }
        return s;
    }

private:
    auditory_world_options opt_;
};

/// Options of an auditory_subject.
struct auditory_subject_options {
    std::size_t parcels = 40;  ///< P brain targets
    double noise = 0.7;        ///< noise sd relative to each parcel's clean BOLD sd
    double tr = 2.0;           ///< seconds per volume (the HRF's sampling)
    std::size_t id = 0;        ///< subject id (selects the map A)
};

/// The design of an auditory_subject's scanning session.
struct scan_options {
    std::size_t runs = 6;         ///< runs
    std::size_t volumes = 60;     ///< volumes (clips) per run
    std::size_t repeat_runs = 2;  ///< the first repeat_runs runs play identical clips (>= 1)
};

/// One scanning session; rows are volumes, run-major (run 0's volumes, then run 1's, ...).
struct auditory_scan {
    matrix<double> waveforms;   ///< (runs*volumes, samples)
    matrix<double> latent;      ///< (runs*volumes, 6) true latent of each volume's clip
    index_vector category;      ///< (runs*volumes)
    index_vector run;           ///< (runs*volumes) run of each volume
    index_vector stimulus;      ///< (runs*volumes) clip id; repeated runs share ids
    matrix<double> clean_bold;  ///< (runs*volumes, P) noise-free BOLD
    matrix<double> bold;        ///< (runs*volumes, P) recorded BOLD
    vector<double> noise_sd;    ///< (P) sd of the added noise per parcel
};

/// A simulated listener: BOLD = HRF * (z A + c) + noise per parcel, z the clips' latent.
class auditory_subject {
public:
    /// Draws A (6, P) and c from (the world's seed, o.id); refers to world, which must outlive
    /// it. Throws b2m::error unless parcels > 0, noise >= 0 and tr > 0.
    auditory_subject(const auditory_world& world, auditory_subject_options o) : world_(&world), opt_(o) {
        if (o.parcels == 0) throw error("sim::auditory_subject: parcels must be positive");
        if (!(o.noise >= 0)) throw error("sim::auditory_subject: noise must be >= 0");
        if (!(o.tr > 0)) throw error("sim::auditory_subject: tr must be positive");
        rng r = rng(world.options().seed).split(5000 + o.id);
        a_ = matrix<double>::from_shape({auditory_latent_dim, o.parcels});
        r.fill_normal(a_);
        c_ = matrix<double>::from_shape({1, o.parcels});
        r.fill_normal(c_, 0.0, 0.5);
    }

    /// Neural response n = z A + c to latents z (n x 6) -> (n x P), before the HRF.
    matrix<double> neural(const matrix<double>& z) const {
        require_dim("sim::auditory_subject latent", z.shape(), 1, auditory_latent_dim, "the auditory latent");
        matrix<double> y;
        gemm<double>(z, a_, y);
        for (std::size_t i = 0; i < y.shape(0); ++i)
            for (std::size_t j = 0; j < y.shape(1); ++j) y(i, j) += c_(0, j);
        return y;
    }

    /// A session: clips drawn from r, BOLD per run (the HRF restarts at each run).
    auditory_scan scan(scan_options s, rng& r) const {
        if (s.runs == 0 || s.volumes == 0) throw error("sim::auditory_subject::scan: runs and volumes must be positive");
        if (s.repeat_runs == 0 || s.repeat_runs > s.runs)
            throw error("sim::auditory_subject::scan: repeat_runs must lie in [1, runs]");
        const std::size_t V = s.volumes, P = opt_.parcels, m = world_->options().samples;
        const std::size_t distinct = (1 + s.runs - s.repeat_runs) * V;
        sound_set clips = world_->clips(distinct, r);
        // Shuffle clip order within the distinct set so categories do not cycle with period 5.
        std::vector<std::size_t> order(distinct);
        for (std::size_t i = 0; i < distinct; ++i) order[i] = i;
        r.shuffle(order);
        auditory_scan out;
        const std::size_t n = s.runs * V;
        out.waveforms = matrix<double>::from_shape({n, m});
        out.latent = matrix<double>::from_shape({n, auditory_latent_dim});
        out.category = index_vector::from_shape({n});
        out.run = index_vector::from_shape({n});
        out.stimulus = index_vector::from_shape({n});
        for (std::size_t run = 0; run < s.runs; ++run)
            for (std::size_t v = 0; v < V; ++v) {
                const std::size_t row = run * V + v;
                const std::size_t clip = order[(run < s.repeat_runs ? 0 : run - s.repeat_runs + 1) * V + v];
                std::copy_n(clips.waveforms.data() + clip * m, m, out.waveforms.data() + row * m);
                std::copy_n(clips.latent.data() + clip * auditory_latent_dim, auditory_latent_dim,
                            out.latent.data() + row * auditory_latent_dim);
                out.category(row) = clips.category(clip);
                out.run(row) = std::int64_t(run);
                out.stimulus(row) = std::int64_t(clip);
            }
        const matrix<double> nr = neural(out.latent);
        const vector<double> h = canonical_hrf(opt_.tr);
        out.clean_bold = matrix<double>::from_shape({n, P});
        for (std::size_t run = 0; run < s.runs; ++run) {
            matrix<double> seg = matrix<double>::from_shape({V, P});
            std::copy_n(nr.data() + run * V * P, V * P, seg.data());
            const matrix<double> b = convolve_time(seg, h);
            std::copy_n(b.data(), V * P, out.clean_bold.data() + run * V * P);
        }
        out.noise_sd = vector<double>::from_shape({P});
        for (std::size_t j = 0; j < P; ++j) {
            double mu = 0, q = 0;
            for (std::size_t i = 0; i < n; ++i) mu += out.clean_bold(i, j);
            mu /= double(n);
            for (std::size_t i = 0; i < n; ++i) q += (out.clean_bold(i, j) - mu) * (out.clean_bold(i, j) - mu);
            out.noise_sd(j) = opt_.noise * std::sqrt(q / double(n > 1 ? n - 1 : 1));
        }
        out.bold = out.clean_bold;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < P; ++j) out.bold(i, j) += out.noise_sd(j) * r.normal();
        return out;
    }

    const auditory_subject_options& options() const { return opt_; } ///< The options it was built with.
    const matrix<double>& latent_map() const { return a_; }               ///< A (6, P), the latent-to-parcel map.

private:
    const auditory_world* world_;
    auditory_subject_options opt_;
    matrix<double> a_, c_;
};

} // namespace b2m::sim

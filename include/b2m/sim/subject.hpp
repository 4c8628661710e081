// b2m/sim/subject.hpp - simulated subjects: ground-truth brain teachers for tests,
// examples and the demo.
//
//   sim::latent_world world({.features = 64, .latent_dim = 4, .classes = 4, .task_share = 1.0, .seed = 1});
//   rng r(7);
//   matrix<double> x = world.stimuli(200, r);          // stimuli, N(0, I)
//   index_vector y  = world.labels(x);                  // the task
//   sim::subject s(world, {.voxels = 300, .noise = 0.5, .id = 0});
//   auto rec = s.record(x, 2, r);                        // 2 repeats: rec.brain (400, 300), rec.stimulus
//
// The world: every stimulus x (F features) has a hidden low-dimensional latent
// z = x M (M: F x k, orthonormal columns, so z ~ N(0, I_k)): the
// compact representation the brain is assumed to compute. The task's class is
// argmax_c [ task_share * (z W)_c + (1 - task_share) * (x U)_c ] with random W (k x C) and
// U (F x C) whose directions are orthogonal to the latent: task_share = 1 means the latent
// carries the whole task, 0 that it carries none of it.
// A subject maps the latent to V targets by a random nonlinear map
//   b = gain * tanh(z A + c) + noise,   A = sqrt(1 - variability^2) A_group + variability A_subject
// with A_group shared by all subjects of the world (drawn from the world's seed) and
// A_subject, c, gain drawn from (world seed, subject id); noise is Gaussian with standard
// deviation `noise` times the signal's standard deviation per target, drawn independently
// for every repeat. time_series() adds a hemodynamic filter for fMRI-like data.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/sim/hemodynamic.hpp"

namespace b2m::sim {

/// Options of a latent_world (see the head of this file).
struct world_options {
    std::size_t features = 64;    ///< stimulus dimension F
    std::size_t latent_dim = 4;   ///< hidden latent dimension k (< F)
    std::size_t classes = 4;      ///< task classes C
    double task_share = 1.0;      ///< how much of the task the latent carries, in [0, 1]
    std::uint64_t seed = 0;       ///< draws M, U, W, and the subjects' group map
};

/// Stimuli x ~ N(0, I_F), their hidden latent z = x M and task labels (the head of this file).
class latent_world {
public:
    /// Draws M, U, W from the seed; throws b2m::error unless 0 < latent_dim < features,
    /// classes >= 2 and task_share in [0, 1].
    explicit latent_world(world_options o) : opt_(o) {
        if (o.latent_dim == 0 || o.latent_dim >= o.features || o.classes < 2)
            throw error("sim::latent_world: need 0 < latent_dim < features and classes >= 2");
        if (!(o.task_share >= 0 && o.task_share <= 1)) throw error("sim::latent_world: task_share must lie in [0, 1]");
        rng r(o.seed);
        // Orthonormal basis of F + C... via Gram-Schmidt on Gaussian columns: the first k
        // span the latent, the next C give U's directions (orthogonal to the latent).
        const std::size_t f = o.features, k = o.latent_dim, c = o.classes;
        const std::size_t cols = std::min(f, k + c);
        matrix<double> q = matrix<double>::from_shape({f, cols});
        rng rq = r.split(0);
        rq.fill_normal(q);
        for (std::size_t j = 0; j < cols; ++j) {
            for (std::size_t p = 0; p < j; ++p) {
                double d = 0;
                for (std::size_t i = 0; i < f; ++i) d += q(i, j) * q(i, p);
                for (std::size_t i = 0; i < f; ++i) q(i, j) -= d * q(i, p);
            }
            double nrm = 0;
            for (std::size_t i = 0; i < f; ++i) nrm += q(i, j) * q(i, j);
            nrm = std::sqrt(nrm);
            for (std::size_t i = 0; i < f; ++i) q(i, j) /= nrm;
        }
        m_ = matrix<double>::from_shape({f, k});
        for (std::size_t i = 0; i < f; ++i)
            for (std::size_t j = 0; j < k; ++j) m_(i, j) = q(i, j);
        u_ = xt::zeros<double>({f, c});
        rng ru = r.split(1);
        for (std::size_t j = 0; j < c; ++j)  // U: random mixtures of the non-latent directions
            for (std::size_t p = k; p < cols; ++p) {
                const double w = ru.normal();
                for (std::size_t i = 0; i < f; ++i) u_(i, j) += w * q(i, p);
            }
        w_ = matrix<double>::from_shape({k, c});
        rng rw = r.split(2);
        rw.fill_normal(w_);
    }

    const world_options& options() const { return opt_; } ///< The options it was built with.
    /// n stimuli, rows ~ N(0, I_F).
    matrix<double> stimuli(std::size_t n, rng& r) const {
        matrix<double> x = matrix<double>::from_shape({n, opt_.features});
        r.fill_normal(x);
        return x;
    }
    /// The hidden latent z = x M (n x k), z ~ N(0, I) for x ~ N(0, I).
    matrix<double> latent(const matrix<double>& x) const {
        require_dim("sim::latent_world stimuli", x.shape(), 1, opt_.features, "the world");
        matrix<double> z;
        gemm<double>(x, m_, z);
        return z;
    }
    /// The task's class of every stimulus.
    index_vector labels(const matrix<double>& x) const {
        const matrix<double> z = latent(x);
        matrix<double> s1, s2;
        gemm<double>(z, w_, s1);
        gemm<double>(x, u_, s2);
        index_vector y = index_vector::from_shape({x.shape(0)});
        for (std::size_t i = 0; i < x.shape(0); ++i) {
            std::size_t best = 0;
            double bv = -1e300;
            for (std::size_t c = 0; c < opt_.classes; ++c) {
                const double v = opt_.task_share * s1(i, c) + (1 - opt_.task_share) * s2(i, c);
                if (v > bv) bv = v, best = c;
            }
            y(i) = std::int64_t(best);
        }
        return y;
    }
    const matrix<double>& latent_map() const { return m_; } ///< M (F, k), orthonormal columns: latent(x) = x M.

private:
    world_options opt_;
    matrix<double> m_, u_, w_;
};

/// Options of a simulated subject.
struct subject_options {
    std::size_t voxels = 100;       ///< V targets (voxels, channels, neurons)
    double noise = 0.5;             ///< noise sd relative to each target's signal sd
    double variability = 0.3;       ///< 0: every subject shares the group map; 1: fully individual
    std::size_t id = 0;             ///< subject id (selects the individual part)
};

/// Recorded responses: rows are trials (stimulus i repeated `repeats` times, in order).
struct recording {
    matrix<double> brain;        ///< (trials, V)
    index_vector stimulus;       ///< (trials) index of the stimulus of each trial
    index_vector subject;        ///< (trials) the subject id
};

/// A simulated subject of a latent_world: responses b = gain * tanh(z A + c) + noise (the head of this file).
class subject {
public:
    /// Draws A, c, gain from (the world's seed, o.id); refers to world, which must outlive it.
    /// Throws b2m::error unless voxels > 0, variability in [0, 1] and noise >= 0.
    subject(const latent_world& world, subject_options o) : opt_(o) {
        if (o.voxels == 0) throw error("sim::subject: voxels must be positive");
        if (!(o.variability >= 0 && o.variability <= 1)) throw error("sim::subject: variability must lie in [0, 1]");
        if (!(o.noise >= 0)) throw error("sim::subject: noise must be >= 0");
        const std::size_t k = world.options().latent_dim, v = o.voxels;
        rng group = rng(world.options().seed).split(100);
        rng ind = rng(world.options().seed).split(1000 + o.id);
        a_ = matrix<double>::from_shape({k, v});
        matrix<double> ai = matrix<double>::from_shape({k, v});
        group.fill_normal(a_);
        ind.fill_normal(ai);
        const double g = std::sqrt(1 - o.variability * o.variability);
        a_ = g * a_ + o.variability * ai;
        c_ = matrix<double>::from_shape({1, v});
        ind.fill_normal(c_, 0.0, 0.5);
        gain_ = matrix<double>::from_shape({1, v});
        ind.fill_uniform(gain_, 0.5, 1.5);
        world_ = &world;
    }

    /// Noise-free responses to stimuli x (n x V).
    matrix<double> signal(const matrix<double>& x) const { return signal_from_latent(world_->latent(x)); }
    /// Noise-free responses gain * tanh(z A + c) (n x V) to latents z (n x k).
    matrix<double> signal_from_latent(const matrix<double>& z) const {
        matrix<double> s;
        gemm<double>(z, a_, s);
        for (std::size_t i = 0; i < s.shape(0); ++i)
            for (std::size_t j = 0; j < s.shape(1); ++j) s(i, j) = gain_(0, j) * std::tanh(s(i, j) + c_(0, j));
        return s;
    }

    /// Each stimulus presented `repeats` times with independent noise.
    recording record(const matrix<double>& x, std::size_t repeats, rng& r) const {
        if (repeats == 0) throw error("sim::subject::record: repeats must be >= 1");
        const matrix<double> s = signal(x);
        const std::size_t n = s.shape(0), v = s.shape(1);
        const matrix<double> sd = signal_sd(s);
        recording rec;
        rec.brain = matrix<double>::from_shape({n * repeats, v});
        rec.stimulus = index_vector::from_shape({n * repeats});
        rec.subject = index_vector::from_shape({n * repeats});
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t rep = 0; rep < repeats; ++rep) {
                const std::size_t row = i * repeats + rep;
                for (std::size_t j = 0; j < v; ++j) rec.brain(row, j) = s(i, j) + opt_.noise * sd(0, j) * r.normal();
                rec.stimulus(row) = std::int64_t(i);
                rec.subject(row) = std::int64_t(opt_.id);
            }
        return rec;
    }

    /// fMRI-like series for a stimulus sequence x (time points x F, one stimulus per TR):
    /// neural signal convolved with the canonical HRF (TR tr seconds), then noise.
    matrix<double> time_series(const matrix<double>& x, double tr, rng& r) const {
        matrix<double> y = convolve_time(signal(x), canonical_hrf(tr));
        const matrix<double> sd = signal_sd(y);
        for (std::size_t i = 0; i < y.shape(0); ++i)
            for (std::size_t j = 0; j < y.shape(1); ++j) y(i, j) += opt_.noise * sd(0, j) * r.normal();
        return y;
    }
    const subject_options& options() const { return opt_; } ///< The options it was built with.

private:
    static matrix<double> signal_sd(const matrix<double>& s) {
        const std::size_t n = s.shape(0), v = s.shape(1);
        matrix<double> sd = matrix<double>::from_shape({1, v});
        for (std::size_t j = 0; j < v; ++j) {
            double m = 0, q = 0;
            for (std::size_t i = 0; i < n; ++i) m += s(i, j);
            m /= double(n);
            for (std::size_t i = 0; i < n; ++i) q += (s(i, j) - m) * (s(i, j) - m);
            sd(0, j) = n > 1 ? std::sqrt(q / double(n - 1)) : 1.0;
            if (!(sd(0, j) > 0)) sd(0, j) = 1.0;
        }
        return sd;
    }
    subject_options opt_;
    const latent_world* world_ = nullptr;
    matrix<double> a_, c_, gain_;
};

} // namespace b2m::sim

// b2m/sim/decision_subject.hpp - a simulated subject doing a two-choice evidence-
// accumulation task, whose population activity follows the latent decision variable.
//
//   sim::decision_subject s({.steps = 50, .inputs = 8, .neurons = 64, .seed = 3});
//   rng r(1);
//   auto d = s.trials(256, r);   // d.x (256, 50*8), d.labels, d.brain (256, 50*64), d.latent (256, 50*1)
//
// Trial: a hidden direction sign s in {-1, +1} and coherence c ~ U(coherence_min,
// coherence_max); momentary evidence e_t = c s + input_noise N(0, 1); the input is
// x_t = e_t u + 0.5 N(0, I) for a fixed random unit vector u (8 channels by default).
// Latent: a_t = (1 - leak) a_{t-1} + e_t (a_0 = 0), the accumulated evidence.
// Population: r_t = tanh(gain_n a_t / sqrt(t+1) + offset_n) + neural_noise N(0, 1) per
// neuron n (choice-selective neurons with random signed gains). Label: s (1 for +1).
// Sequences are stored (trials, steps * features), time-major inside a row (as b2m stores
// (B, T, F)).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "b2m/core/error.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::sim {

/// Options of a decision_subject (symbols as in the head of this file).
struct decision_options {
    std::size_t steps = 50;      ///< T, time steps per trial
    std::size_t inputs = 8;      ///< input channels (the dimension of u)
    std::size_t neurons = 64;    ///< recorded neurons
    double coherence_min = 0.05; ///< c is drawn uniformly from [coherence_min, coherence_max]
    double coherence_max = 0.4;  ///< see coherence_min
    double input_noise = 1.0;    ///< sd of the momentary evidence noise
    double neural_noise = 0.3;   ///< sd of the noise added to each neuron's rate
    double leak = 0.0;         ///< 0: perfect integrator
    std::uint64_t seed = 0;    ///< the subject (input direction, tuning)
};

/// Simulated trials; sequences time-major inside a row.
struct decision_trials {
    matrix<double> x;       ///< (n, steps * inputs)
    index_vector labels;    ///< (n) 0 / 1
    matrix<double> brain;   ///< (n, steps * neurons)
    matrix<double> latent;  ///< (n, steps) accumulated evidence
};

/// A simulated subject of the two-choice accumulation task (the head of this file).
class decision_subject {
public:
    /// Draws u, the gains and offsets from o.seed; throws b2m::error when steps, inputs or neurons is 0.
    explicit decision_subject(decision_options o) : opt_(o) {
        if (o.steps == 0 || o.inputs == 0 || o.neurons == 0) throw error("sim::decision_subject: empty sizes");
        rng r(o.seed);
        u_ = vector<double>::from_shape({o.inputs});
        r.fill_normal(u_);
        double nrm = 0;
        for (double v : u_) nrm += v * v;
        for (auto& v : u_) v /= std::sqrt(nrm);
        gain_ = vector<double>::from_shape({o.neurons});
        offset_ = vector<double>::from_shape({o.neurons});
        for (std::size_t n = 0; n < o.neurons; ++n) {
            gain_(n) = (r.uniform() < 0.5 ? -1.0 : 1.0) * (0.3 + r.uniform());
            offset_(n) = 0.3 * r.normal();
        }
    }

    /// n trials (signs, coherences and noise drawn from r).
    decision_trials trials(std::size_t n, rng& r) const {
        const std::size_t t = opt_.steps, f = opt_.inputs, v = opt_.neurons;
        decision_trials d;
        d.x = matrix<double>::from_shape({n, t * f});
        d.brain = matrix<double>::from_shape({n, t * v});
        d.latent = matrix<double>::from_shape({n, t});
        d.labels = index_vector::from_shape({n});
        for (std::size_t i = 0; i < n; ++i) {
            const double s = r.uniform() < 0.5 ? -1.0 : 1.0;
            const double c = opt_.coherence_min + (opt_.coherence_max - opt_.coherence_min) * r.uniform();
            d.labels(i) = s > 0 ? 1 : 0;
            double a = 0;
            for (std::size_t k = 0; k < t; ++k) {
                const double e = c * s + opt_.input_noise * r.normal();
                a = (1 - opt_.leak) * a + e;
                d.latent(i, k) = a;
                for (std::size_t j = 0; j < f; ++j) d.x(i, k * f + j) = e * u_(j) + 0.5 * r.normal();
                const double scaled = a / std::sqrt(double(k + 1));
                for (std::size_t j = 0; j < v; ++j)
                    d.brain(i, k * v + j) = std::tanh(gain_(j) * scaled + offset_(j)) + opt_.neural_noise * r.normal();
            }
        }
        return d;
    }
    const decision_options& options() const { return opt_; } ///< The options it was built with.

private:
    decision_options opt_;
    vector<double> u_, gain_, offset_;
};

} // namespace b2m::sim

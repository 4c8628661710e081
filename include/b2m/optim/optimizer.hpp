// b2m/optim/optimizer.hpp - SGD (momentum, Nesterov, weight decay), Adam and AdamW.
//
// optim::adam({.lr = 1e-3}) is a spec; make<T>() builds the optimizer object, whose
//   template <class Visit> void step(Visit&& visit)
// updates every parameter that visit(f) presents as f(name, value, grad), in the same
// order every step, then ZEROES the gradients it consumed (so backward passes can
// accumulate into them). State (momentum, moments) is allocated on the first step only.
// Semantics follow PyTorch's torch.optim of the same name. `groups` (optim/param_groups.hpp)
// give parameter groups their own learning-rate scale and weight decay.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "b2m/core/error.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/optim/param_groups.hpp"

namespace b2m::optim {

struct sgd_options {
    double lr = 1e-2;
    double momentum = 0.0;
    bool nesterov = false;
    double weight_decay = 0.0;  ///< L2 penalty added to the gradient
    std::vector<param_group> groups{};  ///< per-group lr scale / weight decay (first match)
};
struct adam_options {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;  ///< adam: L2 added to the gradient; adamw: decoupled decay
    std::vector<param_group> groups{};  ///< per-group lr scale / weight decay (first match)
};

namespace detail {
/// Counts and shapes the parameters on the first step; later steps must present the same.
template <real T>
struct slot_state {
    std::vector<matrix<T>> first, second;
    std::vector<param_setting> settings;  ///< per parameter: lr scale, weight decay
    bool ready = false;

    template <class Visit>
    void prepare(Visit& visit, bool need_second, const std::vector<param_group>& groups, double weight_decay) {
        if (ready) return;
        visit([&](const std::string& name, matrix<T>& v, matrix<T>&) {
            first.push_back(xt::zeros<T>(v.shape()));
            if (need_second) second.push_back(xt::zeros<T>(v.shape()));
            settings.push_back(resolve_group(groups, name, weight_decay));
        });
        ready = true;
    }
};
} // namespace detail

template <real T>
class sgd_optimizer {
public:
    explicit sgd_optimizer(sgd_options o) : opt(o), lr(o.lr) {
        if (o.nesterov && o.momentum <= 0) throw error("optim::sgd: Nesterov momentum requires momentum > 0");
    }
    sgd_options opt;
    double lr;  ///< current learning rate (schedules change it)

    /// Allocates the state for the parameters visit presents (done by the first step).
    template <class Visit>
    void prepare(Visit&& visit) { state_.prepare(visit, false, opt.groups, opt.weight_decay); }

    template <class Visit>
    void step(Visit&& visit) {
        state_.prepare(visit, false, opt.groups, opt.weight_decay);
        std::size_t k = 0;
        const T mom = T(opt.momentum);
        const bool first_step = steps_ == 0;
        visit([&](const std::string&, matrix<T>& v, matrix<T>& g) {
            const T lr_t = T(lr * state_.settings[k].lr_scale), wd = T(state_.settings[k].weight_decay);
            T *p = v.data(), *pg = g.data(), *pm = state_.first[k++].data();
            parallel_for(v.size(), 1 << 14, [&](std::size_t b, std::size_t e) {
                for (std::size_t i = b; i < e; ++i) {
                    T d = pg[i] + wd * p[i];
                    if (mom != T(0)) {
                        pm[i] = first_step ? d : mom * pm[i] + d;
                        d = opt.nesterov ? d + mom * pm[i] : pm[i];
                    }
                    p[i] -= lr_t * d;
                    pg[i] = T(0);
                }
            });
        });
        ++steps_;
    }

    /// Visits the optimiser's state for checkpoints: ar.tensor(name, m), ar.u64(name, n),
    /// ar.f64(name, x). Requires at least one step (state exists) before saving or loading.
    template <class Archive>
    void serialize(Archive& ar) {
        ar.f64("optimizer.lr", lr);
        std::uint64_t steps = steps_;
        ar.u64("optimizer.steps", steps);
        steps_ = steps;
        for (std::size_t k = 0; k < state_.first.size(); ++k) ar.tensor("optimizer.momentum." + std::to_string(k), state_.first[k]);
    }

private:
    detail::slot_state<T> state_;
    std::size_t steps_ = 0;
};

template <real T, bool Decoupled>
class adam_optimizer {
public:
    explicit adam_optimizer(adam_options o) : opt(o), lr(o.lr) {}
    adam_options opt;
    double lr;

    /// Allocates the state for the parameters visit presents (done by the first step).
    template <class Visit>
    void prepare(Visit&& visit) { state_.prepare(visit, true, opt.groups, opt.weight_decay); }

    template <class Visit>
    void step(Visit&& visit) {
        state_.prepare(visit, true, opt.groups, opt.weight_decay);
        ++t_;
        const double bc1 = 1.0 - std::pow(opt.beta1, double(t_));
        const double bc2 = 1.0 - std::pow(opt.beta2, double(t_));
        const T rbc2 = T(1.0 / std::sqrt(bc2));
        const T b1 = T(opt.beta1), b2 = T(opt.beta2), eps = T(opt.eps);
        std::size_t k = 0;
        visit([&](const std::string&, matrix<T>& v, matrix<T>& g) {
            const double lr_k = lr * state_.settings[k].lr_scale, wd_k = state_.settings[k].weight_decay;
            const T step_size = T(lr_k / bc1), wd = T(wd_k);
            const T decay = Decoupled ? T(1.0 - lr_k * wd_k) : T(1);
            T *p = v.data(), *pg = g.data(), *m = state_.first[k].data(), *s = state_.second[k].data();
            ++k;
            parallel_for(v.size(), 1 << 14, [&](std::size_t b, std::size_t e) {
                std::size_t i = b;
#if defined(__SSE2__)
                // The same operations four floats at a time. GCC does not vectorise the
                // scalar loop below: std::sqrt may set errno (default -fmath-errno).
                if constexpr (std::is_same_v<T, float>) {
                    const __m128 vb1 = _mm_set1_ps(b1), vb2 = _mm_set1_ps(b2), vwd = _mm_set1_ps(wd),
                                 vdecay = _mm_set1_ps(decay), vstep = _mm_set1_ps(step_size),
                                 vrbc2 = _mm_set1_ps(rbc2), veps = _mm_set1_ps(eps),
                                 c1 = _mm_set1_ps(T(1) - b1), c2 = _mm_set1_ps(T(1) - b2);
                    for (; i + 4 <= e; i += 4) {
                        __m128 gi = _mm_loadu_ps(pg + i);
                        const __m128 pi = _mm_loadu_ps(p + i);
                        if (!Decoupled) gi = _mm_add_ps(gi, _mm_mul_ps(vwd, pi));
                        const __m128 mi = _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(m + i)), _mm_mul_ps(c1, gi));
                        const __m128 si =
                            _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(s + i)), _mm_mul_ps(_mm_mul_ps(c2, gi), gi));
                        const __m128 den = _mm_add_ps(_mm_mul_ps(_mm_sqrt_ps(si), vrbc2), veps);
                        _mm_storeu_ps(m + i, mi);
                        _mm_storeu_ps(s + i, si);
                        _mm_storeu_ps(p + i, _mm_sub_ps(_mm_mul_ps(vdecay, pi), _mm_div_ps(_mm_mul_ps(vstep, mi), den)));
                        _mm_storeu_ps(pg + i, _mm_setzero_ps());
                    }
                }
#endif
                for (; i < e; ++i) {
                    const T gi = Decoupled ? pg[i] : pg[i] + wd * p[i];
                    m[i] = b1 * m[i] + (T(1) - b1) * gi;
                    s[i] = b2 * s[i] + (T(1) - b2) * gi * gi;
                    p[i] = decay * p[i] - step_size * m[i] / (std::sqrt(s[i]) * rbc2 + eps);
                    pg[i] = T(0);
                }
            });
        });
    }
    std::size_t steps() const { return t_; }

    /// Visits the optimiser's state for checkpoints (see sgd_optimizer::serialize).
    template <class Archive>
    void serialize(Archive& ar) {
        ar.f64("optimizer.lr", lr);
        std::uint64_t t = t_;
        ar.u64("optimizer.steps", t);
        t_ = t;
        for (std::size_t k = 0; k < state_.first.size(); ++k) {
            ar.tensor("optimizer.m." + std::to_string(k), state_.first[k]);
            ar.tensor("optimizer.v." + std::to_string(k), state_.second[k]);
        }
    }

private:
    detail::slot_state<T> state_;
    std::size_t t_ = 0;
};

struct sgd {
    sgd_options options;
    template <real T> sgd_optimizer<T> make() const { return sgd_optimizer<T>(options); }
};
struct adam {
    adam_options options;
    template <real T> adam_optimizer<T, false> make() const { return adam_optimizer<T, false>(options); }
};
struct adamw {
    adam_options options{.lr = 1e-3, .weight_decay = 1e-2};
    template <real T> adam_optimizer<T, true> make() const { return adam_optimizer<T, true>(options); }
};

} // namespace b2m::optim

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

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#endif

#include "b2m/core/error.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/core/small_gemm.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/optim/param_groups.hpp"

namespace b2m::optim {

/// Options of optim::sgd (torch.optim.SGD's meaning).
struct sgd_options {
    double lr = 1e-2;          ///< learning rate (the optimiser's starting lr; schedules change it)
    double momentum = 0.0;     ///< momentum factor; 0: plain SGD
    bool nesterov = false;     ///< Nesterov momentum (requires momentum > 0)
    double weight_decay = 0.0;  ///< L2 penalty added to the gradient
    std::vector<param_group> groups{};  ///< per-group lr scale / weight decay (first match)
};
/// Options of optim::adam and optim::adamw (torch.optim.Adam / AdamW's meaning).
struct adam_options {
    double lr = 1e-3;     ///< learning rate (the optimiser's starting lr; schedules change it)
    double beta1 = 0.9;   ///< decay of the first-moment (mean) estimate, in [0, 1)
    double beta2 = 0.999; ///< decay of the second-moment estimate, in [0, 1)
    double eps = 1e-8;    ///< added to the square root of the bias-corrected second moment
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

namespace detail {
/// One parameter's slice of an Adam step: value, gradient, moments, its place in the
/// concatenation of all parameters, and its step size / weight decay / decoupled decay.
template <real T>
struct adam_segment {
    T *p = nullptr, *g = nullptr, *m = nullptr, *s = nullptr;
    std::size_t n = 0, offset = 0;
    T step_size = 0, wd = 0, decay = 1;
};
template <real T>
struct adam_consts {
    T b1, b2, rbc2, eps;
};

/// Adam on elements [i, e) of one segment, scalar (tails, double, other ISAs).
template <real T, bool Decoupled>
inline void adam_scalar(const adam_segment<T>& sg, std::size_t i, std::size_t e, const adam_consts<T>& c) {
    T *p = sg.p, *pg = sg.g, *m = sg.m, *s = sg.s;
    for (; i < e; ++i) {
        const T gi = Decoupled ? pg[i] : pg[i] + sg.wd * p[i];
        m[i] = c.b1 * m[i] + (T(1) - c.b1) * gi;
        s[i] = c.b2 * s[i] + (T(1) - c.b2) * gi * gi;
        p[i] = sg.decay * p[i] - sg.step_size * m[i] / (std::sqrt(s[i]) * c.rbc2 + c.eps);
        pg[i] = T(0);
    }
}

// The same operations on vectors of floats (the scalar loop does not vectorise: std::sqrt
// may set errno under the default -fmath-errno), one function per ISA so that b2m built
// for baseline x86-64 still uses the CPU's widest vectors (chosen at run time).
#if B2M_SIMD_MULTIVERSION
#define B2M_ADAM_BODY(W, V, LOAD, STORE, SET1, ADD, SUB, MUL, DIV, SQRT, ZERO)                                  \
    const V vb1 = SET1(c.b1), vb2 = SET1(c.b2), vwd = SET1(sg.wd), vdecay = SET1(sg.decay),                    \
            vstep = SET1(sg.step_size), vrbc2 = SET1(c.rbc2), veps = SET1(c.eps), c1 = SET1(1.0f - c.b1),      \
            c2 = SET1(1.0f - c.b2);                                                                             \
    float *p = sg.p, *pg = sg.g, *m = sg.m, *s = sg.s;                                                         \
    for (; i + W <= e; i += W) {                                                                                \
        V gi = LOAD(pg + i);                                                                                    \
        const V pi = LOAD(p + i);                                                                               \
        if (!Decoupled) gi = ADD(gi, MUL(vwd, pi));                                                             \
        const V mi = ADD(MUL(vb1, LOAD(m + i)), MUL(c1, gi));                                                   \
        const V si = ADD(MUL(vb2, LOAD(s + i)), MUL(MUL(c2, gi), gi));                                          \
        const V den = ADD(MUL(SQRT(si), vrbc2), veps);                                                          \
        STORE(m + i, mi);                                                                                       \
        STORE(s + i, si);                                                                                       \
        STORE(p + i, SUB(MUL(vdecay, pi), DIV(MUL(vstep, mi), den)));                                           \
        STORE(pg + i, ZERO());                                                                                  \
    }                                                                                                           \
    adam_scalar<float, Decoupled>(sg, i, e, c);

// (_mm512_sqrt_ps starts from an undefined vector, on which GCC 12 warns.)
#define B2M_ADAM_SQRT512(x) _mm512_maskz_sqrt_ps(__mmask16(0xFFFF), x)
template <bool Decoupled>
__attribute__((target("avx512f"))) void adam_avx512(const adam_segment<float>& sg, std::size_t i, std::size_t e,
                                                    const adam_consts<float>& c) {
    B2M_ADAM_BODY(16, __m512, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_add_ps, _mm512_sub_ps,
                  _mm512_mul_ps, _mm512_div_ps, B2M_ADAM_SQRT512, _mm512_setzero_ps)
}
template <bool Decoupled>
__attribute__((target("avx2"))) void adam_avx2(const adam_segment<float>& sg, std::size_t i, std::size_t e,
                                               const adam_consts<float>& c) {
    B2M_ADAM_BODY(8, __m256, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_add_ps, _mm256_sub_ps,
                  _mm256_mul_ps, _mm256_div_ps, _mm256_sqrt_ps, _mm256_setzero_ps)
}
template <bool Decoupled>
void adam_sse2(const adam_segment<float>& sg, std::size_t i, std::size_t e, const adam_consts<float>& c) {
    B2M_ADAM_BODY(4, __m128, _mm_loadu_ps, _mm_storeu_ps, _mm_set1_ps, _mm_add_ps, _mm_sub_ps, _mm_mul_ps,
                  _mm_div_ps, _mm_sqrt_ps, _mm_setzero_ps)
}
#undef B2M_ADAM_BODY
#undef B2M_ADAM_SQRT512
#endif

/// Adam on elements [i, e) of one segment at the widest vectors the CPU has (the same
/// operations in the same order as the scalar loop; no FMA).
template <real T, bool Decoupled>
inline void adam_update(const adam_segment<T>& sg, std::size_t i, std::size_t e, const adam_consts<T>& c) {
#if B2M_SIMD_MULTIVERSION
    if constexpr (std::is_same_v<T, float>) {
        switch (active_simd_isa()) {
        case simd_isa::avx512: adam_avx512<Decoupled>(sg, i, e, c); return;
        case simd_isa::avx2: adam_avx2<Decoupled>(sg, i, e, c); return;
        default: adam_sse2<Decoupled>(sg, i, e, c); return;
        }
    }
#endif
    adam_scalar<T, Decoupled>(sg, i, e, c);
}
} // namespace detail

/// The optimiser object of optim::sgd for scalar type T.
template <real T>
class sgd_optimizer {
public:
    /// Throws b2m::error for Nesterov without momentum > 0.
    explicit sgd_optimizer(sgd_options o) : opt(o), lr(o.lr) {
        if (o.nesterov && o.momentum <= 0) throw error("optim::sgd: Nesterov momentum requires momentum > 0");
    }
    sgd_options opt; ///< The options (groups resolved per parameter on the first step).
    double lr;  ///< current learning rate (schedules change it)

    /// Allocates the state for the parameters visit presents (done by the first step).
    template <class Visit>
    void prepare(Visit&& visit) { state_.prepare(visit, false, opt.groups, opt.weight_decay); }

    /// Optimiser step (see the head of this file): for each parameter p with gradient g,
    /// d = g + wd p; with momentum, buf = momentum buf + d (buf = d on the first step) and
    /// d = buf (Nesterov: d + momentum buf); p -= lr * lr_scale * d; then g = 0. visit must
    /// present the same parameters, with the same shapes, in the same order on every step.
    template <class Visit>
    void step(Visit&& visit) {
        state_.prepare(visit, false, opt.groups, opt.weight_decay);
        std::size_t k = 0;
        const T mom = T(opt.momentum);
        const bool first_step = steps_ == 0;
        visit([&](const std::string&, matrix<T>& v, matrix<T>& g) {
            const T lr_t = T(lr * state_.settings[k].lr_scale), wd = T(state_.settings[k].weight_decay);
            T *p = v.data(), *pg = g.data(), *pm = state_.first[k++].data();
            parallel_for(v.size(), elementwise_grain, [&](std::size_t b, std::size_t e) {
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

/// The optimiser object of optim::adam (Decoupled false) and optim::adamw (true) for scalar type T.
template <real T, bool Decoupled>
class adam_optimizer {
public:
    explicit adam_optimizer(adam_options o) : opt(o), lr(o.lr) {} ///< Keeps the options; lr = o.lr.
    adam_options opt; ///< The options (groups resolved per parameter on the first step).
    double lr;        ///< current learning rate (schedules change it)

    /// Allocates the state for the parameters visit presents (done by the first step).
    template <class Visit>
    void prepare(Visit&& visit) { state_.prepare(visit, true, opt.groups, opt.weight_decay); }

    /// Optimiser step (see the head of this file): Adam's update of every parameter with
    /// bias-corrected moments (weight decay added to the gradient for adam, applied to the
    /// value as p *= 1 - lr wd for adamw), then zeroes the gradients. visit must present the
    /// same parameters, with the same shapes, in the same order on every step.
    template <class Visit>
    void step(Visit&& visit) {
        state_.prepare(visit, true, opt.groups, opt.weight_decay);
        ++t_;
        const double bc1 = 1.0 - std::pow(opt.beta1, double(t_));
        const double bc2 = 1.0 - std::pow(opt.beta2, double(t_));
        detail::adam_consts<T> c{T(opt.beta1), T(opt.beta2), T(1.0 / std::sqrt(bc2)), T(opt.eps)};
        // One pass over all parameters: the segments (one per parameter) are laid end to
        // end and one parallel region splits the total, instead of a region per parameter.
        const std::size_t np = state_.first.size();
        if (segs_.size() != np) segs_.resize(np);  // first step only
        std::size_t k = 0, total = 0;
        visit([&](const std::string&, matrix<T>& v, matrix<T>& g) {
            const double lr_k = lr * state_.settings[k].lr_scale, wd_k = state_.settings[k].weight_decay;
            segs_[k] = {v.data(), g.data(), state_.first[k].data(), state_.second[k].data(), v.size(), total,
                        T(lr_k / bc1), T(wd_k), Decoupled ? T(1.0 - lr_k * wd_k) : T(1)};
            total += v.size();
            ++k;
        });
        parallel_for(total, parallel_grain, [&](std::size_t b, std::size_t e) {
            for (const auto& sg : segs_) {
                const std::size_t lo = std::max(b, sg.offset), hi = std::min(e, sg.offset + sg.n);
                if (lo < hi) detail::adam_update<T, Decoupled>(sg, lo - sg.offset, hi - sg.offset, c);
            }
        });
    }
    std::size_t steps() const { return t_; } ///< The number of steps taken (Adam's t).

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
    std::vector<detail::adam_segment<T>> segs_;
    std::size_t t_ = 0;
};

/// Spec of SGD: optim::sgd{{.lr = 0.1, .momentum = 0.9}}.
struct sgd {
    sgd_options options; ///< The options every optimiser made from this spec starts with.
    /// The optimiser object for scalar type T (throws as its constructor does).
    template <real T> sgd_optimizer<T> make() const { return sgd_optimizer<T>(options); }
};
/// Spec of Adam (weight decay as an L2 term in the gradient).
struct adam {
    adam_options options; ///< The options every optimiser made from this spec starts with.
    /// The optimiser object for scalar type T.
    template <real T> adam_optimizer<T, false> make() const { return adam_optimizer<T, false>(options); }
};
/// Spec of AdamW (decoupled weight decay; default weight_decay 1e-2 as PyTorch).
struct adamw {
    adam_options options{.lr = 1e-3, .weight_decay = 1e-2}; ///< The options every optimiser made from this spec starts with.
    /// The optimiser object for scalar type T.
    template <real T> adam_optimizer<T, true> make() const { return adam_optimizer<T, true>(options); }
};

} // namespace b2m::optim

// b2m/loss/temporal_encoding.hpp - brain-aligned fine-tuning with a temporal-convolution
// encoding head (Freteault et al. 2025; METHODS.md): a student's time-resolved tap is pooled
// into fMRI volumes (TRs), and a 1-D convolution over volumes predicts V brain targets per
// volume; the loss is the MSE against the recorded volumes.
//
//   auto objective = loss::temporal_encoding(nn::tap<"conv5">{}, data::brain,
//                                            {.features = 256, .volumes = 10, .targets = 50});
//
// What it represents: one batch row is a window of `volumes` consecutive fMRI volumes of one
// run. The tap row holds T time steps x F features, time-major ((B, T*F), as nn::temporal_conv
// and the recurrent layers write it) or, with channels_first, channel-major ((B, F*T), as
// nn::conv1d writes it: SoundNet's taps); data::brain holds volumes x V targets, time-major
// ((B, volumes*V)).
//   u(b, r)    = mean of the tap's steps in volume r, steps [floor(r T / R), floor((r+1) T / R))
//   p(b, r, v) = bias_v + sum_{s<k} u(b, r + s - left) W_s(., v)   (nn::temporal_conv, F -> V)
//   L          = mean over B * R * V of (p - brain)^2
// with R = volumes and k = kernel (5 by default, as in the paper). Causal padding (default):
// the prediction of volume r sees volumes r-k+1..r, as BOLD lags the stimulus by seconds;
// `same` centres the kernel. The head's weights are nn.Conv1d(F, V, k) in PyTorch's layout
// (see nn/temporal_conv.hpp) and are the term's parameters "head.weight", "head.bias".
// Requires: T >= volumes (every volume gets at least one step); brain width = volumes * V.
// Ensures: the head exists from construction when `targets` is given (else it is built on
// the first forward, from rng(seed)); gradients reach the tap (pooled back evenly) and the
// head. Frozen-feature use: head() is an ordinary layer object (predict with forward).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "b2m/core/error.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/loss/term_base.hpp"
#include "b2m/nn/temporal_conv.hpp"

namespace b2m::loss {

/// Options of loss::temporal_encoding (see the head of this file).
struct temporal_encoding_options {
    std::size_t features = 0;  ///< F, features per time step of the tap (required)
    std::size_t volumes = 0;   ///< R, fMRI volumes per batch row (required)
    std::size_t targets = 0;   ///< V, brain targets; 0: taken from the first batch
    std::size_t kernel = 5;    ///< temporal kernel over volumes
    nn::time_padding padding = nn::time_padding::causal; ///< causal (volume r sees r-k+1..r) or same (centred); not valid
    bool channels_first = false;  ///< tap rows are (F, T) channel-major (nn::conv1d) instead of (T, F)
    std::uint64_t seed = 0;       ///< the head's initialisation stream
};

namespace detail {
/// Steps [first, last) of volume r when T steps are pooled into R volumes.
inline std::size_t volume_first_step(std::size_t r, std::size_t steps, std::size_t volumes) {
    return r * steps / volumes;
}
} // namespace detail

/// The term object of loss::temporal_encoding (the contract is at the head of this file).
template <real T, class Tap, class Brain>
class temporal_encoding_term : public term_base<temporal_encoding_term<T, Tap, Brain>, T, Tap, Brain> {
public:
    static_assert(source_traits<Tap>::from_student, "b2m: temporal_encoding's first source must be a student tap");
    static_assert(!source_traits<Brain>::from_student, "b2m: temporal_encoding's brain must be a batch field");

    /// Throws b2m::error when features, volumes or kernel is 0 or the padding is valid; builds
    /// the head now when o.targets is given.
    explicit temporal_encoding_term(temporal_encoding_options o) : opt_(o) {
        if (o.features == 0 || o.volumes == 0 || o.kernel == 0)
            throw error("loss::temporal_encoding: features, volumes and kernel must be positive");
        if (o.padding == nn::time_padding::valid)
            throw error("loss::temporal_encoding: 'valid' padding would predict fewer volumes than recorded; "
                        "use causal or same");
        if (o.targets) build(o.targets);
    }

    /// @name Term maths (the hooks of loss::term_base)
    ///@{

    /// Term maths: the name is "temporal_encoding(<Tap>, <Brain>)"; value(batch, tap, brain) pools
    /// the tap (B, T*F) into u (B, volumes*F), predicts p (B, volumes*V) with the head and returns
    /// mean (p - brain)^2 (throws on T < volumes or a brain width other than volumes*V);
    /// gradient(batch, w, tap, brain) adds w * dL/d(tap) (spread evenly over each volume's steps)
    /// into the tap's gradient and the head's gradients; for_each_param visits the head's
    /// parameters as "head.weight", "head.bias" (nothing before the head is built).
    static constexpr std::string_view term_name = "temporal_encoding";

    T value(const data::batch<T>&, const source_ref<T>& tap, const source_ref<T>& brain) {
        const matrix<T>& h = tap.value;
        const matrix<T>& b = brain.value;
        const std::size_t n = h.shape(0), F = opt_.features, R = opt_.volumes;
        if (h.shape(1) % F != 0 || h.shape(1) / F < R)
            throw shape_error(this->name() + ": " + tap.name() + " has shape " + shape_string(h.shape()) +
                              ", not (batch, T * " + std::to_string(F) + ") with T >= " + std::to_string(R) +
                              " volumes");
        if (b.shape(0) != n || b.shape(1) % R != 0 || b.shape(1) == 0)
            throw shape_error(this->name() + ": " + brain.name() + " has shape " + shape_string(b.shape()) +
                              " but needs (" + std::to_string(n) + ", " + std::to_string(R) + " * targets)");
        const std::size_t V = b.shape(1) / R;
        if (!head_) build(V);
        else if (head_->out_channels() != V)
            throw shape_error(this->name() + ": " + brain.name() + " has shape " + shape_string(b.shape()) +
                              " but the head was built for " + std::to_string(head_->out_channels()) + " targets");
        steps_ = h.shape(1) / F;
        ensure_shape(u_, n, R * F);
        u_.fill(T(0));
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t r = 0; r < R; ++r) {
                const std::size_t s0 = detail::volume_first_step(r, steps_, R), s1 = detail::volume_first_step(r + 1, steps_, R);
                T* dst = u_.data() + (i * R + r) * F;
                for (std::size_t s = s0; s < s1; ++s)
                    for (std::size_t f = 0; f < F; ++f) dst[f] += h.data()[i * steps_ * F + index(s, f)];
                const T inv = T(1) / T(s1 - s0);
                for (std::size_t f = 0; f < F; ++f) dst[f] *= inv;
            }
        const matrix<T>& p = head_->forward(u_, nn::step_context{});
        p_ = &p;
        double total = 0;  // double accumulation even for float tensors
        for (std::size_t i = 0; i < p.size(); ++i) {
            const double d = double(p.data()[i]) - double(b.data()[i]);
            total += d * d;
        }
        return T(total / double(p.size()));
    }

    void gradient(const data::batch<T>&, T weight, const source_ref<T>& tap, const source_ref<T>& brain) {
        const matrix<T>& b = brain.value;
        matrix<T>& g = *tap.grad;
        const matrix<T>& p = *p_;  // the head's output buffer from forward
        ensure_shape_like(gp_, p);
        const T scale = T(2) * weight / T(p.size());
        for (std::size_t i = 0; i < p.size(); ++i) gp_.data()[i] = scale * (p.data()[i] - b.data()[i]);
        const matrix<T>& gu = head_->backward(gp_, true);
        const std::size_t n = u_.shape(0), F = opt_.features, R = opt_.volumes;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t r = 0; r < R; ++r) {
                const std::size_t s0 = detail::volume_first_step(r, steps_, R), s1 = detail::volume_first_step(r + 1, steps_, R);
                const T inv = T(1) / T(s1 - s0);
                const T* src = gu.data() + (i * R + r) * F;
                for (std::size_t s = s0; s < s1; ++s)
                    for (std::size_t f = 0; f < F; ++f) g.data()[i * steps_ * F + index(s, f)] += inv * src[f];
            }
    }

    ///@}

    /// Term interface: visits the head's parameters (see gradient above).
    template <class Fn>
    void for_each_param(Fn&& f) {
        if (!head_) return;
        head_->for_each_param([&](const std::string& n, auto& v, auto& g) { f("head." + n, v, g); });
    }

    /// The encoding head (nn::temporal_conv F -> V over volumes); requires it to be built.
    nn::temporal_conv_layer<T>& head() {
        if (!head_) throw error(this->name() + ": the head is built on the first batch (or give options.targets)");
        return *head_;
    }
    /// Volume-pooled tap of the last forward, (B, volumes * F).
    const matrix<T>& pooled() const { return u_; }

private:
    /// Offset of (step s, feature f) inside one tap row.
    std::size_t index(std::size_t s, std::size_t f) const { return opt_.channels_first ? f * steps_ + s : s * opt_.features + f; }
    void build(std::size_t V) {
        head_.emplace(opt_.features, V, opt_.kernel, nn::temporal_conv_options{.padding = opt_.padding});
        rng r(opt_.seed);
        head_->init(r);
    }
    temporal_encoding_options opt_;
    std::optional<nn::temporal_conv_layer<T>> head_;
    std::size_t steps_ = 0;
    matrix<T> u_, gp_;
    const matrix<T>* p_ = nullptr;
};

/// Temporal-convolution encoding head from a time-resolved student tap to fMRI volumes.
template <source Tap, source Brain>
auto temporal_encoding(Tap, Brain, temporal_encoding_options o) {
    return make_term_spec<temporal_encoding_term>(source_list<Tap, Brain>{}, o);
}

} // namespace b2m::loss

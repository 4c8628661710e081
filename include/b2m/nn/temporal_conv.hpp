// b2m/nn/temporal_conv.hpp - 1-D convolution over time for sequence batches:
// (B, T*in) -> (B, T_out*out), logical rank 3 (e.g. a learned hemodynamic filter head).
//
//   nn::temporal_conv(64, 1, 12, {.padding = nn::time_padding::causal})
//
// y(b,t) = bias + sum_{s<k} x(b, t + s*dilation - left) W_s, with W_s = rows [s*in, (s+1)*in)
// of "weight" (k*in, out), and x = 0 outside [0, T) (PyTorch's Conv1d cross-correlation:
// weight(s*in + f, o) = conv1d.weight[o, f, s]). Padding:
//   causal: left = (k-1)*dilation, T_out = T; y(t) sees only x(t'), t' <= t (the last tap
//           s = k-1 multiplies the present sample)
//   same:   left = (k-1)*dilation / 2 (the rest on the right), T_out = T (PyTorch 'same')
//   valid:  left = 0, T_out = T - (k-1)*dilation (must be >= 1)
// Computed as im2col into a (B*T_out, k*in) buffer and one GEMM; backward is two GEMMs and
// a scatter-add.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"
#include "b2m/nn/sequence.hpp"

namespace b2m::nn {

enum class time_padding { causal, same, valid };

/// Options of nn::temporal_conv.
struct temporal_conv_options {
    time_padding padding = time_padding::causal; ///< causal, same or valid (header comment).
    std::size_t dilation = 1;                    ///< Steps between taps (> 0).
    bool bias = true;                            ///< false: no per-channel bias.
};

/// The layer object of nn::temporal_conv for scalar type T: holds and owns "weight" (k*in, out),
/// "bias" (1, out), their gradients and the im2col / output buffers; keeps a pointer to the last
/// forward's input.
template <real T>
class temporal_conv_layer : public layer_base<temporal_conv_layer<T>, T> {
    using base = layer_base<temporal_conv_layer<T>, T>;
    using base::y_, base::gx_;

public:
    /// @name Layer interface (the layer-object concept in b2m/nn/layer.hpp)
    ///@{

    /// Layer interface: rank_out 3; forward takes x (B, T*in) (b2m::shape_error when the width
    /// is not a multiple of in, or valid padding leaves no step) and returns y (B, T_out*out) as
    /// in the header comment; backward takes gy (B, T_out*out), adds dL/dW and dL/db and returns
    /// dL/dx (B, T*in) (empty when !need_input_grad); for_each_param visits "weight" and, with a
    /// bias, "bias".
    static constexpr int rank_out = 3;

    /// Requires in, out, kernel and dilation positive (b2m::shape_error otherwise).
    temporal_conv_layer(std::size_t in, std::size_t out, std::size_t kernel, temporal_conv_options o)
        : F_(in), K_(out), k_(kernel), opt_(o) {
        if (in == 0 || out == 0 || kernel == 0 || o.dilation == 0)
            throw shape_error(name() + ": in, out, kernel size and dilation must be positive");
        w_ = xt::zeros<T>({k_ * F_, K_});
        gw_ = xt::zeros<T>({k_ * F_, K_});
        b_ = xt::zeros<T>({std::size_t(1), K_});
        gb_ = xt::zeros<T>({std::size_t(1), K_});
    }

    /// PyTorch's Conv1d default: weight and bias U(+-1/sqrt(in*k)).
    void init(rng& r) {
        const double a = 1.0 / std::sqrt(double(F_ * k_));
        r.fill_uniform(w_, -a, a);
        if (opt_.bias) r.fill_uniform(b_, -a, a);
        else b_.fill(T(0));
    }

    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        const std::size_t steps = sequence_steps([this] { return name(); }, x, F_), B = x.shape(0);
        const std::size_t span = (k_ - 1) * opt_.dilation;
        if (opt_.padding == time_padding::valid && steps <= span)
            throw shape_error(name() + ": input has shape " + shape_string(x.shape()) + ", i.e. " +
                              std::to_string(steps) + " steps, fewer than the kernel's span of " +
                              std::to_string(span + 1) + " steps that 'valid' padding needs");
        T_ = steps;
        To_ = opt_.padding == time_padding::valid ? steps - span : steps;
        left_ = opt_.padding == time_padding::causal ? span : opt_.padding == time_padding::same ? span / 2 : 0;
        const std::size_t kf = k_ * F_, rows = B * To_;
        this->begin_forward(x, B, To_ * K_);
        ensure_shape(col_, rows, kf);
        parallel_for(rows, items_per_thread(kf), [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {
                const std::size_t b = r / To_, t = r % To_;
                T* dst = col_.data() + r * kf;
                for (std::size_t s = 0; s < k_; ++s) {
                    const std::ptrdiff_t src = std::ptrdiff_t(t + s * opt_.dilation) - std::ptrdiff_t(left_);
                    if (src < 0 || src >= std::ptrdiff_t(steps)) std::fill_n(dst + s * F_, F_, T(0));
                    else std::copy_n(x.data() + (b * steps + std::size_t(src)) * F_, F_, dst + s * F_);
                }
            }
        });
        for (std::size_t r = 0; r < rows; ++r) std::copy_n(b_.data(), K_, y_.data() + r * K_);
        gemm_raw<T>(false, false, rows, K_, kf, T(1), col_.data(), kf, w_.data(), K_, T(1), y_.data(), K_);
        return y_;
    }

    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        this->begin_backward(gy, need_input_grad);  // checks gy; gx_ shaped like x, or empty
        const std::size_t B = y_.shape(0), kf = k_ * F_, rows = B * To_;
        gemm_raw<T>(true, false, kf, K_, rows, T(1), col_.data(), kf, gy.data(), K_, T(1), gw_.data(), K_);
        if (opt_.bias)
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t j = 0; j < K_; ++j) gb_.data()[j] += gy.data()[r * K_ + j];
        if (!need_input_grad) return gx_;
        ensure_shape(dcol_, rows, kf);
        gemm_raw<T>(false, true, rows, kf, K_, T(1), gy.data(), K_, w_.data(), K_, T(0), dcol_.data(), kf);
        gx_.fill(T(0));
        // Scatter-add; rows of one sequence only touch that sequence, so split by sequence.
        parallel_for(B, items_per_thread(To_ * k_ * F_), [&](std::size_t b0, std::size_t b1) {
            for (std::size_t b = b0; b < b1; ++b)
                for (std::size_t t = 0; t < To_; ++t) {
                    const T* src = dcol_.data() + (b * To_ + t) * kf;
                    for (std::size_t s = 0; s < k_; ++s) {
                        const std::ptrdiff_t p = std::ptrdiff_t(t + s * opt_.dilation) - std::ptrdiff_t(left_);
                        if (p < 0 || p >= std::ptrdiff_t(T_)) continue;
                        T* dst = gx_.data() + (b * T_ + std::size_t(p)) * F_;
                        for (std::size_t f = 0; f < F_; ++f) dst[f] += src[s * F_ + f];
                    }
                }
        });
        return gx_;
    }

    template <class Fn>
    void for_each_param(Fn&& f) {
        f("weight", w_, gw_);
        if (opt_.bias) f("bias", b_, gb_);
    }
    /// Text naming the layer, for messages.
    std::string name() const {
        const char* pad = opt_.padding == time_padding::causal ? "causal"
                          : opt_.padding == time_padding::same ? "same"
                                                               : "valid";
        return "nn::temporal_conv(" + std::to_string(F_) + ", " + std::to_string(K_) + ", kernel " +
               std::to_string(k_) + ", " + pad + ")";
    }
    ///@}
    matrix<T>& weight() { return w_; } ///< (k*in, out): weight(s*in + f, o) = PyTorch's conv1d.weight[o, f, s].
    matrix<T>& bias() { return b_; }   ///< (1, out); zero without a bias.
    std::size_t in_features() const { return F_; }   ///< in, features per input step.
    std::size_t out_channels() const { return K_; }  ///< out, channels per output step.
    std::size_t kernel_size() const { return k_; }   ///< k, taps.

private:
    std::size_t F_, K_, k_;
    temporal_conv_options opt_;
    std::size_t T_ = 0, To_ = 0, left_ = 0;
    matrix<T> w_, gw_, b_, gb_, col_, dcol_;
};

/// Spec: `in` features per step -> `out` channels, kernel of `kernel` steps.
struct temporal_conv {
    std::size_t in = 0;     ///< Features per input step.
    std::size_t out = 0;    ///< Channels per output step.
    std::size_t kernel = 1; ///< Taps k.
    temporal_conv_options options{}; ///< Padding, dilation, bias.
    /// All sizes must be positive (checked by make()).
    temporal_conv(std::size_t in_, std::size_t out_, std::size_t kernel_, temporal_conv_options o = {})
        : in(in_), out(out_), kernel(kernel_), options(o) {}
    /// The layer object for scalar type T.
    template <real T>
    temporal_conv_layer<T> make() const { return temporal_conv_layer<T>(in, out, kernel, options); }
};

} // namespace b2m::nn

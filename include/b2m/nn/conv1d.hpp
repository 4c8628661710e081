// b2m/nn/conv1d.hpp - 1-D convolution over channel-major signals, as PyTorch's nn.Conv1d
// (cross-correlation) with stride, zero padding and dilation; e.g. SoundNet's layers over
// raw waveforms.
//
//   nn::conv1d({.out_channels = 16, .kernel = 64, .stride = 2, .padding = 32}, {.channels = 1, .length = 22050})
//   nn::conv1d({.out_channels = 32, .kernel = 32})   // inside nn::sequential: the input is the
//                                                    // layer before's output (nn/shape_flow.hpp)
//
// Layout: input (B, C_in*L) and output (B, C_out*L_out), channel-major inside each row
// (entry (b, c, t) at column c*L + t; the same as an image with H = 1, so batch_norm over
// {C, 1, L} and flatten apply); rank_out = 4 (an image of height 1). Contrast with
// nn::temporal_conv, whose rows are time-major (B, T*F) sequences.
// L_out = floor((L + 2p - d(k-1) - 1)/s) + 1. Weight (C_out, C_in*k) = PyTorch's
// (C_out, C_in, k) flattened; bias (1, C_out). Per item: im2col (C_in*k, L_out), one GEMM;
// backward: two GEMMs and a scatter-add. Buffers are members: no allocation after warm-up.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/nn/dense.hpp"
#include "b2m/nn/image.hpp"
#include "b2m/nn/image_layer_spec.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"
#include "b2m/nn/shape_flow.hpp"

namespace b2m::nn {

/// Hyper-parameters of nn::conv1d (PyTorch's nn.Conv1d; all but padding must be positive).
struct conv1d_options {
    std::size_t out_channels = 0; ///< C_out
    std::size_t kernel = 3;       ///< k, taps per channel
    std::size_t stride = 1;       ///< s
    std::size_t padding = 0;      ///< p zeros on each side of L
    std::size_t dilation = 1;     ///< d, spacing between taps
    bool bias = true;             ///< false: no per-channel bias
    nn::init weight_init = nn::init::fan_in_uniform;  ///< fans C_in*k (in), C_out*k (out)
};

/// The layer object of nn::conv1d for scalar type T: holds and owns W (C_out, C_in*k), b (1, C_out),
/// their gradients and the im2col / output buffers; keeps a pointer to the last forward's input.
template <real T>
class conv1d_layer : public layer_base<conv1d_layer<T>, T> {
    using base = layer_base<conv1d_layer<T>, T>;
    using base::x_, base::y_, base::gx_;

public:
    /// @name Layer interface (the layer-object concept in b2m/nn/layer.hpp)
    ///@{

    /// Layer interface: rank_out 4 (a signal is an image of height 1); init draws W and b by
    /// options.weight_init with fans C_in*k and C_out*k; forward takes x (batch, C_in*L), rows
    /// channel-major (b2m::shape_error naming both shapes otherwise), returns (batch, C_out*L_out),
    /// L_out = floor((L + 2p - d(k-1) - 1)/s) + 1; backward takes gy of the output's shape, adds
    /// dL/dW and dL/db and returns dL/dx (batch, C_in*L) (empty when !need_input_grad);
    /// for_each_param visits "weight" and, with a bias, "bias".
    static constexpr int rank_out = 4;

    /// Requires positive channels, length, out_channels, kernel, stride, dilation and a kernel
    /// that fits the padded input (b2m::shape_error otherwise).
    conv1d_layer(const conv1d_options& o, const signal_shape& in) : o_(o), in_(in) {
        if (in.channels == 0 || in.length == 0 || o.out_channels == 0 || o.kernel == 0 || o.stride == 0 ||
            o.dilation == 0)
            throw shape_error("nn::conv1d: channels, length, kernel, stride and dilation must be positive (input " +
                              to_string(in) + ", out_channels " + std::to_string(o.out_channels) + ")");
        lo_ = conv_out_size(in.length, o.kernel, o.stride, o.padding, o.dilation);
        if (lo_ == 0)
            throw shape_error("nn::conv1d: a kernel of " + std::to_string(o.kernel) + " does not fit input " +
                              to_string(in) + " padded by " + std::to_string(o.padding));
        w_ = xt::zeros<T>({o.out_channels, in.channels * o.kernel});
        gw_ = xt::zeros<T>({o.out_channels, in.channels * o.kernel});
        b_ = xt::zeros<T>({std::size_t(1), o.out_channels});
        gb_ = xt::zeros<T>({std::size_t(1), o.out_channels});
    }

    void init(rng& r) {
        nn::detail::init_weights(r, w_, b_, double(in_.channels * o_.kernel), double(o_.out_channels * o_.kernel),
                                 o_.weight_init, o_.bias);
    }

    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        if (x.shape(1) != in_.size() || x.shape(0) == 0)
            throw shape_error(name() + ": input has shape " + shape_string(x.shape()) +
                              " but the layer expects (batch, C*L = " + std::to_string(in_.size()) + ") for signals " +
                              to_string(in_) + " stored channel-major per row");
        const std::size_t B = x.shape(0), R = in_.channels * o_.kernel, Co = o_.out_channels;
        this->begin_forward(x, B, Co * lo_);
        ensure_shape(col_, R, lo_);
        for (std::size_t b = 0; b < B; ++b) {
            im2col(x.data() + b * in_.size());
            T* y = y_.data() + b * Co * lo_;
            if (o_.bias)
                for (std::size_t c = 0; c < Co; ++c)
                    for (std::size_t t = 0; t < lo_; ++t) y[c * lo_ + t] = b_.data()[c];
            gemm_raw<T>(false, false, Co, lo_, R, T(1), w_.data(), R, col_.data(), lo_, o_.bias ? T(1) : T(0), y, lo_);
        }
        return y_;
    }

    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        const matrix<T>& x = *x_;
        const std::size_t B = x.shape(0), R = in_.channels * o_.kernel, Co = o_.out_channels;
        this->begin_backward(gy, need_input_grad);  // checks gy; gx_ shaped like x, or empty
        if (need_input_grad) {
            gx_.fill(T(0));
            ensure_shape(gcol_, R, lo_);
        }
        for (std::size_t b = 0; b < B; ++b) {
            const T* g = gy.data() + b * Co * lo_;
            if (o_.bias)
                for (std::size_t c = 0; c < Co; ++c) {
                    T acc = 0;
                    for (std::size_t t = 0; t < lo_; ++t) acc += g[c * lo_ + t];
                    gb_.data()[c] += acc;
                }
            im2col(x.data() + b * in_.size());
            gemm_raw<T>(false, true, Co, R, lo_, T(1), g, lo_, col_.data(), lo_, T(1), gw_.data(), R);
            if (need_input_grad) {
                gemm_raw<T>(true, false, R, lo_, Co, T(1), w_.data(), R, g, lo_, T(0), gcol_.data(), lo_);
                col2im(gx_.data() + b * in_.size());
            }
        }
        return gx_;
    }

    template <class F>
    void for_each_param(F&& f) {
        f("weight", w_, gw_);
        if (o_.bias) f("bias", b_, gb_);
    }
    ///@}
    const signal_shape& input_shape() const { return in_; }                  ///< (C_in, L)
    signal_shape output_shape() const { return {o_.out_channels, lo_}; }     ///< (C_out, L_out)
    std::size_t kernel_size() const { return o_.kernel; }                    ///< k
    matrix<T>& weight() { return w_; } ///< W (C_out, C_in*k): PyTorch's weight (C_out, C_in, k) flattened.
    matrix<T>& bias() { return b_; }   ///< b (1, C_out); zero and unused without a bias.
    /// Text naming the layer, for messages.
    std::string name() const {
        return "nn::conv1d(" + std::to_string(in_.channels) + "->" + std::to_string(o_.out_channels) + ", kernel " +
               std::to_string(o_.kernel) + ", stride " + std::to_string(o_.stride) + ")";
    }

private:
    /// col_(c*k + s, t) = x(c, t*stride + s*dilation - padding), 0 outside [0, L).
    void im2col(const T* x) {
        const std::size_t L = in_.length, k = o_.kernel;
        for (std::size_t c = 0; c < in_.channels; ++c)
            for (std::size_t s = 0; s < k; ++s) {
                T* dst = col_.data() + (c * k + s) * lo_;
                for (std::size_t t = 0; t < lo_; ++t) {
                    const std::ptrdiff_t p = std::ptrdiff_t(t * o_.stride + s * o_.dilation) - std::ptrdiff_t(o_.padding);
                    dst[t] = (p < 0 || p >= std::ptrdiff_t(L)) ? T(0) : x[c * L + std::size_t(p)];
                }
            }
    }
    void col2im(T* gx) const {
        const std::size_t L = in_.length, k = o_.kernel;
        for (std::size_t c = 0; c < in_.channels; ++c)
            for (std::size_t s = 0; s < k; ++s) {
                const T* src = gcol_.data() + (c * k + s) * lo_;
                for (std::size_t t = 0; t < lo_; ++t) {
                    const std::ptrdiff_t p = std::ptrdiff_t(t * o_.stride + s * o_.dilation) - std::ptrdiff_t(o_.padding);
                    if (p >= 0 && p < std::ptrdiff_t(L)) gx[c * L + std::size_t(p)] += src[t];
                }
            }
    }

    conv1d_options o_;
    signal_shape in_;
    std::size_t lo_ = 0;
    matrix<T> w_, gw_, b_, gb_, col_, gcol_;
};

/// Spec of a conv1d layer on input signals of shape `input`: nn::conv1d(options) leaves the
/// input out (nn::sequential gives it the signal shape the layers before produce,
/// nn/shape_flow.hpp: a signal (C, L) flows as the image (C, 1, L)); nn::conv1d(options,
/// input) gives it.
struct conv1d : image_layer_spec<conv1d, conv1d_options, signal_shape> {
    using image_layer_spec::image_layer_spec;
    /// (C_out, L_out); L_out is 0 while the input is left out.
    constexpr signal_shape output_shape() const {
        if (input_left_out) return {options.out_channels, 0};
        return {options.out_channels,
                conv_out_size(input.length, options.kernel, options.stride, options.padding, options.dilation)};
    }
    /// Text naming the spec, for messages.
    std::string name() const {
        return "nn::conv1d(out_channels " + std::to_string(options.out_channels) + ", kernel " +
               std::to_string(options.kernel) + ", stride " + std::to_string(options.stride) + ")";
    }

private:
    friend image_layer_spec;
    template <real T>
    conv1d_layer<T> make_layer() const { return conv1d_layer<T>(options, input); }
};

} // namespace b2m::nn

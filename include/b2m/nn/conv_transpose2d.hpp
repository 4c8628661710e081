// b2m/nn/conv_transpose2d.hpp - transposed 2-D convolution (as PyTorch's
// nn.ConvTranspose2d), the adjoint of conv2d, for image decoders.
//
//   nn::conv_transpose2d({.out_channels = 8, .kernel = 4, .stride = 2, .padding = 1},
//                        {.channels = 16, .height = 8, .width = 8})      -> 8 x 16 x 16
//   nn::conv_transpose2d({.out_channels = 1, .kernel = 4, .stride = 2, .padding = 1})
//       inside nn::sequential: input shape = the layer before's output (nn/shape_flow.hpp)
//
// Layout: input (B, C_in*H*W), output (B, C_out*H_out*W_out), NCHW per row (nn/image.hpp);
// rank_out = 4. H_out = (H - 1)*s - 2p + d(k - 1) + output_padding + 1.
// Weight (C_in, C_out*k*k) = PyTorch's (C_in, C_out, k, k) flattened; bias (1, C_out).
// Algorithm: per chunk of images, cols (C_out*k*k, n*H*W) = W^T x (one GEMM), then col2im
// into the output; backward is im2col of the output gradient and two GEMMs.
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

/// Hyper-parameters of nn::conv_transpose2d (PyTorch's nn.ConvTranspose2d with square kernels;
/// out_channels, kernel, stride and dilation must be positive).
struct conv_transpose2d_options {
    std::size_t out_channels = 0; ///< C_out
    std::size_t kernel = 3;       ///< k: k x k windows
    std::size_t stride = 1;       ///< s, along H and W
    std::size_t padding = 0;      ///< p, removed from each side of the full output
    std::size_t output_padding = 0;  ///< added to one side of the output; < stride or < dilation
    std::size_t dilation = 1;     ///< d, spacing between taps
    bool bias = true;             ///< false: no per-channel bias
    nn::init weight_init = nn::init::he;  ///< fans: C_in*k*k (in) and C_out*k*k (out)
};

/// Output length along one axis, or 0 when it would not be positive.
constexpr std::size_t conv_transpose_out_size(std::size_t n, std::size_t kernel, std::size_t stride,
                                              std::size_t padding, std::size_t output_padding, std::size_t dilation) {
    const std::size_t full = (n - 1) * stride + dilation * (kernel - 1) + output_padding + 1;
    return (n == 0 || kernel == 0 || full <= 2 * padding) ? 0 : full - 2 * padding;
}

/// The layer object of nn::conv_transpose2d for scalar type T: holds and owns W (C_in, C_out*k*k),
/// b (1, C_out), their gradients and the column / output buffers; keeps a pointer to the last
/// forward's input.
template <real T>
class conv_transpose2d_layer : public layer_base<conv_transpose2d_layer<T>, T> {
    using base = layer_base<conv_transpose2d_layer<T>, T>;
    using base::x_, base::y_, base::gx_;

public:
    /// @name Layer interface (the layer-object concept in b2m/nn/layer.hpp)
    ///@{

    /// Layer interface: rank_out 4 (NCHW rows); init draws W and b by options.weight_init
    /// (fans C_in*k*k, C_out*k*k); forward takes x (batch, C_in*H*W) (b2m::shape_error naming
    /// both shapes otherwise) and returns (batch, C_out*H_out*W_out) with
    /// H_out = (H - 1)s - 2p + d(k - 1) + output_padding + 1; backward takes gy of the output's
    /// shape, adds dL/dW and dL/db and returns dL/dx (empty when !need_input_grad);
    /// for_each_param visits "weight" and, with a bias, "bias".
    static constexpr int rank_out = 4;

    /// Requires positive sizes, output_padding < stride or < dilation and a positive output
    /// size (b2m::shape_error otherwise).
    conv_transpose2d_layer(const conv_transpose2d_options& o, const image_shape& in) : o_(o), in_(in) {
        if (in.size() == 0 || o.out_channels == 0 || o.kernel == 0 || o.stride == 0 || o.dilation == 0)
            throw shape_error("nn::conv_transpose2d: channels, image size, kernel, stride and dilation must be positive "
                              "(input " + to_string(in) + ", out_channels " + std::to_string(o.out_channels) + ")");
        if (o.output_padding >= o.stride && o.output_padding >= o.dilation)
            throw shape_error("nn::conv_transpose2d: output_padding " + std::to_string(o.output_padding) +
                              " must be smaller than stride or dilation");
        const std::size_t oh = conv_transpose_out_size(in.height, o.kernel, o.stride, o.padding, o.output_padding, o.dilation);
        const std::size_t ow = conv_transpose_out_size(in.width, o.kernel, o.stride, o.padding, o.output_padding, o.dilation);
        if (oh == 0 || ow == 0)
            throw shape_error("nn::conv_transpose2d: padding " + std::to_string(o.padding) +
                              " leaves no output for input " + to_string(in));
        out_ = {o.out_channels, oh, ow};
        // The window runs over the output image; its positions are the input pixels.
        g_ = {o.out_channels, oh, ow, o.kernel, o.stride, o.padding, o.dilation, in.height, in.width};
        w_ = xt::zeros<T>({in.channels, g_.rows()});
        gw_ = xt::zeros<T>({in.channels, g_.rows()});
        b_ = xt::zeros<T>({std::size_t(1), o.out_channels});
        gb_ = xt::zeros<T>({std::size_t(1), o.out_channels});
    }

    void init(rng& r) {
        const double fan_in = double(in_.channels * o_.kernel * o_.kernel), fan_out = double(g_.rows());
        nn::detail::init_weights(r, w_, b_, fan_in, fan_out, o_.weight_init, o_.bias);
    }

    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        require_image_rows([this] { return name(); }, x, in_);
        const std::size_t B = x.shape(0), P = in_.pixels(), R = g_.rows(), Ci = in_.channels;
        this->begin_forward(x, B, out_.size());
        chunk_ = detail::images_per_chunk(B, R, P, budget_);
        const std::size_t ld = chunk_ * P;
        ensure_shape(col_, R, ld);
        ensure_shape(xcm_, Ci, ld);
        for (std::size_t s0 = 0; s0 < B; s0 += chunk_) {
            const std::size_t ns = std::min(chunk_, B - s0);
            T* ys = y_.data() + s0 * out_.size();
            detail::rows_to_channel_major(x.data() + s0 * in_.size(), ns, Ci, P, xcm_.data(), ld);
            gemm_raw<T>(true, false, R, ns * P, Ci, T(1), w_.data(), R, xcm_.data(), ld, T(0), col_.data(), ld);
            detail::col2im(col_.data(), ld, ns, g_, ys);
            if (o_.bias) {
                const std::size_t Po = out_.pixels();
                for (std::size_t pl = 0; pl < ns * o_.out_channels; ++pl) {
                    const T add = b_.data()[pl % o_.out_channels];
                    for (std::size_t p = 0; p < Po; ++p) ys[pl * Po + p] += add;
                }
            }
        }
        return y_;
    }

    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        this->begin_backward(gy, need_input_grad);  // checks gy; gx_ shaped like x, or empty
        const std::size_t B = gy.shape(0), P = in_.pixels(), R = g_.rows(), Ci = in_.channels, Co = o_.out_channels;
        const std::size_t ld = chunk_ * P;
        if (o_.bias) {
            const std::size_t Po = out_.pixels();
            for (std::size_t pl = 0; pl < B * Co; ++pl) {
                const T* g = gy.data() + pl * Po;
                T acc = 0;
                for (std::size_t p = 0; p < Po; ++p) acc += g[p];
                gb_.data()[pl % Co] += acc;
            }
        }
        if (need_input_grad) ensure_shape(gxcm_, Ci, ld);
        const bool one_chunk = chunk_ >= B;
        for (std::size_t s0 = 0; s0 < B; s0 += chunk_) {
            const std::size_t ns = std::min(chunk_, B - s0);
            if (!one_chunk)
                detail::rows_to_channel_major(x_->data() + s0 * in_.size(), ns, Ci, P, xcm_.data(), ld);
            detail::im2col(gy.data() + s0 * out_.size(), ns, g_, col_.data(), ld);
            // dW (Ci x R) += x (Ci x n) * dcol^T (n x R)
            gemm_raw<T>(false, true, Ci, R, ns * P, T(1), xcm_.data(), ld, col_.data(), ld, T(1), gw_.data(), R);
            if (need_input_grad) {
                gemm_raw<T>(false, false, Ci, ns * P, R, T(1), w_.data(), R, col_.data(), ld, T(0), gxcm_.data(), ld);
                detail::channel_major_to_rows<T>(gxcm_.data(), ld, ns, Ci, P, nullptr, gx_.data() + s0 * in_.size());
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
    /// Bounds the im2col buffer to about `entries` scalars (batches are processed in chunks
    /// of images; default 2^22). Takes effect at the next forward.
    void set_im2col_budget(std::size_t entries) { budget_ = entries; }
    const image_shape& input_shape() const { return in_; }   ///< (C_in, H, W)
    const image_shape& output_shape() const { return out_; } ///< (C_out, H_out, W_out)
    matrix<T>& weight() { return w_; } ///< W (C_in, C_out*k*k): PyTorch's weight (C_in, C_out, k, k) flattened.
    matrix<T>& bias() { return b_; }   ///< b (1, C_out); zero and unused without a bias.
    /// Text naming the layer, for messages.
    std::string name() const {
        return "nn::conv_transpose2d(" + std::to_string(in_.channels) + "->" + std::to_string(o_.out_channels) +
               ", kernel " + std::to_string(o_.kernel) + ")";
    }

private:
    conv_transpose2d_options o_;
    image_shape in_, out_;
    detail::window_geometry g_;
    std::size_t chunk_ = 1;
    std::size_t budget_ = detail::default_im2col_budget;
    matrix<T> w_, gw_, b_, gb_, col_, xcm_, gxcm_;
};

/// Spec of a transposed conv2d on input images of shape `input`: the input left out
/// (nn::conv_transpose2d(options)) is the image shape the layers before produce inside
/// nn::sequential (nn/shape_flow.hpp); a given one must equal that shape.
struct conv_transpose2d : image_layer_spec<conv_transpose2d, conv_transpose2d_options, image_shape> {
    using image_layer_spec::image_layer_spec;
    /// Shape of the output images (0 sizes when the input is left out).
    constexpr image_shape output_shape() const {
        const auto& o = options;
        if (input_left_out) return {o.out_channels, 0, 0};
        return {o.out_channels,
                conv_transpose_out_size(input.height, o.kernel, o.stride, o.padding, o.output_padding, o.dilation),
                conv_transpose_out_size(input.width, o.kernel, o.stride, o.padding, o.output_padding, o.dilation)};
    }
    /// Text naming the spec, for messages.
    std::string name() const {
        return "nn::conv_transpose2d(out_channels " + std::to_string(options.out_channels) + ", kernel " +
               std::to_string(options.kernel) + ", stride " + std::to_string(options.stride) + ")";
    }

private:
    friend image_layer_spec;
    template <real T>
    conv_transpose2d_layer<T> make_layer() const { return conv_transpose2d_layer<T>(options, input); }
};

} // namespace b2m::nn

// b2m/nn/conv2d.hpp - 2-D convolution (cross-correlation, as PyTorch's nn.Conv2d) with
// stride, zero padding and dilation, square kernels.
//
//   nn::conv2d({.out_channels = 16, .kernel = 3, .stride = 1, .padding = 1, .dilation = 1},
//              {.channels = 3, .height = 32, .width = 32})
//   nn::conv2d({.out_channels = 32, .kernel = 3})   // inside nn::sequential: the input shape
//                                                   // is the layer before's output (nn/shape_flow.hpp)
//
// Layout: input (B, C_in*H*W) and output (B, C_out*H_out*W_out), NCHW inside each row
// (see nn/image.hpp); rank_out = 4. H_out = floor((H + 2p - d(k-1) - 1)/s) + 1.
// Weight (C_out, C_in*k*k) = PyTorch's (C_out, C_in, k, k) flattened; bias (1, C_out).
// Algorithm: im2col of a chunk of images into (C_in*k*k, n*H_out*W_out), one GEMM with the
// weight, then a scatter into NCHW rows (+ bias). Backward computes dW from the im2col
// buffer (recomputed only when the batch needed more than one chunk, or when a previous
// backward overwrote it), then reuses that buffer for dcol = W^T dY before col2im: one
// buffer of at most the budget (default 2^22 entries, 16 MiB in float) per layer. Buffers
// are members: no allocation after warm-up.
// Backend: the path above by default (conv_backend::im2col, no allocation per step). Built
// with the optional component b2m::dnnl (B2M_WITH_DNNL=1), float layers can opt in to
// oneDNN's convolution primitives (nn/conv2d_dnnl.hpp) with set_backend(conv_backend::dnnl
// or ::automatic); oneDNN 2.6 allocates in every primitive call. double layers always use
// im2col (oneDNN has no f64 convolution).
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>

#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/nn/dense.hpp"
#include "b2m/nn/image.hpp"
#include "b2m/nn/image_layer_spec.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"
#include "b2m/nn/shape_flow.hpp"

#if defined(B2M_WITH_DNNL) && B2M_WITH_DNNL
#include "b2m/nn/conv2d_dnnl.hpp"
#endif

namespace b2m::nn {

/// Hyper-parameters of nn::conv2d (PyTorch's nn.Conv2d with square kernels; all but padding
/// must be positive).
struct conv2d_options {
    std::size_t out_channels = 0; ///< C_out
    std::size_t kernel = 3;       ///< k: k x k windows
    std::size_t stride = 1;       ///< s, along H and W
    std::size_t padding = 0;      ///< p zeros on each side of H and W
    std::size_t dilation = 1;     ///< d, spacing between taps
    bool bias = true;             ///< false: no per-channel bias
    nn::init weight_init = nn::init::he;  ///< fans are C_in*k*k (in) and C_out*k*k (out)
};

/// How a conv2d layer computes: im2col + GEMM (every build), or oneDNN's primitives (float
/// layers of a build with b2m::dnnl, see dnnl_conv_available). im2col is the default: it
/// allocates nothing per step, while oneDNN 2.6 allocates in every call (opt in with dnnl, or
/// automatic: oneDNN for float layers whose output has at least dnnl_min_positions pixels
/// per image when the backend is built, im2col otherwise).
enum class conv_backend {
    automatic,  ///< oneDNN where it was measured faster (dnnl_min_positions), else im2col
    im2col,     ///< im2col + GEMM (b2m's BLAS), in every build and for double
    dnnl        ///< oneDNN's convolution primitives (float, build with b2m::dnnl)
};

/// Output pixels per image from which conv_backend::automatic takes oneDNN. Measured on
/// B2M-Conv's layers (AMD EPYC, AVX2, oneDNN 2.6 jit:avx2 against OpenBLAS's sgemm, 1 and 2
/// threads): oneDNN 1.7x faster at 32x32 (V1) and 1.3x at 16x16 (V2), within noise at 8x8
/// (V4), 1.2-1.6x slower at 4x4 (IT), where its direct kernel has few output columns to
/// block over and im2col's GEMM has a long inner dimension.
inline constexpr std::size_t dnnl_min_positions = 16 * 16;

/// True when this build has the oneDNN backend (B2M_WITH_DNNL).
inline constexpr bool dnnl_conv_available =
#if defined(B2M_WITH_DNNL) && B2M_WITH_DNNL
    true;
#else
    false;
#endif

/// The layer object of nn::conv2d for scalar type T: holds and owns W (C_out, C_in*k*k),
/// b (1, C_out), their gradients, the im2col and output buffers (and the oneDNN primitives
/// when built with them); keeps a pointer to the last forward's input.
template <real T>
class conv2d_layer : public layer_base<conv2d_layer<T>, T> {
    using base = layer_base<conv2d_layer<T>, T>;
    using base::x_, base::y_, base::gx_;

public:
    static constexpr int rank_out = 4; ///< Output rows are channel-major images (nn/image.hpp).

    /// Requires positive channels, image size, out_channels, kernel, stride, dilation and a
    /// kernel that fits the padded input (b2m::shape_error otherwise).
    conv2d_layer(const conv2d_options& o, const image_shape& in) : o_(o), in_(in) {
        if (in.channels == 0 || in.height == 0 || in.width == 0 || o.out_channels == 0 || o.kernel == 0 ||
            o.stride == 0 || o.dilation == 0)
            throw shape_error("nn::conv2d: channels, image size, kernel, stride and dilation must be positive (input " +
                              to_string(in) + ", out_channels " + std::to_string(o.out_channels) + ", kernel " +
                              std::to_string(o.kernel) + ")");
        const std::size_t oh = conv_out_size(in.height, o.kernel, o.stride, o.padding, o.dilation);
        const std::size_t ow = conv_out_size(in.width, o.kernel, o.stride, o.padding, o.dilation);
        if (oh == 0 || ow == 0)
            throw shape_error("nn::conv2d: a kernel of " + std::to_string(o.kernel) + " with dilation " +
                              std::to_string(o.dilation) + " does not fit input " + to_string(in) + " padded by " +
                              std::to_string(o.padding));
        g_ = {in.channels, in.height, in.width, o.kernel, o.stride, o.padding, o.dilation, oh, ow};
        out_ = {o.out_channels, oh, ow};
#if defined(B2M_WITH_DNNL) && B2M_WITH_DNNL
        dnnl_ = detail::dnnl_conv({in.channels, in.height, in.width, o.out_channels, o.kernel, o.stride, o.padding,
                                   o.dilation, oh, ow, o.bias});
#endif
        w_ = xt::zeros<T>({o.out_channels, g_.rows()});
        gw_ = xt::zeros<T>({o.out_channels, g_.rows()});
        b_ = xt::zeros<T>({std::size_t(1), o.out_channels});
        gb_ = xt::zeros<T>({std::size_t(1), o.out_channels});
    }

    /// Chooses the backend; conv_backend::dnnl requires a float layer in a build with
    /// b2m::dnnl (else b2m::error naming the layer). Takes effect at the next forward.
    void set_backend(conv_backend b) {
        if (b == conv_backend::dnnl && !(dnnl_conv_available && std::is_same_v<T, float>))
            throw error(name() + ": the oneDNN backend needs float and a build with the b2m::dnnl component "
                                 "(CMake option B2M_WITH_DNNL, Debian libdnnl-dev)");
        backend_ = b;
    }
    /// The backend chosen with set_backend (conv_backend::im2col by default).
    conv_backend backend() const { return backend_; }
    /// Whether the next forward runs on oneDNN.
    bool uses_dnnl() const {
        if (!(dnnl_conv_available && std::is_same_v<T, float>)) return false;
        return backend_ == conv_backend::dnnl ||
               (backend_ == conv_backend::automatic && out_.height * out_.width >= dnnl_min_positions);
    }

    /// @name Layer interface (the layer-object concept in b2m/nn/layer.hpp)
    ///@{

    /// Layer interface: init draws W and b by options.weight_init (fans C_in*k*k, C_out*k*k);
    /// forward takes x (batch, C_in*H*W) (b2m::shape_error naming both shapes otherwise) and
    /// returns (batch, C_out*H_out*W_out); backward takes gy of the output's shape, adds dL/dW
    /// and dL/db (nothing when frozen) and returns dL/dx (empty when !need_input_grad);
    /// for_each_param visits "weight" and, with a bias, "bias".
    void init(rng& r) {
        const double fan_in = double(g_.rows()), fan_out = double(o_.out_channels * o_.kernel * o_.kernel);
        nn::detail::init_weights(r, w_, b_, fan_in, fan_out, o_.weight_init, o_.bias);
    }

    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        require_image_rows([this] { return name(); }, x, in_);
        const std::size_t B = x.shape(0), P = g_.positions(), R = g_.rows(), Co = o_.out_channels;
        this->begin_forward(x, B, out_.size());
#if defined(B2M_WITH_DNNL) && B2M_WITH_DNNL
        if constexpr (std::is_same_v<T, float>) {
            dnnl_forward_ = uses_dnnl();
            if (dnnl_forward_) {
                if (B > 0) dnnl_.forward(x.data(), B, w_.data(), b_.data(), y_.data());
                return y_;
            }
        }
#endif
        chunk_ = detail::images_per_chunk(B, R, P, budget_);
        const std::size_t ld = chunk_ * P;
        ensure_shape(col_, R, ld);
        ensure_shape(tmp_, Co, ld);
        for (std::size_t s0 = 0; s0 < B; s0 += chunk_) {
            const std::size_t ns = std::min(chunk_, B - s0);
            detail::im2col(x.data() + s0 * in_.size(), ns, g_, col_.data(), ld);
            col_holds_batch_ = chunk_ >= B;
            gemm_raw<T>(false, false, Co, ns * P, R, T(1), w_.data(), R, col_.data(), ld, T(0), tmp_.data(), ld);
            detail::channel_major_to_rows(tmp_.data(), ld, ns, Co, P, o_.bias ? b_.data() : nullptr,
                                          y_.data() + s0 * out_.size());
        }
        return y_;
    }

    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        const matrix<T>& x = *x_;
        const std::size_t B = x.shape(0), P = g_.positions(), R = g_.rows(), Co = o_.out_channels;
        this->begin_backward(gy, need_input_grad);  // checks gy; gx_ shaped like x, or empty
        const std::size_t ld = chunk_ * P;
        if (o_.bias && trainable_ && !dnnl_forward_) {
            T* pb = gb_.data();
            for (std::size_t s = 0; s < B; ++s)
                for (std::size_t c = 0; c < Co; ++c) {
                    const T* g = gy.data() + (s * Co + c) * P;
                    T acc = 0;
                    for (std::size_t p = 0; p < P; ++p) acc += g[p];
                    pb[c] += acc;
                }
        }
        if (!trainable_ && !need_input_grad) return gx_;  // frozen: nothing to compute
#if defined(B2M_WITH_DNNL) && B2M_WITH_DNNL
        if constexpr (std::is_same_v<T, float>) {
            if (dnnl_forward_) {
                if (B > 0)
                    dnnl_.backward(x.data(), gy.data(), w_.data(), gw_.data(), gb_.data(),
                                   need_input_grad ? gx_.data() : nullptr, trainable_);
                return gx_;
            }
        }
#endif
        for (std::size_t s0 = 0; s0 < B; s0 += chunk_) {
            const std::size_t ns = std::min(chunk_, B - s0);
            if (trainable_ && !col_holds_batch_) detail::im2col(x.data() + s0 * in_.size(), ns, g_, col_.data(), ld);
            detail::rows_to_channel_major(gy.data() + s0 * out_.size(), ns, Co, P, tmp_.data(), ld);
            // dW += dY (Co x n) * col^T (n x R); skipped when frozen
            if (trainable_)
                gemm_raw<T>(false, true, Co, R, ns * P, T(1), tmp_.data(), ld, col_.data(), ld, T(1), gw_.data(), R);
            if (need_input_grad) {
                // dcol (R x n) = W^T (R x Co) * dY (Co x n) into the im2col buffer (its columns
                // are no longer needed), then scattered back to pixels.
                gemm_raw<T>(true, false, R, ns * P, Co, T(1), w_.data(), R, tmp_.data(), ld, T(0), col_.data(), ld);
                col_holds_batch_ = false;
                detail::col2im(col_.data(), ld, ns, g_, gx_.data() + s0 * in_.size());
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

    /// false: backward computes only dL/dx, no weight GEMM (nn::sequential::set_frozen).
    void set_trainable(bool on) { trainable_ = on; }
    bool trainable() const { return trainable_; } ///< false after set_trainable(false).

    /// Bounds the im2col buffer to about `entries` scalars (batches are processed in chunks
    /// of images; default 2^22). Takes effect at the next forward.
    void set_im2col_budget(std::size_t entries) { budget_ = entries; }
    const image_shape& input_shape() const { return in_; }   ///< (C_in, H, W)
    const image_shape& output_shape() const { return out_; } ///< (C_out, H_out, W_out)
    matrix<T>& weight() { return w_; } ///< W (C_out, C_in*k*k): PyTorch's weight (C_out, C_in, k, k) flattened.
    matrix<T>& bias() { return b_; }   ///< b (1, C_out); zero and unused without a bias.
    /// Text naming the layer, for messages.
    std::string name() const {
        return "nn::conv2d(" + std::to_string(in_.channels) + "->" + std::to_string(o_.out_channels) + ", kernel " +
               std::to_string(o_.kernel) + ")";
    }

private:
    conv2d_options o_;
    image_shape in_, out_;
    detail::window_geometry g_;
    std::size_t chunk_ = 1;
    std::size_t budget_ = detail::default_im2col_budget;
    bool trainable_ = true;
    bool col_holds_batch_ = false;  // col_ holds the im2col of the whole last forward batch
    matrix<T> w_, gw_, b_, gb_, col_, tmp_;
    conv_backend backend_ = conv_backend::im2col;
    bool dnnl_forward_ = false;  // the last forward ran on oneDNN (its backward must too)
#if defined(B2M_WITH_DNNL) && B2M_WITH_DNNL
    detail::dnnl_conv dnnl_;  // set up by the constructor
#endif
};

/// Spec of a conv2d layer on input images of shape `input`: nn::conv2d(options) leaves the
/// input out (nn::sequential gives it the image shape that the layers before produce,
/// nn/shape_flow.hpp), nn::conv2d(options, input) gives it (it must equal that shape).
struct conv2d : image_layer_spec<conv2d, conv2d_options, image_shape> {
    using image_layer_spec::image_layer_spec;
    /// Shape of the output images (0 sizes when the kernel does not fit, or the input is left
    /// out; make() throws then).
    constexpr image_shape output_shape() const {
        if (input_left_out) return {options.out_channels, 0, 0};
        return {options.out_channels,
                conv_out_size(input.height, options.kernel, options.stride, options.padding, options.dilation),
                conv_out_size(input.width, options.kernel, options.stride, options.padding, options.dilation)};
    }
    /// Text naming the spec, for messages.
    std::string name() const {
        return "nn::conv2d(out_channels " + std::to_string(options.out_channels) + ", kernel " +
               std::to_string(options.kernel) + ", stride " + std::to_string(options.stride) + ")";
    }

private:
    friend image_layer_spec;
    template <real T>
    conv2d_layer<T> make_layer() const { return conv2d_layer<T>(options, input); }
};

} // namespace b2m::nn

// b2m/nn/max_pool_padded.hpp - max pooling with implicit padding, as PyTorch's
// nn.MaxPool2d(k, s, p) and nn.MaxPool1d(k, s, p) (padding never wins: it acts as -inf).
//
//   nn::max_pool2d_padded({.kernel = 3, .stride = 2, .padding = 1}, {.channels = 64, .height = 32, .width = 32})
//   nn::max_pool1d({.kernel = 8}, {.channels = 16, .length = 11026})     // (B, C*L) signals
//   nn::max_pool1d({.kernel = 8})     // inside nn::sequential: input = the layer before's output
//
// Layout: NCHW rows (nn/image.hpp); a 1-D signal (C, L) is the image (C, 1, L) and pools
// along L only. rank_out = 4. H_out = floor((H + 2p - k)/s) + 1 (PyTorch's ceil_mode=False);
// requires p <= k/2 (as PyTorch). The gradient goes to the first maximum of each window
// (row-major window order, as PyTorch on CPU). nn::max_pool2d (pool.hpp) is the unpadded
// square case.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/nn/image.hpp"
#include "b2m/nn/image_layer_spec.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"
#include "b2m/nn/shape_flow.hpp"

namespace b2m::nn {

/// Options of nn::max_pool2d_padded and nn::max_pool1d.
struct padded_pool_options {
    std::size_t kernel = 2;   ///< k, window size (> 0)
    std::size_t stride = 0;   ///< 0: equal to kernel
    std::size_t padding = 0;  ///< at most kernel / 2
};

/// The layer object of max_pool2d_padded and max_pool1d for scalar type T: no parameters;
/// holds and owns its output, input-gradient and argmax buffers.
template <real T>
class max_pool_padded_layer : public layer_base<max_pool_padded_layer<T>, T> {
    using base = layer_base<max_pool_padded_layer<T>, T>;
    using base::y_, base::gx_;

public:
    /// @name Layer interface (the layer-object concept in b2m/nn/layer.hpp)
    ///@{

    /// Layer interface: rank_out 4 (NCHW rows); init does nothing; forward takes x
    /// (batch, C*H*W) (b2m::shape_error naming both shapes otherwise) and returns the window
    /// maxima (batch, C*H_out*W_out), padding acting as -inf; backward routes each gy entry
    /// to the first maximum of its window and returns dL/dx (empty when !need_input_grad);
    /// for_each_param visits nothing.
    static constexpr int rank_out = 4;

    /// Window kh x kw, strides sh, sw, paddings ph, pw over images `in`.
    max_pool_padded_layer(const image_shape& in, std::size_t kh, std::size_t kw, std::size_t sh, std::size_t sw,
                          std::size_t ph, std::size_t pw)
        : in_(in), kh_(kh), kw_(kw), sh_(sh), sw_(sw), ph_(ph), pw_(pw) {
        if (in.size() == 0 || kh == 0 || kw == 0 || sh == 0 || sw == 0)
            throw shape_error(name() + ": kernel, stride and input " + to_string(in) + " must be non-empty");
        if (2 * ph > kh || 2 * pw > kw)
            throw shape_error(name() + ": padding must be at most half the kernel (as PyTorch)");
        if (in.height + 2 * ph < kh || in.width + 2 * pw < kw)
            throw shape_error(name() + ": kernel exceeds the padded input " + to_string(in));
        out_ = {in.channels, (in.height + 2 * ph - kh) / sh + 1, (in.width + 2 * pw - kw) / sw + 1};
    }

    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        require_image_rows([this] { return name(); }, x, in_);
        const std::size_t B = x.shape(0), planes = B * in_.channels;
        this->begin_forward(x, B, out_.size());
        arg_.resize(y_.size());
        const std::size_t H = in_.height, W = in_.width, Ho = out_.height, Wo = out_.width;
        parallel_for(planes, items_per_thread(H * W), [&](std::size_t b, std::size_t e) {
            for (std::size_t pl = b; pl < e; ++pl) {
                const T* src = x.data() + pl * H * W;
                for (std::size_t oh = 0; oh < Ho; ++oh)
                    for (std::size_t ow = 0; ow < Wo; ++ow) {
                        const std::ptrdiff_t h0 = std::ptrdiff_t(oh * sh_) - std::ptrdiff_t(ph_);
                        const std::ptrdiff_t w0 = std::ptrdiff_t(ow * sw_) - std::ptrdiff_t(pw_);
                        std::size_t best = std::size_t(-1);
                        for (std::size_t i = 0; i < kh_; ++i) {
                            const std::ptrdiff_t h = h0 + std::ptrdiff_t(i);
                            if (h < 0 || h >= std::ptrdiff_t(H)) continue;
                            for (std::size_t j = 0; j < kw_; ++j) {
                                const std::ptrdiff_t w = w0 + std::ptrdiff_t(j);
                                if (w < 0 || w >= std::ptrdiff_t(W)) continue;
                                const std::size_t at = std::size_t(h) * W + std::size_t(w);
                                if (best == std::size_t(-1) || src[at] > src[best]) best = at;
                            }
                        }
                        // p <= k/2 guarantees every window holds at least one input pixel.
                        y_.data()[pl * Ho * Wo + oh * Wo + ow] = src[best];
                        arg_[pl * Ho * Wo + oh * Wo + ow] = std::uint32_t(best);
                    }
            }
        });
        return y_;
    }

    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        if (this->skip_input_grad(need_input_grad)) return gx_;
        this->begin_backward(gy);
        const std::size_t B = gy.shape(0), planes = B * in_.channels, HW = in_.pixels(), O = out_.pixels();
        parallel_for(planes, items_per_thread(HW), [&](std::size_t b, std::size_t e) {
            for (std::size_t pl = b; pl < e; ++pl) {
                T* dst = gx_.data() + pl * HW;
                for (std::size_t i = 0; i < HW; ++i) dst[i] = T(0);
                for (std::size_t o = 0; o < O; ++o) dst[arg_[pl * O + o]] += gy.data()[pl * O + o];
            }
        });
        return gx_;
    }
    ///@}

    const image_shape& input_shape() const { return in_; }   ///< (C, H, W)
    const image_shape& output_shape() const { return out_; } ///< (C, H_out, W_out)
    /// Text naming the layer, for messages.
    std::string name() const {
        return "nn::max_pool(kernel " + std::to_string(kh_) + "x" + std::to_string(kw_) + ", stride " +
               std::to_string(sh_) + "x" + std::to_string(sw_) + ", padding " + std::to_string(ph_) + "x" +
               std::to_string(pw_) + ")";
    }

private:
    image_shape in_, out_;
    std::size_t kh_, kw_, sh_, sw_, ph_, pw_;
    std::vector<std::uint32_t> arg_;
};

/// Spec: k x k max pooling with stride and padding over images `input` (nn.MaxPool2d); the
/// input may be left out inside nn::sequential (nn/shape_flow.hpp).
struct max_pool2d_padded : image_layer_spec<max_pool2d_padded, padded_pool_options, image_shape> {
    using image_layer_spec::image_layer_spec;
    /// The stride in effect (options.stride, or the kernel when it is 0).
    constexpr std::size_t stride() const { return options.stride == 0 ? options.kernel : options.stride; }
    /// (C, H_out, W_out); 0 sizes when the input is left out or the kernel does not fit.
    constexpr image_shape output_shape() const {
        const std::size_t k = options.kernel, p = options.padding, s = stride();
        if (input_left_out || k == 0 || input.height + 2 * p < k || input.width + 2 * p < k) return {input.channels, 0, 0};
        return {input.channels, (input.height + 2 * p - k) / s + 1, (input.width + 2 * p - k) / s + 1};
    }
    /// Text naming the spec, for messages.
    std::string name() const {
        return "nn::max_pool2d_padded(kernel " + std::to_string(options.kernel) + ", stride " + std::to_string(stride()) +
               ", padding " + std::to_string(options.padding) + ")";
    }

private:
    friend image_layer_spec;
    template <real T>
    max_pool_padded_layer<T> make_layer() const {
        return max_pool_padded_layer<T>(input, options.kernel, options.kernel, stride(), stride(), options.padding,
                                        options.padding);
    }
};

/// Spec: max pooling along the length of channel-major signals `input` (nn.MaxPool1d); the
/// input may be left out inside nn::sequential (nn/shape_flow.hpp).
struct max_pool1d : image_layer_spec<max_pool1d, padded_pool_options, signal_shape> {
    using image_layer_spec::image_layer_spec;
    /// The stride in effect (options.stride, or the kernel when it is 0).
    constexpr std::size_t stride() const { return options.stride == 0 ? options.kernel : options.stride; }
    /// (C, L_out); L_out is 0 when the input is left out or the kernel does not fit.
    constexpr signal_shape output_shape() const {
        const std::size_t k = options.kernel, p = options.padding;
        if (input_left_out || k == 0 || input.length + 2 * p < k) return {input.channels, 0};
        return {input.channels, (input.length + 2 * p - k) / stride() + 1};
    }
    /// Text naming the spec, for messages.
    std::string name() const {
        return "nn::max_pool1d(kernel " + std::to_string(options.kernel) + ", stride " + std::to_string(stride()) +
               ", padding " + std::to_string(options.padding) + ")";
    }

private:
    friend image_layer_spec;
    template <real T>
    max_pool_padded_layer<T> make_layer() const {
        return max_pool_padded_layer<T>(input.image(), 1, options.kernel, 1, stride(), 0, options.padding);
    }
};

} // namespace b2m::nn

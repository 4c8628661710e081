// b2m/nn/pool.hpp - pooling over image batches stored (B, C*H*W), NCHW per row
// (see nn/image.hpp).
//
//   nn::max_pool2d({.kernel = 2}, {.channels = 16, .height = 32, .width = 32})  -> (B, 16*16*16)
//   nn::avg_pool2d({.kernel = 3, .stride = 2}, shape)                          -> rank 4
//   nn::global_avg_pool(shape)                                                 -> (B, C), rank 2
// Inside nn::sequential the input shape may be left out (nn::max_pool2d({.kernel = 2}),
// nn::global_avg_pool()): it is the layer before's output (nn/shape_flow.hpp).
// Windows have no padding; stride 0 means stride = kernel; H_out = floor((H - k)/s) + 1.
// Max pooling sends the gradient to the first maximum of each window (ties: the first in
// row-major window order, as PyTorch on CPU).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/nn/image.hpp"
#include "b2m/nn/image_layer_spec.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"
#include "b2m/nn/shape_flow.hpp"

namespace b2m::nn {

/// Options of nn::max_pool2d and nn::avg_pool2d (no padding).
struct pool2d_options {
    std::size_t kernel = 2;  ///< k: k x k windows (> 0, at most H and W)
    std::size_t stride = 0;  ///< 0: equal to kernel
};

namespace detail {
template <real T, bool Max>
class pool2d_layer : public layer_base<pool2d_layer<T, Max>, T> {
    using base = layer_base<pool2d_layer<T, Max>, T>;
    using base::y_, base::gx_;

public:
    static constexpr int rank_out = 4;

    pool2d_layer(const pool2d_options& o, const image_shape& in)
        : k_(o.kernel), s_(o.stride == 0 ? o.kernel : o.stride), in_(in) {
        if (in.size() == 0 || k_ == 0)
            throw shape_error(name() + ": kernel and input " + to_string(in) + " must be non-empty");
        if (k_ > in.height || k_ > in.width)
            throw shape_error(name() + ": kernel " + std::to_string(k_) + " exceeds input " + to_string(in));
        out_ = {in.channels, (in.height - k_) / s_ + 1, (in.width - k_) / s_ + 1};
    }

    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        require_image_rows([this] { return name(); }, x, in_);
        const std::size_t B = x.shape(0), planes = B * in_.channels;
        this->begin_forward(x, B, out_.size());
        if constexpr (Max) arg_.resize(y_.size());  // no reallocation once the capacity suffices
        const std::size_t H = in_.height, W = in_.width, Ho = out_.height, Wo = out_.width;
        parallel_for(planes, items_per_thread(in_.height * in_.width), [&](std::size_t b, std::size_t e) {
            for (std::size_t pl = b; pl < e; ++pl) {
                const T* src = x.data() + pl * H * W;
                T* dst = y_.data() + pl * Ho * Wo;
                for (std::size_t oh = 0; oh < Ho; ++oh)
                    for (std::size_t ow = 0; ow < Wo; ++ow) {
                        const std::size_t h0 = oh * s_, w0 = ow * s_;
                        if constexpr (Max) {
                            std::size_t best = h0 * W + w0;
                            for (std::size_t i = 0; i < k_; ++i)
                                for (std::size_t j = 0; j < k_; ++j) {
                                    const std::size_t at = (h0 + i) * W + w0 + j;
                                    if (src[at] > src[best]) best = at;
                                }
                            dst[oh * Wo + ow] = src[best];
                            arg_[pl * Ho * Wo + oh * Wo + ow] = std::uint32_t(best);
                        } else {
                            T acc = 0;
                            for (std::size_t i = 0; i < k_; ++i)
                                for (std::size_t j = 0; j < k_; ++j) acc += src[(h0 + i) * W + w0 + j];
                            dst[oh * Wo + ow] = acc / T(k_ * k_);
                        }
                    }
            }
        });
        return y_;
    }

    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        if (this->skip_input_grad(need_input_grad)) return gx_;
        this->begin_backward(gy);
        const std::size_t B = gy.shape(0), planes = B * in_.channels;
        const std::size_t H = in_.height, W = in_.width, Ho = out_.height, Wo = out_.width;
        parallel_for(planes, items_per_thread(in_.height * in_.width), [&](std::size_t b, std::size_t e) {
            for (std::size_t pl = b; pl < e; ++pl) {
                T* dst = gx_.data() + pl * H * W;
                const T* g = gy.data() + pl * Ho * Wo;
                for (std::size_t i = 0; i < H * W; ++i) dst[i] = T(0);
                for (std::size_t oh = 0; oh < Ho; ++oh)
                    for (std::size_t ow = 0; ow < Wo; ++ow) {
                        const T go = g[oh * Wo + ow];
                        if constexpr (Max) {
                            dst[arg_[pl * Ho * Wo + oh * Wo + ow]] += go;
                        } else {
                            const T share = go / T(k_ * k_);
                            const std::size_t h0 = oh * s_, w0 = ow * s_;
                            for (std::size_t i = 0; i < k_; ++i)
                                for (std::size_t j = 0; j < k_; ++j) dst[(h0 + i) * W + w0 + j] += share;
                        }
                    }
            }
        });
        return gx_;
    }

    const image_shape& input_shape() const { return in_; }
    const image_shape& output_shape() const { return out_; }
    std::string name() const {
        return std::string(Max ? "nn::max_pool2d" : "nn::avg_pool2d") + "(kernel " + std::to_string(k_) + ", stride " +
               std::to_string(s_) + ")";
    }

private:
    std::size_t k_, s_;
    image_shape in_, out_;
    std::vector<std::uint32_t> arg_;  // max pooling: flat index of the maximum in its plane
};

/// Spec of max (Max) or average pooling; the input may be left out inside nn::sequential.
template <bool Max>
struct pool2d_spec : image_layer_spec<pool2d_spec<Max>, pool2d_options, image_shape> {
    using base = image_layer_spec<pool2d_spec<Max>, pool2d_options, image_shape>;
    using base::base, base::options, base::input, base::input_left_out;
    /// (C, H_out, W_out); 0 sizes when the input is left out or the kernel does not fit.
    constexpr image_shape output_shape() const {
        const std::size_t s = options.stride == 0 ? options.kernel : options.stride;
        if (input_left_out) return {0, 0, 0};
        if (options.kernel == 0 || options.kernel > input.height || options.kernel > input.width) return {input.channels, 0, 0};
        return {input.channels, (input.height - options.kernel) / s + 1, (input.width - options.kernel) / s + 1};
    }
    /// Text naming the spec, for messages.
    std::string name() const {
        return std::string(Max ? "nn::max_pool2d" : "nn::avg_pool2d") + "(kernel " + std::to_string(options.kernel) + ")";
    }

private:
    friend base;
    template <real T>
    pool2d_layer<T, Max> make_layer() const { return pool2d_layer<T, Max>(options, input); }
};
} // namespace detail

template <real T>
using max_pool2d_layer = detail::pool2d_layer<T, true>;
template <real T>
using avg_pool2d_layer = detail::pool2d_layer<T, false>;
/// Spec: max pooling with a k x k window.
using max_pool2d = detail::pool2d_spec<true>;
/// Spec: average pooling with a k x k window.
using avg_pool2d = detail::pool2d_spec<false>;

/// Global average pooling: (B, C*H*W) -> (B, C), the mean of each channel's plane.
template <real T>
class global_avg_pool_layer : public layer_base<global_avg_pool_layer<T>, T> {
    using base = layer_base<global_avg_pool_layer<T>, T>;
    using base::y_, base::gx_;

public:
    /// @name Layer interface (the layer-object concept in b2m/nn/layer.hpp)
    ///@{

    /// Layer interface: rank_out 2; init does nothing; forward takes x (B, C*H*W)
    /// (b2m::shape_error naming both shapes otherwise) and returns the channel means (B, C);
    /// backward spreads gy (B, C) evenly over each plane, dL/dx = gy / (H*W) (empty when
    /// !need_input_grad); for_each_param visits nothing.
    /// Requires a non-empty input shape (b2m::shape_error otherwise).
    explicit global_avg_pool_layer(const image_shape& in) : in_(in) {
        if (in.size() == 0) throw shape_error("nn::global_avg_pool: input " + to_string(in) + " is empty");
    }
    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        require_image_rows("nn::global_avg_pool", x, in_);
        const std::size_t B = x.shape(0), C = in_.channels, P = in_.pixels();
        this->begin_forward(x, B, C);
        for (std::size_t pl = 0; pl < B * C; ++pl) {
            const T* src = x.data() + pl * P;
            T acc = 0;
            for (std::size_t p = 0; p < P; ++p) acc += src[p];
            y_.data()[pl] = acc / T(P);
        }
        return y_;
    }
    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        if (this->skip_input_grad(need_input_grad)) return gx_;
        this->begin_backward(gy);
        const std::size_t B = gy.shape(0), C = in_.channels, P = in_.pixels();
        for (std::size_t pl = 0; pl < B * C; ++pl) {
            const T share = gy.data()[pl] / T(P);
            T* dst = gx_.data() + pl * P;
            for (std::size_t p = 0; p < P; ++p) dst[p] = share;
        }
        return gx_;
    }
    /// Text naming the layer, for messages.
    std::string name() const { return "nn::global_avg_pool"; }
    ///@}
    const image_shape& input_shape() const { return in_; } ///< (C, H, W)

private:
    image_shape in_;
};

/// Spec: global average pooling of images of shape `input` to (B, channels). With no
/// argument, nn::sequential gives it the image shape the layers before produce.
struct global_avg_pool {
    image_shape input;  ///< (C, H, W); unset while input_left_out.
    bool input_left_out = false;  ///< true: filled in by nn::sequential (make() alone throws)
    /// Input shape left out: filled in by nn::sequential from the layer before.
    constexpr global_avg_pool() : input_left_out(true) {}
    /// Input shape given: checked against the layer before inside nn::sequential.
    constexpr explicit global_avg_pool(const image_shape& in) : input(in) {}
    /// C, the output row width (0 while the input is left out).
    constexpr std::size_t output_features() const { return input.channels; }
    /// The spec with its left-out input taken from `in` (a given input is checked against it;
    /// shape_error on a mismatch or when `in` has no shape). See nn/shape_flow.hpp.
    global_avg_pool with_input(const flow_shape& in) const {
        global_avg_pool r = *this;
        r.input = detail::flow_input_image("nn::global_avg_pool", in, input, input_left_out);
        r.input_left_out = false;
        return r;
    }
    /// What flows past this layer: its output shape.
    flow_shape output_flow(const flow_shape&) const { return flow_shape::of(output_features()); }
    /// The layer object for scalar type T; throws b2m::shape_error while the input is left out.
    template <real T>
    global_avg_pool_layer<T> make() const {
        detail::require_input_given(input_left_out, "nn::global_avg_pool");
        return global_avg_pool_layer<T>(input);
    }
};

} // namespace b2m::nn

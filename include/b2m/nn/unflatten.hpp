// b2m/nn/unflatten.hpp - unflatten: (B, features) becomes images (B, C, H, W) stored
// (B, C*H*W), as PyTorch's nn.Unflatten(1, (C, H, W)) before a decoder's transposed
// convolutions. The data is unchanged (rows are already flat, NCHW); the layer checks the
// width and declares logical rank 4. It is a module of its own, so a student's layer
// indices match the torch.nn.Sequential it mirrors.
#pragma once

#include <string>

#include "b2m/nn/image.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"
#include "b2m/nn/shape_flow.hpp"

namespace b2m::nn {

/// The layer object of nn::unflatten: no parameters and no buffers of its own (init and
/// for_each_param are nn::layer_base's, doing nothing).
template <real T>
class unflatten_layer : public layer_base<unflatten_layer<T>, T> {
public:
    static constexpr int rank_out = 4; ///< NCHW image rows.
    explicit unflatten_layer(const image_shape& s) : s_(s) {} ///< Rows become images of shape s.
    /// Returns x itself (no copy). Requires x of shape (B, C*H*W).
    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        require_image_rows("nn::unflatten", x, s_);
        return x;
    }
    /// Returns gy itself when need_input_grad (no copy), else an empty matrix.
    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        return this->skip_input_grad(need_input_grad) ? this->gx_ : gy;
    }
    const image_shape& output_shape() const { return s_; } ///< (C, H, W)
    /// Text naming the layer, for messages.
    std::string name() const { return "nn::unflatten" + to_string(s_); }

private:
    image_shape s_;
};

/// Spec: view (batch, C*H*W) rows as images of shape `shape`.
/// Inside nn::sequential the rows entering it must have shape.size() features when the
/// layer before gives a row width (any image layout of that width is reinterpreted); it
/// starts an image flow (nn/shape_flow.hpp).
struct unflatten {
    image_shape shape; ///< (C, H, W) of the images the rows become.
    /// What flows past this layer: images of `shape` (shape_error when in's width differs).
    flow_shape output_flow(const flow_shape& in) const {
        if (in.known() && in.features != shape.size())
            throw shape_error("nn::unflatten" + to_string(shape) + " needs rows of " + std::to_string(shape.size()) +
                              " features, but the layer before gives " + to_string(in));
        return flow_shape::of(shape);
    }
    /// The layer object for scalar type T.
    template <real T>
    unflatten_layer<T> make() const { return unflatten_layer<T>(shape); }
};

} // namespace b2m::nn

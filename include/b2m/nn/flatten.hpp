// b2m/nn/flatten.hpp - flatten: (B, C, H, W) stored (B, C*H*W) becomes (B, C*H*W) of
// logical rank 2. The data is unchanged (rows are already flat, NCHW); only the logical
// rank changes, so a (batch, features) loss or dense layer can follow an image layer.
#pragma once

#include <string>

#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"
#include "b2m/nn/shape_flow.hpp"

namespace b2m::nn {

/// The layer object of nn::flatten: no parameters and no buffers of its own (rank_out 2,
/// (batch, features); init and for_each_param are nn::layer_base's, doing nothing).
template <real T>
class flatten_layer : public layer_base<flatten_layer<T>, T> {
public:
    /// Returns x itself (no copy).
    const matrix<T>& forward(const matrix<T>& x, const step_context&) { return x; }
    /// Returns gy itself when need_input_grad (no copy), else an empty matrix.
    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        return this->skip_input_grad(need_input_grad) ? this->gx_ : gy;
    }
    /// Text naming the layer, for messages.
    std::string name() const { return "nn::flatten"; }
};

/// Spec: flatten to (batch, features).
/// Inside nn::sequential an image flow becomes a row width (nn/shape_flow.hpp).
struct flatten {
    /// What flows past this layer: in's row width, no longer images.
    flow_shape output_flow(const flow_shape& in) const { return flow_shape::of(in.features); }
    /// The layer object for scalar type T.
    template <real T>
    flatten_layer<T> make() const { return {}; }
};

} // namespace b2m::nn

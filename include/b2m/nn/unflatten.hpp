// b2m/nn/unflatten.hpp - unflatten: (B, features) becomes images (B, C, H, W) stored
// (B, C*H*W), as PyTorch's nn.Unflatten(1, (C, H, W)) before a decoder's transposed
// convolutions. The data is unchanged (rows are already flat, NCHW); the layer checks the
// width and declares logical rank 4. It is a module of its own, so a student's layer
// indices match the torch.nn.Sequential it mirrors.
#pragma once

#include "b2m/nn/image.hpp"
#include "b2m/nn/layer.hpp"

namespace b2m::nn {

template <real T>
class unflatten_layer {
public:
    static constexpr int rank_out = 4;
    explicit unflatten_layer(const image_shape& s) : s_(s) {}
    void init(rng&) {}
    /// Returns x itself (no copy). Requires x of shape (B, C*H*W).
    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        require_image_rows("nn::unflatten", x, s_);
        return x;
    }
    /// Returns gy itself when need_input_grad (no copy), else an empty matrix.
    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) { return need_input_grad ? gy : empty_; }
    template <class F>
    void for_each_param(F&&) {}
    const image_shape& output_shape() const { return s_; }

private:
    image_shape s_;
    matrix<T> empty_;
};

/// Spec: view (batch, C*H*W) rows as images of shape `shape`.
struct unflatten {
    image_shape shape;
    template <real T>
    unflatten_layer<T> make() const { return unflatten_layer<T>(shape); }
};

} // namespace b2m::nn

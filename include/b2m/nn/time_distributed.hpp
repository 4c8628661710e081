// b2m/nn/time_distributed.hpp - a dense layer applied to every step of a sequence:
// (B, T*in) -> (B, T*out), y(b,t) = x(b,t) W + b. One GEMM over the (B*T, in) view.
//
//   nn::time_distributed(nn::dense(128, 32))    // a latent read-out at every step
#pragma once

#include <cstddef>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/nn/dense.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"
#include "b2m/nn/sequence.hpp"

namespace b2m::nn {

/// The layer object of nn::time_distributed for scalar type T: owns a dense_layer; its output
/// and input-gradient buffers and the pointer to the last forward's input (which must stay
/// alive until backward) are nn::layer_base's.
template <real T>
class time_distributed_layer : public layer_base<time_distributed_layer<T>, T> {
    using base = layer_base<time_distributed_layer<T>, T>;
    using base::x_, base::gx_;

public:
    /// Same parameters, names ("weight" (in, out), "bias" (1, out)) and initialisation as nn::dense.
    explicit time_distributed_layer(const nn::dense& d) : dense_(d.make<T>()), in_(d.in), out_(d.out) {}

    /// @name Layer interface (the layer-object concept in b2m/nn/layer.hpp)
    ///@{

    /// Layer interface: rank_out 3; init is the dense layer's; forward takes x (B, T*in)
    /// (b2m::shape_error when the width is not a positive multiple of in) and returns
    /// (B, T*out), each step x(b,t) W + b; backward takes gy (B, T*out) (b2m::shape_error
    /// otherwise), adds dL/dW and dL/db over all steps and returns dL/dx (empty when
    /// !need_input_grad); for_each_param visits "weight" and, with a bias, "bias".
    static constexpr int rank_out = 3;

    void init(rng& r) { dense_.init(r); }

    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        const std::size_t steps = sequence_steps([this] { return name(); }, x, in_);
        matrix<T>& y = this->begin_forward(x, x.shape(0), steps * out_);
        dense_.forward_rows(x.data(), x.shape(0) * steps, y.data());
        return y;
    }

    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        matrix<T>& gx = this->begin_backward(gy, need_input_grad);
        dense_.backward_rows(x_->data(), gy.data(), gy.size() / out_, need_input_grad ? gx.data() : nullptr);
        return gx_;
    }

    template <class F>
    void for_each_param(F&& f) { dense_.for_each_param(f); }
    /// Text naming the layer, "nn::time_distributed(nn::dense(in, out))", for messages.
    std::string name() const { return "nn::time_distributed(" + dense_.name() + ")"; }
    ///@}
    matrix<T>& weight() { return dense_.weight(); } ///< W (in, out).
    matrix<T>& bias() { return dense_.bias(); }     ///< b (1, out).

private:
    dense_layer<T> dense_;
    std::size_t in_, out_;
};

/// Spec: `layer` applied to each step of a (B, T*layer.in) sequence.
struct time_distributed {
    nn::dense layer; ///< The per-step dense layer (its `in` given, not inferred).
    /// `d` applied to every step.
    explicit time_distributed(nn::dense d) : layer(d) {}
    /// The layer object for scalar type T.
    template <real T>
    time_distributed_layer<T> make() const { return time_distributed_layer<T>(layer); }
};

} // namespace b2m::nn

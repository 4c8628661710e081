// b2m/nn/activation.hpp - element-wise activation layers, sharing their maths with autodiff.
#pragma once

#include <string>

#include "b2m/autodiff/elementwise.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"

namespace b2m::nn {

/// y = Fn(x) element-wise, Fn one of b2m::ad::fn (relu, tanh, ...).
template <real T, class Fn>
class activation_layer : public layer_base<activation_layer<T, Fn>, T> {
    using base = layer_base<activation_layer<T, Fn>, T>;
    using base::x_, base::y_, base::gx_;

public:
    /// @name Layer interface (the layer-object concept in b2m/nn/layer.hpp)
    ///@{

    /// Layer interface: rank_out 2 (a spec keeps_shape, so any input shape passes); init does
    /// nothing; forward returns y = Fn(x) of x's shape, keeping a pointer to x (alive until
    /// backward); backward returns gy * Fn'(x, y) (empty when !need_input_grad); for_each_param
    /// visits nothing.
    /// A layer applying f.
    explicit activation_layer(Fn f) : f_(f) {}

    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        this->begin_forward(x, x.shape(0), x.shape(1));
        const T* px = x.data();
        T* py = y_.data();
        // omp simd: GCC -O2 does not vectorise these loops by itself (it would need an aliasing
        // check), and a branchy ReLU mispredicts on half of its inputs.
        parallel_for(x.size(), parallel_grain, [&](std::size_t b, std::size_t e) {
#pragma omp simd
            for (std::size_t i = b; i < e; ++i) py[i] = f_.value(px[i]);
        });
        return y_;
    }
    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        if (this->skip_input_grad(need_input_grad)) return gx_;
        this->begin_backward(gy);
        const T *px = x_->data(), *py = y_.data(), *pg = gy.data();
        T* po = gx_.data();
        parallel_for(gy.size(), parallel_grain, [&](std::size_t b, std::size_t e) {
#pragma omp simd
            for (std::size_t i = b; i < e; ++i) {
                const T d = f_.grad(px[i], py[i]);  // a separate value lets GCC vectorise the select
                po[i] = pg[i] * d;
            }
        });
        return gx_;
    }
    /// Text naming the layer, for messages.
    std::string name() const { return "nn::activation"; }
    ///@}

    /// For a layer below that computes this activation in its own pass (nn::dense's
    /// forward_fused / backward_fused, called by nn::sequential): records z as the input of
    /// this forward and returns the output buffer, shaped like z; the caller writes f(z) there.
    matrix<T>& fused_output(const matrix<T>& z) {
        x_ = &z;
        ensure_shape_like(y_, z);
        return y_;
    }
    /// The input-gradient buffer, shaped like gy, for the caller to write gy * f'(z, y) into.
    matrix<T>& fused_grad(const matrix<T>& gy) {
        ensure_shape_like(gx_, gy);
        return gx_;
    }
    /// The input z and output f(z) of the last forward.
    const matrix<T>& fused_input() const { return *x_; }
    const matrix<T>& fused_output() const { return y_; } ///< The output f(z) of the last forward.
    /// The element-wise function.
    const Fn& fn() const { return f_; }

private:
    Fn f_;
};

/// Spec of an activation layer with function object Fn.
template <class Fn>
struct activation {
    static constexpr bool keeps_shape = true;  ///< nn/shape_flow.hpp
    Fn f{}; ///< The element-wise function (its parameters, e.g. leaky_relu's alpha).
    /// The layer object for scalar type T.
    template <real T>
    activation_layer<T, Fn> make() const { return activation_layer<T, Fn>(f); }
};

using relu = activation<ad::fn::relu>;
using tanh = activation<ad::fn::tanh>;
using sigmoid = activation<ad::fn::sigmoid>;
using gelu = activation<ad::fn::gelu>;
using softplus = activation<ad::fn::softplus>;
/// Leaky ReLU with negative slope alpha: nn::leaky_relu{{0.2}}.
using leaky_relu = activation<ad::fn::leaky_relu>;

} // namespace b2m::nn

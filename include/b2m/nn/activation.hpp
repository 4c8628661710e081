// b2m/nn/activation.hpp - element-wise activation layers, sharing their maths with autodiff.
#pragma once

#include "b2m/autodiff/elementwise.hpp"
#include "b2m/nn/layer.hpp"

namespace b2m::nn {

/// y = Fn(x) element-wise, Fn one of b2m::ad::fn (relu, tanh, ...).
template <real T, class Fn>
class activation_layer {
public:
    static constexpr int rank_out = 2;
    explicit activation_layer(Fn f) : f_(f) {}
    void init(rng&) {}

    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        x_ = &x;
        ensure_shape_like(y_, x);
        const T* px = x.data();
        T* py = y_.data();
        // omp simd: GCC -O2 does not vectorise these loops by itself (it would need an aliasing
        // check), and a branchy ReLU mispredicts on half of its inputs.
        parallel_for(x.size(), 1 << 15, [&](std::size_t b, std::size_t e) {
#pragma omp simd
            for (std::size_t i = b; i < e; ++i) py[i] = f_.value(px[i]);
        });
        return y_;
    }
    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        if (!need_input_grad) {
            ensure_shape(gx_, 0, 0);
            return gx_;
        }
        ensure_shape_like(gx_, gy);
        const T *px = x_->data(), *py = y_.data(), *pg = gy.data();
        T* po = gx_.data();
        parallel_for(gy.size(), 1 << 15, [&](std::size_t b, std::size_t e) {
#pragma omp simd
            for (std::size_t i = b; i < e; ++i) {
                const T d = f_.grad(px[i], py[i]);  // a separate value lets GCC vectorise the select
                po[i] = pg[i] * d;
            }
        });
        return gx_;
    }
    template <class F>
    void for_each_param(F&&) {}

private:
    Fn f_;
    matrix<T> y_, gx_;
    const matrix<T>* x_ = nullptr;
};

/// Spec of an activation layer with function object Fn.
template <class Fn>
struct activation {
    Fn f{};
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

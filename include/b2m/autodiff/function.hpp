// b2m/autodiff/function.hpp - an expression bound to N inputs, evaluated and differentiated.
//
//   auto f = b2m::ad::make_function<double, 2>([](auto x, auto y) {
//       return b2m::ad::mean(b2m::ad::square(x - y));
//   });
//   double v = f.value({&x, &y});             // forward
//   f.gradient({&x, &y}, {&gx, &gy});          // adds dv/dx into gx, dv/dy into gy
//
// The builder is called once with the leaves arg<T, 0..N-1>; the graph type it returns is
// the function's static graph. A function owns its buffers: not thread-safe, reusable.
#pragma once

#include <array>
#include <utility>

#include "b2m/autodiff/node.hpp"

namespace b2m::ad {

/// A graph E evaluated on N bound input matrices (arg<T, 0..N-1>), with its gradient.
/// Owns the graph and its buffers: not thread-safe; calls with unchanged shapes allocate nothing.
template <real T, std::size_t N, expression E>
class function {
public:
    using value_type = T; ///< The element type of inputs and result.
    /// Takes ownership of the graph (usually via make_function).
    explicit function(E e) : expr_(std::move(e)) {}

    /// Evaluates the graph; the result's shape is whatever the expression makes.
    const matrix<T>& forward(const std::array<const matrix<T>*, N>& inputs) {
        ctx_.values = inputs;
        ctx_.grads.fill(nullptr);
        return expr_.forward(ctx_);
    }
    /// Evaluates a scalar (1x1) expression. Throws shape_error if the result is not 1x1.
    T value(const std::array<const matrix<T>*, N>& inputs) {
        const matrix<T>& y = forward(inputs);
        if (y.size() != 1)
            throw shape_error("b2m::ad::function::value: the expression's result has shape " +
                              shape_string(y.shape()) + ", not (1, 1)");
        return y(0, 0);
    }
    /// Evaluates, then adds seed * d(result)/d(input k) into *grads[k] (null: not wanted)
    /// and into every param's grad. For a non-scalar result, seed multiplies a gradient of
    /// ones (the gradient of the sum of the result's entries). Returns the result.
    const matrix<T>& gradient(const std::array<const matrix<T>*, N>& inputs,
                              const std::array<matrix<T>*, N>& grads, T seed = T(1)) {
        const matrix<T>& y = forward(inputs);
        ctx_.grads = grads;
        for (std::size_t k = 0; k < N; ++k)
            if (grads[k] && grads[k]->shape() != inputs[k]->shape())
                throw_shape_mismatch("b2m::ad::function::gradient", "input " + std::to_string(k),
                                     inputs[k]->shape(), "its gradient buffer", grads[k]->shape());
        ensure_shape_like(seed_, y);
        seed_.fill(seed);
        expr_.backward(seed_, ctx_);
        return y;
    }
    /// Calls f(name, value, grad) for every param leaf of the graph.
    template <class F>
    void for_each_param(F&& f) { expr_.for_each_param(f); }
    /// The graph itself (e.g. to reach a param leaf by member access).
    E& expression() { return expr_; }

private:
    E expr_;
    context<T, N> ctx_{};
    matrix<T> seed_;
};

namespace detail {
template <real T, class Builder, std::size_t... I>
auto build(Builder&& b, std::index_sequence<I...>) { return b(arg<T, I>{}...); }
} // namespace detail

/// Builds a function of N matrix inputs from builder(arg<T,0>, ..., arg<T,N-1>).
template <real T, std::size_t N, class Builder>
auto make_function(Builder&& builder) {
    auto e = detail::build<T>(builder, std::make_index_sequence<N>{});
    static_assert(expression<decltype(e)>, "b2m::ad::make_function: the builder must return an ad expression");
    return function<T, N, decltype(e)>(std::move(e));
}

} // namespace b2m::ad

// b2m/autodiff/node.hpp - the expression concept, its evaluation context, and the leaves.
//
// A b2m autodiff graph is a C++ expression: every op is a node type holding its operands
// by value, so the whole graph is one type fixed at compile time (a static graph). Every
// value is a row-major matrix<T> (a scalar is 1x1). A node
//   - computes its value in forward(ctx) into a buffer it owns, and returns it;
//   - given dL/d(value) in backward(g, ctx), adds dL/d(leaf) into every leaf below it.
// Buffers are sized on the first forward and reused, so repeated evaluation with the same
// shapes allocates nothing. An op node derives from node_base<Derived, A[, B]>
// (b2m/autodiff/node_base.hpp), which supplies this interface, and writes only its maths:
// eval (the forward) and grad_a / grad_b (the backward for each operand).
// Leaves: arg<T, I> (the I-th matrix bound in the context), param<T> (a learnable matrix
// the node owns), constant<T> (a fixed matrix it owns).
// A graph is a tree: an operand used twice is evaluated twice (arg leaves are free to reuse).
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

#include "b2m/core/error.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::ad {

/// Marks node types; every node derives from it.
struct node_tag {};

/// A node of a b2m autodiff graph.
template <class N>
concept expression = std::derived_from<std::remove_cvref_t<N>, node_tag>;

/// The element type (float or double) of expression N.
template <expression N>
using value_type_t = typename std::remove_cvref_t<N>::value_type;

/// The bindings of a graph's arg<T, I> leaves: values[I] is read in forward; when
/// grads[I] is non-null, backward adds dL/d(values[I]) into it (it must have the same
/// shape as values[I]; the caller zeroes it when a fresh gradient is wanted).
template <real T, std::size_t N>
struct context {
    std::array<const matrix<T>*, N> values{}; ///< values[I]: the matrix arg<T, I> reads; must be non-null at forward.
    std::array<matrix<T>*, N> grads{};        ///< grads[I]: null, or a buffer shaped like *values[I] that backward adds into.
};

namespace detail {
/// g_into += g, checking shapes (a leaf's gradient accumulates over its uses).
template <real T>
void accumulate(matrix<T>& into, const matrix<T>& g, const char* who) {
    if (into.shape() != g.shape())
        throw_shape_mismatch(std::string("gradient of ") + who, "its gradient buffer", into.shape(),
                             "the incoming gradient", g.shape());
    T* p = into.data();
    const T* q = g.data();
    parallel_for(g.size(), parallel_grain, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) p[i] += q[i];
    });
}
} // namespace detail

/// The I-th matrix of the evaluation context.
template <real T, std::size_t I>
struct arg : node_tag {
    /// @name Node interface (the concept in b2m/autodiff/node.hpp)
    ///@{

    /// Node interface: forward(ctx) returns *ctx.values[I] (throws b2m::error when it is null);
    /// backward(g, ctx) adds g into *ctx.grads[I] when that is non-null (g must have its shape);
    /// value() is the matrix of the last forward; for_each_param visits nothing (no parameters).
    using value_type = T;
    static constexpr bool has_grad = true;

    template <std::size_t N>
    const matrix<T>& forward(const context<T, N>& ctx) {
        static_assert(I < N, "b2m::ad::arg<T, I>: the context binds fewer than I+1 matrices");
        if (ctx.values[I] == nullptr)
            throw error("b2m::ad::arg<" + std::to_string(I) + ">: no matrix bound in the context");
        value_ = ctx.values[I];
        return *value_;
    }
    template <std::size_t N>
    void backward(const matrix<T>& g, const context<T, N>& ctx) {
        if (ctx.grads[I] != nullptr) detail::accumulate(*ctx.grads[I], g, "an ad::arg leaf");
    }
    const matrix<T>& value() const { return *value_; }
    template <class F>
    void for_each_param(F&&) {}
    ///@}

private:
    const matrix<T>* value_ = nullptr;
};

/// A learnable matrix owned by the graph; backward accumulates into `grad`.
template <real T>
struct param : node_tag {
    using value_type = T; ///< The element type.
    static constexpr bool has_grad = true; ///< A parameter always receives a gradient.
    matrix<T> value_;     ///< The current value (an optimiser updates it in place).
    matrix<T> grad;       ///< dL/d(value_), same shape; backward adds into it, the caller zeroes it.
    std::string name;     ///< The name for_each_param reports (state dicts, optimiser groups).

    param() = default;
    /// Takes v as the value; ensures grad has v's shape and is zero.
    param(matrix<T> v, std::string n = "param")
        : value_(std::move(v)), grad(matrix<T>::from_shape(value_.shape())), name(std::move(n)) {
        grad.fill(T(0));
    }

    /// Returns value_ (the context is not read).
    template <class Ctx>
    const matrix<T>& forward(const Ctx&) { return value_; }
    /// grad += g; throws b2m::shape_error naming the parameter when g's shape differs.
    template <class Ctx>
    void backward(const matrix<T>& g, const Ctx&) { detail::accumulate(grad, g, name.c_str()); }
    /// Returns value_.
    const matrix<T>& value() const { return value_; }
    /// Calls f(name, value, grad) for this parameter.
    template <class F>
    void for_each_param(F&& f) { f(name, value_, grad); }
};

/// A fixed matrix owned by the graph (no gradient).
template <real T>
struct constant : node_tag {
    /// @name Node interface (the concept in b2m/autodiff/node.hpp)
    ///@{

    /// Node interface: forward(ctx) and value() return value_; backward does nothing and
    /// has_grad is false (no gradient flows into a constant); for_each_param visits nothing.
    using value_type = T;
    static constexpr bool has_grad = false;
    matrix<T> value_;

    constant() = default;
    explicit constant(matrix<T> v) : value_(std::move(v)) {}
    template <class Ctx>
    const matrix<T>& forward(const Ctx&) { return value_; }
    template <class Ctx>
    void backward(const matrix<T>&, const Ctx&) {}
    const matrix<T>& value() const { return value_; }
    template <class F>
    void for_each_param(F&&) {}
    ///@}
};

} // namespace b2m::ad

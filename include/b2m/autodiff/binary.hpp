// b2m/autodiff/binary.hpp - a + b, a - b, a * b, a / b with broadcasting.
//
// Shapes broadcast per axis: each axis of a and b is equal, or 1 in one of them (a row
// vector (1, c), a column vector (r, 1), or a scalar (1, 1)). Anything else is a
// shape_error naming both operands' shapes. The gradient of a broadcast operand is summed
// over the axes it was broadcast along.
#pragma once

#include <algorithm>
#include <utility>

#include "b2m/autodiff/node.hpp"

namespace b2m::ad {

namespace fn {
// Each has value(a, b) = y and the partial derivatives grad_a(a, b, y) = dy/da and
// grad_b(a, b, y) = dy/db (y = value(a, b), passed so that div reuses it).
/// a + b: value a + b, grad_a 1, grad_b 1.
struct add {
    template <class T> T value(T a, T b) const { return a + b; } ///< Returns a + b.
    template <class T> T grad_a(T, T, T) const { return T(1); } ///< Returns 1.
    template <class T> T grad_b(T, T, T) const { return T(1); } ///< Returns 1.
};
/// a - b: value a - b, grad_a 1, grad_b -1.
struct sub {
    template <class T> T value(T a, T b) const { return a - b; } ///< Returns a - b.
    template <class T> T grad_a(T, T, T) const { return T(1); } ///< Returns 1.
    template <class T> T grad_b(T, T, T) const { return T(-1); } ///< Returns -1.
};
/// a * b: value a b, grad_a b, grad_b a.
struct mul {
    template <class T> T value(T a, T b) const { return a * b; } ///< Returns a * b.
    template <class T> T grad_a(T, T b, T) const { return b; } ///< Returns b.
    template <class T> T grad_b(T a, T, T) const { return a; } ///< Returns a.
};
/// a / b (requires b != 0): value a / b, grad_a 1 / b, grad_b -y / b.
struct div {
    template <class T> T value(T a, T b) const { return a / b; } ///< Returns a / b.
    template <class T> T grad_a(T, T b, T) const { return T(1) / b; } ///< Returns 1 / b.
    template <class T> T grad_b(T, T b, T y) const { return -y / b; } ///< Returns -y / b.
};
} // namespace fn

namespace detail {
/// Index strides of an operand of shape (r, c) inside a broadcast result.
struct bstride {
    std::size_t row, col;
};
template <class S>
bstride broadcast_stride(const S& s) {
    return {s[0] == 1 ? 0 : s[1], s[1] == 1 ? std::size_t(0) : std::size_t(1)};
}
} // namespace detail

/// Fn (add, sub, mul, div in namespace fn) applied entry by entry to A and B, broadcast.
template <expression A, expression B, class Fn>
struct binary : node_tag {
    /// @name Node interface (the concept in b2m/autodiff/node.hpp)
    ///@{

    /// Node interface: forward(ctx) returns y, y(i, j) = f.value(x(i, j), z(i, j)) for
    /// x = a.forward(ctx), z = b.forward(ctx) broadcast to (max of the row counts, max of the
    /// column counts); throws b2m::shape_error naming both shapes when an axis differs and is 1 in
    /// neither. backward(g, ctx) requires g shaped like y and passes to each operand with a gradient
    /// g * f.grad_a (resp. grad_b), summed over the axes it was broadcast along (its own shape);
    /// value() is y of the last forward; for_each_param visits A's, then B's parameters.
    using value_type = value_type_t<A>;
    using T = value_type;
    static_assert(std::is_same_v<T, value_type_t<B>>, "b2m::ad: both operands must have the same scalar type");
    static constexpr bool has_grad = A::has_grad || B::has_grad;
    A a;  ///< The left operand.
    B b;  ///< The right operand.
    Fn f; ///< The element-wise function (value, grad_a, grad_b).

    /// Takes both operands and the function object.
    binary(A a_, B b_, Fn f_) : a(std::move(a_)), b(std::move(b_)), f(f_) {}

    template <class Ctx>
    const matrix<T>& forward(const Ctx& ctx) {
        const matrix<T>& x = a.forward(ctx);
        const matrix<T>& z = b.forward(ctx);
        const auto& sx = x.shape();
        const auto& sz = z.shape();
        for (int ax = 0; ax < 2; ++ax)
            if (sx[ax] != sz[ax] && sx[ax] != 1 && sz[ax] != 1)
                throw_shape_mismatch("b2m::ad element-wise op: shapes do not broadcast",
                                     "left operand", sx, "right operand", sz);
        const std::size_t rows = std::max(sx[0], sz[0]), cols = std::max(sx[1], sz[1]);
        ensure_shape(y_, rows, cols);
        const auto sa = detail::broadcast_stride(sx), sb = detail::broadcast_stride(sz);
        const T *px = x.data(), *pz = z.data();
        T* py = y_.data();
        parallel_for(rows, std::max<std::size_t>(1, (1 << 14) / std::max<std::size_t>(1, cols)),
                     [&](std::size_t r0, std::size_t r1) {
                         for (std::size_t i = r0; i < r1; ++i)
                             for (std::size_t j = 0; j < cols; ++j)
                                 py[i * cols + j] = f.value(px[i * sa.row + j * sa.col], pz[i * sb.row + j * sb.col]);
                     });
        return y_;
    }

    template <class Ctx>
    void backward(const matrix<T>& g, const Ctx& ctx) {
        if constexpr (A::has_grad) side<true>(g, ctx);
        if constexpr (B::has_grad) side<false>(g, ctx);
    }
    const matrix<T>& value() const { return y_; }
    template <class F>
    void for_each_param(F&& fun) {
        a.for_each_param(fun);
        b.for_each_param(fun);
    }
    ///@}

private:
    template <bool Left, class Ctx>
    void side(const matrix<T>& g, const Ctx& ctx) {
        const matrix<T>& x = a.value();
        const matrix<T>& z = b.value();
        const matrix<T>& self = Left ? x : z;
        matrix<T>& gs = Left ? ga_ : gb_;
        ensure_shape_like(gs, self);
        const std::size_t rows = y_.shape(0), cols = y_.shape(1);
        const auto sa = detail::broadcast_stride(x.shape()), sb = detail::broadcast_stride(z.shape());
        const auto ss = Left ? sa : sb;
        const T *px = x.data(), *pz = z.data(), *py = y_.data(), *pg = g.data();
        T* po = gs.data();
        auto d = [&](std::size_t i, std::size_t j) {
            const T xv = px[i * sa.row + j * sa.col], zv = pz[i * sb.row + j * sb.col], yv = py[i * cols + j];
            return pg[i * cols + j] * (Left ? f.grad_a(xv, zv, yv) : f.grad_b(xv, zv, yv));
        };
        if (ss.row != 0) {  // no broadcast along rows: each row of gs is written by one thread
            parallel_for(rows, std::max<std::size_t>(1, (1 << 14) / std::max<std::size_t>(1, cols)),
                         [&](std::size_t r0, std::size_t r1) {
                             for (std::size_t i = r0; i < r1; ++i) {
                                 if (ss.col != 0)
                                     for (std::size_t j = 0; j < cols; ++j) po[i * ss.row + j] = d(i, j);
                                 else {
                                     T s = 0;
                                     for (std::size_t j = 0; j < cols; ++j) s += d(i, j);
                                     po[i * ss.row] = s;
                                 }
                             }
                         });
        } else {
            std::fill(po, po + gs.size(), T(0));
            for (std::size_t i = 0; i < rows; ++i)
                for (std::size_t j = 0; j < cols; ++j) po[j * ss.col] += d(i, j);
        }
        if constexpr (Left) a.backward(gs, ctx);
        else b.backward(gs, ctx);
    }
    matrix<T> y_, ga_, gb_;
};

template <expression A, expression B> auto operator+(A a, B b) { return binary(std::move(a), std::move(b), fn::add{}); }
template <expression A, expression B> auto operator-(A a, B b) { return binary(std::move(a), std::move(b), fn::sub{}); }
template <expression A, expression B> auto operator*(A a, B b) { return binary(std::move(a), std::move(b), fn::mul{}); }
template <expression A, expression B> auto operator/(A a, B b) { return binary(std::move(a), std::move(b), fn::div{}); }

} // namespace b2m::ad

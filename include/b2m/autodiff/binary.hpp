// b2m/autodiff/binary.hpp - a + b, a - b, a * b, a / b with broadcasting.
//
// Shapes broadcast per axis: each axis of a and b is equal, or 1 in one of them (a row
// vector (1, c), a column vector (r, 1), or a scalar (1, 1)). Anything else is a
// shape_error naming both operands' shapes. The gradient of a broadcast operand is summed
// over the axes it was broadcast along.
#pragma once

#include <algorithm>
#include <utility>

#include "b2m/autodiff/node_base.hpp"
#include "b2m/core/parallel.hpp"

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
struct binary : node_base<binary<A, B, Fn>, A, B> {
    Fn f; ///< The element-wise function (value, grad_a, grad_b).

    /// Takes both operands and the function object.
    binary(A a_, B b_, Fn f_) : node_base<binary, A, B>(std::move(a_), std::move(b_)), f(f_) {}

    /// y(i, j) = f.value(x(i, j), z(i, j)), x and z broadcast to (max of the row counts, max of
    /// the column counts); throws b2m::shape_error naming both shapes when an axis differs and
    /// is 1 in neither.
    template <class T>
    void eval(matrix<T>& y, const matrix<T>& x, const matrix<T>& z) {
        const auto& sx = x.shape();
        const auto& sz = z.shape();
        for (int ax = 0; ax < 2; ++ax)
            if (sx[ax] != sz[ax] && sx[ax] != 1 && sz[ax] != 1)
                throw_shape_mismatch("b2m::ad element-wise op: shapes do not broadcast",
                                     "left operand", sx, "right operand", sz);
        const std::size_t rows = std::max(sx[0], sz[0]), cols = std::max(sx[1], sz[1]);
        ensure_shape(y, rows, cols);
        const auto sa = detail::broadcast_stride(sx), sb = detail::broadcast_stride(sz);
        const T *px = x.data(), *pz = z.data();
        T* py = y.data();
        parallel_for(rows, items_per_thread(cols, elementwise_grain),
                     [&](std::size_t r0, std::size_t r1) {
                         for (std::size_t i = r0; i < r1; ++i)
                             for (std::size_t j = 0; j < cols; ++j)
                                 py[i * cols + j] = f.value(px[i * sa.row + j * sa.col], pz[i * sb.row + j * sb.col]);
                     });
    }
    /// dL/dx = g * f.grad_a, summed over the axes x was broadcast along (x's shape).
    template <class T>
    void grad_a(matrix<T>& gx, const matrix<T>& g, const matrix<T>& y, const matrix<T>& x, const matrix<T>& z) {
        side<true>(gx, g, y, x, z);
    }
    /// dL/dz = g * f.grad_b, summed over the axes z was broadcast along (z's shape).
    template <class T>
    void grad_b(matrix<T>& gz, const matrix<T>& g, const matrix<T>& y, const matrix<T>& x, const matrix<T>& z) {
        side<false>(gz, g, y, x, z);
    }

private:
    template <bool Left, class T>
    void side(matrix<T>& gs, const matrix<T>& g, const matrix<T>& y, const matrix<T>& x, const matrix<T>& z) {
        const std::size_t rows = y.shape(0), cols = y.shape(1);
        const auto sa = detail::broadcast_stride(x.shape()), sb = detail::broadcast_stride(z.shape());
        const auto ss = Left ? sa : sb;
        const T *px = x.data(), *pz = z.data(), *py = y.data(), *pg = g.data();
        T* po = gs.data();
        auto d = [&](std::size_t i, std::size_t j) {
            const T xv = px[i * sa.row + j * sa.col], zv = pz[i * sb.row + j * sb.col], yv = py[i * cols + j];
            return pg[i * cols + j] * (Left ? f.grad_a(xv, zv, yv) : f.grad_b(xv, zv, yv));
        };
        if (ss.row != 0) {  // no broadcast along rows: each row of gs is written by one thread
            parallel_for(rows, items_per_thread(cols, elementwise_grain),
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
    }
};

template <expression A, expression B> auto operator+(A a, B b) { return binary(std::move(a), std::move(b), fn::add{}); }
template <expression A, expression B> auto operator-(A a, B b) { return binary(std::move(a), std::move(b), fn::sub{}); }
template <expression A, expression B> auto operator*(A a, B b) { return binary(std::move(a), std::move(b), fn::mul{}); }
template <expression A, expression B> auto operator/(A a, B b) { return binary(std::move(a), std::move(b), fn::div{}); }

} // namespace b2m::ad

// b2m/autodiff/shape_ops.hpp - reshape, transpose, concat, slice.
#pragma once

#include <algorithm>
#include <string>
#include <utility>

#include "b2m/autodiff/node_base.hpp"
#include "b2m/autodiff/reduce.hpp"

namespace b2m::ad {

/// Which layout change a reshape_node makes.
enum class shape_kind { reshape, transpose };

/// reshape to (rows, cols) keeping row-major order (sizes must agree), or transpose.
template <expression A, shape_kind Kind>
struct reshape_node : node_base<reshape_node<A, Kind>, A> {
    /// The target row count of a reshape (unused by transpose);
    std::size_t rows = 0, cols = 0; ///< the target column count.

    /// Takes the operand and the target shape (r, c) (ignored by transpose).
    reshape_node(A a_, std::size_t r, std::size_t c) : node_base<reshape_node, A>(std::move(a_)), rows(r), cols(c) {}

    /// For transpose, y is (c, r) with y(j, i) = x(i, j), for x of shape (r, c); for reshape,
    /// (rows, cols) holding x's entries in row-major order (throws b2m::shape_error when
    /// rows * cols != x.size()).
    template <class T>
    void eval(matrix<T>& y, const matrix<T>& x) {
        const std::size_t r = x.shape(0), c = x.shape(1);
        if constexpr (Kind == shape_kind::transpose) {
            ensure_shape(y, c, r);
            for (std::size_t i = 0; i < r; ++i)
                for (std::size_t j = 0; j < c; ++j) y(j, i) = x(i, j);
        } else {
            if (rows * cols != x.size())
                throw shape_error("b2m::ad::reshape: operand of shape " + shape_string(x.shape()) +
                                  " cannot be reshaped to (" + std::to_string(rows) + ", " + std::to_string(cols) + ")");
            ensure_shape(y, rows, cols);
            std::copy(x.data(), x.data() + x.size(), y.data());
        }
    }
    /// dL/dx = g mapped back to x's shape (transposed back, or the same entries in order).
    template <class T>
    void grad_a(matrix<T>& gx, const matrix<T>& g, const matrix<T>&, const matrix<T>& x) {
        if constexpr (Kind == shape_kind::transpose) {
            for (std::size_t i = 0; i < x.shape(0); ++i)
                for (std::size_t j = 0; j < x.shape(1); ++j) gx(i, j) = g(j, i);
        } else {
            std::copy(g.data(), g.data() + g.size(), gx.data());
        }
    }
};

template <expression A> auto transpose(A a) { return reshape_node<A, shape_kind::transpose>(std::move(a), 0, 0); }
template <expression A> auto reshape(A a, std::size_t rows, std::size_t cols) {
    return reshape_node<A, shape_kind::reshape>(std::move(a), rows, cols);
}

/// [A, B] side by side (axis::cols: same row count) or stacked (axis::rows: same column count).
template <expression A, expression B>
struct concat_node : node_base<concat_node<A, B>, A, B> {
    ad::axis ax; ///< axis::cols (side by side) or axis::rows (stacked).

    /// Throws b2m::error when ax is axis::all.
    concat_node(A a_, B b_, ad::axis ax_) : node_base<concat_node, A, B>(std::move(a_), std::move(b_)), ax(ax_) {
        if (ax == axis::all) throw error("b2m::ad::concat: axis must be axis::rows or axis::cols");
    }

    /// y = [x, z] (axis::cols: x, z with the same row count r, y is (r, cx + cz)) or x above z
    /// (axis::rows: same column count c, y is (rx + rz, c)); throws b2m::shape_error naming
    /// both shapes otherwise.
    template <class T>
    void eval(matrix<T>& y, const matrix<T>& x, const matrix<T>& z) {
        const int keep = ax == axis::cols ? 0 : 1;
        if (x.shape(keep) != z.shape(keep))
            throw_shape_mismatch("b2m::ad::concat", "first operand", x.shape(), "second operand", z.shape());
        if (ax == axis::cols) {
            const std::size_t r = x.shape(0), c1 = x.shape(1), c2 = z.shape(1);
            ensure_shape(y, r, c1 + c2);
            for (std::size_t i = 0; i < r; ++i) {
                std::copy(x.data() + i * c1, x.data() + (i + 1) * c1, y.data() + i * (c1 + c2));
                std::copy(z.data() + i * c2, z.data() + (i + 1) * c2, y.data() + i * (c1 + c2) + c1);
            }
        } else {
            ensure_shape(y, x.shape(0) + z.shape(0), x.shape(1));
            std::copy(x.data(), x.data() + x.size(), y.data());
            std::copy(z.data(), z.data() + z.size(), y.data() + x.size());
        }
    }
    /// dL/dx = the block of g where x was placed.
    template <class T>
    void grad_a(matrix<T>& gx, const matrix<T>& g, const matrix<T>&, const matrix<T>& x, const matrix<T>& z) {
        if (ax == axis::cols) {
            const std::size_t r = x.shape(0), c1 = x.shape(1), c2 = z.shape(1);
            for (std::size_t i = 0; i < r; ++i)
                std::copy(g.data() + i * (c1 + c2), g.data() + i * (c1 + c2) + c1, gx.data() + i * c1);
        } else {
            std::copy(g.data(), g.data() + x.size(), gx.data());
        }
    }
    /// dL/dz = the block of g where z was placed.
    template <class T>
    void grad_b(matrix<T>& gz, const matrix<T>& g, const matrix<T>&, const matrix<T>& x, const matrix<T>& z) {
        if (ax == axis::cols) {
            const std::size_t r = x.shape(0), c1 = x.shape(1), c2 = z.shape(1);
            for (std::size_t i = 0; i < r; ++i)
                std::copy(g.data() + i * (c1 + c2) + c1, g.data() + (i + 1) * (c1 + c2), gz.data() + i * c2);
        } else {
            std::copy(g.data() + x.size(), g.data() + g.size(), gz.data());
        }
    }
};

template <expression A, expression B>
auto concat(A a, B b, axis ax = axis::cols) { return concat_node<A, B>(std::move(a), std::move(b), ax); }

/// Rows [begin, end) (axis::rows) or columns [begin, end) (axis::cols) of A.
template <expression A>
struct slice_node : node_base<slice_node<A>, A> {
    ad::axis ax; ///< axis::rows or axis::cols.
    /// The first index of the range along ax;
    std::size_t begin, end; ///< one past the last index (begin <= end).

    /// Throws b2m::error when ax is axis::all or b > e.
    slice_node(A a_, ad::axis ax_, std::size_t b, std::size_t e)
        : node_base<slice_node, A>(std::move(a_)), ax(ax_), begin(b), end(e) {
        if (ax == axis::all || b > e) throw error("b2m::ad::slice: need axis rows or cols and begin <= end");
    }

    /// y = rows [begin, end) of x, shape (end - begin, c), or columns [begin, end), shape
    /// (r, end - begin); throws b2m::shape_error when end exceeds that extent of x.
    template <class T>
    void eval(matrix<T>& y, const matrix<T>& x) {
        const std::size_t r = x.shape(0), c = x.shape(1);
        const std::size_t extent = ax == axis::rows ? r : c;
        if (end > extent)
            throw shape_error("b2m::ad::slice: range [" + std::to_string(begin) + ", " + std::to_string(end) +
                              ") is outside operand of shape " + shape_string(x.shape()));
        if (ax == axis::rows) {
            ensure_shape(y, end - begin, c);
            std::copy(x.data() + begin * c, x.data() + end * c, y.data());
        } else {
            const std::size_t w = end - begin;
            ensure_shape(y, r, w);
            for (std::size_t i = 0; i < r; ++i)
                std::copy(x.data() + i * c + begin, x.data() + i * c + end, y.data() + i * w);
        }
    }
    /// dL/dx = g inside the range, 0 outside (x's shape).
    template <class T>
    void grad_a(matrix<T>& gx, const matrix<T>& g, const matrix<T>&, const matrix<T>& x) {
        const std::size_t r = x.shape(0), c = x.shape(1);
        gx.fill(T(0));
        if (ax == axis::rows) {
            std::copy(g.data(), g.data() + g.size(), gx.data() + begin * c);
        } else {
            const std::size_t w = end - begin;
            for (std::size_t i = 0; i < r; ++i)
                std::copy(g.data() + i * w, g.data() + (i + 1) * w, gx.data() + i * c + begin);
        }
    }
};

template <expression A>
auto slice(A a, axis ax, std::size_t begin, std::size_t end) { return slice_node<A>(std::move(a), ax, begin, end); }

} // namespace b2m::ad

// b2m/autodiff/reduce.hpp - sum and mean over all entries or one axis.
//
// axis = all: result (1, 1); axis = 0 (down the rows): (1, cols); axis = 1 (along each
// row): (rows, 1).
#pragma once

#include <utility>

#include "b2m/autodiff/node_base.hpp"

namespace b2m::ad {

enum class axis : int { all = -1, rows = 0, cols = 1 };

/// The sum (Mean false) or the mean (Mean true) of A's entries over ax.
template <expression A, bool Mean>
struct reduce_node : node_base<reduce_node<A, Mean>, A> {
    ad::axis ax; ///< The axis reduced over (axis::all: every entry).

    /// Takes the operand and the axis.
    reduce_node(A a_, ad::axis ax_) : node_base<reduce_node, A>(std::move(a_)), ax(ax_) {}

    /// y for x of shape (r, c): axis::all gives (1, 1), axis::rows (down the rows) gives (1, c),
    /// axis::cols (along each row) gives (r, 1).
    template <class T>
    void eval(matrix<T>& y, const matrix<T>& x) {
        const std::size_t r = x.shape(0), c = x.shape(1);
        const T* px = x.data();
        if (ax == axis::all) {
            ensure_shape(y, 1, 1);
            T s = 0;
            for (std::size_t i = 0; i < r * c; ++i) s += px[i];
            y(0, 0) = Mean ? s / T(r * c) : s;
        } else if (ax == axis::rows) {
            ensure_shape(y, 1, c);
            y.fill(T(0));
            for (std::size_t i = 0; i < r; ++i)
                for (std::size_t j = 0; j < c; ++j) y(0, j) += px[i * c + j];
            if (Mean) y /= T(r);
        } else {
            ensure_shape(y, r, 1);
            for (std::size_t i = 0; i < r; ++i) {
                T s = 0;
                for (std::size_t j = 0; j < c; ++j) s += px[i * c + j];
                y(i, 0) = Mean ? s / T(c) : s;
            }
        }
    }
    /// dL/dx = g broadcast back to x's shape (divided by the count averaged over, for the mean).
    template <class T>
    void grad_a(matrix<T>& gx, const matrix<T>& g, const matrix<T>&, const matrix<T>& x) {
        const std::size_t r = x.shape(0), c = x.shape(1);
        const T n = ax == axis::all ? T(r * c) : (ax == axis::rows ? T(r) : T(c));
        const T scale = Mean ? T(1) / n : T(1);
        for (std::size_t i = 0; i < r; ++i)
            for (std::size_t j = 0; j < c; ++j)
                gx(i, j) = scale * (ax == axis::all ? g(0, 0) : (ax == axis::rows ? g(0, j) : g(i, 0)));
    }
};

template <expression A> auto sum(A a, axis ax = axis::all) { return reduce_node<A, false>(std::move(a), ax); }
template <expression A> auto mean(A a, axis ax = axis::all) { return reduce_node<A, true>(std::move(a), ax); }

} // namespace b2m::ad

// b2m/autodiff/reduce.hpp - sum and mean over all entries or one axis.
//
// axis = all: result (1, 1); axis = 0 (down the rows): (1, cols); axis = 1 (along each
// row): (rows, 1).
#pragma once

#include <utility>

#include "b2m/autodiff/node.hpp"

namespace b2m::ad {

enum class axis : int { all = -1, rows = 0, cols = 1 };

/// The sum (Mean false) or the mean (Mean true) of A's entries over ax.
template <expression A, bool Mean>
struct reduce_node : node_tag {
    /// @name Node interface (the concept in b2m/autodiff/node.hpp)
    ///@{

    /// Node interface: forward(ctx) returns y for x = a.forward(ctx) of shape (r, c): axis::all
    /// gives (1, 1), axis::rows (down the rows) gives (1, c), axis::cols (along each row) gives
    /// (r, 1). backward(g, ctx) requires g shaped like y and passes g broadcast back to (r, c)
    /// (divided by the count averaged over, for the mean) to a.backward; value() is y of the last
    /// forward; for_each_param visits A's parameters.
    using value_type = value_type_t<A>;
    using T = value_type;
    static constexpr bool has_grad = A::has_grad;
    A a;         ///< The operand.
    ad::axis ax; ///< The axis reduced over (axis::all: every entry).

    /// Takes the operand and the axis.
    reduce_node(A a_, ad::axis ax_) : a(std::move(a_)), ax(ax_) {}

    template <class Ctx>
    const matrix<T>& forward(const Ctx& ctx) {
        const matrix<T>& x = a.forward(ctx);
        const std::size_t r = x.shape(0), c = x.shape(1);
        const T* px = x.data();
        if (ax == axis::all) {
            ensure_shape(y_, 1, 1);
            T s = 0;
            for (std::size_t i = 0; i < r * c; ++i) s += px[i];
            y_(0, 0) = Mean ? s / T(r * c) : s;
        } else if (ax == axis::rows) {
            ensure_shape(y_, 1, c);
            y_.fill(T(0));
            for (std::size_t i = 0; i < r; ++i)
                for (std::size_t j = 0; j < c; ++j) y_(0, j) += px[i * c + j];
            if (Mean) y_ /= T(r);
        } else {
            ensure_shape(y_, r, 1);
            for (std::size_t i = 0; i < r; ++i) {
                T s = 0;
                for (std::size_t j = 0; j < c; ++j) s += px[i * c + j];
                y_(i, 0) = Mean ? s / T(c) : s;
            }
        }
        return y_;
    }
    template <class Ctx>
    void backward(const matrix<T>& g, const Ctx& ctx) {
        if constexpr (has_grad) {
            const matrix<T>& x = a.value();
            const std::size_t r = x.shape(0), c = x.shape(1);
            ensure_shape(ga_, r, c);
            const T n = ax == axis::all ? T(r * c) : (ax == axis::rows ? T(r) : T(c));
            const T scale = Mean ? T(1) / n : T(1);
            for (std::size_t i = 0; i < r; ++i)
                for (std::size_t j = 0; j < c; ++j)
                    ga_(i, j) = scale * (ax == axis::all ? g(0, 0) : (ax == axis::rows ? g(0, j) : g(i, 0)));
            a.backward(ga_, ctx);
        }
    }
    const matrix<T>& value() const { return y_; }
    template <class F>
    void for_each_param(F&& fun) { a.for_each_param(fun); }
    ///@}

private:
    matrix<T> y_, ga_;
};

template <expression A> auto sum(A a, axis ax = axis::all) { return reduce_node<A, false>(std::move(a), ax); }
template <expression A> auto mean(A a, axis ax = axis::all) { return reduce_node<A, true>(std::move(a), ax); }

} // namespace b2m::ad

// b2m/autodiff/shape_ops.hpp - reshape, transpose, concat, slice.
#pragma once

#include <string>
#include <utility>

#include "b2m/autodiff/node.hpp"
#include "b2m/autodiff/reduce.hpp"

namespace b2m::ad {

/// Which layout change a reshape_node makes.
enum class shape_kind { reshape, transpose };

/// reshape to (rows, cols) keeping row-major order (sizes must agree), or transpose.
template <expression A, shape_kind Kind>
struct reshape_node : node_tag {
    /// @name Node interface (the concept in b2m/autodiff/node.hpp)
    ///@{

    /// Node interface: forward(ctx) returns y: for transpose, (c, r) with y(j, i) = x(i, j), for
    /// x = a.forward(ctx) of shape (r, c); for reshape, (rows, cols) holding x's entries in
    /// row-major order (throws b2m::shape_error when rows * cols != x.size()). backward(g, ctx)
    /// requires g shaped like y and passes g mapped back to x's shape to a.backward; value() is y
    /// of the last forward; for_each_param visits A's parameters.
    using value_type = value_type_t<A>;
    using T = value_type;
    static constexpr bool has_grad = A::has_grad;
    A a; ///< The operand.
    /// The target row count of a reshape (unused by transpose);
    std::size_t rows = 0, cols = 0; ///< the target column count.

    /// Takes the operand and the target shape (r, c) (ignored by transpose).
    reshape_node(A a_, std::size_t r, std::size_t c) : a(std::move(a_)), rows(r), cols(c) {}

    template <class Ctx>
    const matrix<T>& forward(const Ctx& ctx) {
        const matrix<T>& x = a.forward(ctx);
        const std::size_t r = x.shape(0), c = x.shape(1);
        if constexpr (Kind == shape_kind::transpose) {
            ensure_shape(y_, c, r);
            for (std::size_t i = 0; i < r; ++i)
                for (std::size_t j = 0; j < c; ++j) y_(j, i) = x(i, j);
        } else {
            if (rows * cols != x.size())
                throw shape_error("b2m::ad::reshape: operand of shape " + shape_string(x.shape()) +
                                  " cannot be reshaped to (" + std::to_string(rows) + ", " + std::to_string(cols) + ")");
            ensure_shape(y_, rows, cols);
            std::copy(x.data(), x.data() + x.size(), y_.data());
        }
        return y_;
    }
    template <class Ctx>
    void backward(const matrix<T>& g, const Ctx& ctx) {
        if constexpr (has_grad) {
            const matrix<T>& x = a.value();
            const std::size_t r = x.shape(0), c = x.shape(1);
            ensure_shape(ga_, r, c);
            if constexpr (Kind == shape_kind::transpose) {
                for (std::size_t i = 0; i < r; ++i)
                    for (std::size_t j = 0; j < c; ++j) ga_(i, j) = g(j, i);
            } else {
                std::copy(g.data(), g.data() + g.size(), ga_.data());
            }
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

template <expression A> auto transpose(A a) { return reshape_node<A, shape_kind::transpose>(std::move(a), 0, 0); }
template <expression A> auto reshape(A a, std::size_t rows, std::size_t cols) {
    return reshape_node<A, shape_kind::reshape>(std::move(a), rows, cols);
}

/// [A, B] side by side (axis::cols: same row count) or stacked (axis::rows: same column count).
template <expression A, expression B>
struct concat_node : node_tag {
    /// @name Node interface (the concept in b2m/autodiff/node.hpp)
    ///@{

    /// Node interface: forward(ctx) returns y = [x, z] (axis::cols: x, z with the same row count r,
    /// y is (r, cx + cz)) or x above z (axis::rows: same column count c, y is (rx + rz, c)), for
    /// x = a.forward(ctx), z = b.forward(ctx); throws b2m::shape_error naming both shapes otherwise.
    /// backward(g, ctx) requires g shaped like y and passes the two blocks of g to a and b;
    /// value() is y of the last forward; for_each_param visits A's, then B's parameters.
    using value_type = value_type_t<A>;
    using T = value_type;
    static constexpr bool has_grad = A::has_grad || B::has_grad;
    A a;       ///< The first operand (left, or top).
    B b;       ///< The second operand (right, or bottom).
    ad::axis ax; ///< axis::cols (side by side) or axis::rows (stacked).

    /// Throws b2m::error when ax is axis::all.
    concat_node(A a_, B b_, ad::axis ax_) : a(std::move(a_)), b(std::move(b_)), ax(ax_) {
        if (ax == axis::all) throw error("b2m::ad::concat: axis must be axis::rows or axis::cols");
    }

    template <class Ctx>
    const matrix<T>& forward(const Ctx& ctx) {
        const matrix<T>& x = a.forward(ctx);
        const matrix<T>& z = b.forward(ctx);
        const int keep = ax == axis::cols ? 0 : 1;
        if (x.shape(keep) != z.shape(keep))
            throw_shape_mismatch("b2m::ad::concat", "first operand", x.shape(), "second operand", z.shape());
        if (ax == axis::cols) {
            const std::size_t r = x.shape(0), c1 = x.shape(1), c2 = z.shape(1);
            ensure_shape(y_, r, c1 + c2);
            for (std::size_t i = 0; i < r; ++i) {
                std::copy(x.data() + i * c1, x.data() + (i + 1) * c1, y_.data() + i * (c1 + c2));
                std::copy(z.data() + i * c2, z.data() + (i + 1) * c2, y_.data() + i * (c1 + c2) + c1);
            }
        } else {
            ensure_shape(y_, x.shape(0) + z.shape(0), x.shape(1));
            std::copy(x.data(), x.data() + x.size(), y_.data());
            std::copy(z.data(), z.data() + z.size(), y_.data() + x.size());
        }
        return y_;
    }
    template <class Ctx>
    void backward(const matrix<T>& g, const Ctx& ctx) {
        const matrix<T>& x = a.value();
        const matrix<T>& z = b.value();
        ensure_shape_like(ga_, x);
        ensure_shape_like(gb_, z);
        if (ax == axis::cols) {
            const std::size_t r = x.shape(0), c1 = x.shape(1), c2 = z.shape(1);
            for (std::size_t i = 0; i < r; ++i) {
                std::copy(g.data() + i * (c1 + c2), g.data() + i * (c1 + c2) + c1, ga_.data() + i * c1);
                std::copy(g.data() + i * (c1 + c2) + c1, g.data() + (i + 1) * (c1 + c2), gb_.data() + i * c2);
            }
        } else {
            std::copy(g.data(), g.data() + x.size(), ga_.data());
            std::copy(g.data() + x.size(), g.data() + g.size(), gb_.data());
        }
        if constexpr (A::has_grad) a.backward(ga_, ctx);
        if constexpr (B::has_grad) b.backward(gb_, ctx);
    }
    const matrix<T>& value() const { return y_; }
    template <class F>
    void for_each_param(F&& fun) {
        a.for_each_param(fun);
        b.for_each_param(fun);
    }
    ///@}

private:
    matrix<T> y_, ga_, gb_;
};

template <expression A, expression B>
auto concat(A a, B b, axis ax = axis::cols) { return concat_node<A, B>(std::move(a), std::move(b), ax); }

/// Rows [begin, end) (axis::rows) or columns [begin, end) (axis::cols) of A.
template <expression A>
struct slice_node : node_tag {
    /// @name Node interface (the concept in b2m/autodiff/node.hpp)
    ///@{

    /// Node interface: forward(ctx) returns y = rows [begin, end) of x = a.forward(ctx), shape
    /// (end - begin, c), or columns [begin, end), shape (r, end - begin); throws b2m::shape_error
    /// when end exceeds that extent of x. backward(g, ctx) requires g shaped like y and passes
    /// a gradient shaped like x, g inside the range and 0 outside, to a.backward; value() is y
    /// of the last forward; for_each_param visits A's parameters.
    using value_type = value_type_t<A>;
    using T = value_type;
    static constexpr bool has_grad = A::has_grad;
    A a;         ///< The operand.
    ad::axis ax; ///< axis::rows or axis::cols.
    /// The first index of the range along ax;
    std::size_t begin, end; ///< one past the last index (begin <= end).

    /// Throws b2m::error when ax is axis::all or b > e.
    slice_node(A a_, ad::axis ax_, std::size_t b, std::size_t e) : a(std::move(a_)), ax(ax_), begin(b), end(e) {
        if (ax == axis::all || b > e) throw error("b2m::ad::slice: need axis rows or cols and begin <= end");
    }

    template <class Ctx>
    const matrix<T>& forward(const Ctx& ctx) {
        const matrix<T>& x = a.forward(ctx);
        const std::size_t r = x.shape(0), c = x.shape(1);
        const std::size_t extent = ax == axis::rows ? r : c;
        if (end > extent)
            throw shape_error("b2m::ad::slice: range [" + std::to_string(begin) + ", " + std::to_string(end) +
                              ") is outside operand of shape " + shape_string(x.shape()));
        if (ax == axis::rows) {
            ensure_shape(y_, end - begin, c);
            std::copy(x.data() + begin * c, x.data() + end * c, y_.data());
        } else {
            const std::size_t w = end - begin;
            ensure_shape(y_, r, w);
            for (std::size_t i = 0; i < r; ++i)
                std::copy(x.data() + i * c + begin, x.data() + i * c + end, y_.data() + i * w);
        }
        return y_;
    }
    template <class Ctx>
    void backward(const matrix<T>& g, const Ctx& ctx) {
        if constexpr (has_grad) {
            const matrix<T>& x = a.value();
            const std::size_t r = x.shape(0), c = x.shape(1);
            ensure_shape(ga_, r, c);
            ga_.fill(T(0));
            if (ax == axis::rows) {
                std::copy(g.data(), g.data() + g.size(), ga_.data() + begin * c);
            } else {
                const std::size_t w = end - begin;
                for (std::size_t i = 0; i < r; ++i)
                    std::copy(g.data() + i * w, g.data() + (i + 1) * w, ga_.data() + i * c + begin);
            }
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

template <expression A>
auto slice(A a, axis ax, std::size_t begin, std::size_t end) { return slice_node<A>(std::move(a), ax, begin, end); }

} // namespace b2m::ad

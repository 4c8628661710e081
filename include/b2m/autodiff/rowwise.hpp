// b2m/autodiff/rowwise.hpp - functions of each row: softmax, log_softmax, logsumexp,
// L2 normalisation. Each row is one item of the batch; all are numerically stable
// (the row maximum is subtracted before exponentiating).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "b2m/autodiff/node.hpp"
#include "b2m/core/row_normalize.hpp"

namespace b2m::ad {

namespace detail {
/// log(sum_j exp(x_j)) of one row, stable; -inf for a row of -inf.
template <class T>
T row_logsumexp(const T* x, std::size_t n) {
    T m = -std::numeric_limits<T>::infinity();
    for (std::size_t j = 0; j < n; ++j) m = std::max(m, x[j]);
    if (!std::isfinite(m)) return m;
    T s = 0;
    for (std::size_t j = 0; j < n; ++j) s += std::exp(x[j] - m);
    return m + std::log(s);
}
} // namespace detail

/// Which row function a rowwise_node computes (see softmax, log_softmax, logsumexp, l2_normalize below).
enum class rowwise_kind { softmax, log_softmax, logsumexp, l2_normalize };

/// The row function Kind applied to each row of A independently.
template <expression A, rowwise_kind Kind>
struct rowwise_node : node_tag {
    /// @name Node interface (the concept in b2m/autodiff/node.hpp)
    ///@{

    /// Node interface: forward(ctx) returns y for x = a.forward(ctx) of shape (r, c): (r, 1) for
    /// logsumexp, (r, c) for the other kinds, each row computed from the same row of x.
    /// backward(g, ctx) requires g shaped like y and passes the row-wise vector-Jacobian product
    /// (shape (r, c)) to a.backward (l2_normalize: zero for a row of norm <= eps); value() is y of
    /// the last forward; for_each_param visits A's parameters.
    using value_type = value_type_t<A>;
    using T = value_type;
    static constexpr bool has_grad = A::has_grad;
    A a;         ///< The operand.
    double eps;  ///< l2_normalize: a row of norm <= eps has no direction (see core/row_normalize.hpp)

    /// Takes the operand; eps is used by l2_normalize only.
    explicit rowwise_node(A a_, double eps_ = row_norm_eps) : a(std::move(a_)), eps(eps_) {}

    template <class Ctx>
    const matrix<T>& forward(const Ctx& ctx) {
        const matrix<T>& x = a.forward(ctx);
        const std::size_t r = x.shape(0), c = x.shape(1);
        if constexpr (Kind == rowwise_kind::logsumexp) ensure_shape(y_, r, 1);
        else ensure_shape(y_, r, c);
        ensure_shape(aux_, r, 1);
        const T* px = x.data();
        T* py = y_.data();
        if constexpr (Kind == rowwise_kind::l2_normalize) {
            b2m::detail::normalize_rows<T>(px, r, c, c, false, T(eps), py, aux_.data());
            return y_;
        }
        parallel_for(r, std::max<std::size_t>(1, 4096 / std::max<std::size_t>(1, c)), [&](std::size_t r0, std::size_t r1) {
            for (std::size_t i = r0; i < r1; ++i) {
                const T* xi = px + i * c;
                const T lse = detail::row_logsumexp(xi, c);
                aux_(i, 0) = lse;
                if constexpr (Kind == rowwise_kind::logsumexp) py[i] = lse;
                else if constexpr (Kind == rowwise_kind::softmax)
                    for (std::size_t j = 0; j < c; ++j) py[i * c + j] = std::exp(xi[j] - lse);
                else
                    for (std::size_t j = 0; j < c; ++j) py[i * c + j] = xi[j] - lse;
            }
        });
        return y_;
    }

    template <class Ctx>
    void backward(const matrix<T>& g, const Ctx& ctx) {
        if constexpr (has_grad) {
            const matrix<T>& x = a.value();
            const std::size_t r = x.shape(0), c = x.shape(1);
            ensure_shape(ga_, r, c);
            const T *px = x.data(), *py = y_.data(), *pg = g.data();
            T* po = ga_.data();
            if constexpr (Kind == rowwise_kind::l2_normalize) {
                std::fill(po, po + r * c, T(0));
                b2m::detail::normalize_rows_backward<T>(py, aux_.data(), pg, r, c, false, T(eps), T(1), po, c);
                a.backward(ga_, ctx);
                return;
            }
            parallel_for(r, std::max<std::size_t>(1, 4096 / std::max<std::size_t>(1, c)), [&](std::size_t r0, std::size_t r1) {
                for (std::size_t i = r0; i < r1; ++i) {
                    const T *xi = px + i * c, *yi = py + i * c, *gi = pg + i * c;
                    T* oi = po + i * c;
                    if constexpr (Kind == rowwise_kind::softmax) {
                        T dot = 0;
                        for (std::size_t j = 0; j < c; ++j) dot += gi[j] * yi[j];
                        for (std::size_t j = 0; j < c; ++j) oi[j] = yi[j] * (gi[j] - dot);
                    } else if constexpr (Kind == rowwise_kind::log_softmax) {
                        T gs = 0;
                        for (std::size_t j = 0; j < c; ++j) gs += gi[j];
                        for (std::size_t j = 0; j < c; ++j) oi[j] = gi[j] - std::exp(yi[j]) * gs;
                    } else {
                        const T lse = aux_(i, 0), gv = pg[i];
                        for (std::size_t j = 0; j < c; ++j) oi[j] = gv * std::exp(xi[j] - lse);
                    }
                }
            });
            a.backward(ga_, ctx);
        }
    }
    const matrix<T>& value() const { return y_; }
    template <class F>
    void for_each_param(F&& fun) { a.for_each_param(fun); }
    ///@}

private:
    matrix<T> y_, aux_, ga_;
};

/// Softmax of each row.
template <expression A> auto softmax(A a) { return rowwise_node<A, rowwise_kind::softmax>(std::move(a)); }
/// log(softmax) of each row, computed as x - logsumexp(x) (no log of 0).
template <expression A> auto log_softmax(A a) { return rowwise_node<A, rowwise_kind::log_softmax>(std::move(a)); }
/// log(sum(exp(row))) of each row: shape (rows, 1).
template <expression A> auto logsumexp(A a) { return rowwise_node<A, rowwise_kind::logsumexp>(std::move(a)); }
/// Each row divided by its L2 norm (PyTorch's F.normalize). A row of norm <= eps becomes the
/// zero row and passes no gradient (PyTorch divides it by eps; that 1/eps = 1e12 gradient is
/// what a dead ReLU tap produced). One implementation with the brain objectives': core/row_normalize.hpp.
template <expression A> auto l2_normalize(A a, double eps = row_norm_eps) { return rowwise_node<A, rowwise_kind::l2_normalize>(std::move(a), eps); }

} // namespace b2m::ad

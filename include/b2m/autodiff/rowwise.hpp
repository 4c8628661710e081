// b2m/autodiff/rowwise.hpp - functions of each row: softmax, log_softmax, logsumexp,
// L2 normalisation. Each row is one item of the batch; all are numerically stable
// (the row maximum is subtracted before exponentiating).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "b2m/autodiff/node_base.hpp"
#include "b2m/core/parallel.hpp"
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
struct rowwise_node : node_base<rowwise_node<A, Kind>, A> {
    double eps;  ///< l2_normalize: a row of norm <= eps has no direction (see core/row_normalize.hpp)

    /// Takes the operand; eps is used by l2_normalize only.
    explicit rowwise_node(A a_, double eps_ = row_norm_eps) : node_base<rowwise_node, A>(std::move(a_)), eps(eps_) {}

    /// y for x of shape (r, c): (r, 1) for logsumexp, (r, c) for the other kinds, each row
    /// computed from the same row of x.
    template <class T>
    void eval(matrix<T>& y, const matrix<T>& x) {
        const std::size_t r = x.shape(0), c = x.shape(1);
        if constexpr (Kind == rowwise_kind::logsumexp) ensure_shape(y, r, 1);
        else ensure_shape(y, r, c);
        ensure_shape(aux_, r, 1);
        const T* px = x.data();
        T* py = y.data();
        if constexpr (Kind == rowwise_kind::l2_normalize) {
            b2m::detail::normalize_rows<T>(px, r, c, c, false, T(eps), py, aux_.data());
            return;
        }
        parallel_for(r, items_per_thread(c, transcendental_grain), [&](std::size_t r0, std::size_t r1) {
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
    }
    /// dL/dx: the row-wise vector-Jacobian product of g (l2_normalize: zero for a row of norm <= eps).
    template <class T>
    void grad_a(matrix<T>& gx, const matrix<T>& g, const matrix<T>& y, const matrix<T>& x) {
        const std::size_t r = x.shape(0), c = x.shape(1);
        const T *px = x.data(), *py = y.data(), *pg = g.data();
        T* po = gx.data();
        if constexpr (Kind == rowwise_kind::l2_normalize) {
            std::fill(po, po + r * c, T(0));
            b2m::detail::normalize_rows_backward<T>(py, aux_.data(), pg, r, c, false, T(eps), T(1), po, c);
            return;
        }
        parallel_for(r, items_per_thread(c, transcendental_grain), [&](std::size_t r0, std::size_t r1) {
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
    }

private:
    matrix<value_type_t<A>> aux_;  // per row: the log-sum-exp, or (l2_normalize) the norm
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

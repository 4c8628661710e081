// b2m/brain/linalg.hpp - xt::linalg (eigh, svd, solve, inv) next to b2m's own cblas calls,
// and checked wrappers that turn LAPACK's bare failures into errors naming the matrix.
//
// xtensor-blas bundles a copy of the cblas declarations that clashes with OpenBLAS's
// <cblas.h> (which b2m/core/gemm.hpp includes). Both describe the same C ABI, so we include
// <cblas.h> first and tell xtensor-blas its copy is already present. Include this header
// instead of <xtensor-blas/xlinalg.hpp> in b2m code.
#pragma once

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"

#ifndef CXXBLAS_DRIVERS_CBLAS_H
#define CXXBLAS_DRIVERS_CBLAS_H 1
#endif
#include <xtensor-blas/xlinalg.hpp>

namespace b2m::brain {

namespace detail {

inline std::string square_shape(const xt::xtensor<double, 2>& m) {
    return "(" + std::to_string(m.shape(0)) + " x " + std::to_string(m.shape(1)) + ")";
}

inline std::string largest_magnitude(const xt::xtensor<double, 2>& m) {
    double top = 0;
    for (double v : m) top = std::max(top, std::abs(v));
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", top);
    return text;
}

/// Requires: `what` names the matrix for the user (e.g. "banded ridge: the scaled Gram matrix").
/// Ensures: throws data_error naming `what`, its shape and the remedy when m is not square or
/// holds a NaN or an infinity (LAPACK would fail with a bare message or return garbage).
inline void require_finite_square(const xt::xtensor<double, 2>& m, std::string_view what, std::string_view operation) {
    if (m.shape(0) != m.shape(1))
        throw shape_error(std::string(what) + " must be square for " + std::string(operation) + ", got " + square_shape(m));
    for (double v : m)
        if (!std::isfinite(v))
            throw nonfinite_error(std::string(what) + " " + square_shape(m) + " holds a NaN or an infinity before " +
                                  std::string(operation) +
                                  ": the inputs overflow or contain non-finite values; check them and rescale (e.g. z-score)");
}

inline data_error lapack_failure(std::string_view what, const xt::xtensor<double, 2>& m, std::string_view routine,
                                 const std::exception& e) {
    return data_error(std::string(what) + " " + square_shape(m) + ": LAPACK's " + std::string(routine) + " failed (" +
                      e.what() + "); largest |entry| " + largest_magnitude(m) +
                      ": the inputs are badly scaled or nearly collinear; rescale them (e.g. z-score), remove "
                      "duplicate columns or raise the regularisation");
}

}  // namespace detail

/// Eigendecomposition of a symmetric matrix (LAPACK dsyevd).
/// Requires: m square and finite; `what` names it for error messages.
/// Ensures: returns (ascending eigenvalues, eigenvectors as xt::linalg::eigh returns them); any
/// failure is a b2m error naming `what`, its shape, the cause and what to do.
inline std::pair<xt::xtensor<double, 1>, xt::xtensor<double, 2>> checked_eigh(const xt::xtensor<double, 2>& m,
                                                                             std::string_view what) {
    detail::require_finite_square(m, what, "the eigendecomposition");
    try {
        auto [w, v] = xt::linalg::eigh(m);
        return {std::move(w), std::move(v)};
    } catch (const std::runtime_error& e) {
        throw detail::lapack_failure(what, m, "eigendecomposition (dsyevd)", e);
    }
}

/// Solution X of a X = b (LAPACK dgesv). Requires: a square and finite, b with a's row count.
/// Ensures: a singular or failing system is a b2m error naming `what`, its shape and the remedy.
inline xt::xtensor<double, 2> checked_solve(const xt::xtensor<double, 2>& a, const xt::xtensor<double, 2>& b,
                                            std::string_view what) {
    detail::require_finite_square(a, what, "solving");
    if (b.shape(0) != a.shape(0))
        throw shape_error(std::string(what) + " " + detail::square_shape(a) + " cannot solve a right-hand side of " +
                          std::to_string(b.shape(0)) + " rows");
    try {
        return xt::linalg::solve(a, b);
    } catch (const std::runtime_error& e) {
        throw detail::lapack_failure(what, a, "linear solve (dgesv)", e);
    }
}

/// Inverse of a square matrix (LAPACK dgetrf + dgetri), with the same guarantees as checked_solve.
inline xt::xtensor<double, 2> checked_inverse(const xt::xtensor<double, 2>& a, std::string_view what) {
    detail::require_finite_square(a, what, "inversion");
    try {
        return xt::linalg::inv(a);
    } catch (const std::runtime_error& e) {
        throw detail::lapack_failure(what, a, "inversion (dgetrf/dgetri)", e);
    }
}

}  // namespace b2m::brain

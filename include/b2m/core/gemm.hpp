// b2m/core/gemm.hpp - matrix products into preallocated outputs, through OpenBLAS.
//
// C = alpha * op(A) * op(B) + beta * C, op = identity or transpose, read in place (never a
// transposed copy). We call the cblas routine that xt::blas::gemm wraps directly, because
// the layers also multiply sub-blocks with a leading dimension (time slices of a sequence)
// for which xt::blas::gemm would evaluate a temporary.
#pragma once

// xtensor-blas carries its own copy of the cblas declarations (same C ABI) that clashes
// with OpenBLAS's <cblas.h>. When it was included first we use its declarations;
// otherwise we include <cblas.h> and mark xtensor-blas's copy as present, so the two can
// be included in either order.
#ifdef CXXBLAS_DRIVERS_CBLAS_H
namespace b2m::detail { using blas_int = CBLAS_INT; }
#else
#include <cblas.h>
#define CXXBLAS_DRIVERS_CBLAS_H 1
namespace b2m::detail { using blas_int = blasint; }
#endif

#include <algorithm>
#include <cstddef>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m {

/// Raw row-major GEMM on pointers: C(m x n) = alpha * op(A)(m x k) * op(B)(k x n) + beta * C.
/// Requires: lda/ldb/ldc are the row strides of A, B, C as stored; no overlap of C with A or B.
/// beta = 0: C is not read (NaN in C does not propagate), as BLAS specifies.
template <real T>
void gemm_raw(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
              const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
              std::size_t ldc) {
    if (m == 0 || n == 0) return;
    if (beta == T(0)) {
        // Zero C here and accumulate: OpenBLAS's own beta = 0 pass (sgemm_beta) is slower
        // than a vectorised fill (B2M-MLP's 256 x 256 x 10 product took twice as long).
        for (std::size_t i = 0; i < m; ++i) std::fill_n(c + i * ldc, n, T(0));
        beta = T(1);
    }
    const auto ta = trans_a ? CblasTrans : CblasNoTrans;
    const auto tb = trans_b ? CblasTrans : CblasNoTrans;
    const auto M = static_cast<detail::blas_int>(m), N = static_cast<detail::blas_int>(n), K = static_cast<detail::blas_int>(k);
    if constexpr (std::is_same_v<T, float>)
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, a, static_cast<detail::blas_int>(lda), b,
                    static_cast<detail::blas_int>(ldb), beta, c, static_cast<detail::blas_int>(ldc));
    else
        cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, a, static_cast<detail::blas_int>(lda), b,
                    static_cast<detail::blas_int>(ldb), beta, c, static_cast<detail::blas_int>(ldc));
}

/// Symmetric rank-k product C (n x n) = alpha * op(A) op(A)^T + beta * C, both triangles
/// filled (BLAS syrk computes one, half the flops of gemm; the other is mirrored).
/// trans = false: A is n x k, C = A A^T; trans = true: A is k x n, C = A^T A. Requires lda
/// and ldc the row strides, no overlap of C with A.
template <real T>
void syrk_raw(bool trans, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda, T beta, T* c,
              std::size_t ldc) {
    if (n == 0) return;
    const auto N = static_cast<detail::blas_int>(n), K = static_cast<detail::blas_int>(k);
    const auto ta = trans ? CblasTrans : CblasNoTrans;
    if constexpr (std::is_same_v<T, float>)
        cblas_ssyrk(CblasRowMajor, CblasUpper, ta, N, K, alpha, a, static_cast<detail::blas_int>(lda), beta, c,
                    static_cast<detail::blas_int>(ldc));
    else
        cblas_dsyrk(CblasRowMajor, CblasUpper, ta, N, K, alpha, a, static_cast<detail::blas_int>(lda), beta, c,
                    static_cast<detail::blas_int>(ldc));
    for (std::size_t i = 1; i < n; ++i)
        for (std::size_t j = 0; j < i; ++j) c[i * ldc + j] = c[j * ldc + i];
}

/// C = alpha * op(A) * op(B) + beta * C on whole matrices.
/// Requires: inner dimensions agree (else shape_error naming A and B); when beta != 0, C
/// already has the result's shape (else shape_error naming C). When beta == 0, C is
/// resized to the result's shape (no reallocation if its size is unchanged).
template <real T>
void gemm(const matrix<T>& a, const matrix<T>& b, matrix<T>& c, bool trans_a = false,
          bool trans_b = false, T alpha = T(1), T beta = T(0), const char* a_name = "A",
          const char* b_name = "B") {
    const std::size_t m = trans_a ? a.shape(1) : a.shape(0);
    const std::size_t k = trans_a ? a.shape(0) : a.shape(1);
    const std::size_t kb = trans_b ? b.shape(1) : b.shape(0);
    const std::size_t n = trans_b ? b.shape(0) : b.shape(1);
    if (k != kb)
        throw_shape_mismatch(std::string("matrix product ") + (trans_a ? "op(A)=A^T " : "") +
                                 (trans_b ? "op(B)=B^T " : "") + "inner dimensions differ",
                             a_name, a.shape(), b_name, b.shape());
    if (beta == T(0))
        ensure_shape(c, m, n);
    else if (c.shape(0) != m || c.shape(1) != n)
        throw shape_error(std::string("matrix product: accumulating output has shape ") +
                          shape_string(c.shape()) + " but the product has shape (" +
                          std::to_string(m) + ", " + std::to_string(n) + ")");
    if (k == 0) {
        if (beta == T(0)) c.fill(T(0));
        else c *= beta;
        return;
    }
    gemm_raw<T>(trans_a, trans_b, m, n, k, alpha, a.data(), a.shape(1), b.data(), b.shape(1), beta,
                c.data(), n);
}

} // namespace b2m

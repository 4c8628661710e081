// b2m/core/affine.hpp - the affine map y = x W + b, forward and backward, written once for
// every layer or head that owns a weight matrix and a bias (nn::dense, loss::linear_head,
// nn::time_distributed through dense).
//
// Shapes and strides (row-major, no checks: the callers check their own inputs):
//   x  (n x in,  row stride ldx)      W (in x out, row stride out)     b (out entries, or null)
//   y  (n x out, row stride ldy)      gy (n x out, row stride ldgy)
// Costs around the three GEMMs are kept to one pass each over the n x out block, at the
// CPU's vector width (simd_dispatch) and split between threads (parallel_for) when large:
//   forward:  y is initialised with the bias rows and the GEMM accumulates onto it (beta = 1:
//             no separate zeroing pass inside BLAS); with an epilogue f, a = f(y) is written
//             in the same pass that follows the GEMM (bias + activation fused).
//   backward: gb += alpha colsum(gy) in one vectorised pass; with an activation below the
//             gradient, gz = gy * f'(z, a) and colsum(gz) are computed in the same pass
//             (scale_and_column_sums).
// Contract of the results: equal to the naive sums up to float rounding (GEMM order of
// OpenBLAS; the bias column sum adds rows in order).
#pragma once

#include <algorithm>
#include <cstddef>

#include "b2m/core/gemm.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/core/small_gemm.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m {

namespace detail {
/// y(n x out, ldy) rows = b, or zero when b is null.
template <real T>
void broadcast_rows(const T* b, std::size_t n, std::size_t out, T* y, std::size_t ldy) {
    for (std::size_t i = 0; i < n; ++i) {
        T* yi = y + i * ldy;
        if (b) std::copy_n(b, out, yi);
        else std::fill_n(yi, out, T(0));
    }
}
} // namespace detail

/// y = x W + b (b null: y = x W). y must not overlap x or W.
template <real T>
void affine_forward(const T* x, std::size_t n, std::size_t in, std::size_t ldx, const T* w, std::size_t out,
                    const T* b, T* y, std::size_t ldy) {
    if (n == 0) return;
    detail::broadcast_rows(b, n, out, y, ldy);
    gemm_raw<T>(false, false, n, out, in, T(1), x, ldx, w, out, T(1), y, ldy);
}

/// z = x W + b as affine_forward, then a = f(z) element-wise (a (n x out, row stride lda),
/// may equal z for an in-place epilogue). f(v) is a pure function of one value; it is
/// inlined into the pass, which is vectorised when f is branch-free (ReLU, leaky ReLU).
template <real T, class F>
void affine_forward(const T* x, std::size_t n, std::size_t in, std::size_t ldx, const T* w, std::size_t out,
                    const T* b, T* z, std::size_t ldz, T* a, std::size_t lda, const F& f) {
    if (n == 0) return;
    affine_forward<T>(x, n, in, ldx, w, out, b, z, ldz);
    parallel_for(n, items_per_thread(out), [&](std::size_t i0, std::size_t i1) {
        simd_dispatch([&](auto) B2M_SIMD_INLINE {
            for (std::size_t i = i0; i < i1; ++i) {
                const T* zi = z + i * ldz;
                T* ai = a + i * lda;
#pragma omp simd
                for (std::size_t j = 0; j < out; ++j) ai[j] = f(zi[j]);
            }
        });
    });
}

/// gb(out) += alpha * column sums of gy (n x out, row stride ldgy).
template <real T>
void add_column_sums(const T* gy, std::size_t n, std::size_t out, std::size_t ldgy, T alpha, T* gb) {
    // Threads take column blocks (each sums its columns over all rows: no reduction).
    parallel_for(out, items_per_thread(n), [&](std::size_t j0, std::size_t j1) {
        simd_dispatch([&](auto) B2M_SIMD_INLINE {
            for (std::size_t i = 0; i < n; ++i) {
                const T* gi = gy + i * ldgy;
#pragma omp simd
                for (std::size_t j = j0; j < j1; ++j) gb[j] += alpha * gi[j];
            }
        });
    });
}

/// gz = gy * d(z, a) element-wise over n x out (gy, z, a, gz with row strides ldgy, ldz,
/// lda, ldgz; gz may equal gy), and, when gb is not null, gb += alpha colsum(gz) in the same
/// pass. d(z_ij, a_ij) is inlined: the derivative f'(z) of an activation a = f(z), given
/// its input and output. (The product is taken here, not inside d: GCC vectorises the
/// ReLU select only in this form.)
template <real T, class D>
void scale_and_column_sums(const T* gy, std::size_t ldgy, const T* z, std::size_t ldz, const T* a, std::size_t lda,
                           std::size_t n, std::size_t out, const D& d, T* gz, std::size_t ldgz, T alpha, T* gb) {
    // One loop body for both cases (compiled once per ISA: the fused dense + activation
    // backward is instantiated in every program that has such a pair): columns [c, c + w)
    // over all rows, their sums added into s[0, w).
    const auto pass = [&](std::size_t c, std::size_t w, T* s) {
        simd_dispatch([&, c, w, s](auto) B2M_SIMD_INLINE {
            const T al = alpha;
            for (std::size_t i = 0; i < n; ++i) {
                const T *gi = gy + i * ldgy + c, *zi = z + i * ldz + c, *ai = a + i * lda + c;
                T* oi = gz + i * ldgz + c;
#pragma omp simd
                for (std::size_t j = 0; j < w; ++j) {
                    const T dj = d(zi[j], ai[j]);
                    const T v = gi[j] * dj;
                    oi[j] = v;
                    s[j] += al * v;
                }
            }
        });
    };
    // Threads take column blocks, as add_column_sums. Without gb the sums go to a small
    // per-thread scratch and are dropped (a bias-free or frozen layer: no gradient to keep).
    parallel_for(out, items_per_thread(n), [&](std::size_t j0, std::size_t j1) {
        if (gb) return pass(j0, j1 - j0, gb + j0);
        constexpr std::size_t chunk = 256;
        T scratch[chunk] = {};
        for (std::size_t c = j0; c < j1; c += chunk) pass(c, std::min(chunk, j1 - c), scratch);
    });
}

/// Backward of y = x W + b given gy = dL/dy:
///   gw += alpha x^T gy      (skipped when gw is null: a frozen map)
///   gb += alpha colsum(gy)  (skipped when gb is null: no bias, frozen, or already summed
///                            by scale_and_column_sums)
///   gx  = alpha gy W^T      (accumulate_gx: gx += ...; skipped when gx is null)
template <real T>
void affine_backward(const T* x, std::size_t n, std::size_t in, std::size_t ldx, const T* gy, std::size_t ldgy,
                     const T* w, std::size_t out, T alpha, T* gw, T* gb, T* gx, std::size_t ldgx,
                     bool accumulate_gx) {
    if (n == 0) return;
    if (gw) gemm_raw<T>(true, false, in, out, n, alpha, x, ldx, gy, ldgy, T(1), gw, out);
    if (gb) add_column_sums<T>(gy, n, out, ldgy, alpha, gb);
    if (gx) gemm_raw<T>(false, true, n, in, out, alpha, gy, ldgy, w, out, accumulate_gx ? T(1) : T(0), gx, ldgx);
}

} // namespace b2m

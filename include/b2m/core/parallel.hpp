// b2m/core/parallel.hpp - OpenMP helpers that share the cores with OpenBLAS.
//
// Contract: b2m never calls BLAS from inside an OpenMP region, so OpenBLAS's threads and
// OpenMP's threads take turns instead of oversubscribing the cores. set_num_threads sets
// both pools to the same count.
#pragma once

#include <algorithm>
#include <cstddef>

#include "b2m/config.hpp"

#if B2M_HAS_OPENMP
#include <omp.h>
#endif

extern "C" {
// Provided by OpenBLAS; weak so that b2m links against any other BLAS too.
void openblas_set_num_threads(int) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));
}

namespace b2m {

/// Number of threads parallel_for uses (1 without OpenMP).
inline int num_threads() {
#if B2M_HAS_OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/// Sets the OpenMP thread count and, when linked to OpenBLAS, OpenBLAS's thread count.
/// Also turns off OpenMP's dynamic team sizes (OMP_DYNAMIC=true): the OpenMP build of
/// OpenBLAS splits a GEMM for all its threads and waits for each of them, so a team cut
/// short by the runtime never finishes (B2M-GRU at 2 threads ran > 10 min without ending).
/// Requires n >= 1.
inline void set_num_threads(int n) {
    n = std::max(1, n);
#if B2M_HAS_OPENMP
    omp_set_dynamic(0);
    omp_set_num_threads(n);
#endif
    if (openblas_set_num_threads) openblas_set_num_threads(n);
}

/// Work (elementary operations) a thread must get for a parallel region to pay for
/// itself: waking and joining threads costs microseconds, far more on a loaded machine.
inline constexpr std::size_t parallel_grain = std::size_t(1) << 15;

/// The min_per_thread argument of parallel_for for items that each cost about
/// `cost_per_item` units of `grain`: below `grain` units per thread, run serially.
constexpr std::size_t items_per_thread(std::size_t cost_per_item, std::size_t grain = parallel_grain) {
    return std::max<std::size_t>(1, grain / std::max<std::size_t>(1, cost_per_item));
}

// Grains: the min_per_thread arguments of parallel_for, one per kind of loop, so each value
// is written once. They were tuned loop by loop, not derived from parallel_grain; they keep
// their values so every loop is chunked as before.

/// Element-wise passes (1 << 14 elements a thread): random fills, the SGD update, dropout,
/// sampling, autodiff element-wise operations; per element of a row-major matrix when the
/// loop runs over rows (items_per_thread(cols, elementwise_grain)). Adam's fused update,
/// activations and gradient accumulation use parallel_grain (1 << 15) elements instead:
/// an older choice, kept so that their chunking is unchanged.
inline constexpr std::size_t elementwise_grain = std::size_t(1) << 14;
/// Row loops whose elements are transcendental (exp, log: softmax, logsumexp): elements a
/// thread, for items_per_thread(cols, transcendental_grain).
inline constexpr std::size_t transcendental_grain = 4096;
/// Loops over rows or columns where each item is a pass over one row or column of unknown
/// length (column statistics, row normalization, adding an intercept, per-row weights).
inline constexpr std::size_t row_grain = 64;
/// Loops over rows where each item is one short memcpy (gathering a block of a matrix).
inline constexpr std::size_t copy_row_grain = 256;
/// Loops over the columns of a target block that each walk all n rows with per-thread
/// scratch (the ridge solvers' correlations and cross-validation errors).
inline constexpr std::size_t column_block_grain = 32;
/// Loops over the rows of an r x b spectral block (rank r), each b multiplies and a divide:
/// the ridge solvers' per-alpha shrinkage.
inline constexpr std::size_t spectral_row_grain = 16;

/// Calls body(begin, end) over a static partition of [0, n). Runs serially when n is
/// below 2 * min_per_thread (the work would not pay for the threads) or inside a
/// parallel region. Each index is visited exactly once; body must not call BLAS.
template <class Body>
void parallel_for(std::size_t n, std::size_t min_per_thread, Body&& body) {
#if B2M_HAS_OPENMP
    const std::size_t by_work = n / std::max<std::size_t>(1, min_per_thread);
    const int threads = static_cast<int>(std::min<std::size_t>(by_work, num_threads()));
    if (threads > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(threads)
        {
            const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
            const std::size_t nt = static_cast<std::size_t>(omp_get_num_threads());
            const std::size_t begin = n * t / nt, end = n * (t + 1) / nt;
            if (begin < end) body(begin, end);
        }
        return;
    }
#else
    (void)min_per_thread;
#endif
    if (n > 0) body(std::size_t(0), n);
}

} // namespace b2m

// b2m/core/small_gemm.hpp - register-blocked products C (m x n) (+)= A (m x k) * B (k x n)
// with B packed once and reused many times (recurrent layers: the 50 per-step products
// h(t-1) W_hh of a sequence share one W_hh), and the runtime choice of vector width.
//
// Why: OpenBLAS re-packs both operands on every call; for the 64 x 128 x 384 products of
// a recurrent step that packing and call overhead cost as much as the arithmetic. Here B
// is packed once (pack_b) into column panels of 2 vectors, and each call is a
// broadcast-FMA micro-kernel over MR rows x 2 vectors, A read in place (any row stride).
//
// ISA: b2m is compiled for the baseline x86-64 (SSE2) unless the user passes -march. The
// kernels are written once with GCC vector extensions and instantiated inside functions
// with target("avx512f...") / target("avx2,fma") / baseline attributes; simd_dispatch(f)
// calls f(vector_bytes) through the best one the CPU supports (cpuid, once), with
// everything f calls inlined into it (flatten), so element-wise loops f contains are
// vectorised at that width too. B2M_SIMD=sse2|avx2|avx512 in the environment, or
// set_simd_isa(), caps the choice (tests run every path).
//
// Contract of the product: packed panels from pack_b with the same vector bytes as the
// kernel call (packed_b::vector_bytes); A rows of length k at stride lda; C rows at stride
// ldc; no overlap of C with A or the packed copy. Results equal the naive sum up to float
// rounding (accumulation in k order, one FMA or multiply-add per term).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m {

// GCC and clang on x86: kernels are compiled for AVX-512, AVX2 and the baseline and chosen
// at run time; elsewhere only the baseline instantiation exists.
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define B2M_SIMD_MULTIVERSION 1
#if defined(__clang__)
#define B2M_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"), flatten))
#else
#define B2M_TARGET_AVX512 \
    __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,prefer-vector-width=512"), flatten))
#endif
#define B2M_TARGET_AVX2 __attribute__((target("avx2,fma"), flatten))
#define B2M_TARGET_BASE __attribute__((flatten))
#else
#define B2M_SIMD_MULTIVERSION 0
#define B2M_TARGET_AVX512
#define B2M_TARGET_AVX2
#define B2M_TARGET_BASE
#endif

/// Instruction sets simd_dispatch chooses from (vector bytes 16, 32, 64).
enum class simd_isa { sse2 = 16, avx2 = 32, avx512 = 64 };

namespace detail {
/// The widest ISA this build can dispatch to that the CPU supports (sse2 when the build
/// has no multiversioning: other compilers / CPUs).
inline simd_isa cpu_simd_isa() {
#if B2M_SIMD_MULTIVERSION
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        return simd_isa::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return simd_isa::avx2;
#endif
    return simd_isa::sse2;
}
inline simd_isa& simd_isa_state() {
    static simd_isa s = [] {
        simd_isa best = cpu_simd_isa();
        if (const char* e = std::getenv("B2M_SIMD")) {
            const std::string v(e);
            const simd_isa cap = v == "sse2" ? simd_isa::sse2 : v == "avx2" ? simd_isa::avx2 : simd_isa::avx512;
            if (int(cap) < int(best)) best = cap;
        }
        return best;
    }();
    return s;
}
} // namespace detail

/// The instruction set simd_dispatch uses now.
inline simd_isa active_simd_isa() { return detail::simd_isa_state(); }
/// Caps the instruction set at `isa` (never above what the CPU supports); returns the one
/// now active. For tests and comparisons; not thread-safe against running kernels.
inline simd_isa set_simd_isa(simd_isa isa) {
    const simd_isa best = detail::cpu_simd_isa();
    detail::simd_isa_state() = int(isa) < int(best) ? isa : best;
    return detail::simd_isa_state();
}

namespace detail {
template <class F>
B2M_TARGET_AVX512 void run_avx512(F& f) { f(std::integral_constant<int, 64>{}); }
template <class F>
B2M_TARGET_AVX2 void run_avx2(F& f) { f(std::integral_constant<int, 32>{}); }
template <class F>
B2M_TARGET_BASE void run_base(F& f) { f(std::integral_constant<int, 16>{}); }
} // namespace detail

/// Calls f(std::integral_constant<int, VB>) with VB the vector bytes of the active ISA (or
/// of `vector_bytes` when given, e.g. that of a packed operand), compiled for that ISA.
/// f's call operator should be always_inline (B2M_SIMD_INLINE) so that it is compiled
/// inside the ISA-specific caller. Not for use around OpenMP regions (their bodies are
/// outlined before inlining): call it inside each thread's work.
template <class F>
void simd_dispatch(F&& f, int vector_bytes = 0) {
#if B2M_SIMD_MULTIVERSION
    switch (vector_bytes ? simd_isa(vector_bytes) : active_simd_isa()) {
    case simd_isa::avx512: detail::run_avx512(f); return;
    case simd_isa::avx2: detail::run_avx2(f); return;
    default: detail::run_base(f); return;
    }
#else
    (void)vector_bytes;
    detail::run_base(f);
#endif
}
#define B2M_SIMD_INLINE __attribute__((always_inline))

// The vector helpers below are always inlined into the ISA-specific callers, so the ABI
// note GCC gives for vector arguments wider than the baseline does not apply.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
namespace simd {
/// GCC vector of VB bytes of T.
template <class T, int VB>
struct vec_type {
    typedef T type __attribute__((vector_size(VB))); ///< The vector type.
};
template <class T, int VB>
using vec = typename vec_type<T, VB>::type;

template <class T, int VB>
[[gnu::always_inline]] inline vec<T, VB> load(const T* p) {
    vec<T, VB> v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
template <class T, int VB>
[[gnu::always_inline]] inline void store(T* p, vec<T, VB> v) {
    std::memcpy(p, &v, sizeof v);
}
} // namespace simd

/// B (k x n) packed into column panels of NR = 2 * vector_bytes / sizeof(T) columns: panel
/// j holds rows 0..k-1 of columns j*NR .. j*NR+NR-1 contiguously (zero-padded past n).
template <real T>
struct packed_b {
    std::size_t k = 0;     ///< Rows of op(B).
    std::size_t n = 0;     ///< Columns of op(B).
    std::size_t nr = 0;    ///< NR, columns per panel.
    int vector_bytes = 0;  ///< Vector width of the ISA it was packed for (active_simd_isa()).
    std::vector<T> data;  ///< grows once; repacking the same shape allocates nothing

    std::size_t panels() const { return nr ? (n + nr - 1) / nr : 0; } ///< ceil(n / NR) (0 before packing).
};

/// Packs op(B) (k x n; trans: B stored n x k) with row stride ldb, for the active ISA.
template <real T>
void pack_b(packed_b<T>& p, bool trans, std::size_t k, std::size_t n, const T* b, std::size_t ldb) {
    p.vector_bytes = int(active_simd_isa());
    p.k = k;
    p.n = n;
    p.nr = 2 * std::size_t(p.vector_bytes) / sizeof(T);
    const std::size_t np = p.panels(), nr = p.nr;
    if (p.data.size() < np * k * nr) p.data.resize(np * k * nr);
    for (std::size_t j = 0; j < np; ++j) {
        T* dst = p.data.data() + j * k * nr;
        const std::size_t c0 = j * nr, cn = std::min(nr, n - c0);
        if (!trans) {
            for (std::size_t r = 0; r < k; ++r) {
                const T* src = b + r * ldb + c0;
                std::size_t c = 0;
                for (; c < cn; ++c) dst[r * nr + c] = src[c];
                for (; c < nr; ++c) dst[r * nr + c] = T(0);
            }
        } else {
            for (std::size_t r = 0; r < k; ++r) {
                std::size_t c = 0;
                for (; c < cn; ++c) dst[r * nr + c] = b[(c0 + c) * ldb + r];
                for (; c < nr; ++c) dst[r * nr + c] = T(0);
            }
        }
    }
}

namespace detail {
/// MR rows x 2 vectors of C from k terms; ncols < 2W stores only the first ncols columns.
template <class T, int VB, int MR, bool TransA = false>
[[gnu::always_inline]] inline void small_gemm_micro(std::size_t k, const T* a, std::size_t lda, const T* bp, T* c,
                                                    std::size_t ldc, std::size_t ncols, bool accumulate) {
    using V = simd::vec<T, VB>;
    constexpr int W = VB / int(sizeof(T));
    V acc0[MR], acc1[MR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
        acc0[r] = V{};
        acc1[r] = V{};
    }
    for (std::size_t p = 0; p < k; ++p) {
        const V b0 = simd::load<T, VB>(bp + p * 2 * W), b1 = simd::load<T, VB>(bp + p * 2 * W + W);
#pragma GCC unroll 16
        for (int r = 0; r < MR; ++r) {
            const T av = TransA ? a[p * lda + std::size_t(r)] : a[std::size_t(r) * lda + p];
            acc0[r] += av * b0;
            acc1[r] += av * b1;
        }
    }
    if (ncols == std::size_t(2 * W)) {
#pragma GCC unroll 16
        for (int r = 0; r < MR; ++r) {
            T* cr = c + std::size_t(r) * ldc;
            if (accumulate) {
                simd::store<T, VB>(cr, simd::load<T, VB>(cr) + acc0[r]);
                simd::store<T, VB>(cr + W, simd::load<T, VB>(cr + W) + acc1[r]);
            } else {
                simd::store<T, VB>(cr, acc0[r]);
                simd::store<T, VB>(cr + W, acc1[r]);
            }
        }
    } else {
        for (int r = 0; r < MR; ++r) {
            T tmp[2 * W];
            simd::store<T, VB>(tmp, acc0[r]);
            simd::store<T, VB>(tmp + W, acc1[r]);
            T* cr = c + std::size_t(r) * ldc;
            for (std::size_t j = 0; j < ncols; ++j) cr[j] = accumulate ? cr[j] + tmp[j] : tmp[j];
        }
    }
}

/// Rows per micro-kernel call: 2*MR accumulators + 2 loads + 1 broadcast fit the
/// register file (32 zmm with AVX-512, 16 ymm / xmm otherwise).
template <int VB>
inline constexpr int small_gemm_mr = VB == 64 ? 12 : 6;

template <class T, int VB, int R, bool TransA = false>
[[gnu::always_inline]] inline void small_gemm_tail(std::size_t rows, std::size_t k, const T* a, std::size_t lda,
                                                   const T* bp, T* c, std::size_t ldc, std::size_t ncols, bool acc) {
    if constexpr (R > 0) {
        if (rows == std::size_t(R)) small_gemm_micro<T, VB, R, TransA>(k, a, lda, bp, c, ldc, ncols, acc);
        else small_gemm_tail<T, VB, R - 1, TransA>(rows, k, a, lda, bp, c, ldc, ncols, acc);
    }
}
} // namespace detail

/// C (m x n) = A (m x k) * B (+ C when accumulate), B packed by pack_b at vector bytes VB.
/// Call inside simd_dispatch with its VB (the packing must match: checked by the caller).
template <int VB, class T>
[[gnu::always_inline]] inline void small_gemm_packed(std::size_t m, const T* a, std::size_t lda, const packed_b<T>& b,
                                                     T* c, std::size_t ldc, bool accumulate) {
    constexpr int MR = detail::small_gemm_mr<VB>;
    const std::size_t nr = 2 * VB / sizeof(T), k = b.k, n = b.n;
    for (std::size_t j = 0; j * nr < n; ++j) {
        const T* bp = b.data.data() + j * k * nr;
        const std::size_t cols = std::min(nr, n - j * nr);
        std::size_t i = 0;
        for (; i + MR <= m; i += MR)
            detail::small_gemm_micro<T, VB, MR>(k, a + i * lda, lda, bp, c + i * ldc + j * nr, ldc, cols, accumulate);
        if (i < m)
            detail::small_gemm_tail<T, VB, MR - 1>(m - i, k, a + i * lda, lda, bp, c + i * ldc + j * nr, ldc, cols,
                                                   accumulate);
    }
}

/// Stand-alone product (tests, one-off use): A row-major (m x k, stride lda), B packed by
/// pack_b; runs at the vector width B was packed for.
template <real T>
void small_gemm(std::size_t m, const T* a, std::size_t lda, const packed_b<T>& b, T* c, std::size_t ldc,
                bool accumulate) {
    simd_dispatch([&](auto vb) B2M_SIMD_INLINE {
        small_gemm_packed<decltype(vb)::value>(m, a, lda, b, c, ldc, accumulate);
    }, b.vector_bytes);
}

/// C (m x n) += A^T B with A stored k x m (row stride lda) and B stored k x n (stride ldb),
/// for long k (weight gradients over all steps of a sequence batch: k = B*T). Blocked over
/// k (kc rows of B packed per panel stay in L1) and split over column panels between
/// threads; each thread packs only its own panels into `work` (grown once, then reused).
template <real T>
void gemm_tn_accumulate(std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda, const T* b,
                        std::size_t ldb, T* c, std::size_t ldc, std::vector<T>& work) {
    constexpr std::size_t kc_max = 256;
    const int vbytes = int(active_simd_isa());
    const std::size_t nr = 2 * std::size_t(vbytes) / sizeof(T), np = (n + nr - 1) / nr;
    if (work.size() < np * kc_max * nr) work.resize(np * kc_max * nr);
    T* wk = work.data();
    parallel_for(np, items_per_thread(2 * m * k * nr), [&](std::size_t j0, std::size_t j1) {
        simd_dispatch([&](auto vb) B2M_SIMD_INLINE {
            constexpr int VB = decltype(vb)::value;
            constexpr int MR = detail::small_gemm_mr<VB>;
            constexpr std::size_t NR = 2 * VB / sizeof(T);
            for (std::size_t k0 = 0; k0 < k; k0 += kc_max) {
                const std::size_t kc = std::min(kc_max, k - k0);
                for (std::size_t j = j0; j < j1; ++j) {
                    T* bp = wk + j * kc_max * NR;
                    const std::size_t c0 = j * NR, cn = std::min(NR, n - c0);
                    for (std::size_t r = 0; r < kc; ++r) {
                        const T* src = b + (k0 + r) * ldb + c0;
                        T* dst = bp + r * NR;
                        if (cn == NR) std::memcpy(dst, src, NR * sizeof(T));
                        else {
                            for (std::size_t q = 0; q < cn; ++q) dst[q] = src[q];
                            for (std::size_t q = cn; q < NR; ++q) dst[q] = T(0);
                        }
                    }
                    const T* ak = a + k0 * lda;
                    std::size_t i = 0;
                    for (; i + MR <= m; i += MR)
                        detail::small_gemm_micro<T, VB, MR, true>(kc, ak + i, lda, bp, c + i * ldc + c0, ldc, cn, true);
                    if (i < m)
                        detail::small_gemm_tail<T, VB, MR - 1, true>(m - i, kc, ak + i, lda, bp, c + i * ldc + c0, ldc,
                                                                     cn, true);
                }
            }
        }, vbytes);
    });
}
#pragma GCC diagnostic pop

} // namespace b2m

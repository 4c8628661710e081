// core/small_gemm.hpp: the packed register-blocked product against a naive double sum, on
// every instruction set the CPU has (sse2, avx2, avx512 capped by set_simd_isa), for shapes
// with row and column remainders, transposed packing, accumulation and row strides.
#include <doctest/doctest.h>

#include <b2m/core/parallel.hpp>
#include <b2m/core/rng.hpp>
#include <b2m/core/small_gemm.hpp>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

using namespace b2m;

namespace {
template <class T>
double max_rel_error(std::size_t m, std::size_t n, std::size_t k, bool trans, bool accumulate) {
    const std::size_t lda = k + 3, ldc = n + 5;  // strides wider than the rows
    std::vector<T> a(m * lda), b(k * n), c(m * ldc), c0;
    rng r(std::uint64_t(m * 1000 + n * 10 + k));
    matrix<T> tmp = matrix<T>::from_shape({1, a.size() + b.size() + c.size()});
    r.fill_normal(tmp);
    std::copy_n(tmp.data(), a.size(), a.begin());
    std::copy_n(tmp.data() + a.size(), b.size(), b.begin());
    std::copy_n(tmp.data() + a.size() + b.size(), c.size(), c.begin());
    c0 = c;
    // B as stored: k x n (row stride n), or its transpose n x k (row stride k).
    std::vector<T> bs(b.size());
    for (std::size_t p = 0; p < k; ++p)
        for (std::size_t j = 0; j < n; ++j) (trans ? bs[j * k + p] : bs[p * n + j]) = b[p * n + j];
    packed_b<T> pk;
    pack_b(pk, trans, k, n, bs.data(), trans ? k : n);
    small_gemm(m, a.data(), lda, pk, c.data(), ldc, accumulate);
    double err = 0, scale = 0;
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double s = accumulate ? double(c0[i * ldc + j]) : 0.0;
            for (std::size_t p = 0; p < k; ++p) s += double(a[i * lda + p]) * double(b[p * n + j]);
            err = std::max(err, std::abs(s - double(c[i * ldc + j])));
            scale = std::max(scale, std::abs(s));
        }
    for (std::size_t i = 0; i < m; ++i)  // padding columns of C untouched
        for (std::size_t j = n; j < ldc; ++j) REQUIRE(c[i * ldc + j] == c0[i * ldc + j]);
    return err / scale;
}
} // namespace

TEST_CASE_TEMPLATE("small_gemm matches a double sum on every instruction set", T, float, double) {
    const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
    const simd_isa best = active_simd_isa();
    for (simd_isa isa : {simd_isa::sse2, simd_isa::avx2, simd_isa::avx512}) {
        if (int(isa) > int(best)) continue;
        set_simd_isa(isa);
        CAPTURE(int(isa));
        for (auto [m, n, k] : {std::array<std::size_t, 3>{64, 384, 128}, {13, 37, 5}, {1, 1, 1}, {25, 128, 384},
                               {7, 70, 33}}) {
            CAPTURE(m);
            CAPTURE(n);
            CAPTURE(k);
            for (bool trans : {false, true})
                for (bool acc : {false, true}) CHECK(max_rel_error<T>(m, n, k, trans, acc) < tol);
        }
    }
    set_simd_isa(best);
    CHECK(active_simd_isa() == best);
}

TEST_CASE("set_simd_isa never goes above what the CPU supports") {
    const simd_isa best = active_simd_isa();
    set_simd_isa(simd_isa::sse2);
    CHECK(active_simd_isa() == simd_isa::sse2);
    const simd_isa back = set_simd_isa(simd_isa::avx512);
    CHECK(int(back) <= int(simd_isa::avx512));
    CHECK(back == detail::cpu_simd_isa());
    set_simd_isa(best);
}

TEST_CASE("gemm_tn_accumulate matches a double sum on every instruction set and thread count") {
    // C += A^T B with k longer than one k block (600 = 256 + 256 + 88), column and row
    // remainders, and strides wider than the rows.
    const simd_isa best = active_simd_isa();
    const int threads0 = num_threads();
    const std::size_t m = 29, n = 75, k = 600, lda = m + 2, ldb = n + 3, ldc = n + 1;
    matrix<double> init = matrix<double>::from_shape({1, k * lda + k * ldb + m * ldc});
    rng(3).fill_normal(init);
    const double* src = init.data();
    std::vector<float> a(src, src + k * lda), b(src + k * lda, src + k * lda + k * ldb),
        c0(src + k * lda + k * ldb, src + k * lda + k * ldb + m * ldc);
    for (simd_isa isa : {simd_isa::sse2, simd_isa::avx2, simd_isa::avx512}) {
        if (int(isa) > int(best)) continue;
        for (int threads : {1, 2}) {
            CAPTURE(int(isa));
            CAPTURE(threads);
            set_simd_isa(isa);
            set_num_threads(threads);
            std::vector<float> c = c0, work;
            gemm_tn_accumulate<float>(m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, work);
            double err = 0, scale = 0;
            for (std::size_t i = 0; i < m; ++i) {
                for (std::size_t j = 0; j < n; ++j) {
                    double s = c0[i * ldc + j];
                    for (std::size_t p = 0; p < k; ++p) s += double(a[p * lda + i]) * double(b[p * ldb + j]);
                    err = std::max(err, std::abs(s - double(c[i * ldc + j])));
                    scale = std::max(scale, std::abs(s));
                }
                REQUIRE(c[i * ldc + n] == c0[i * ldc + n]);  // the padding column is untouched
            }
            CHECK(err / scale < 1e-5);
        }
    }
    set_simd_isa(best);
    set_num_threads(threads0);
}

// xtensor-blas's bundled cblas declarations and OpenBLAS's <cblas.h> clash unless b2m
// reconciles them: including xlinalg first, then b2m's gemm, must compile and work.
#include <xtensor-blas/xlinalg.hpp>

#include <doctest/doctest.h>

#include <b2m/core/gemm.hpp>

TEST_CASE("xt::linalg and b2m::gemm together, xtensor-blas included first") {
    b2m::matrix<double> a = {{2.0, 0.0}, {0.0, 3.0}}, b = {{1.0, 1.0}, {1.0, 1.0}}, c;
    b2m::gemm<double>(a, b, c);
    CHECK(c(1, 0) == 3.0);
    const auto inv = xt::linalg::inv(a);
    CHECK(inv(1, 1) == doctest::Approx(1.0 / 3.0));
}

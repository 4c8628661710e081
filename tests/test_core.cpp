#include <doctest/doctest.h>

#include <b2m/core.hpp>

#include <type_traits>
#include <vector>

using namespace b2m;

TEST_CASE_TEMPLATE("gemm matches a naive product for every transpose combination", T, float, double) {
    const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    rng r(1);
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            const std::size_t m = 5, n = 4, k = 3;
            matrix<T> a = ta ? matrix<T>::from_shape({k, m}) : matrix<T>::from_shape({m, k});
            matrix<T> b = tb ? matrix<T>::from_shape({n, k}) : matrix<T>::from_shape({k, n});
            r.fill_normal(a);
            r.fill_normal(b);
            matrix<T> c = xt::ones<T>({m, n});
            gemm<T>(a, b, c, ta, tb, T(2), T(0.5));
            for (std::size_t i = 0; i < m; ++i)
                for (std::size_t j = 0; j < n; ++j) {
                    double s = 0;  // the naive product in double
                    for (std::size_t l = 0; l < k; ++l)
                        s += double(ta ? a(l, i) : a(i, l)) * double(tb ? b(j, l) : b(l, j));
                    CHECK(double(c(i, j)) == doctest::Approx(2.0 * s + 0.5).epsilon(tol));
                }
        }
}

TEST_CASE("gemm names both operands and their shapes on a mismatch") {
    matrix<float> a = xt::zeros<float>({3, 4}), b = xt::zeros<float>({5, 2}), c;
    try {
        gemm<float>(a, b, c, false, false, 1.f, 0.f, "features", "weights");
        FAIL("no exception");
    } catch (const shape_error& e) {
        const std::string m = e.what();
        CHECK(m.find("features has shape (3, 4)") != std::string::npos);
        CHECK(m.find("weights has shape (5, 2)") != std::string::npos);
    }
}

TEST_CASE("rng draws do not depend on the thread count and have the right moments") {
    std::vector<double> one(200000), two(200000);
    set_num_threads(1);
    rng a(42);
    a.fill_normal(one.data(), one.size());
    set_num_threads(2);
    rng b(42);
    b.fill_normal(two.data(), two.size());
    CHECK(one == two);
    double mean = 0, var = 0;
    for (double v : one) mean += v;
    mean /= double(one.size());
    for (double v : one) var += (v - mean) * (v - mean);
    var /= double(one.size());
    CHECK(std::abs(mean) < 0.01);
    CHECK(std::abs(var - 1.0) < 0.02);
    rng c(43);
    CHECK(c.normal() != rng(42).normal());
    CHECK(a.split(1).uniform() != a.split(2).uniform());
}

TEST_CASE("parallel_for visits each index once") {
    std::vector<int> hits(100000, 0);
    parallel_for(hits.size(), 10, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) hits[i] += 1;
    });
    for (int h : hits) REQUIRE(h == 1);
}

TEST_CASE("require_finite names the tensor and the place of a NaN") {
    matrix<double> m = {{1.0, 2.0}, {std::nan(""), 4.0}};
    CHECK_THROWS_WITH_AS(require_finite("brain responses", m),
                         doctest::Contains("brain responses (shape (2, 2)) holds a non-finite value at flat index 2"),
                         data_error);
    matrix<double> empty = xt::zeros<double>({0, 3});
    CHECK_THROWS_AS(require_finite("stimuli", empty), data_error);
}

// Kernel ridge and multiple-kernel ridge against himalaya (fixtures written by himalaya
// itself: tests/fixtures/make_himalaya_fixtures.py).
#include <doctest/doctest.h>

#include <b2m/brain/dataset.hpp>
#include <b2m/brain/kernel_ridge.hpp>
#include <b2m/brain/npy.hpp>
#include <b2m/brain/ridge.hpp>
#include <b2m/core/rng.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace b2m;
using namespace b2m::brain;

namespace {
std::string hx(const std::string& name) { return std::string(B2M_TEST_DIR) + "/fixtures/himalaya/" + name + ".npy"; }
matrix<double> m2(const std::string& n) { return load_npy<double, 2>(hx(n)); }
std::vector<double> v1(const std::string& n) {
    const auto v = load_npy<double, 1>(hx(n));
    return {v.begin(), v.end()};
}
std::vector<std::size_t> rows(std::size_t a, std::size_t b) {
    std::vector<std::size_t> r;
    for (std::size_t i = a; i < b; ++i) r.push_back(i);
    return r;
}
double max_abs_diff(const matrix<double>& a, const matrix<double>& b) {
    REQUIRE(a.shape(0) == b.shape(0));
    REQUIRE(a.shape(1) == b.shape(1));
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a.data()[i] - b.data()[i]));
    return m;
}
matrix<double> cols(const matrix<double>& x, std::size_t a, std::size_t b) {
    matrix<double> o = matrix<double>::from_shape({x.shape(0), b - a});
    for (std::size_t i = 0; i < x.shape(0); ++i)
        for (std::size_t j = a; j < b; ++j) o(i, j - a) = x(i, j);
    return o;
}
} // namespace

TEST_SUITE("oracle") {
    TEST_CASE("kernel ridge linear poly rbf with and without intercept matches himalaya KernelRidge for n < p") {
        const auto x = m2("kr_x"), y = m2("kr_y");
        const std::size_t n = 50, m = x.shape(0);
        REQUIRE(x.shape(1) > n);  // the dual regime
        const auto xtr = take_rows(x, rows(0, n)), xte = take_rows(x, rows(n, m)), ytr = take_rows(y, rows(0, n));
        for (int c = 0; c < 6; ++c) {
            const auto prm = v1("kr_case" + std::to_string(c) + "_params");
            kernel_spec k;
            k.kind = prm[0] == 0 ? kernel_kind::linear : prm[0] == 1 ? kernel_kind::poly : kernel_kind::rbf;
            k.degree = prm[2];
            k.gamma = prm[3];
            k.coef0 = prm[4];
            kernel_ridge<double> model(prm[1], k, prm[5] != 0);
            model.fit(xtr, ytr);
            const auto pred = model.predict(xte), ref = m2("kr_case" + std::to_string(c) + "_pred");
            INFO("case " << c << " kind " << prm[0] << " intercept " << prm[5]);
            CHECK(max_abs_diff(pred, ref) < 1e-6);
            double scale = 0;
            for (auto v : ref) scale = std::max(scale, std::abs(v));
            CHECK(scale > 0.1);  // a non-trivial prediction
            // the same through precomputed kernels
            kernel_ridge<double> pre(prm[1], {kernel_kind::precomputed}, prm[5] != 0);
            pre.fit_kernel(kernel_matrix(xtr, xtr, k), ytr);
            CHECK(max_abs_diff(pre.predict_kernel(kernel_matrix(xte, xtr, k)), ref) < 1e-6);
        }
    }

    TEST_CASE("multiple-kernel ridge with a fixed candidate list matches himalaya MultipleKernelRidgeCV") {
        const auto x = m2("kr_x"), y = m2("mkr_y");
        const std::size_t n = 50, m = x.shape(0);
        const auto xa = cols(x, 0, 30), xb = cols(x, 30, x.shape(1));
        const kernel_spec lin{};
        const auto tr = rows(0, n), te = rows(n, m);
        const std::vector<matrix<double>> ktr = {kernel_matrix(take_rows(xa, tr), take_rows(xa, tr), lin),
                                                 kernel_matrix(take_rows(xb, tr), take_rows(xb, tr), lin)};
        const std::vector<matrix<double>> kte = {kernel_matrix(take_rows(xa, te), take_rows(xa, tr), lin),
                                                 kernel_matrix(take_rows(xb, te), take_rows(xb, tr), lin)};
        banded_ridge_options o;
        o.alphas = v1("mkr_alphas");
        o.fit_intercept = false;
        o.folds = 5;
        const auto g = m2("mkr_gammas");
        for (std::size_t c = 0; c < g.shape(0); ++c) o.candidates.push_back({g(c, 0), g(c, 1)});
        multiple_kernel_ridge_cv<double> model(o);
        model.fit(ktr, take_rows(y, tr));
        const auto cand = v1("mkr_best_candidate"), alpha = v1("mkr_best_alpha");
        for (std::size_t j = 0; j < cand.size(); ++j) {
            INFO("target " << j);
            CHECK(model.best_candidate[j] == std::size_t(cand[j]));
            CHECK(std::abs(model.best_alpha[j] - alpha[j]) <= 1e-9 * alpha[j]);
        }
        CHECK(max_abs_diff(model.predict(kte), m2("mkr_pred")) < 1e-6);
        // the per-space parts sum to the prediction (no intercept)
        const auto parts = model.predict_split(kte);
        const auto whole = model.predict(kte);
        matrix<double> sum = parts[0] + parts[1];
        CHECK(max_abs_diff(sum, whole) < 1e-9);
    }
}

TEST_CASE("kernel ridge with a linear kernel equals primal ridge (independent check)") {
    rng r(11);
    matrix<double> x = matrix<double>::from_shape({30, 45}), y = matrix<double>::from_shape({30, 3}),
                   z = matrix<double>::from_shape({7, 45});
    r.fill_normal(x);
    r.fill_normal(y);
    r.fill_normal(z);
    for (bool intercept : {false, true}) {
        ridge<double> primal(2.5, {intercept});
        primal.fit(x, y);
        kernel_ridge<double> dual(2.5, {}, intercept);
        dual.fit(x, y);
        CHECK(max_abs_diff(dual.predict(z), primal.predict(z)) < 1e-9);
    }
}

TEST_CASE("kernel ridge: bad input is a clear error") {
    matrix<double> a = xt::zeros<double>({5, 3}), b = xt::zeros<double>({5, 4}), y = xt::ones<double>({5, 1});
    CHECK_THROWS_AS(kernel_matrix(a, b, kernel_spec{}), shape_error);
    kernel_ridge<double> m(1.0, {});
    CHECK_THROWS_AS(m.predict(a), data_error);
    CHECK_THROWS_AS(m.fit_kernel(b, y), shape_error);
    kernel_ridge<double> neg(-1.0, {});
    CHECK_THROWS_AS(neg.fit(a, y), data_error);
    multiple_kernel_ridge_cv<double> mk;
    CHECK_THROWS_AS(mk.fit({}, y), data_error);
}

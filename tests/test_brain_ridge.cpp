// Ridge against scikit-learn (fixtures from tests/fixtures/make_ridge_fixtures.py).
#include <doctest/doctest.h>

#include <b2m/brain/npy.hpp>
#include <b2m/brain/ridge.hpp>
#include <b2m/core/rng.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace b2m;
using namespace b2m::brain;

namespace {
std::string fx(const std::string& name) { return std::string(B2M_TEST_DIR) + "/fixtures/brain/" + name + ".npy"; }
matrix<double> m2(const std::string& n) { return load_npy<double, 2>(fx(n)); }
std::vector<double> v1(const std::string& n) {
    const auto v = load_npy<double, 1>(fx(n));
    return {v.begin(), v.end()};
}
/// max |a - b| / max|b| over the whole matrix.
double rel_err(const matrix<double>& a, const matrix<double>& b) {
    REQUIRE(a.shape(0) == b.shape(0));
    REQUIRE(a.shape(1) == b.shape(1));
    double num = 0, den = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        num = std::max(num, std::abs(a.data()[i] - b.data()[i]));
        den = std::max(den, std::abs(b.data()[i]));
    }
    return num / den;
}
void check_same_alphas(const std::vector<double>& ours, const std::vector<double>& ref) {
    REQUIRE(ours.size() == ref.size());
    for (std::size_t j = 0; j < ref.size(); ++j) {
        INFO("target " << j << ": ours " << ours[j] << " sklearn " << ref[j]);
        CHECK(std::abs(ours[j] - ref[j]) <= 1e-12 * ref[j]);
    }
}
} // namespace

TEST_SUITE("oracle") {
    TEST_CASE("ridge with a fixed alpha matches sklearn Ridge (n > p and n < p)") {
        for (std::string tag : {"tall", "wide"}) {
            INFO(tag);
            ridge<double> m(3.0);
            m.fit(m2(tag + "_X"), m2(tag + "_Y"));
            CHECK(rel_err(m.predict(m2(tag + "_Xtest")), m2(tag + "_ridge3_pred")) < 1e-5);
            CHECK(rel_err(m.coef, m2(tag + "_ridge3_coef")) < 1e-5);
            // block size 1 exercises the block loop; same answer.
            ridge<double> b(3.0, {.fit_intercept = true, .block_targets = 1});
            b.fit(m2(tag + "_X"), m2(tag + "_Y"));
            CHECK(rel_err(b.predict(m2(tag + "_Xtest")), m2(tag + "_ridge3_pred")) < 1e-5);
        }
    }

    TEST_CASE("ridge_cv leave-one-out picks sklearn RidgeCV(alpha_per_target=True)'s alphas and predictions") {
        for (std::string tag : {"tall", "wide"}) {
            INFO(tag);
            ridge_cv<double> m({.alphas = v1(tag + "_alphas"), .method = cv_method::leave_one_out, .block_targets = 2});
            m.fit(m2(tag + "_X"), m2(tag + "_Y"));
            check_same_alphas(m.alpha, v1(tag + "_loo_alpha"));
            CHECK(rel_err(m.predict(m2(tag + "_Xtest")), m2(tag + "_loo_pred")) < 1e-5);
        }
    }

    TEST_CASE("ridge_cv k-fold matches a KFold(5) grid search with sklearn Ridge") {
        for (std::string tag : {"tall", "wide"}) {
            INFO(tag);
            ridge_cv<double> m({.alphas = v1(tag + "_alphas"), .method = cv_method::kfold, .folds = 5, .block_targets = 4});
            m.fit(m2(tag + "_X"), m2(tag + "_Y"));
            check_same_alphas(m.alpha, v1(tag + "_kfold_alpha"));
            const auto err = m2(tag + "_kfold_err");
            double worst = 0;
            for (std::size_t a = 0; a < err.shape(0); ++a)
                for (std::size_t j = 0; j < err.shape(1); ++j)
                    worst = std::max(worst, std::abs(m.cv_error(a, j) - err(a, j)) / err(a, j));
            CHECK(worst < 1e-8);
            CHECK(rel_err(m.predict(m2(tag + "_Xtest")), m2(tag + "_kfold_pred")) < 1e-5);
        }
    }

    TEST_CASE("float ridge_cv agrees with the double oracle") {
        const matrix<float> x = xt::cast<float>(m2("tall_X")), y = xt::cast<float>(m2("tall_Y"));
        ridge_cv<float> m({.alphas = v1("tall_alphas")});
        m.fit(x, y);
        check_same_alphas(m.alpha, v1("tall_loo_alpha"));
        const matrix<double> p = xt::cast<double>(m.predict(xt::cast<float>(m2("tall_Xtest"))));
        CHECK(rel_err(p, m2("tall_loo_pred")) < 1e-4);  // float32 storage of inputs and products
    }
}

TEST_SUITE("oracle") {
    TEST_CASE("ridge_cv fit_pearson scores the held-out set block by block with or without keeping coef") {
        // The held-out r per target equals the Pearson r of sklearn's own LOO prediction
        // (fixture) against Y_test, for block sizes 1 and 3 and keep_coef true / false.
        for (std::string tag : {"tall", "wide"}) {
            INFO(tag);
            const auto xte = m2(tag + "_Xtest"), pred = m2(tag + "_loo_pred");
            // A test response: the sklearn prediction plus a fixed perturbation, so r < 1.
            matrix<double> yte = pred;
            rng(5).fill_normal(yte);
            yte = pred + 0.5 * yte;
            std::vector<double> ref(pred.shape(1));
            const std::size_t n = pred.shape(0);
            for (std::size_t j = 0; j < ref.size(); ++j) {
                double sp = 0, sy = 0, spp = 0, syy = 0, spy = 0;
                for (std::size_t i = 0; i < n; ++i) {
                    const double a = pred(i, j), v = yte(i, j);
                    sp += a, sy += v, spp += a * a, syy += v * v, spy += a * v;
                }
                ref[j] = (spy - sp * sy / double(n)) / std::sqrt((spp - sp * sp / double(n)) * (syy - sy * sy / double(n)));
            }
            for (std::size_t block : {1, 3})
                for (bool keep : {true, false}) {
                    CAPTURE(block);
                    CAPTURE(keep);
                    ridge_cv<double> m({.alphas = v1(tag + "_alphas"), .block_targets = block, .keep_coef = keep});
                    const auto r = m.fit_pearson(m2(tag + "_X"), m2(tag + "_Y"), xte, yte);
                    check_same_alphas(m.alpha, v1(tag + "_loo_alpha"));
                    REQUIRE(r.size() == ref.size());
                    for (std::size_t j = 0; j < ref.size(); ++j) CHECK(std::abs(r[j] - ref[j]) < 1e-6);
                    CHECK(m.coef.size() == (keep ? m2(tag + "_X").shape(1) * ref.size() : 0));
                    if (!keep) CHECK_THROWS_AS(m.predict(xte), data_error);
                }
            ridge_cv<double> m({.alphas = v1(tag + "_alphas")});
            CHECK_THROWS_AS(m.fit_pearson(m2(tag + "_X"), m2(tag + "_Y"), m2(tag + "_Y"), yte), shape_error);
        }
    }
}

namespace {
/// ridge_cv with one alpha for all targets, fitted to 40 rows of noise (5 features, 3 targets).
struct noise_fit {
    matrix<double> x = matrix<double>::from_shape({40, 5}), y = matrix<double>::from_shape({40, 3});
    ridge_cv<double> m{{.alphas = {0.1, 1, 10, 100}, .alpha_per_target = false}};
    noise_fit() {
        rng r(3);
        r.fill_normal(x);
        r.fill_normal(y);
        m.fit(x, y);
    }
};
} // namespace

TEST_CASE_FIXTURE(noise_fit, "ridge_cv with alpha_per_target false picks one alpha for all targets") {
    CHECK(m.alpha[0] == m.alpha[1]);
    CHECK(m.alpha[1] == m.alpha[2]);
}

TEST_CASE_FIXTURE(noise_fit, "ridge_cv score of a fit to noise is below 1") { CHECK(m.score(x, y) < 1.0); }

TEST_CASE_FIXTURE(noise_fit, "ridge_cv refuses bad input with an error naming it") {
    SUBCASE("a NaN response is a data_error") {
        matrix<double> ybad = y;
        ybad(3, 1) = std::nan("");
        CHECK_THROWS_AS(m.fit(x, ybad), data_error);
    }
    SUBCASE("responses with fewer rows than the features are a shape_error naming their shape") {
        matrix<double> yshort = xt::zeros<double>({39, 3});
        try {
            m.fit(x, yshort);
            FAIL("no exception");
        } catch (const shape_error& e) {
            CHECK(std::string(e.what()).find("(39, 3)") != std::string::npos);
        }
    }
    SUBCASE("a negative alpha is a data_error") {
        ridge_cv<double> neg({.alphas = {1.0, -1.0}});
        CHECK_THROWS_AS(neg.fit(x, y), data_error);
    }
    SUBCASE("predict with another number of features is a shape_error") {
        CHECK_THROWS_AS(m.predict(xt::zeros<double>({2, 4})), shape_error);
    }
}

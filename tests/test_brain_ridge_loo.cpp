// ridge_cv's exact leave-one-out errors against refitting without each sample, and its two
// LOO paths (one pass with an alpha per target; errors first with one alpha for all) and
// its scores-only prediction (keep_coef = false) against each other.
#include <doctest/doctest.h>

#include <b2m/brain/ridge.hpp>
#include <b2m/core/rng.hpp>

#include <cmath>
#include <vector>

using namespace b2m;
using namespace b2m::brain;

namespace {
/// Y = X W + noise with a different signal strength per target, so the best alphas differ.
void make_data(std::size_t n, std::size_t p, std::size_t t, matrix<double>& x, matrix<double>& y, std::uint64_t seed) {
    rng r(seed);
    x = matrix<double>::from_shape({n, p});
    y = matrix<double>::from_shape({n, t});
    matrix<double> w = matrix<double>::from_shape({p, t}), e = matrix<double>::from_shape({n, t});
    r.fill_normal(x);
    r.fill_normal(w);
    r.fill_normal(e);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < t; ++j) {
            double s = 0;
            for (std::size_t k = 0; k < p; ++k) s += x(i, k) * w(k, j);
            y(i, j) = s * double(j) / double(t) + e(i, j) + 3.0;  // an offset for the intercept
        }
}

/// mean_i (y_ij - prediction of row i by ridge(alpha) fitted without row i)^2.
double refit_loo_error(const matrix<double>& x, const matrix<double>& y, std::size_t j, double alpha) {
    const std::size_t n = x.shape(0), p = x.shape(1);
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) {
        matrix<double> xr = matrix<double>::from_shape({n - 1, p}), yr = matrix<double>::from_shape({n - 1, 1});
        matrix<double> xi = matrix<double>::from_shape({1, p});
        for (std::size_t q = 0, row = 0; q < n; ++q) {
            if (q == i) continue;
            for (std::size_t k = 0; k < p; ++k) xr(row, k) = x(q, k);
            yr(row, 0) = y(q, j);
            ++row;
        }
        for (std::size_t k = 0; k < p; ++k) xi(0, k) = x(i, k);
        ridge<double> m(alpha);
        m.fit(xr, yr);
        const double e = y(i, j) - m.predict(xi)(0, 0);
        s += e * e;
    }
    return s / double(n);
}
} // namespace

TEST_CASE("ridge_cv leave-one-out errors equal refitting without each sample") {
    // Alphas out of order: the residual of each alpha is made from the previous one.
    const std::vector<double> alphas = {3.0, 0.05, 40.0, 0.7};
    for (auto [n, p] : {std::pair<std::size_t, std::size_t>{25, 6}, {9, 14}}) {
        CAPTURE(n);
        CAPTURE(p);
        matrix<double> x, y;
        make_data(n, p, 3, x, y, 11 + n);
        for (std::size_t block : {1, 2, 0}) {
            CAPTURE(block);
            ridge_cv<double> m({.alphas = alphas, .block_targets = block});
            m.fit(x, y);
            for (std::size_t a = 0; a < alphas.size(); ++a)
                for (std::size_t j = 0; j < 3; ++j) {
                    const double ref = refit_loo_error(x, y, j, alphas[a]);
                    CHECK(std::abs(m.cv_error(a, j) - ref) <= 1e-9 * ref);
                }
        }
    }
}

TEST_CASE("ridge_cv one-pass LOO gives the errors of the errors-first path and its own alphas") {
    matrix<double> x, y;
    make_data(40, 8, 5, x, y, 4);
    const std::vector<double> alphas = {0.01, 0.3, 10, 300};
    ridge_cv<double> per({.alphas = alphas, .block_targets = 2});          // one pass
    ridge_cv<double> one({.alphas = alphas, .alpha_per_target = false, .block_targets = 2});  // errors, then fit
    per.fit(x, y);
    one.fit(x, y);
    for (std::size_t a = 0; a < alphas.size(); ++a)
        for (std::size_t j = 0; j < 5; ++j) CHECK(per.cv_error(a, j) == one.cv_error(a, j));
    bool differ = false;
    for (std::size_t j = 0; j < 5; ++j) {
        std::size_t best = 0;
        for (std::size_t a = 1; a < alphas.size(); ++a)
            if (per.cv_error(a, j) < per.cv_error(best, j)) best = a;
        CHECK(per.alpha[j] == alphas[best]);
        differ = differ || per.alpha[j] != per.alpha[0];
    }
    CHECK(differ);  // the data make the per-target choice matter
    // the coefficients of the one pass are those of ridge with the chosen alphas
    ridge<double> ref;
    ref.fit(x, y, per.alpha);
    for (std::size_t i = 0; i < per.coef.size(); ++i) CHECK(per.coef.data()[i] == doctest::Approx(ref.coef.data()[i]).epsilon(1e-10));
    for (std::size_t j = 0; j < 5; ++j) CHECK(per.intercept(j) == doctest::Approx(ref.intercept(j)).epsilon(1e-10));
}

TEST_CASE("ridge_cv fit_pearson without coef gives the intercepts and r of the path with coef") {
    matrix<double> x, y, xte, yte;
    make_data(60, 10, 7, x, y, 8);
    make_data(20, 10, 7, xte, yte, 9);
    for (std::size_t block : {3, 0}) {
        CAPTURE(block);
        ridge_cv<double> keep({.alphas = {0.1, 1, 10}, .block_targets = block, .keep_coef = true});
        ridge_cv<double> lean({.alphas = {0.1, 1, 10}, .block_targets = block, .keep_coef = false});
        const auto rk = keep.fit_pearson(x, y, xte, yte);
        const auto rl = lean.fit_pearson(x, y, xte, yte);
        CHECK(lean.coef.size() == 0);
        for (std::size_t j = 0; j < 7; ++j) {
            CHECK(rl[j] == doctest::Approx(rk[j]).epsilon(1e-12));
            CHECK(lean.intercept(j) == doctest::Approx(keep.intercept(j)).epsilon(1e-10));
            CHECK(lean.alpha[j] == keep.alpha[j]);
        }
        // and r is the Pearson r of keep's own prediction
        const matrix<double> pred = keep.predict(xte);
        for (std::size_t j = 0; j < 7; ++j) {
            double sp = 0, sy = 0, spp = 0, syy = 0, spy = 0;
            for (std::size_t i = 0; i < 20; ++i) {
                const double a = pred(i, j), v = yte(i, j);
                sp += a, sy += v, spp += a * a, syy += v * v, spy += a * v;
            }
            const double r = (spy - sp * sy / 20) / std::sqrt((spp - sp * sp / 20) * (syy - sy * sy / 20));
            CHECK(rl[j] == doctest::Approx(r).epsilon(1e-10));
        }
    }
}

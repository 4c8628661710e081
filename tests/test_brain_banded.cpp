// Banded ridge and variance partitioning against himalaya (fixtures written by himalaya
// itself: tests/fixtures/make_himalaya_fixtures.py), and the two-space sanity problem.
#include <doctest/doctest.h>

#include <b2m/brain/banded_ridge.hpp>
#include <b2m/brain/dataset.hpp>
#include <b2m/brain/metrics.hpp>
#include <b2m/brain/npy.hpp>
#include <b2m/brain/ridge.hpp>
#include <b2m/brain/variance_partition.hpp>
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

void banded_oracle(const std::string& tag, std::size_t spaces) {
    const auto meta = v1(tag + "_meta");
    const std::size_t n = std::size_t(meta[0]), n_test = std::size_t(meta[1]);
    std::vector<matrix<double>> xtr, xte;
    for (std::size_t k = 0; k < spaces; ++k) {
        const auto x = m2(tag + "_x" + std::to_string(k));
        xtr.push_back(take_rows(x, rows(0, n)));
        xte.push_back(take_rows(x, rows(n, n + n_test)));
    }
    const auto y = m2(tag + "_y");
    const auto ytr = take_rows(y, rows(0, n)), yte = take_rows(y, rows(n, n + n_test));
    const auto g = m2(tag + "_gammas");
    banded_ridge_options o;
    o.alphas = v1(tag + "_alphas");
    o.folds = std::size_t(meta[2]);
    o.fit_intercept = meta[3] != 0;
    for (std::size_t c = 0; c < g.shape(0); ++c) o.candidates.push_back({g.begin() + c * spaces, g.begin() + (c + 1) * spaces});
    banded_ridge_cv<double> model(o);
    model.fit(xtr, ytr);

    const auto cand = v1(tag + "_best_candidate"), alpha = v1(tag + "_best_alpha");
    const std::size_t t = y.shape(1);
    std::size_t same = 0;
    for (std::size_t j = 0; j < t; ++j) {
        INFO(tag << " target " << j << ": ours candidate " << model.best_candidate[j] << " alpha " << model.best_alpha[j]
                 << ", himalaya candidate " << cand[j] << " alpha " << alpha[j]);
        CHECK(model.best_candidate[j] == std::size_t(cand[j]));
        CHECK(std::abs(model.best_alpha[j] - alpha[j]) <= 1e-9 * alpha[j]);
        same += model.best_candidate[j] == std::size_t(cand[j]);
    }
    CHECK(same == t);
    // CV scores of every candidate (himalaya's cv_scores_, -MSE + 1e-10 log alpha).
    CHECK(max_abs_diff(model.cv_scores, m2(tag + "_cv_scores")) < 1e-9);
    CHECK(max_abs_diff(model.deltas(), m2(tag + "_deltas")) < 1e-9);
    CHECK(max_abs_diff(model.coef, m2(tag + "_coef")) < 1e-8);
    const auto pred = model.predict(xte);
    CHECK(max_abs_diff(pred, m2(tag + "_pred")) < 1e-8);
    const auto r = pearson_columns(yte, pred);
    const auto r_ref = v1(tag + "_r");
    for (std::size_t j = 0; j < t; ++j) CHECK(std::abs(r(j) - r_ref[j]) < 1e-5);
    const auto r2 = r2_columns(yte, pred);
    const auto r2_ref = v1(tag + "_r2");
    for (std::size_t j = 0; j < t; ++j) CHECK(std::abs(r2(j) - r2_ref[j]) < 1e-6);
}
} // namespace

TEST_SUITE("oracle") {
    TEST_CASE("banded ridge with a fixed candidate list matches himalaya BandedRidgeCV - 2 spaces with intercept") {
        banded_oracle("banded2", 2);
    }
    TEST_CASE("banded ridge with a fixed candidate list matches himalaya BandedRidgeCV - 3 spaces without intercept") {
        banded_oracle("banded3", 3);
    }
    TEST_CASE("r2_score_split matches himalaya") {
        const auto y = m2("split_y");
        const auto all = m2("split_pred");
        const std::size_t n = y.shape(0);
        std::vector<matrix<double>> parts;
        for (std::size_t k = 0; k < 3; ++k) parts.push_back(take_rows(all, rows(k * n, (k + 1) * n)));
        CHECK(max_abs_diff(r2_score_split(y, parts), m2("split_r2")) < 1e-6);
        CHECK(max_abs_diff(r2_score_split(y, parts, false), m2("split_r2_nocorr")) < 1e-6);
        // with correlations the parts sum to the joint R^2 around zero (independent check)
        const auto s = r2_score_split(y, parts);
        for (std::size_t j = 0; j < y.shape(1); ++j) {
            double sse = 0, sst = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const double e = y(i, j) - parts[0](i, j) - parts[1](i, j) - parts[2](i, j);
                sse += e * e, sst += y(i, j) * y(i, j);
            }
            CHECK(std::abs(s(0, j) + s(1, j) + s(2, j) - (1 - sse / sst)) < 1e-12);
        }
    }
}

TEST_CASE("banded ridge: the two-space sanity problem (targets driven by one space or the other)") {
    // 100 targets; the first 50 depend on space A only, the others on space B only.
    const std::size_t n = 600, ntr = 400, p = 60, t = 100;
    rng r(7);
    matrix<double> xa = matrix<double>::from_shape({n, p}), xb = matrix<double>::from_shape({n, p});
    r.fill_normal(xa);
    r.fill_normal(xb);
    matrix<double> wa = matrix<double>::from_shape({p, t}), wb = matrix<double>::from_shape({p, t});
    r.fill_normal(wa);
    r.fill_normal(wb);
    matrix<double> y = matrix<double>::from_shape({n, t});
    r.fill_normal(y, 0.0, 2.0 * std::sqrt(double(p)) * 0.5);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < t; ++j) {
            double s = 0;
            for (std::size_t q = 0; q < p; ++q) s += (j < t / 2 ? xa(i, q) * wa(q, j) : xb(i, q) * wb(q, j));
            y(i, j) += s * 0.5;
        }
    const auto tr = rows(0, ntr), te = rows(ntr, n);
    const std::vector<matrix<double>> xtr = {take_rows(xa, tr), take_rows(xb, tr)}, xte = {take_rows(xa, te), take_rows(xb, te)};
    const auto ytr = take_rows(y, tr), yte = take_rows(y, te);

    banded_ridge_options o;
    o.alphas = {1e-1, 1, 10, 100, 1e3, 1e4, 1e5};
    o.n_iter = 20;
    o.seed = 3;
    banded_ridge_cv<double> banded(o);
    banded.fit(xtr, ytr);
    const auto g = banded.space_weights();
    std::size_t right = 0;
    for (std::size_t j = 0; j < t; ++j) right += j < t / 2 ? g(0, j) > g(1, j) : g(1, j) > g(0, j);
    MESSAGE("larger weight on the right space for " << right << " of " << t << " targets");
    CHECK(right >= 95);

    matrix<double> xcat_tr = matrix<double>::from_shape({ntr, 2 * p}), xcat_te = matrix<double>::from_shape({n - ntr, 2 * p});
    for (std::size_t i = 0; i < ntr; ++i)
        for (std::size_t q = 0; q < p; ++q) xcat_tr(i, q) = xtr[0](i, q), xcat_tr(i, p + q) = xtr[1](i, q);
    for (std::size_t i = 0; i < n - ntr; ++i)
        for (std::size_t q = 0; q < p; ++q) xcat_te(i, q) = xte[0](i, q), xcat_te(i, p + q) = xte[1](i, q);
    ridge_cv_options ro;
    ro.alphas = o.alphas;
    ro.method = cv_method::kfold;
    ridge_cv<double> plain(ro);
    plain.fit(xcat_tr, ytr);
    const auto rb = pearson_columns(yte, banded.predict(xte)), rp = pearson_columns(yte, plain.predict(xcat_te));
    double mb = 0, mp = 0;
    for (std::size_t j = 0; j < t; ++j) mb += rb(j) / double(t), mp += rp(j) / double(t);
    MESSAGE("mean held-out r: banded " << mb << ", plain ridge " << mp);
    CHECK(mb > mp);

    // the split of the held-out R^2 puts most of it on the right space
    matrix<double> yc = yte;
    for (std::size_t j = 0; j < t; ++j) {
        double m = 0;
        for (std::size_t i = 0; i < ntr; ++i) m += ytr(i, j) / double(ntr);
        for (std::size_t i = 0; i < yc.shape(0); ++i) yc(i, j) -= m;
    }
    const auto split = r2_score_split(yc, banded.predict_split(xte));
    std::size_t split_right = 0;
    for (std::size_t j = 0; j < t; ++j) split_right += j < t / 2 ? split(0, j) > split(1, j) : split(1, j) > split(0, j);
    CHECK(split_right >= 95);
}

TEST_CASE("set-theoretic partition: two and three spaces from known regions") {
    // Build R^2 of each subset from known Venn regions, then recover them.
    const std::size_t k = 3, full = 7;
    const double region[full] = {0.10, 0.05, 0.02, 0.08, -0.01, 0.03, 0.04};  // mask 1..7
    xt::xtensor<double, 2> r2 = xt::zeros<double>({full, std::size_t(1)});
    for (std::size_t s = 1; s <= full; ++s)
        for (std::size_t m = 1; m <= full; ++m)
            if (m & s) r2(s - 1, 0) += region[m - 1];  // a region counts for S if it touches S
    const auto got = set_theoretic_partition(r2, k);
    for (std::size_t m = 1; m <= full; ++m) CHECK(got(m - 1, 0) == doctest::Approx(region[m - 1]).epsilon(1e-12));
    xt::xtensor<double, 2> two = {{0.3}, {0.2}, {0.4}};  // A, B, AB
    const auto g2 = set_theoretic_partition(two, 2);
    CHECK(g2(0, 0) == doctest::Approx(0.2));  // unique A = AB - B
    CHECK(g2(1, 0) == doctest::Approx(0.1));  // unique B = AB - A
    CHECK(g2(2, 0) == doctest::Approx(0.1));  // shared = A + B - AB
    CHECK_THROWS_AS(set_theoretic_partition(two, 3), shape_error);
}

TEST_CASE("banded ridge: bad input is a clear error") {
    matrix<double> a = xt::zeros<double>({10, 3}), b = xt::zeros<double>({9, 2}), y = xt::ones<double>({10, 2});
    banded_ridge_cv<double> m;
    CHECK_THROWS_AS(m.fit({a, b}, y), shape_error);
    CHECK_THROWS_AS(m.fit({}, y), data_error);
    banded_ridge_options o;
    o.candidates = {{0.5, 0.5, 0.0}};
    banded_ridge_cv<double> m2(o);
    CHECK_THROWS_AS(m2.fit({a, a}, y), shape_error);
    CHECK_THROWS_AS(m.predict({a}), data_error);
    const auto c = dirichlet_candidates(30, 3, {0.1, 1.0}, 5);
    for (const auto& g : c) CHECK(g[0] + g[1] + g[2] == doctest::Approx(1.0));
    CHECK(c[0][0] == doctest::Approx(1.0 / 3));
}

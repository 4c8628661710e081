// RSA against rsatoolbox (fixtures written by rsatoolbox itself, run from its source tree:
// tests/fixtures/make_rsa_fixtures.py): comparators, pooling, noise ceilings, crossnobis,
// weighted-model fits, bootstrap evaluations and intervals given the same resamples.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "b2m/brain/crossnobis.hpp"
#include "b2m/brain/kendall.hpp"
#include "b2m/brain/npy.hpp"
#include "b2m/brain/rdm_noise_ceiling.hpp"
#include "b2m/brain/rdm_stack.hpp"
#include "b2m/brain/rsa_compare.hpp"
#include "b2m/brain/rsa_inference.hpp"
#include "b2m/brain/rsa_models.hpp"

using namespace b2m;
using namespace b2m::brain;

namespace {

std::string fx(const std::string& name) { return std::string(B2M_TEST_DIR) + "/fixtures/rsa/" + name + ".npy"; }
matrix<double> fx2(const std::string& name) { return load_npy<double, 2>(fx(name)); }
xt::xtensor<double, 1> fx1(const std::string& name) { return load_npy<double, 1>(fx(name)); }

const std::vector<std::string> kMethods = {"cosine", "corr", "spearman", "rho-a", "tau-a", "tau-b", "cosine_cov", "corr_cov"};

std::string tag(std::string m) {
    for (auto& c : m)
        if (c == '-') c = '_';
    return m;
}

void check_close(double got, double want, double tol, const std::string& what) {
    INFO(what << ": got " << got << ", rsatoolbox " << want);
    if (std::isnan(want)) CHECK(std::isnan(got));
    else CHECK(std::abs(got - want) <= tol * std::max(1.0, std::abs(want)));
}

} // namespace

TEST_SUITE("oracle") {

TEST_CASE("rsa comparators match rsatoolbox (with and without missing pairs)") {
    for (const bool with_nan : {false, true}) {
        const auto data = rdm_stack_from_vectors(fx2(with_nan ? "data_vectors_nan" : "data_vectors"));
        const auto models = rdm_stack_from_vectors(fx2(with_nan ? "model_vectors_nan" : "model_vectors"));
        for (const auto& m : kMethods) {
            const auto want = fx2(std::string(with_nan ? "compare_nan_" : "compare_") + tag(m));
            const auto got = compare(models, data, parse_method(m));
            REQUIRE(got.shape(0) == want.shape(0));
            REQUIRE(got.shape(1) == want.shape(1));
            for (std::size_t i = 0; i < got.shape(0); ++i)
                for (std::size_t j = 0; j < got.shape(1); ++j)
                    check_close(got(i, j), want(i, j), 1e-10, m + (with_nan ? " (NaN pairs)" : "") + " model " +
                                                                  std::to_string(i) + " data " + std::to_string(j));
        }
    }
}

TEST_CASE("rsa pooled RDMs and noise ceilings match rsatoolbox") {
    const auto data = rdm_stack_from_vectors(fx2("data_vectors"));
    const auto data_nan = rdm_stack_from_vectors(fx2("data_vectors_nan"));
    for (const auto& m : kMethods) {
        const auto want_pool = fx1("pool_" + tag(m));
        const auto pool = pool_rdms(data, parse_method(m));
        for (std::size_t p = 0; p < want_pool.size(); ++p) check_close(pool.vectors(0, p), want_pool(p), 1e-12, "pool " + m);
        const auto nc = rdm_noise_ceiling(data, parse_method(m));
        const auto want = fx1("noise_ceiling_" + tag(m));
        check_close(nc.lower, want(0), 1e-10, "lower noise ceiling " + m);
        check_close(nc.upper, want(1), 1e-10, "upper noise ceiling " + m);
        const auto nc_nan = rdm_noise_ceiling(data_nan, parse_method(m));
        const auto want_nan = fx1("noise_ceiling_nan_" + tag(m));
        check_close(nc_nan.lower, want_nan(0), 1e-10, "lower noise ceiling (NaN pairs) " + m);
        check_close(nc_nan.upper, want_nan(1), 1e-10, "upper noise ceiling (NaN pairs) " + m);
        CHECK(nc.lower < nc.upper);
    }
}

} // TEST_SUITE("oracle")

TEST_CASE("kendall: Knight's O(m log m) counts equal the O(m^2) definition, with ties") {
    rng r(5);
    for (std::size_t m : {2u, 3u, 17u, 200u, 1001u}) {
        std::vector<double> a(m), b(m);
        for (std::size_t i = 0; i < m; ++i) a[i] = double(r.below(7)), b[i] = i % 3 == 0 ? double(r.below(5)) : r.uniform();
        long long s = 0, ta = 0, tb = 0;
        for (std::size_t i = 1; i < m; ++i)
            for (std::size_t j = 0; j < i; ++j) {
                const int x = (a[i] > a[j]) - (a[i] < a[j]), y = (b[i] > b[j]) - (b[i] < b[j]);
                s += x * y, ta += x == 0, tb += y == 0;
            }
        const double n0 = double(m) * double(m - 1) / 2;
        CHECK(kendall_tau_a_fast(a, b) == doctest::Approx(double(s) / n0).epsilon(1e-14));
        if (ta < n0 && tb < n0)
            CHECK(kendall_tau_b(a, b) == doctest::Approx(double(s) / std::sqrt((n0 - double(ta)) * (n0 - double(tb)))).epsilon(1e-14));
    }
    CHECK_THROWS_AS(kendall_tau_a_fast({1.0, 2.0}, {1.0}), shape_error);
    CHECK_THROWS_AS(kendall_tau_a_fast({1.0, std::nan("")}, {1.0, 2.0}), data_error);
}

TEST_CASE("rdm_stack: squareform order, pattern resampling marks same-stimulus pairs NaN, bad input named") {
    tensor<double, 3> m = xt::zeros<double>({std::size_t(1), std::size_t(4), std::size_t(4)});
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 4; ++j)
            if (i != j) m(0, i, j) = double(10 * std::min(i, j) + std::max(i, j));
    const auto s = rdm_stack_from_matrices(m);
    REQUIRE(s.n_pairs() == 6);
    CHECK(s.vectors(0, 0) == 1);   // (0,1)
    CHECK(s.vectors(0, 2) == 3);   // (0,3)
    CHECK(s.vectors(0, 3) == 12);  // (1,2)
    const auto b = s.subsample_patterns({3, 1, 1});
    REQUIRE(b.n_cond == 3);
    CHECK(std::isnan(b.vectors(0, 0)));  // (1,1)
    CHECK(b.vectors(0, 1) == 13);        // (1,3)
    CHECK(b.vectors(0, 2) == 13);
    m(0, 1, 2) = 99;
    CHECK_THROWS_WITH_AS(rdm_stack_from_matrices(m, "x.npy"), doctest::Contains("x.npy: RDM 0 is not symmetric"), data_error);
}

TEST_SUITE("oracle") {

TEST_CASE("rsa weighted models: non-negative least-squares fits match rsatoolbox's fit_regress_nn") {
    const auto models = rdm_stack_from_vectors(fx2("model_vectors_unit"));
    const auto data = rdm_stack_from_vectors(fx2("data_vectors"));
    for (const std::string m : {"corr", "cosine"}) {
        auto w = rsa_model::weighted("w", models);
        w.fit(data, parse_method(m));
        const auto want = fx1("fit_weighted_" + m);
        for (std::size_t k = 0; k < want.size(); ++k) check_close(w.theta[k], want(k), 1e-9, "weight " + std::to_string(k) + " " + m);
    }
    auto w = rsa_model::weighted("w", models);
    w.fit(rdm_stack_from_vectors(fx2("data_negative_weight")), rsa_method::corr);
    const auto want = fx1("fit_weighted_corr_negative");
    REQUIRE(want(0) == 0.0);  // the active set matters: the first model's weight is clamped at 0
    for (std::size_t k = 0; k < want.size(); ++k) check_close(w.theta[k], want(k), 1e-9, "weight " + std::to_string(k));
}

TEST_CASE("rsa bootstrap evaluations, noise ceilings, intervals and tests match rsatoolbox given the same resamples") {
    const auto data = rdm_stack_from_vectors(fx2("data_vectors"));
    const auto mv = rdm_stack_from_vectors(fx2("model_vectors"));
    std::vector<rsa_model> models;
    for (std::size_t k = 0; k < 3; ++k) models.push_back(rsa_model::fixed("m" + std::to_string(k), mv.subset_rdms({k})));
    auto rows = [](const matrix<double>& idx) {
        std::vector<std::vector<std::size_t>> r(idx.shape(0));
        for (std::size_t b = 0; b < idx.shape(0); ++b)
            for (std::size_t i = 0; i < idx.shape(1); ++i) r[b].push_back(std::size_t(idx(b, i)));
        return r;
    };
    for (const std::string meth : {"corr", "spearman"})
        for (const std::string kind : {"pattern", "rdm", "both"}) {
            const std::string pre = "boot_" + meth + "_" + kind + "_";
            resamples rs;
            if (kind == "pattern") rs.patterns = rows(load_npy<double, 2>(fx(pre + "idx")));
            if (kind == "rdm") rs.rdms = rows(load_npy<double, 2>(fx(pre + "idx")));
            if (kind == "both") rs.patterns = rows(load_npy<double, 2>(fx(pre + "pattern_idx"))), rs.rdms = rows(load_npy<double, 2>(fx(pre + "rdm_idx")));
            const auto e = eval_bootstrap(models, data, parse_method(meth), rs);
            const std::string what = meth + " bootstrap over " + kind;
            const auto ev = fx2(pre + "evaluations"), nc = fx2(pre + "noise_ceiling");
            for (std::size_t b = 0; b < ev.shape(0); ++b) {
                for (std::size_t j = 0; j < 3; ++j) check_close(e.evaluations(b, j), ev(b, j), 1e-10, what + " evaluation");
                check_close(e.nc_lower[b], nc(0, b), 1e-10, what + " lower ceiling");
                check_close(e.nc_upper[b], nc(1, b), 1e-10, what + " upper ceiling");
            }
            CHECK(e.dof == fx1(pre + "dof")(0));
            const auto means = fx1(pre + "means"), sem = fx1(pre + "sem");
            const auto cit = fx2(pre + "ci_t"), cip = fx2(pre + "ci_percentile");
            const auto pz = fx1(pre + "p_zero"), pn = fx1(pre + "p_noise");
            const auto pp = fx2(pre + "p_pairwise");
            const auto gp = p_pairwise(e);
            const auto gz = p_zero(e), gn = p_noise(e);
            for (std::size_t j = 0; j < 3; ++j) {
                check_close(e.mean[j], means(j), 1e-10, what + " mean");
                check_close(e.sem[j], sem(j), 1e-9, what + " sem");
                const auto [tl, th] = t_interval(e, j);
                check_close(tl, cit(0, j), 1e-9, what + " t interval low");
                check_close(th, cit(1, j), 1e-9, what + " t interval high");
                const auto [ql, qh] = percentile_interval(e, j);
                check_close(ql, cip(0, j), 1e-10, what + " percentile low");
                check_close(qh, cip(1, j), 1e-10, what + " percentile high");
                check_close(gz[j], pz(j), 1e-8, what + " p vs 0");
                check_close(gn[j], pn(j), 1e-8, what + " p vs noise ceiling");
                for (std::size_t i = 0; i < 3; ++i) check_close(gp(i, j), pp(i, j), 1e-8, what + " pairwise p");
            }
        }
}

} // TEST_SUITE("oracle")

TEST_CASE("rsa multiple-comparison corrections and cross-validation") {
    const auto q = fdr_bh({0.01, 0.04, 0.03, 0.5});
    CHECK(q[0] == doctest::Approx(0.04));
    CHECK(q[1] == doctest::Approx(0.04 * 4 / 3));  // monotone step-up: min over larger ranks
    CHECK(q[2] == doctest::Approx(0.04 * 4 / 3));
    CHECK(q[3] == doctest::Approx(0.5));
    CHECK(bonferroni({0.01, 0.3})[1] == 0.6);
    // A weighted model whose component is the true structure beats a noise model out of sample.
    const auto data = rdm_stack_from_vectors(fx2("data_vectors"));
    const auto mv = rdm_stack_from_vectors(fx2("model_vectors_unit"));
    std::vector<rsa_model> models{rsa_model::weighted("w", mv), rsa_model::select("sel", mv)};
    const auto cv = crossval(models, data, rsa_method::corr, 3, 1);
    CHECK(cv.scores.shape(0) == 3);
    CHECK(cv.mean[0] > 0.3);
    CHECK(cv.mean[1] > 0.3);
    CHECK(cv.ceiling.lower < cv.ceiling.upper);
    CHECK_THROWS_AS(crossval(models, data, rsa_method::corr, 5, 1), data_error);  // 12 / 5 < 3 per fold
}

TEST_SUITE("oracle") {

TEST_CASE("rsa crossnobis: noise precision with shrinkage and cross-validated RDMs match rsatoolbox") {
    const auto meas = fx2("xnobis_measurements"), res = fx2("xnobis_residuals");
    std::vector<std::int64_t> conds, runs;
    for (double v : fx1("xnobis_conds")) conds.push_back(std::int64_t(v));
    for (double v : fx1("xnobis_runs")) runs.push_back(std::int64_t(v));
    for (const auto& [how, name] : {std::pair{noise_estimator::shrinkage_diag, "shrinkage_diag"},
                                    std::pair{noise_estimator::shrinkage_eye, "shrinkage_eye"}}) {
        const auto prec = noise_precision(res, how), want = fx2(std::string("xnobis_precision_") + name);
        for (std::size_t i = 0; i < want.shape(0); ++i)
            for (std::size_t j = 0; j < want.shape(1); ++j) check_close(prec(i, j), want(i, j), 1e-9, std::string("precision ") + name);
    }
    const auto prec = noise_precision(res);
    auto check_rdm = [&](const rdm_stack& got, const std::string& f) {
        const auto want = fx1(f);
        REQUIRE(got.n_pairs() == want.size());
        for (std::size_t p = 0; p < want.size(); ++p) check_close(got.vectors(0, p), want(p), 1e-10, f);
    };
    check_rdm(rdm_crossnobis(meas, conds, runs, prec), "xnobis_rdm");
    check_rdm(rdm_crossnobis(meas, conds, runs), "xnobis_rdm_euclidean_cv");
    check_rdm(rdm_squared_euclidean(meas, conds), "rdm_euclidean");
    check_rdm(rdm_squared_euclidean(meas, conds, prec), "rdm_mahalanobis");
    check_rdm(rdm_correlation_nan(meas, conds), "rdm_correlation");
    const auto pc = fx2("patterns_with_constant");
    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i < pc.shape(0); ++i) ids.push_back(std::int64_t(i));
    check_rdm(rdm_correlation_nan(pc, ids), "rdm_correlation_constant");  // NaN for the constant pattern
    std::vector<std::int64_t> short_runs(runs.begin(), runs.end() - 1);
    CHECK_THROWS_AS(rdm_crossnobis(meas, conds, short_runs, prec), shape_error);
}

} // TEST_SUITE("oracle")

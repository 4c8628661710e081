// tests/test_reliability.cpp - regression tests for the defects found by probing b2m as an
// attacker and a careless user would (issue #16). Each case failed on the code before its
// fix; the comment above it says how.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xnpy.hpp>

#include <b2m/autodiff/function.hpp>
#include <b2m/autodiff/reduce.hpp>
#include <b2m/autodiff/rowwise.hpp>
#include <b2m/autodiff/binary.hpp>
#include <b2m/brain/banded_ridge.hpp>
#include <b2m/brain/crossnobis.hpp>
#include <b2m/brain/kernel_ridge.hpp>
#include <b2m/brain/linalg.hpp>
#include <b2m/brain/logistic.hpp>
#include <b2m/brain/metrics.hpp>
#include <b2m/brain/npy.hpp>
#include <b2m/brain/pca.hpp>
#include <b2m/brain/rsa.hpp>
#include <b2m/brain/zscore.hpp>
#include <b2m/core/rng.hpp>
#include <b2m/loss/brain_reduction.hpp>
#include <b2m/loss/contrastive.hpp>
#include <b2m/loss/mse.hpp>
#include <b2m/nn/sequential.hpp>
#include <b2m/report/censored.hpp>
#include <b2m/train/checkpoint.hpp>
#include <b2m/report/seed_comparison.hpp>
#include <b2m/report/stats.hpp>

#include "loss_check.hpp"

using namespace b2m;

namespace {
/// A .npy file with the given header dict and `data_bytes` zero bytes of data.
std::string write_npy(const std::string& name, const std::string& dict, std::size_t data_bytes) {
    const std::string path = (std::filesystem::temp_directory_path() / name).string();
    std::string h = dict;
    while ((10 + h.size() + 1) % 64) h += ' ';
    h += '\n';
    std::ofstream f(path, std::ios::binary);
    f.write("\x93NUMPY\x01\x00", 8);
    const unsigned char len[2] = {static_cast<unsigned char>(h.size() & 0xff), static_cast<unsigned char>(h.size() >> 8)};
    f.write(reinterpret_cast<const char*>(len), 2);
    f << h << std::string(data_bytes, '\0');
    return path;
}

double max_abs(const matrix<double>& m) {
    double a = 0;
    for (double v : m) a = std::max(a, std::abs(v));
    return a;
}
} // namespace

TEST_SUITE("reliability") {

// Before: row_normalize divided a zero row by eps = 1e-12, so the contrastive gradients of
// a dead tap were ~1e12 (student-head bias and the tap itself).
TEST_CASE("cosine similarity: a zero student row (dead ReLU tap, zero-bias head) gets finite, bounded gradients") {
    auto s = nn::sequential<double>(nn::tap<"h">{});
    train::batch<double> b;
    b.x = loss_check::fixture("con_h");
    b.brain = loss_check::fixture("con_b");
    auto term = loss::contrastive(nn::tap<"h">{}, data::brain, {.tau = 0.1, .dim = 4, .sim = loss::similarity::cosine})
                    .make<double>();
    loss_check::value(term, s, b);  // builds the heads
    // The student head's bias cannot move the zero row away: u_i = W h_i + 0 = 0.
    term.student_head().bias().fill(0.0);
    for (int all_dead = 0; all_dead < 2; ++all_dead) {
        CAPTURE(all_dead);
        for (std::size_t i = 0; i < b.x.shape(0); ++i)
            if (all_dead || i == 2)
                for (std::size_t j = 0; j < b.x.shape(1); ++j) b.x(i, j) = 0.0;
        const double v = loss_check::value(term, s, b);
        CHECK(std::isfinite(v));
        const matrix<double> g = loss_check::analytic_input_grad(term, s, b);
        CHECK(std::isfinite(ad::norm(g)));
        CHECK(max_abs(g) < 1e3);
        term.for_each_param([&](const std::string& name, matrix<double>&, matrix<double>& pg) {
            CAPTURE(name);
            CHECK(std::isfinite(ad::norm(pg)));
            CHECK(max_abs(pg) < 1e3);
        });
        if (all_dead) {
            // Every student row is zero: every similarity is 0 and the loss is log(n) (one
            // positive per row, symmetric), with no gradient through the student.
            CHECK(v == doctest::Approx(std::log(double(b.x.shape(0)))).epsilon(1e-12));
            CHECK(max_abs(g) == 0.0);
        }
    }
}

// Before: the size guard divided the file size by every dimension before noticing a zero
// one, so a valid empty array of shape (200, 0) was refused as "truncated".
TEST_CASE("npy: valid empty arrays load with their shape") {
    const auto p = write_npy("b2m_rel_empty_200x0.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (200, 0), }", 0);
    const auto m = brain::load_npy<double, 2>(p);
    CHECK(m.shape(0) == 200);
    CHECK(m.shape(1) == 0);
    const auto q = write_npy("b2m_rel_empty_0xhuge.npy",
                             "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4611686018427387904), }", 0);
    CHECK(brain::read_npy_header(q).count() == 0);
    // A non-empty shape with no data is still truncated.
    const auto trunc = write_npy("b2m_rel_trunc.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (200, 1), }", 0);
    CHECK_THROWS_WITH_AS((brain::load_npy<double, 2>(trunc)), doctest::Contains("truncated"), io_error);
    std::filesystem::remove(p), std::filesystem::remove(q), std::filesystem::remove(trunc);
}

// Before: constant patterns gave an RDM of ones and Spearman 0.0000 with CI [0, 0]; an
// all-inf RDM gave 0.0000; constant columns gave r = 0.
TEST_CASE("degenerate input is undefined, never a confident 0") {
    matrix<double> constant = xt::ones<double>({5, 4});
    CHECK_THROWS_WITH_AS(brain::rdm(constant), doctest::Contains("is constant"), data_error);
    CHECK_THROWS_WITH_AS(brain::rdm(matrix<double>(xt::zeros<double>({5, 4})), brain::rdm_metric::cosine),
                         doctest::Contains("all zero"), data_error);
    CHECK_NOTHROW(brain::rdm(constant, brain::rdm_metric::euclidean));

    rng r(3);
    matrix<double> p = matrix<double>::from_shape({6, 5});
    for (auto& v : p) v = r.normal();
    const matrix<double> good = brain::rdm(p);
    // Every pair equally far apart: no rank order.
    const matrix<double> flat = brain::rdm(p, brain::rdm_metric::euclidean) * 0.0 + 1.0;
    for (auto how : {brain::rdm_compare::spearman, brain::rdm_compare::pearson, brain::rdm_compare::kendall_tau_a}) {
        CHECK_THROWS_WITH_AS(brain::compare_rdms(good, flat, how), doctest::Contains("rdm b (6 x 6) is constant"), data_error);
        CHECK_THROWS_AS(brain::bootstrap_compare(flat, good, how, 20), data_error);
    }
    matrix<double> inf = good;
    inf.fill(std::numeric_limits<double>::infinity());
    CHECK_THROWS_WITH_AS(brain::compare_rdms(inf, good), doctest::Contains("rdm a (6 x 6) has 15 of 15 dissimilarities"),
                         data_error);
    CHECK(brain::compare_rdms(good, good) == doctest::Approx(1.0));

    CHECK(std::isnan(brain::pearson({1, 1, 1, 1}, {1, 2, 3, 4})));
    CHECK(std::isnan(brain::spearman({1, 2, 3, 4}, {2, 2, 2, 2})));

    matrix<double> y = {{1, 5, 0}, {2, 5, 1}, {3, 5, 0}, {4, 5, 2}};
    const matrix<double> pred = {{1, 1, 0}, {2, 2, 1}, {3, 3, 0}, {4, 4, 2}};
    const auto rc = brain::pearson_columns(y, pred);
    CHECK(rc(0) == doctest::Approx(1.0));
    CHECK(std::isnan(rc(1)));  // constant response
    CHECK(rc(2) == doctest::Approx(1.0));
    CHECK(brain::count_undefined(rc) == 1);
    CHECK(brain::median(rc) == doctest::Approx(1.0));
}

// Before: ad::l2_normalize divided a zero row by eps = 1e-12 (PyTorch's rule) and passed
// g / eps = 1e12 back; it now shares core/row_normalize.hpp with the brain objectives.
TEST_CASE("ad::l2_normalize: a zero row becomes the zero row and passes no gradient") {
    auto f = ad::make_function<double, 2>([](auto x, auto w) { return ad::sum(ad::l2_normalize(x) * w); });
    matrix<double> x = {{3, 4, 0}, {0, 0, 0}}, w = {{1, 2, 3}, {4, 5, 6}};
    matrix<double> gx = xt::zeros<double>({2, 3}), gw = xt::zeros<double>({2, 3});
    const double v = f.gradient({&x, &w}, {&gx, &gw})(0, 0);
    CHECK(v == doctest::Approx((3 * 1 + 4 * 2) / 5.0));
    for (std::size_t j = 0; j < 3; ++j) CHECK(gx(1, j) == 0.0);
    // The live row's gradient is the exact derivative: (w - y (y . w)) / ||x||.
    const double dot = (3 * 1 + 4 * 2) / 5.0;
    CHECK(gx(0, 0) == doctest::Approx((1 - 0.6 * dot) / 5));
    CHECK(gx(0, 2) == doctest::Approx(3.0 / 5));
}

// Before: float sums of 3.2M squared differences were off by ~1e-4 relative.
TEST_CASE("mse of float tensors accumulates in double") {
    auto s = nn::sequential<float>(nn::tap<"h">{});
    train::batch<float> b;
    const std::size_t n = 64, c = 50000;
    b.x = matrix<float>::from_shape({n, c});
    b.targets = matrix<float>::from_shape({n, c});
    rng r(11);
    double ref = 0;
    for (std::size_t i = 0; i < n * c; ++i) {
        b.x.data()[i] = float(r.normal());
        b.targets.data()[i] = float(r.normal());
        const double d = double(b.x.data()[i]) - double(b.targets.data()[i]);
        ref += d * d;
    }
    ref /= double(n * c);
    auto term = loss::mse(nn::tap<"h">{}, data::targets).make<float>();
    s.forward(b.x);
    const double v = term.forward(s, b);
    CHECK(std::abs(v - ref) / ref < 1e-6);
}

// Before: a column of a large value plus rounding noise was divided by that noise and came
// out with unit variance, as informative as any real feature.
TEST_CASE("zscore leaves near-constant columns alone relative to their scale") {
    matrix<double> x = matrix<double>::from_shape({100, 2});
    for (std::size_t i = 0; i < 100; ++i) {
        x(i, 0) = 1e6 + (i % 2 ? std::nextafter(1e6, 2e6) - 1e6 : 0.0);  // one ulp of 1e6
        x(i, 1) = double(i);
    }
    brain::zscore<double> z;
    z.fit(x);
    CHECK(z.scale(0) == 1.0);
    CHECK(z.scale(1) == doctest::Approx(std::sqrt((100.0 * 100.0 - 1) / 12)));
    const auto t = z.transform(x);
    CHECK(std::abs(t(1, 0)) < 1e-9);
    matrix<float> xf = xt::cast<float>(x);
    for (std::size_t i = 0; i < 100; ++i) xf(i, 0) = i % 2 ? std::nextafter(1e6f, 2e6f) : 1e6f;
    brain::zscore<float> zf;
    zf.fit(xf);
    CHECK(zf.scale(0) == 1.0f);
}

// Before: equal paired differences left sd ~1e-17 from the rounded mean and d_z printed
// as -530754306043814.56.
TEST_CASE("report: d_z of equal paired differences is undefined, not huge") {
    const std::vector<double> t = {0.71, 0.83, 0.64, 0.92, 0.55}, b = {0.61, 0.73, 0.54, 0.82, 0.45};
    const auto c = report::compare_paired(t, b);
    CHECK(c.difference.mean == doctest::Approx(0.1));
    CHECK(c.constant_difference);
    CHECK(std::isnan(c.effect_size));
    const std::vector<double> same = {0.3, 0.3, 0.3};
    CHECK(report::summarize(same).sd == 0.0);
    // Genuinely varying differences keep their d_z.
    const std::vector<double> t2 = {0.71, 0.85, 0.64, 0.90, 0.58};
    const auto c2 = report::compare_paired(t2, b);
    CHECK_FALSE(c2.constant_difference);
    CHECK(std::isfinite(c2.effect_size));
}

// Before: "0.708 [0.179, 1.238]": the t interval of accuracies left [0, 1].
TEST_CASE("report: accuracy intervals stay inside [0, 1]") {
    const std::vector<double> acc = {1.0, 0.25, 0.875};
    const auto plain = report::summarize(acc);
    REQUIRE(plain.mean + plain.ci95 > 1.0);
    REQUIRE(plain.mean - plain.ci95 < 0.0);
    const auto s = report::summarize_within(acc, 0.0, 1.0);
    CHECK(s.high() == 1.0);
    CHECK(s.low() == 0.0);
    CHECK(s.mean == plain.mean);
    // Through a seed comparison: the final-accuracy summaries and the table.
    report::condition a{"taught", {1, 2, 3}, {{0.5, 1.0}, {0.2, 0.25}, {0.6, 0.875}}, {{1, 1}, {1, 1}, {1, 1}}};
    report::condition z{"baseline", {1, 2, 3}, {{0.1, 0.2}, {0.1, 0.15}, {0.1, 0.2}}, {{1, 1}, {1, 1}, {1, 1}}};
    const auto cmp = report::compare(a, z, 0.8);
    CHECK(cmp.treatment_final_summary.high() <= 1.0);
    CHECK(cmp.treatment_final_summary.low() >= 0.0);
    CHECK(report::format(cmp).find("1.238") == std::string::npos);
}

// Before: seeds that never reached the target were dropped from a condition's mean (the
// condition with more failures looked faster) and counted as epochs + 1 in differences.
TEST_CASE("report: censored epochs-to-target use Kaplan-Meier medians and a log-rank test (hand-computed)") {
    const double inf = std::numeric_limits<double>::infinity();
    const std::vector<double> a = {3, 5, inf, 5, 8}, b = {2, 2, 4, inf, inf};
    const auto ka = report::kaplan_meier(a), kb = report::kaplan_meier(b);
    CHECK(ka.median == 5.0);  // S: 0.8 after 3, 0.4 after 5
    CHECK(kb.median == 4.0);  // S: 0.6 after 2, 0.4 after 4
    CHECK(ka.events == 4);
    CHECK(ka.censored == 1);
    CHECK(kb.censored == 2);
    CHECK(std::isnan(report::kaplan_meier(std::vector<double>{inf, inf, 3}).median));  // S never <= 0.5
    // Log-rank, worked by hand: O = 4, E = 4.029762, V = 1.529273 -> chi2 5.79e-4.
    auto lr = report::logrank(a, b);
    CHECK(lr.observed_a == 4.0);
    CHECK(lr.chi2 == doctest::Approx(0.0005792105129024719).epsilon(1e-9));
    CHECK(lr.p == doctest::Approx(0.9807993311989436).epsilon(1e-9));  // scipy chi2.sf(chi2, 1)
    const std::vector<double> fast = {1, 1, 2, 2, 3}, never = {inf, inf, inf, inf, inf};
    lr = report::logrank(fast, never);
    CHECK(lr.chi2 == doctest::Approx(9.650553877139977).epsilon(1e-9));
    CHECK(lr.p == doctest::Approx(0.001892944993553505).epsilon(1e-9));

    // The comparison table: the condition where most seeds never reach the target must not
    // look faster; counts are shown, no seed gets an invented epoch count.
    report::condition t{"contrastive", {1, 2, 3, 4}, {{0.9, 0.9}, {0.1, 0.1}, {0.1, 0.1}, {0.1, 0.1}}, {}};
    report::condition z{"baseline", {1, 2, 3, 4}, {{0.1, 0.9}, {0.1, 0.9}, {0.1, 0.9}, {0.9, 0.9}}, {}};
    const auto cmp = report::compare(t, z, 0.8);
    CHECK(std::isnan(cmp.treatment_epochs_km.median));  // 1 of 4 reached: median not reached
    CHECK(cmp.baseline_epochs_km.median == 2.0);
    CHECK(cmp.epochs_difference.difference.n == 1);      // only seed 1 reached in both
    CHECK(cmp.epochs_difference.difference.missing == 3);
    const std::string table = report::format(cmp);
    CHECK(table.find("reached 1/4") != std::string::npos);
    CHECK(table.find("reached 4/4") != std::string::npos);
    CHECK(table.find("median not reached") != std::string::npos);
    CHECK(table.find("2 comparisons") != std::string::npos);
}

// Before: the library signed components by the left singular vectors (largest |score|
// positive), the fixture script by the loadings; nothing compared them.
TEST_CASE("pca: the sign convention of the library is the fixture script's (largest loading positive)") {
    const auto train = loss_check::fixture("lat_train"), comps = loss_check::fixture("lat_comps");
    const auto mean = loss_check::fixture("lat_mean");
    const std::size_t k = comps.shape(1);
    brain::pca<double> p;
    p.fit(train, k);
    REQUIRE(p.components.shape(0) == k);
    for (std::size_t c = 0; c < k; ++c)
        for (std::size_t j = 0; j < comps.shape(0); ++j) {
            CAPTURE(c);
            CAPTURE(j);
            CHECK(p.components(c, j) == doctest::Approx(comps(j, c)).epsilon(1e-9));
        }
    for (std::size_t j = 0; j < mean.size(); ++j) CHECK(p.mean(j) == doctest::Approx(mean.data()[j]).epsilon(1e-12));
    // Flipping the data's sign flips the scores, not the rule: loadings stay signed the same way.
    brain::pca<double> q;
    q.fit(matrix<double>(-train), k);
    for (std::size_t c = 0; c < k; ++c) {
        std::size_t arg = 0;
        for (std::size_t j = 1; j < q.components.shape(1); ++j)
            if (std::abs(q.components(c, j)) > std::abs(q.components(c, arg))) arg = j;
        CHECK(q.components(c, arg) > 0);
    }
}

// Before: no oracle, and the step 1/L used a power-iteration value of L (from below).
TEST_CASE("logistic regression equals scikit-learn's LogisticRegression - its step uses a true Lipschitz bound") {
    for (int k : {3, 2}) {
        CAPTURE(k);
        auto load = [&](const std::string& what) {
            return xt::load_npy<double>(std::string(B2M_TEST_DIR) + "/fixtures/brain/logistic_" + what + std::to_string(k) + ".npy");
        };
        const matrix<double> x = load("x"), coef = load("coef");
        const auto icpt = load("intercept");
        const auto yv = xt::load_npy<std::int64_t>(std::string(B2M_TEST_DIR) + "/fixtures/brain/logistic_y" + std::to_string(k) + ".npy");
        const std::vector<std::int64_t> y(yv.begin(), yv.end());
        const double c = k == 3 ? 0.5 : 2.0;
        brain::logistic_regression<double> m({.C = c, .max_iter = 200000, .tol = 1e-10});
        m.fit(x, y);
        INFO("iterations " << m.iterations);
        CHECK(m.iterations < 200000);
        double worst = 0, scale = 0;
        for (std::size_t i = 0; i < coef.size(); ++i) {
            worst = std::max(worst, std::abs(m.coef.data()[i] - coef.data()[i]));
            scale = std::max(scale, std::abs(coef.data()[i]));
        }
        CHECK(worst <= 1e-6 * scale);
        // Intercepts are defined up to a common shift: compare centred.
        double mi = 0, ms = 0;
        for (std::size_t j = 0; j < icpt.size(); ++j) mi += m.intercept(j) / double(icpt.size()), ms += icpt(j) / double(icpt.size());
        for (std::size_t j = 0; j < icpt.size(); ++j) CHECK(m.intercept(j) - mi == doctest::Approx(icpt(j) - ms).epsilon(1e-6));

        // The bound is >= the exact largest eigenvalue of [X 1]^T [X 1] / (2n).
        const std::size_t n = x.shape(0), p = x.shape(1);
        xt::xtensor<double, 2> a = xt::ones<double>({n, p + 1});
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < p; ++j) a(i, j) = x(i, j);
        const xt::xtensor<double, 2> g = xt::linalg::dot(xt::transpose(a), a);
        const double exact = 0.5 * xt::amax(xt::linalg::eigvalsh(g))() / double(n);
        CHECK(brain::logistic_regression<double>::lipschitz_bound(x) >= exact * (1 - 1e-12));
        CHECK(brain::logistic_regression<double>::lipschitz_bound(x) <= exact * double(p + 1));
    }
}

// Found by UBSan in test_fit (scripts/sanitize.sh): an empty matrix entry (e.g. a batch
// without brain responses) was copied with memcpy from/to a null data() pointer.
TEST_CASE("checkpoint: empty matrix entries round-trip without touching a null pointer") {
    const std::string path = (std::filesystem::temp_directory_path() / "b2m_rel_empty.ckpt").string();
    matrix<float> empty = matrix<float>::from_shape({0, 5}), w = {{1.f, 2.f}};
    std::uint64_t epoch = 3;
    train::checkpoint_writer out;
    out.tensor("empty", empty);
    out.tensor("w", w);
    out.u64("fit.epoch", epoch);
    out.write_atomically(path);
    matrix<float> e2 = matrix<float>::from_shape({0, 5}), w2 = xt::zeros<float>({1, 2});
    std::uint64_t ep2 = 0;
    train::checkpoint_reader in(path);
    for (bool apply : {false, true}) {
        in.begin(apply);
        in.tensor("empty", e2);
        in.tensor("w", w2);
        in.u64("fit.epoch", ep2);
        in.finish();
    }
    CHECK(w2(0, 1) == 2.f);
    CHECK(ep2 == 3);
    CHECK(train::checkpoint_u64(path, "fit.epoch").value_or(0) == 3);
    std::filesystem::remove(path);
}

}  // TEST_SUITE

// Before: LAPACK failures surfaced as a bare std::runtime_error ("Eigenvalue computation did
// not converge", "Singular matrix not invertible") naming neither the matrix nor the remedy,
// and banded ridge on overflowing features failed that way.
TEST_CASE("linalg: LAPACK failures name the matrix, its shape and the remedy") {
    xt::xtensor<double, 2> nan_matrix = xt::eye<double>(3);
    nan_matrix(1, 2) = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH_AS(brain::checked_eigh(nan_matrix, "test: the Gram matrix"),
                         doctest::Contains("test: the Gram matrix (3 x 3) holds a NaN"), nonfinite_error);
    const xt::xtensor<double, 2> singular = {{1, 2}, {2, 4}};
    CHECK_THROWS_WITH_AS(brain::checked_inverse(singular, "test: the covariance"),
                         doctest::Contains("test: the covariance (2 x 2): LAPACK's inversion"), data_error);
    CHECK_THROWS_WITH_AS(brain::checked_solve(singular, xt::xtensor<double, 2>(xt::ones<double>({2, 1})), "test: the system"),
                         doctest::Contains("rescale them"), data_error);
    CHECK_THROWS_AS(brain::checked_eigh(xt::xtensor<double, 2>(xt::ones<double>({2, 3})), "test: a rectangle"), shape_error);
    // The checked forms give LAPACK's answers when nothing is wrong.
    const xt::xtensor<double, 2> spd = {{4, 1}, {1, 3}};
    const auto [w, v] = brain::checked_eigh(spd, "test");
    CHECK(w(0) == doctest::Approx((7 - std::sqrt(5.0)) / 2));
    CHECK(w(1) == doctest::Approx((7 + std::sqrt(5.0)) / 2));
    const auto inv = brain::checked_inverse(spd, "test");
    CHECK(inv(0, 0) == doctest::Approx(3.0 / 11));
    CHECK(inv(0, 1) == doctest::Approx(-1.0 / 11));
}

TEST_CASE("banded ridge and crossnobis: overflowing or singular input is a named b2m error") {
    rng r(11);
    matrix<double> x = matrix<double>::from_shape({30, 4}), y = matrix<double>::from_shape({30, 2});
    for (auto& v : x) v = r.normal() * 1e300;
    for (auto& v : y) v = r.normal();
    brain::banded_ridge_options o;
    o.alphas = {1.0, 10.0};
    o.candidates = {{0.5, 0.5}};
    o.folds = 3;
    brain::banded_ridge_cv<double> model(o);
    const std::vector<matrix<double>> spaces = {xt::view(x, xt::all(), xt::range(0, 2)), xt::view(x, xt::all(), xt::range(2, 4))};
    CHECK_THROWS_WITH_AS(model.fit(spaces, y), doctest::Contains("banded ridge"), b2m::error);

    // Two identical residual channels: a singular noise covariance without shrinkage.
    matrix<double> res = matrix<double>::from_shape({20, 3});
    for (std::size_t i = 0; i < 20; ++i) res(i, 0) = res(i, 1) = r.normal(), res(i, 2) = r.normal();
    CHECK_THROWS_WITH_AS(brain::noise_precision(res, brain::noise_estimator::full),
                         doctest::Contains("crossnobis: the noise covariance"), b2m::error);
}

// TEST_SUITE("cli"): `b2m encode` banded / kernel models, stimulus-wise splits, --split in and
// out, float32 and block-wise outputs (issue 20 and encode's outputs of issue 17). The tool's
// results are checked against the library run on the split the tool wrote out.
#include <doctest/doctest.h>

#include "cli_run.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <b2m/brain/banded_ridge.hpp>
#include <b2m/brain/dataset.hpp>
#include <b2m/brain/metrics.hpp>
#include <b2m/brain/npy.hpp>
#include <b2m/brain/ridge.hpp>
#include <b2m/core/rng.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

using namespace b2m;
namespace fs = std::filesystem;

#ifdef B2M_CLI_PATH
namespace {
using b2m_test::process_result;
using b2m_test::read_text;
using b2m_test::run_b2m;
using b2m_test::scratch;
/// Two spaces of 8 features; targets 0..5 driven by A, 6..11 by B.
void two_space_data(const scratch& s, std::size_t n, matrix<double>& a, matrix<double>& b, matrix<double>& y) {
    rng r(21);
    a = matrix<double>::from_shape({n, 8}), b = matrix<double>::from_shape({n, 8}), y = matrix<double>::from_shape({n, 12});
    r.fill_normal(a);
    r.fill_normal(b);
    r.fill_normal(y, 0.0, 0.7);
    matrix<double> w = matrix<double>::from_shape({8, 12});
    r.fill_normal(w);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < 12; ++j)
            for (std::size_t q = 0; q < 8; ++q) y(i, j) += (j < 6 ? a(i, q) : b(i, q)) * w(q, j) * 0.4;
    brain::save_npy(s / "A.npy", a);
    brain::save_npy(s / "B.npy", b);
    brain::save_npy(s / "Y.npy", y);
}
} // namespace

TEST_SUITE("cli") {
    TEST_CASE("encode --space: banded ridge outputs equal the library on the split the tool wrote") {
        scratch s("banded");
        matrix<double> a, b, y;
        const std::size_t n = 150;
        two_space_data(s, n, a, b, y);
        const auto res = run_b2m(s, "encode --space A.npy --space B.npy Y.npy --candidates 8 --alphas 0.1,1,10,100,1000 "
                                    "--seed 3 --out-dir o --predictions --target-block 5");
        CAPTURE(res.out);
        CAPTURE(res.err);
        REQUIRE(res.code == 0);
        for (const char* f : {"r.npy", "r2.npy", "alpha.npy", "space_weights.npy", "r2_split.npy", "predictions.npy", "split.npy", "summary.json"})
            CHECK(fs::exists(s.dir / "o" / f));
        const auto split = brain::load_npy<double, 1>(s / "o/split.npy");
        REQUIRE(split.size() == n);
        std::vector<std::size_t> tr, te, fold;
        for (std::size_t i = 0; i < n; ++i) {
            if (split(i) < 0) te.push_back(i);
            else tr.push_back(i), fold.push_back(std::size_t(split(i)));
        }
        CHECK(te.size() == 30);
        // the library on that split (one block: the tool's --target-block 5 must not change results)
        brain::banded_ridge_options o;
        o.alphas = {0.1, 1, 10, 100, 1000};
        o.candidates = brain::dirichlet_candidates(8, 2, {0.1, 1.0}, 3);
        o.fold_of_row = fold;
        brain::banded_ridge_cv<double> m(o);
        m.fit({brain::take_rows(a, tr), brain::take_rows(b, tr)}, brain::take_rows(y, tr));
        const std::vector<matrix<double>> xte = {brain::take_rows(a, te), brain::take_rows(b, te)};
        const auto pred = m.predict(xte);
        const auto r_lib = brain::pearson_columns(brain::take_rows(y, te), pred);
        const auto r = brain::load_npy<double, 1>(s / "o/r.npy");
        const auto alpha = brain::load_npy<double, 1>(s / "o/alpha.npy");
        const auto wts = brain::load_npy<double, 2>(s / "o/space_weights.npy");
        const auto pr = brain::load_npy<double, 2>(s / "o/predictions.npy");
        const auto r2s = brain::load_npy<double, 2>(s / "o/r2_split.npy");
        const auto r2 = brain::load_npy<double, 1>(s / "o/r2.npy");
        REQUIRE(r.size() == 12);
        REQUIRE(wts.shape(0) == 2);
        REQUIRE(pr.shape(0) == te.size());
        std::size_t right = 0;
        for (std::size_t j = 0; j < 12; ++j) {
            CHECK(r(j) == doctest::Approx(r_lib(j)).epsilon(1e-9));
            CHECK(alpha(j) == doctest::Approx(m.best_alpha[j]).epsilon(1e-12));
            right += j < 6 ? wts(0, j) > wts(1, j) : wts(1, j) > wts(0, j);
            for (std::size_t i = 0; i < te.size(); ++i) CHECK(pr(i, j) == doctest::Approx(pred(i, j)).epsilon(1e-9));
            CHECK(r2s(0, j) + r2s(1, j) <= r2(j) + 0.2);  // around the training mean: close to R^2
            CHECK(r(j) > 0.5);
        }
        CHECK(right >= 11);
        CHECK(res.out.find("2 spaces") != std::string::npos);

        // --split in gives the same results
        fs::copy_file(s.dir / "o/split.npy", s.dir / "split_in.npy");
        const auto again = run_b2m(s, "encode --space A.npy --space B.npy Y.npy --candidates 8 --alphas 0.1,1,10,100,1000 "
                                      "--seed 3 --split split_in.npy --out-dir o2");
        CAPTURE(again.err);
        REQUIRE(again.code == 0);
        const auto r_again = brain::load_npy<double, 1>(s / "o2/r.npy");
        for (std::size_t j = 0; j < 12; ++j) CHECK(r_again(j) == r(j));

        // float32: the same model within float rounding
        const auto f32 = run_b2m(s, "encode --space A.npy --space B.npy Y.npy --candidates 8 --alphas 0.1,1,10,100,1000 "
                                    "--seed 3 --float32 --out-dir o3");
        CAPTURE(f32.err);
        REQUIRE(f32.code == 0);
        const auto r32 = brain::load_npy<double, 1>(s / "o3/r.npy");
        for (std::size_t j = 0; j < 12; ++j) CHECK(r32(j) == doctest::Approx(r(j)).epsilon(1e-3));
    }

    TEST_CASE("encode --stimulus-ids: repeats stay on one side of the split and of every CV fold") {
        scratch s("ids");
        matrix<double> a, b, y;
        const std::size_t n = 120;
        two_space_data(s, n, a, b, y);
        xt::xtensor<std::int64_t, 1> ids = xt::zeros<std::int64_t>({n});
        for (std::size_t i = 0; i < n; ++i) ids(i) = std::int64_t((i * 7) % 40);  // 40 stimuli x 3 repeats
        brain::save_npy(s / "ids.npy", ids);
        const auto res = run_b2m(s, "encode A.npy Y.npy --stimulus-ids ids.npy --folds 4 --test-fraction 0.25 --out-dir o");
        CAPTURE(res.err);
        REQUIRE(res.code == 0);
        const auto split = brain::load_npy<double, 1>(s / "o/split.npy");
        std::map<std::int64_t, double> side;
        std::size_t held = 0;
        for (std::size_t i = 0; i < n; ++i) {
            held += split(i) < 0;
            if (side.count(ids(i))) CHECK(side[ids(i)] == split(i));  // same side and same fold
            side[ids(i)] = split(i);
        }
        CHECK(held == 30);  // 10 of 40 stimuli, 3 trials each
        const auto loo = run_b2m(s, "encode A.npy Y.npy --stimulus-ids ids.npy --loo");
        CHECK(loo.code == 2);
        CHECK(loo.err.find("--loo") != std::string::npos);
        // a split that separates repeats is refused, naming the file
        xt::xtensor<double, 1> bad = xt::zeros<double>({n});
        for (std::size_t i = 0; i < 10; ++i) bad(i) = -1;
        brain::save_npy(s / "bad_split.npy", bad);
        const auto b2 = run_b2m(s, "encode A.npy Y.npy --stimulus-ids ids.npy --split bad_split.npy");
        CHECK(b2.code != 0);
        CHECK(b2.err.find("bad_split.npy") != std::string::npos);
    }

    TEST_CASE("encode --kernel linear equals ridge with the same folds when n < p") {
        scratch s("kernel");
        rng r(8);
        const std::size_t n = 60, p = 90;
        matrix<double> x = matrix<double>::from_shape({n, p}), w = matrix<double>::from_shape({p, 4}), y;
        r.fill_normal(x);
        r.fill_normal(w);
        y = xt::linalg::dot(x, w) * 0.1;
        matrix<double> noise = matrix<double>::from_shape({n, 4});
        r.fill_normal(noise);
        y += noise;
        brain::save_npy(s / "X.npy", x);
        brain::save_npy(s / "Y.npy", y);
        const auto k = run_b2m(s, "encode X.npy Y.npy --kernel linear --folds 4 --out-dir k");
        const auto l = run_b2m(s, "encode X.npy Y.npy --folds 4 --out-dir l");
        CAPTURE(k.err);
        REQUIRE(k.code == 0);
        REQUIRE(l.code == 0);
        const auto rk = brain::load_npy<double, 1>(s / "k/r.npy"), rl = brain::load_npy<double, 1>(s / "l/r.npy");
        const auto ak = brain::load_npy<double, 1>(s / "k/alpha.npy"), al = brain::load_npy<double, 1>(s / "l/alpha.npy");
        for (std::size_t j = 0; j < 4; ++j) {
            CHECK(ak(j) == al(j));
            CHECK(rk(j) == doctest::Approx(rl(j)).epsilon(1e-6));
        }
        const auto rbf = run_b2m(s, "encode X.npy Y.npy --kernel rbf --out-dir rb");
        CHECK(rbf.code == 0);
        const auto bad = run_b2m(s, "encode X.npy Y.npy --kernel cubic");
        CHECK(bad.code == 2);
    }
}
#endif

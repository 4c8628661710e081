// TEST_SUITE("oracle"): report::t_quantile (Boost.Math) at df = 1..200 against quantiles
// computed independently (tests/fixtures/make_t_quantile_fixture.py): mpmath at 30 digits
// (relative 1e-13) and SciPy's stats.t.ppf (relative 1e-8: SciPy 1.10 is accurate to about
// 5e-9 here); and the confidence interval summarize() builds from it.
#include <doctest/doctest.h>

#include <b2m/brain/npy.hpp>
#include <b2m/report/stats.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace b2m;

TEST_SUITE("oracle") {
    TEST_CASE("t quantiles match mpmath and SciPy at df 1..200 (0.95, 0.975, 0.995)") {
        const auto t = brain::load_npy<double, 2>(std::string(B2M_TEST_DIR) + "/fixtures/report/t_quantiles.npy");
        REQUIRE(t.shape(0) == 200);
        REQUIRE(t.shape(1) == 7);
        double worst = 0;
        for (std::size_t i = 0; i < 200; ++i) {
            const auto df = std::size_t(t(i, 0));
            REQUIRE(df == i + 1);
            const double ps[] = {0.975, 0.95, 0.995};
            for (std::size_t k = 0; k < 3; ++k) {
                const double got = report::t_quantile(ps[k], df), want = t(i, k + 1), scipy = t(i, k + 4);
                worst = std::max(worst, std::abs(got - want) / want);
                CHECK_MESSAGE(std::abs(got - want) <= 1e-13 * want, "df " << df << " p " << ps[k] << ": " << got << " vs mpmath " << want);
                CHECK_MESSAGE(std::abs(got - scipy) <= 1e-8 * scipy, "df " << df << " p " << ps[k] << ": " << got << " vs scipy " << scipy);
            }
            CHECK(report::t_quantile_975(df) == report::t_quantile(0.975, df));
        }
        MESSAGE("largest relative difference to mpmath: " << worst);
        CHECK(std::isnan(report::t_quantile_975(0)));
    }

    TEST_CASE("summarize's 95% interval uses the t quantile of n - 1 degrees of freedom") {
        const auto t = brain::load_npy<double, 2>(std::string(B2M_TEST_DIR) + "/fixtures/report/t_quantiles.npy");
        // 40 values: df 39 (beyond the old table's 30 rows, where it approximated).
        std::vector<double> v;
        for (int i = 0; i < 40; ++i) v.push_back(std::sin(double(i)) * 3.0 + 0.1 * i);
        const auto s = report::summarize(v);
        double m = 0, ss = 0;
        for (double x : v) m += x;
        m /= 40;
        for (double x : v) ss += (x - m) * (x - m);
        const double sd = std::sqrt(ss / 39);
        CHECK(s.ci95 == doctest::Approx(t(38, 1) * sd / std::sqrt(40.0)).epsilon(1e-12));
    }
}

// `b2m rsa` model comparison (stack mode) and --out / --convention of the two-file mode:
// the table's numbers equal the library's (itself checked against rsatoolbox in
// test_rsa_oracle), files are written and parse, bad input is named.
#include <doctest/doctest.h>

#include "cli_run.hpp"

#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "b2m/brain/npy.hpp"
#include "b2m/brain/rdm_noise_ceiling.hpp"
#include "b2m/brain/rdm_stack.hpp"
#include "b2m/brain/rsa.hpp"
#include "b2m/brain/rsa_compare.hpp"
#include "b2m/brain/rsa_inference.hpp"
#include "b2m/core/rng.hpp"

using namespace b2m;
namespace fs = std::filesystem;

#ifdef B2M_CLI_PATH
namespace {

using b2m_test::process_result;
using b2m_test::read_text;
using b2m_test::run_b2m;
using b2m_test::scratch;

/// Subject RDMs (S, N, N) sharing a latent structure, and two models: the structure + noise, and noise.
void write_stack(const scratch& s, std::size_t subjects, std::size_t n) {
    rng r(3);
    matrix<double> lat = matrix<double>::from_shape({n, 3});
    r.fill_normal(lat);
    tensor<double, 3> d = xt::zeros<double>({subjects, n, n});
    matrix<double> good = xt::zeros<double>({n, n}), bad = xt::zeros<double>({n, n});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i + 1; j < n; ++j) {
            double e = 0;
            for (std::size_t k = 0; k < 3; ++k) e += (lat(i, k) - lat(j, k)) * (lat(i, k) - lat(j, k));
            for (std::size_t k = 0; k < subjects; ++k) d(k, i, j) = d(k, j, i) = e + 2 * r.uniform();
            good(i, j) = good(j, i) = e + r.uniform();
            bad(i, j) = bad(j, i) = r.uniform();
        }
    brain::save_npy(s / "subjects.npy", d);
    brain::save_npy(s / "good.npy", good);
    brain::save_npy(s / "bad.npy", bad);
}

} // namespace

TEST_CASE("rsa --data/--models: table equals the library, files written, SVGs well formed") {
    scratch s("stack");
    write_stack(s, 5, 14);
    const auto r = run_b2m(s, "rsa --data subjects.npy --models good.npy,noise=bad.npy,weighted:both=good.npy --compare corr "
                              "--bootstrap 60 --seed 4 --out res");
    CAPTURE(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("| good | fixed |") != std::string::npos);
    CHECK(r.out.find("| noise | fixed |") != std::string::npos);
    const auto j = nlohmann::json::parse(read_text(s / "res/rsa_results.json"));
    const auto data = brain::load_rdm_stack(s / "subjects.npy");
    const auto good = brain::load_rdm_stack(s / "good.npy");
    const double want = brain::mean_compare(good, data, brain::rsa_method::corr);
    CHECK(j["models"][0]["value"].get<double>() == doctest::Approx(want).epsilon(1e-12));
    const auto nc = brain::rdm_noise_ceiling(data, brain::rsa_method::corr);
    CHECK(j["noise_ceiling"]["lower"].get<double>() == doctest::Approx(nc.lower).epsilon(1e-12));
    CHECK(j["noise_ceiling"]["upper"].get<double>() == doctest::Approx(nc.upper).epsilon(1e-12));
    // the same resamples through the library give the same interval
    std::vector<brain::rsa_model> ms{brain::rsa_model::fixed("good", good)};
    const auto ev = brain::eval_bootstrap(ms, data, brain::rsa_method::corr,
                                          brain::draw_resamples(brain::boot_over::patterns, 14, 5, 60, 4));
    const auto [lo, hi] = brain::t_interval(ev, 0);
    CHECK(j["models"][0]["t_interval"][0].get<double>() == doctest::Approx(lo).epsilon(1e-12));
    CHECK(j["models"][0]["t_interval"][1].get<double>() == doctest::Approx(hi).epsilon(1e-12));
    CHECK(j["models"][0]["value"].get<double>() > j["models"][1]["value"].get<double>() + 0.3);
    CHECK(j["pairwise"][0]["p"].get<double>() < 0.01);  // structure vs noise
    const auto csv = read_text(s / "res/rsa_bootstrap.csv");
    CHECK(csv.rfind("draw,good,noise,both,noise_ceiling_lower,noise_ceiling_upper\n", 0) == 0);
    CHECK(std::count(csv.begin(), csv.end(), '\n') == 61);
    for (const char* f : {"rsa_models.svg", "rsa_data_rdm.svg", "rsa_data_mds.svg"}) {
        const auto svg = read_text(s / (std::string("res/") + f));
        CAPTURE(f);
        CHECK(svg.find("<svg") != std::string::npos);
        CHECK(svg.find("</svg>") != std::string::npos);
    }
    CHECK(read_text(s / "res/rsa_models.svg").find("noise ceiling") != std::string::npos);

    const auto bad_n = run_b2m(s, "rsa --data subjects.npy --models nonexistent.npy");
    CHECK(bad_n.code != 0);
    CHECK(bad_n.err.find("nonexistent.npy") != std::string::npos);
}

TEST_CASE("rsa --out writes the result and every bootstrap sample - --convention rsatoolbox skips NaN pairs") {
    scratch s("pair");
    rng r(9);
    matrix<double> a = matrix<double>::from_shape({30, 6}), b = matrix<double>::from_shape({30, 6});
    r.fill_normal(a);
    r.fill_normal(b);
    b += a;
    brain::save_npy(s / "A.npy", a);
    brain::save_npy(s / "B.npy", b);
    const auto res = run_b2m(s, "rsa A.npy B.npy --compare kendall --bootstrap 40 --seed 2 --out r.json");
    CAPTURE(res.err);
    REQUIRE(res.code == 0);
    const auto j = nlohmann::json::parse(read_text(s / "r.json"));
    const auto want = brain::bootstrap_compare(brain::rdm(a), brain::rdm(b), brain::rdm_compare::kendall_tau_a, 40, 2);
    CHECK(j["value"].get<double>() == doctest::Approx(want.value).epsilon(1e-12));
    REQUIRE(j["bootstrap"]["samples"].size() == want.samples.size());
    for (std::size_t k = 0; k < want.samples.size(); ++k) CHECK(j["bootstrap"]["samples"][k].get<double>() == doctest::Approx(want.samples[k]).epsilon(1e-12));
    CHECK(run_b2m(s, "rsa A.npy B.npy --out nodir/r.json").code != 0);
    CHECK(run_b2m(s, "rsa A.npy B.npy --out r.txt").code != 0);

    // a constant pattern: b2m refuses (undefined correlation distance), rsatoolbox's convention skips its pairs
    for (std::size_t k = 0; k < 6; ++k) a(3, k) = 1.0;
    brain::save_npy(s / "A.npy", a);
    const auto b2m_conv = run_b2m(s, "rsa A.npy B.npy --bootstrap 0");
    CHECK(b2m_conv.code != 0);
    const auto rt = run_b2m(s, "rsa A.npy B.npy --bootstrap 20 --convention rsatoolbox --out rt.json");
    CAPTURE(rt.err);
    REQUIRE(rt.code == 0);
    CHECK(rt.out.find("29 NaN pairs skipped") != std::string::npos);
    const auto jr = nlohmann::json::parse(read_text(s / "rt.json"));
    CHECK(jr["pairs"].get<int>() == 30 * 29 / 2 - 29);
    CHECK(jr["convention"] == "rsatoolbox");
}
#endif

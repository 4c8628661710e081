// TEST_SUITE("cli"): the b2m command-line program (tools/), run as a separate process on
// files this test writes into a scratch folder.
// - Bad input (missing, truncated, not .npy, NaN, wrong shapes, mismatched trial counts,
//   labels negative / fractional / out of range, empty arrays, unknown options): exit code
//   1 or 2 (not a crash), and stderr is exactly one line that names the bad file.
// - One success case per subcommand on tiny synthetic data, checked against independent
//   computations: encode's per-target r against the library pipeline on the same split
//   (the ridge itself is checked against scikit-learn in test_brain_ridge), rsa's value
//   against brain::compare_rdms, train's outputs (checkpoint, CSV rows, JSON report),
//   compare's SVG (well-formed XML, labelled axes and legend) and markdown table.
// The binary's path comes from tools/CMakeLists.txt (B2M_CLI_PATH); without the tools the
// cases are skipped.
#include <doctest/doctest.h>

#include "cli_run.hpp"

#include <b2m/brain/metrics.hpp>
#include <b2m/brain/npy.hpp>
#include <b2m/brain/ridge.hpp>
#include <b2m/brain/rsa.hpp>
#include <b2m/core/rng.hpp>
#include <b2m/sim/subject.hpp>

#include <xtensor/xnpy.hpp>
#include <xtensor/xview.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
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

/// Number after `key` in text (NaN if absent).
double number_after(const std::string& text, const std::string& key) {
    const auto p = text.find(key);
    if (p == std::string::npos) return std::nan("");
    return std::strtod(text.c_str() + p + key.size(), nullptr);
}

/// A small well-formedness check of an XML document: one root, every tag closed in order,
/// attribute values quoted, '&' only in entities, '<' only starting tags.
bool well_formed_xml(const std::string& x, std::string& why) {
    std::vector<std::string> stack;
    std::size_t i = 0, roots = 0;
    if (x.compare(0, 5, "<?xml") == 0) i = x.find("?>") + 2;
    while (i < x.size()) {
        if (x[i] == '&') {
            const auto semi = x.find(';', i);
            const std::string ent = semi == std::string::npos ? "" : x.substr(i, semi - i + 1);
            if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" && ent != "&apos;") {
                why = "bare & at " + std::to_string(i);
                return false;
            }
            i = semi + 1;
            continue;
        }
        if (x[i] != '<') {
            if (stack.empty() && !std::isspace(static_cast<unsigned char>(x[i]))) {
                why = "text outside the root at " + std::to_string(i);
                return false;
            }
            ++i;
            continue;
        }
        // a tag: find its end outside quoted attribute values
        std::size_t j = i + 1;
        char quote = 0;
        for (; j < x.size(); ++j) {
            if (quote) {
                if (x[j] == quote) quote = 0;
                else if (x[j] == '<') {
                    why = "'<' inside an attribute at " + std::to_string(j);
                    return false;
                }
            } else if (x[j] == '"' || x[j] == '\'') {
                quote = x[j];
            } else if (x[j] == '>') {
                break;
            } else if (x[j] == '<') {
                why = "'<' inside a tag at " + std::to_string(j);
                return false;
            }
        }
        if (j >= x.size()) {
            why = "unterminated tag at " + std::to_string(i);
            return false;
        }
        const std::string tag = x.substr(i + 1, j - i - 1);
        if (tag.empty()) {
            why = "empty tag";
            return false;
        }
        if (tag[0] == '/') {
            const std::string name = tag.substr(1);
            if (stack.empty() || stack.back() != name) {
                why = "closing </" + name + "> does not match <" + (stack.empty() ? "" : stack.back()) + ">";
                return false;
            }
            stack.pop_back();
        } else {
            const std::string name = tag.substr(0, tag.find_first_of(" \t\n/"));
            if (stack.empty() && ++roots > 1) {
                why = "more than one root element";
                return false;
            }
            if (tag.back() != '/') stack.push_back(name);
        }
        i = j + 1;
    }
    if (!stack.empty()) {
        why = "<" + stack.back() + "> is never closed";
        return false;
    }
    if (roots != 1) {
        why = "no root element";
        return false;
    }
    return true;
}

/// Tiny labelled data with brain responses from a simulated subject.
void write_sim(const scratch& s, std::size_t n, std::size_t features, std::size_t voxels) {
    sim::latent_world world({.features = features, .latent_dim = 3, .classes = 3, .task_share = 1.0, .seed = 3});
    sim::subject subject(world, {.voxels = voxels, .noise = 0.3, .id = 0});
    rng r(9);
    const matrix<double> x = world.stimuli(n, r);
    const auto rec = subject.record(x, 1, r);
    brain::save_npy(s / "X.npy", matrix<float>(xt::cast<float>(x)));
    brain::save_npy(s / "y.npy", world.labels(x));
    brain::save_npy(s / "B.npy", matrix<float>(xt::cast<float>(rec.brain)));
}

} // namespace

TEST_SUITE("cli") {
    TEST_CASE("bad input: exit code 1 or 2 and one line on stderr naming the file") {
        scratch s("bad");
        write_sim(s, 40, 6, 5);
        // Bad files, each broken in one way.
        const std::string good = read_text(s / "X.npy");
        {
            std::ofstream(s / "truncated.npy", std::ios::binary) << good.substr(0, good.size() - 37);
            std::ofstream(s / "header_only.npy", std::ios::binary) << good.substr(0, 40);
            std::ofstream(s / "notnpy.npy") << "stimulus,feature\n1,2\n";
        }
        rng r(1);
        matrix<float> x = xt::zeros<float>({std::size_t(40), std::size_t(6)});
        r.fill_normal(x);
        matrix<float> xnan = x;
        xnan(7, 2) = std::nanf("");
        brain::save_npy(s / "nan.npy", xnan);
        matrix<float> xinf = x;
        xinf(1, 1) = INFINITY;
        brain::save_npy(s / "inf.npy", xinf);
        brain::save_npy(s / "empty.npy", matrix<float>(xt::zeros<float>({std::size_t(0), std::size_t(6)})));
        brain::save_npy(s / "rank1.npy", vector<float>(xt::zeros<float>({std::size_t(40)})));
        brain::save_npy(s / "short.npy", matrix<float>(xt::view(x, xt::range(0, 30), xt::all())));
        index_vector y = xt::arange<std::int64_t>(40) % 3;
        index_vector yneg = y;
        yneg(5) = -1;
        brain::save_npy(s / "neg_labels.npy", yneg);
        brain::save_npy(s / "short_labels.npy", index_vector(xt::view(y, xt::range(0, 39))));
        vector<double> yfrac = xt::cast<double>(y);
        yfrac(3) = 1.5;
        brain::save_npy(s / "frac_labels.npy", yfrac);
        vector<double> ynan = xt::cast<double>(y);
        ynan(9) = std::nan("");
        brain::save_npy(s / "nan_labels.npy", ynan);
        brain::save_npy(s / "matrix_labels.npy", matrix<float>(xt::zeros<float>({std::size_t(40), std::size_t(2)})));
        brain::save_npy(s / "one_class.npy", index_vector(xt::zeros<std::int64_t>({std::size_t(40)})));
        brain::save_npy(s / "empty_labels.npy", index_vector(xt::zeros<std::int64_t>({std::size_t(0)})));
        brain::save_npy(s / "notsquare.npy", x);

        struct bad_case {
            const char* what;
            std::string args;
            std::string mentions;  // the file (or option) the message must name
        };
        const std::string T = "train --out out --epochs 2 ";
        const bad_case cases[] = {
            {"missing stimuli file", T + "--stimuli missing.npy --labels y.npy", "missing.npy"},
            {"truncated stimuli", T + "--stimuli truncated.npy --labels y.npy", "truncated.npy"},
            {"header only", T + "--stimuli header_only.npy --labels y.npy", "header_only.npy"},
            {"not a .npy file", T + "--stimuli notnpy.npy --labels y.npy", "notnpy.npy"},
            {"NaN in stimuli", T + "--stimuli nan.npy --labels y.npy", "nan.npy"},
            {"Inf in stimuli", T + "--stimuli inf.npy --labels y.npy", "inf.npy"},
            {"empty stimuli", T + "--stimuli empty.npy --labels y.npy", "empty.npy"},
            {"stimuli of rank 1", T + "--stimuli rank1.npy --labels y.npy", "rank1.npy"},
            {"fewer stimuli than labels", T + "--stimuli short.npy --labels y.npy", "short.npy"},
            {"fewer labels than stimuli", T + "--stimuli X.npy --labels short_labels.npy", "short_labels.npy"},
            {"negative label", T + "--stimuli X.npy --labels neg_labels.npy", "neg_labels.npy"},
            {"fractional label", T + "--stimuli X.npy --labels frac_labels.npy", "frac_labels.npy"},
            {"NaN label", T + "--stimuli X.npy --labels nan_labels.npy", "nan_labels.npy"},
            {"labels of shape (n, 2)", T + "--stimuli X.npy --labels matrix_labels.npy", "matrix_labels.npy"},
            {"a single class", T + "--stimuli X.npy --labels one_class.npy", "one_class.npy"},
            {"empty labels", T + "--stimuli X.npy --labels empty_labels.npy", "empty_labels.npy"},
            {"label out of range for --classes", T + "--stimuli X.npy --labels y.npy --classes 2", "y.npy"},
            {"truncated brain", T + "--stimuli X.npy --labels y.npy --brain truncated.npy", "truncated.npy"},
            {"NaN in brain", T + "--stimuli X.npy --labels y.npy --brain nan.npy", "nan.npy"},
            {"brain with other trial count", T + "--stimuli X.npy --labels y.npy --brain short.npy", "short.npy"},
            {"empty brain", T + "--stimuli X.npy --labels y.npy --brain empty.npy", "empty.npy"},
            {"unknown train option", T + "--stimuli X.npy --labels y.npy --frobnicate 3", "--frobnicate"},
            {"compare: truncated brain", "compare --out out --epochs 2 --seeds 2 --stimuli X.npy --labels y.npy --brain truncated.npy", "truncated.npy"},
            {"compare: negative label", "compare --out out --epochs 2 --seeds 2 --stimuli X.npy --labels neg_labels.npy --brain B.npy", "neg_labels.npy"},
            {"compare: unknown option", "compare --out out --stimuli X.npy --labels y.npy --brain B.npy --seed 3", "--seed"},
            {"encode: missing features", "encode missing.npy B.npy", "missing.npy"},
            {"encode: truncated responses", "encode X.npy truncated.npy", "truncated.npy"},
            {"encode: NaN responses", "encode X.npy nan.npy", "nan.npy"},
            {"encode: mismatched samples", "encode X.npy short.npy", "short.npy"},
            {"encode: empty features", "encode empty.npy B.npy", "empty.npy"},
            {"encode: unknown option", "encode X.npy B.npy --ridge 3", "--ridge"},
            {"rsa: truncated", "rsa X.npy truncated.npy", "truncated.npy"},
            {"rsa: NaN", "rsa nan.npy X.npy", "nan.npy"},
            {"rsa: mismatched stimuli", "rsa X.npy short.npy", "short.npy"},
            {"rsa: --rdm on a non-square matrix", "rsa notsquare.npy notsquare.npy --rdm", "notsquare.npy"},
            {"rsa: not a .npy file", "rsa notnpy.npy X.npy", "notnpy.npy"},
            {"rsa: unknown option", "rsa X.npy B.npy --method x", "--method"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.what);
            const auto r = run_b2m(s, c.args);
            CAPTURE(r.err);
            CHECK((r.code == 1 || r.code == 2));
            CHECK(!r.err.empty());
            CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
            CHECK(r.err.back() == '\n');
            CHECK(r.err.find(c.mentions) != std::string::npos);
            CHECK(r.err.find("error") != std::string::npos);
            CHECK(!fs::exists(s / "out/report.json"));
        }
    }

    TEST_CASE("every subcommand has --help with usage and options and an example") {
        scratch s("help");
        for (const char* cmd : {"train", "compare", "encode", "rsa", "simulate"}) {
            CAPTURE(cmd);
            const auto r = run_b2m(s, std::string(cmd) + " --help");
            CHECK(r.code == 0);
            CHECK(r.out.find(std::string("usage: b2m ") + cmd) != std::string::npos);
            CHECK(r.out.find("options:") != std::string::npos);
            CHECK(r.out.find("example:") != std::string::npos);
        }
        const auto r = run_b2m(s, "--help");
        CHECK(r.code == 0);
        CHECK(r.out.find("compare") != std::string::npos);
        CHECK(run_b2m(s, "nonsense").code == 2);
    }

    TEST_CASE("train writes the checkpoint and the CSV log and the JSON report") {
        scratch s("train");
        write_sim(s, 120, 8, 12);
        for (const char* objective : {"contrastive", "mse", "none"}) {
            CAPTURE(objective);
            const std::string out = std::string("run_") + objective;
            const auto r = run_b2m(s, "train --stimuli X.npy --labels y.npy --brain B.npy --objective " + std::string(objective) +
                                          " --epochs 6 --batch 16 --weight 0.5 --seed 3 --quiet --out " + out);
            CAPTURE(r.err);
            REQUIRE(r.code == 0);
            CHECK(fs::file_size(s / (out + "/params")) > 100);
            const std::string log = read_text(s / (out + "/log.csv"));
            CHECK(std::count(log.begin(), log.end(), '\n') == 7);  // header + 6 epochs
            CHECK(log.rfind("epoch,lr,weight_cross_entropy,", 0) == 0);
            const std::string json = read_text(s / (out + "/report.json"));
            CHECK(json.front() == '{');
            CHECK(json.find("\"brain_term\": \"" + std::string(objective) + "\"") != std::string::npos);
            CHECK(number_after(json, "\"epochs_run\": ") == 6);
            CHECK(number_after(json, "\"held_out_trials\": ") == 24);
            const double acc = number_after(json, "\"held_out_accuracy\": ");
            CHECK(acc >= 0.0);
            CHECK(acc <= 1.0);
            // the last CSV row's held-out accuracy is the report's
            const std::string last = log.substr(log.rfind('\n', log.size() - 2) + 1);
            std::vector<std::string> cells;
            std::stringstream ls(last);
            for (std::string c; std::getline(ls, c, ',');) cells.push_back(c);
            REQUIRE(cells.size() >= 2);
            CHECK(std::stod(cells[cells.size() - 2]) == doctest::Approx(acc).epsilon(1e-6));
            for (const auto& e : fs::directory_iterator(s.dir / out))  // no temporary files left
                CHECK(e.path().filename().string().find("tmp") == std::string::npos);
        }
        // The same seed gives the same result.
        const auto a = run_b2m(s, "train --stimuli X.npy --labels y.npy --brain B.npy --epochs 3 --quiet --seed 1 --out again");
        REQUIRE(a.code == 0);
        const std::string first = read_text(s / "again/log.csv");
        fs::remove_all(s.dir / "again");
        REQUIRE(run_b2m(s, "train --stimuli X.npy --labels y.npy --brain B.npy --epochs 3 --quiet --seed 1 --out again").code == 0);
        const std::string second = read_text(s / "again/log.csv");
        auto losses = [](const std::string& csv) {  // every column but the last (seconds)
            std::string out;
            std::stringstream ss(csv);
            for (std::string line; std::getline(ss, line);) out += line.substr(0, line.rfind(',')) + "\n";
            return out;
        };
        CHECK(losses(first) == losses(second));
    }

    TEST_CASE("encode: held-out r per target equals the library pipeline on the same split") {
        scratch s("encode");
        const std::size_t n = 80, p = 6, t = 5;
        rng r(4);
        matrix<double> x = matrix<double>::from_shape({n, p}), w = matrix<double>::from_shape({p, t}),
                       noise = matrix<double>::from_shape({n, t});
        r.fill_normal(x);
        r.fill_normal(w);
        r.fill_normal(noise);
        matrix<double> y = xt::linalg::dot(x, w);
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t j = 0; j < 3; ++j) y(i, j) += 0.05 * noise(i, j);  // nearly noise-free
            for (std::size_t j = 3; j < t; ++j) y(i, j) = noise(i, j);          // unrelated to x
        }
        brain::save_npy(s / "F.npy", x);
        brain::save_npy(s / "R.npy", y);
        const auto res = run_b2m(s, "encode F.npy R.npy --test-fraction 0.25 --seed 2 --folds 4 --out r.npy");
        CAPTURE(res.err);
        REQUIRE(res.code == 0);
        const auto got = brain::load_npy<double, 1>(s / "r.npy");
        REQUIRE(got.size() == t);
        // The split the tool documents: rng(seed).split(7) shuffles the rows, the first
        // round(f n) are held out.
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), 0);
        rng(2).split(7).shuffle(order);
        std::vector<std::size_t> held(order.begin(), order.begin() + 20), train(order.begin() + 20, order.end());
        std::sort(held.begin(), held.end());
        std::sort(train.begin(), train.end());
        auto rows = [](const matrix<double>& m, const std::vector<std::size_t>& idx) {
            matrix<double> o = matrix<double>::from_shape({idx.size(), m.shape(1)});
            for (std::size_t i = 0; i < idx.size(); ++i)
                for (std::size_t j = 0; j < m.shape(1); ++j) o(i, j) = m(idx[i], j);
            return o;
        };
        brain::ridge_cv<double> model({.alphas = {1e-2, 1e-1, 1, 10, 100, 1e3, 1e4, 1e5, 1e6},
                                       .method = brain::cv_method::kfold, .folds = 4});
        model.fit(rows(x, train), rows(y, train));
        const auto expect = brain::pearson_columns(rows(y, held), model.predict(rows(x, held)));
        for (std::size_t j = 0; j < t; ++j) CHECK(got(j) == doctest::Approx(expect(j)).epsilon(1e-9));
        for (std::size_t j = 0; j < 3; ++j) CHECK(got(j) > 0.99);
        for (std::size_t j = 3; j < t; ++j) CHECK(std::abs(got(j)) < 0.8);
        CHECK(number_after(res.out, "Pearson r: median ") == doctest::Approx(brain::median(got)).epsilon(1e-3));

        // Rank-3 features (e.g. images) are flattened after the first axis, in C order, from
        // C-ordered and Fortran-ordered files alike: the same r as the 2-D file.
        xt::xtensor<double, 3> x3 = xt::reshape_view(x, {n, std::size_t(2), std::size_t(3)});
        xt::xtensor<double, 3, xt::layout_type::column_major> x3f = x3;
        brain::save_npy(s / "F3.npy", x3);
        xt::dump_npy(s / "F3f.npy", x3f);
        REQUIRE(read_text(s / "F3f.npy").find("'fortran_order': True") != std::string::npos);
        for (const char* f : {"F3.npy", "F3f.npy"}) {
            CAPTURE(f);
            const auto r3 = run_b2m(s, std::string("encode ") + f + " R.npy --test-fraction 0.25 --seed 2 --folds 4 --out r3.npy");
            CAPTURE(r3.err);
            REQUIRE(r3.code == 0);
            const auto got3 = brain::load_npy<double, 1>(s / "r3.npy");
            for (std::size_t j = 0; j < t; ++j) CHECK(got3(j) == doctest::Approx(got(j)).epsilon(1e-12));
        }
    }

    TEST_CASE("rsa: an RDM given directly or representations and the bootstrap interval") {
        scratch s("rsa");
        rng r(6);
        matrix<double> a = matrix<double>::from_shape({24, 7}), b = matrix<double>::from_shape({24, 9}),
                       mix = matrix<double>::from_shape({7, 9}), noise = matrix<double>::from_shape({24, 9});
        r.fill_normal(a);
        r.fill_normal(mix);
        r.fill_normal(noise);
        b = xt::linalg::dot(a, mix) + 1.5 * noise;
        brain::save_npy(s / "A.npy", a);
        brain::save_npy(s / "B.npy", b);
        brain::save_npy(s / "RDM_A.npy", brain::rdm(a, brain::rdm_metric::correlation));

        auto same = run_b2m(s, "rsa A.npy RDM_A.npy --bootstrap 50");
        CAPTURE(same.err);
        REQUIRE(same.code == 0);
        CHECK(same.out.find("RDM given directly") != std::string::npos);
        CHECK(number_after(same.out, ") = ") == doctest::Approx(1.0).epsilon(1e-4));

        const auto res = run_b2m(s, "rsa A.npy B.npy --metric euclidean --compare pearson --bootstrap 200 --seed 1");
        CAPTURE(res.err);
        REQUIRE(res.code == 0);
        const double expect = brain::compare_rdms(brain::rdm(a, brain::rdm_metric::euclidean),
                                                  brain::rdm(b, brain::rdm_metric::euclidean), brain::rdm_compare::pearson);
        const double got = number_after(res.out, ") = ");
        CHECK(got == doctest::Approx(expect).epsilon(1e-3));
        CHECK(expect > 0.2);  // the two representations share structure
        double lo = NAN, hi = NAN;
        const auto ci = res.out.find("CI over stimuli: [");
        REQUIRE(ci != std::string::npos);
        REQUIRE(std::sscanf(res.out.c_str() + ci, "CI over stimuli: [%lf, %lf]", &lo, &hi) == 2);
        CHECK(lo <= got + 1e-4);
        CHECK(lo < hi);
    }

    TEST_CASE("compare writes a table and compare.md and a well-formed SVG with labelled axes and legend") {
        scratch s("compare");
        write_sim(s, 150, 8, 12);
        const auto r = run_b2m(s, "compare --stimuli X.npy --labels y.npy --brain B.npy --seeds 2 --epochs 4 --target 0.5 --weight 5 --out cmp");
        CAPTURE(r.err);
        REQUIRE(r.code == 0);
        CHECK(r.out.find("| difference (paired by seed) |") != std::string::npos);
        const std::string svg = read_text(s / "cmp/curves.svg");
        std::string why;
        CHECK_MESSAGE(well_formed_xml(svg, why), why);
        CHECK(svg.find(">epoch</text>") != std::string::npos);
        CHECK(svg.find(">held-out accuracy (mean, 95% CI)</text>") != std::string::npos);
        CHECK(svg.find(">brain-taught (CE + 5 x contrastive)</text>") != std::string::npos);
        CHECK(svg.find(">baseline (CE only)</text>") != std::string::npos);
        const std::string md = read_text(s / "cmp/compare.md");
        CHECK(md.find("| difference (paired by seed) |") != std::string::npos);
        CHECK(std::count(md.begin(), md.end(), '\n') > 10);
        // the checker itself rejects broken documents
        CHECK_FALSE(well_formed_xml("<svg><g></svg>", why));
        CHECK_FALSE(well_formed_xml("<svg><text>a & b</text></svg>", why));
    }
}
#else
TEST_CASE("b2m command-line program (not built: B2M_BUILD_TOOLS is off)" * doctest::test_suite("cli")) {
    MESSAGE("skipped: the b2m tool is not part of this build");
    std::exit(77);  // ctest's SKIP_RETURN_CODE: reported as skipped, never as passed
}
#endif

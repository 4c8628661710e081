// TEST_SUITE("cli"): command-line conventions and the neuroscientist's path through `b2m`
// (issue 17), run as a separate process on files written into a scratch folder:
// - `b2m help CMD`, `-V`, `-o`, `--` ending options;
// - an unusable --out folder is reported before any file is read or any training runs;
// - progress goes to stderr, and only when asked or when stderr is a terminal;
// - uint8 stimuli are scaled (with a note), values in the hundreds are warned about;
// - train and compare share their defaults, and every help text prints the defaults used;
// - JSON written through nlohmann-json: every double reads back exactly (parsed here
//   with nlohmann, compared bit for bit with strtod of the command-line text);
// - compare's table says what cannot be computed (one seed, target never reached) instead
//   of nan, and its curves.csv parses as RFC 4180 with a constant field count;
// - splits by stimulus: repeats never on both sides, the split written to split.npy and
//   accepted back by --split; a given split that separates repeats is an error naming the
//   stimulus; --test-rows; string labels mapped to classes with the mapping written out;
// - the formats the CLI takes: MATLAB v5 / v7.3 variables and big-endian / <U .npy.
#include <doctest/doctest.h>

#include "cli_run.hpp"

#include <b2m/brain/npy.hpp>
#include <b2m/core/rng.hpp>
#include <b2m/sim/subject.hpp>

#include <nlohmann/json.hpp>
#include <xtensor/xview.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
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

std::size_t lines(const std::string& s) { return std::size_t(std::count(s.begin(), s.end(), '\n')); }

/// n trials of `stimuli` distinct stimuli (trial i shows stimulus i % stimuli), 3 classes.
void write_repeats(const scratch& s, std::size_t n, std::size_t stimuli) {
    sim::latent_world world({.features = 6, .latent_dim = 3, .classes = 3, .task_share = 1.0, .seed = 3});
    sim::subject subject(world, {.voxels = 5, .noise = 0.3, .id = 0});
    rng r(9);
    const matrix<double> base = world.stimuli(stimuli, r);
    matrix<double> x = matrix<double>::from_shape({n, std::size_t(6)});
    xt::xtensor<std::int64_t, 1> ids = xt::zeros<std::int64_t>({n});
    for (std::size_t i = 0; i < n; ++i) {
        xt::view(x, i, xt::all()) = xt::view(base, i % stimuli, xt::all());
        ids(i) = std::int64_t(1000 + 7 * (i % stimuli));  // ids need not be 0..K-1
    }
    const auto rec = subject.record(x, 1, r);
    brain::save_npy(s / "X.npy", matrix<float>(xt::cast<float>(x)));
    brain::save_npy(s / "y.npy", world.labels(x));
    brain::save_npy(s / "B.npy", matrix<float>(xt::cast<float>(rec.brain)));
    brain::save_npy(s / "ids.npy", ids);
}

/// RFC 4180 parse: fields of each record (quoted fields may hold commas, quotes, newlines).
std::vector<std::vector<std::string>> parse_csv(const std::string& t) {
    std::vector<std::vector<std::string>> rows(1);
    std::string field;
    bool quoted = false, started = false;
    for (std::size_t i = 0; i < t.size(); ++i) {
        const char c = t[i];
        if (quoted) {
            if (c == '"' && i + 1 < t.size() && t[i + 1] == '"') field += '"', ++i;
            else if (c == '"') quoted = false;
            else field += c;
        } else if (c == '"' && field.empty()) {
            quoted = started = true;
        } else if (c == ',') {
            rows.back().push_back(field), field.clear();
        } else if (c == '\r' && i + 1 < t.size() && t[i + 1] == '\n') {
        } else if (c == '\n') {
            rows.back().push_back(field), field.clear();
            rows.emplace_back();
        } else {
            field += c;
        }
    }
    if (!field.empty() || !rows.back().empty()) rows.back().push_back(field);
    if (rows.back().empty()) rows.pop_back();
    (void)started;
    return rows;
}

std::vector<std::int64_t> read_split(const std::string& path) {
    const auto v = brain::load_npy<double, 1>(path);
    return {v.begin(), v.end()};
}

} // namespace

TEST_SUITE("cli") {
    TEST_CASE("b2m help CMD, -V, and the help texts list -o and --") {
        scratch s("help");
        for (const char* cmd : {"train", "compare", "encode", "rsa", "simulate"}) {
            CAPTURE(cmd);
            const auto a = run_b2m(s, std::string("help ") + cmd), b = run_b2m(s, std::string(cmd) + " --help");
            CHECK(a.code == 0);
            CHECK(a.out == b.out);
            CHECK(a.out.find(std::string("usage: b2m ") + cmd) == 0);
            CHECK(a.out.find("  --  ") != std::string::npos);
        }
        CHECK(run_b2m(s, "help train").out.find("-o, --out DIR") != std::string::npos);
        const auto bad = run_b2m(s, "help nonsense");
        CHECK(bad.code == 2);
        CHECK(lines(bad.err) == 1);
        const auto v = run_b2m(s, "-V"), version = run_b2m(s, "--version");
        CHECK(v.code == 0);
        CHECK(v.out.rfind("b2m ", 0) == 0);
        CHECK(v.out == version.out);
    }

    TEST_CASE("help texts print the defaults the commands use - shared options read the same in train and compare") {
        scratch s("help_defaults");
        const std::string train = run_b2m(s, "train --help").out, compare = run_b2m(s, "compare --help").out;
        const std::string arch = run_b2m(s, "train --arch conv --help").out;
        for (const std::string* h : {&train, &compare, &arch}) {
            CHECK(h->find("  --lr X") != std::string::npos);
            CHECK(h->find("Adam learning rate (default 0.005)") != std::string::npos);
            CHECK(h->find("training epochs (default 30)") != std::string::npos);
            CHECK(h->find("mini-batch size (default 32)") != std::string::npos);
            CHECK(h->find("contrastive temperature (default 1)") != std::string::npos);
            CHECK(h->find("seed of the held-out split; every run and seed sees the same split (default 0)") != std::string::npos);
        }
        CHECK(train.find("(default 0.2; 0: none)") != std::string::npos);
        CHECK(compare.find("(default 0.2)") != std::string::npos);
        CHECK(compare.find("seeds per condition (default 5; seeds 1..N)") != std::string::npos);
        const std::string alphas = "(default 0.01,0.1,1,10,100,1e3,1e4,1e5,1e6)";
        CHECK(run_b2m(s, "encode --help").out.find(alphas) != std::string::npos);
        CHECK(run_b2m(s, "score --help").out.find(alphas) != std::string::npos);
        CHECK(run_b2m(s, "rsa --help").out.find("bootstrap draws over stimuli (default 1000; 0: no interval)") != std::string::npos);
        CHECK(run_b2m(s, "rsa --data x --help").out.find("interval level (default 0.95)") != std::string::npos);
        // every option once: a shared list spliced in twice would print an option twice
        for (const std::string* h : {&train, &compare, &arch})
            for (const char* o : {"  --lr ", "  --seed ", "  --split-seed ", "  --val-fraction "}) {
                CAPTURE(o);
                const auto first = h->find(o);
                CHECK((first == std::string::npos || h->find(o, first + 1) == std::string::npos));
            }
    }

    TEST_CASE("-o is --out - -- ends the options (a file named like an option)") {
        scratch s("dashes");
        write_repeats(s, 60, 60);
        fs::copy_file(s / "X.npy", s / "-x.npy");
        const auto r = run_b2m(s, "train --labels y.npy --epochs 2 --quiet -o run --stimuli ./-x.npy");
        CAPTURE(r.err);
        REQUIRE(r.code == 0);
        CHECK(fs::exists(s / "run/report.json"));
        // rsa takes two file arguments: after --, "-x.npy" is a file, not an option.
        const auto rsa = run_b2m(s, "rsa --compare pearson -- -x.npy X.npy");
        CAPTURE(rsa.err);
        CHECK(rsa.code == 0);
        const auto no = run_b2m(s, "rsa --compare pearson -x.npy X.npy");
        CHECK(no.code == 2);  // without --: an unknown option
    }

    TEST_CASE("an unusable --out folder is found before any work") {
        scratch s("out");
        write_repeats(s, 60, 60);
        std::ofstream(s / "blocker") << "a file, not a folder";
        for (const char* cmd : {"train", "compare"}) {
            CAPTURE(cmd);
            // The stimuli file does not exist: the --out problem must be reported first.
            const auto r = run_b2m(s, std::string(cmd) + " --stimuli missing.npy --labels y.npy --brain B.npy --out blocker/sub");
            CHECK(r.code == 1);
            CHECK(lines(r.err) == 1);
            CHECK(r.err.find("--out blocker/sub") != std::string::npos);
            CHECK(r.out.find("trained") == std::string::npos);
        }
        if (::geteuid() != 0) {  // root may write anywhere
            fs::create_directories(s / "locked");
            fs::permissions(s / "locked", fs::perms::owner_read | fs::perms::owner_exec);
            const auto r = run_b2m(s, "train --stimuli X.npy --labels y.npy --out locked");
            CHECK(r.code == 1);
            CHECK(r.err.find("not writable") != std::string::npos);
            fs::permissions(s / "locked", fs::perms::owner_all);
        }
    }

    TEST_CASE("progress goes to stderr, only when asked (stderr here is a file)") {
        scratch s("progress");
        write_repeats(s, 60, 60);
        const auto plain = run_b2m(s, "train --stimuli X.npy --labels y.npy --epochs 3 --out a");
        REQUIRE(plain.code == 0);
        CHECK(plain.err.find("epoch") == std::string::npos);
        CHECK(plain.out.find("epoch 1/3") == std::string::npos);
        const auto asked = run_b2m(s, "train --stimuli X.npy --labels y.npy --epochs 3 --progress --out b");
        REQUIRE(asked.code == 0);
        CHECK(asked.err.find("epoch 3/3") != std::string::npos);
        CHECK(asked.out.find("epoch 3/3") == std::string::npos);
    }

    TEST_CASE("uint8 stimuli are divided by 255 with a note - values in the hundreds get a warning") {
        scratch s("scale");
        write_repeats(s, 60, 60);
        const auto x = brain::load_npy<double, 2>(s / "X.npy");
        xt::xtensor<std::uint8_t, 2> pixels = xt::cast<std::uint8_t>(xt::clip((x + 3.0) * 40.0, 0.0, 255.0));
        brain::save_npy(s / "pixels.npy", pixels);
        const auto u = run_b2m(s, "train --stimuli pixels.npy --labels y.npy --epochs 2 --quiet --out u");
        CAPTURE(u.err);
        REQUIRE(u.code == 0);
        CHECK(u.err.find("uint8") != std::string::npos);
        CHECK(u.err.find("divided by 255") != std::string::npos);
        brain::save_npy(s / "big.npy", matrix<float>(xt::cast<float>(x * 300.0)));
        const auto w = run_b2m(s, "train --stimuli big.npy --labels y.npy --epochs 2 --quiet --out w");
        REQUIRE(w.code == 0);
        CHECK(w.err.find("warning: --stimuli big.npy has values up to") != std::string::npos);
        const auto ok = run_b2m(s, "train --stimuli X.npy --labels y.npy --epochs 2 --quiet --out ok");
        CHECK(ok.err.empty());
    }

    TEST_CASE("report.json through nlohmann-json: doubles read back bit for bit - train and compare share defaults") {
        scratch s("json");
        write_repeats(s, 60, 60);
        const std::string lr = "0.0012345678901234567", tau = "0.7000000000000001";
        const auto r = run_b2m(s, "train --stimuli X.npy --labels y.npy --brain B.npy --lr " + lr + " --tau " + tau + " --quiet --out t");
        CAPTURE(r.err);
        REQUIRE(r.code == 0);
        const auto j = nlohmann::json::parse(read_text(s / "t/report.json"));
        CHECK(j["training"]["lr"].get<double>() == std::strtod(lr.c_str(), nullptr));
        CHECK(j["objective"]["tau"].get<double>() == std::strtod(tau.c_str(), nullptr));
        CHECK(j["final"].contains("best_held_out_accuracy") == false);  // no selection on held-out data
        // compare with its defaults runs the same number of epochs and the same weight as train
        const auto c = run_b2m(s, "compare --stimuli X.npy --labels y.npy --brain B.npy --seeds 1 --out c");
        CAPTURE(c.err);
        REQUIRE(c.code == 0);
        const auto cj = nlohmann::json::parse(read_text(s / "c/compare.json"));
        CHECK(cj["epochs"].get<double>() == j["training"]["epochs_planned"].get<double>());
        const std::string name = cj["brain_taught"]["name"].get<std::string>();  // "brain-taught (CE + W x contrastive)"
        REQUIRE(name.find("CE + ") != std::string::npos);
        CHECK(std::strtod(name.c_str() + name.find("CE + ") + 5, nullptr) == j["objective"]["weight"].get<double>());
    }

    TEST_CASE("compare: one seed and an unreachable target say what cannot be computed - curves.csv is RFC 4180") {
        scratch s("table");
        write_repeats(s, 60, 60);
        const auto r = run_b2m(s, "compare --stimuli X.npy --labels y.npy --brain B.npy --seeds 1 --epochs 3 --target 1 --out c");
        CAPTURE(r.err);
        REQUIRE(r.code == 0);
        const std::string md = read_text(s / "c/compare.md");
        for (const std::string* t : {&r.out, &md}) {
            CHECK(t->find("nan") == std::string::npos);
            CHECK(t->find("no interval") != std::string::npos);
            CHECK(t->find("cannot be computed") != std::string::npos);
            CHECK(t->find("never (0 of 1 seeds)") != std::string::npos);
        }
        const auto rows = parse_csv(read_text(s / "c/curves.csv"));
        REQUIRE(rows.size() == 1 + 2 * 1 * 3);  // header + 2 conditions x 1 seed x 3 epochs
        CHECK(rows[0] == std::vector<std::string>{"condition", "seed", "epoch", "held_out_accuracy", "train_loss"});
        std::set<std::string> conditions;
        for (const auto& row : rows) {
            CHECK(row.size() == rows[0].size());
            conditions.insert(row[0]);
        }
        CHECK(conditions.size() == 3);  // the header and both conditions (names hold commas/parentheses)
        // Two seeds and a reachable target: epochs are given with their observed range, never below 1.
        const auto two = run_b2m(s, "compare --stimuli X.npy --labels y.npy --brain B.npy --seeds 2 --epochs 3 --target 0.01 --out d");
        REQUIRE(two.code == 0);
        CHECK(two.out.find("| 1.0, range 1-1 (2 of 2 seeds) |") != std::string::npos);
        for (const char* row : {"| brain-taught", "| baseline"}) {  // per-condition rows: no negative bounds
            const auto at = two.out.find(row);
            REQUIRE(at != std::string::npos);
            CHECK(two.out.substr(at, two.out.find('\n', at) - at).find("[-") == std::string::npos);
        }
    }

    TEST_CASE("split by stimulus: repeats never separated, split.npy written and accepted back, leaks refused") {
        scratch s("split");
        write_repeats(s, 90, 30);  // 30 stimuli x 3 repeats
        const auto ids = brain::load_npy<double, 1>(s / "ids.npy");
        for (std::uint64_t seed : {0, 1, 2, 3}) {
            CAPTURE(seed);
            const std::string out = "s" + std::to_string(seed);
            const auto r = run_b2m(s, "train --stimuli X.npy --labels y.npy --brain B.npy --stimulus-ids ids.npy --epochs 2 --quiet --split-seed " +
                                          std::to_string(seed) + " --out " + out);
            CAPTURE(r.err);
            REQUIRE(r.code == 0);
            const auto sp = read_split(s / (out + "/split.npy"));
            REQUIRE(sp.size() == 90);
            std::map<double, std::set<std::int64_t>> sides;
            std::size_t held = 0;
            for (std::size_t i = 0; i < 90; ++i) sides[ids(i)].insert(sp[i]), held += sp[i] == 1;
            for (const auto& [id, side] : sides) CHECK_MESSAGE(side.size() == 1, "stimulus " << id << " on both sides");
            CHECK(held == 18);  // 20% of 90 trials = 6 whole stimuli
            const auto j = nlohmann::json::parse(read_text(s / (out + "/report.json")));
            CHECK(j["split"]["held_out_trials"].get<int>() == 18);
            CHECK(j["split"]["method"].get<std::string>().find("by stimulus") != std::string::npos);
        }
        // The row-wise default split does separate repeats here (what --stimulus-ids prevents).
        REQUIRE(run_b2m(s, "train --stimuli X.npy --labels y.npy --epochs 2 --quiet --out rows").code == 0);
        const auto rows = read_split(s / "rows/split.npy");
        std::map<double, std::set<std::int64_t>> sides;
        for (std::size_t i = 0; i < 90; ++i) sides[ids(i)].insert(rows[i]);
        std::size_t split_stimuli = 0;
        for (const auto& e : sides) split_stimuli += e.second.size() == 2;
        CHECK(split_stimuli > 0);
        // split.npy passed back gives the same split and the same log.
        const auto back = run_b2m(s, "train --stimuli X.npy --labels y.npy --brain B.npy --stimulus-ids ids.npy --epochs 2 --quiet --split s1/split.npy --out back");
        CAPTURE(back.err);
        REQUIRE(back.code == 0);
        CHECK(read_split(s / "back/split.npy") == read_split(s / "s1/split.npy"));
        // A given split that separates a stimulus's repeats is refused, naming the stimulus.
        const auto leak = run_b2m(s, "train --stimuli X.npy --labels y.npy --stimulus-ids ids.npy --epochs 2 --quiet --split rows/split.npy --out leak");
        CHECK(leak.code == 1);
        CHECK(lines(leak.err) == 1);
        CHECK(leak.err.find("--split rows/split.npy: stimulus ") != std::string::npos);
        CHECK(leak.err.find("both sides") != std::string::npos);
        // --test-rows: exactly those rows held out.
        brain::save_npy(s / "test_rows.npy", xt::xtensor<std::int64_t, 1>{0, 30, 60, 5, 35, 65});
        const auto tr = run_b2m(s, "train --stimuli X.npy --labels y.npy --stimulus-ids ids.npy --epochs 2 --quiet --test-rows test_rows.npy --out tr");
        CAPTURE(tr.err);
        REQUIRE(tr.code == 0);
        const auto t = read_split(s / "tr/split.npy");
        for (std::size_t i = 0; i < 90; ++i) CHECK(t[i] == ((i % 30 == 0 || i % 30 == 5) ? 1 : 0));
        // Conflicting options are usage errors.
        CHECK(run_b2m(s, "train --stimuli X.npy --labels y.npy --split rows/split.npy --val-fraction 0.3 --out c1").code == 2);
        CHECK(run_b2m(s, "train --stimuli X.npy --labels y.npy --split rows/split.npy --test-rows test_rows.npy --out c2").code == 2);
    }

    TEST_CASE("string labels map to classes (label_names.json) - MATLAB v5/v7.3 and big-endian inputs") {
        scratch s("formats");
        const std::string fx = std::string(B2M_TEST_DIR) + "/fixtures/formats/";
        const auto r = run_b2m(s, "train --stimuli '" + fx + "resp_be_f8.npy' --labels '" + fx + "names_U.npy' --epochs 2 --quiet --out u");
        CAPTURE(r.err);
        REQUIRE(r.code == 0);
        const auto names = nlohmann::json::parse(read_text(s / "u/label_names.json"));
        // sorted distinct labels: "Gesicht é", "car", "face", "house" (byte order)
        CHECK(names["0"].get<std::string>() == "Gesicht \u00e9");
        CHECK(names["3"].get<std::string>() == "house");
        CHECK(nlohmann::json::parse(read_text(s / "u/report.json"))["data"]["classes"].get<int>() == 4);
#if defined(B2M_CLI_HAS_NPZ)
        const auto z = run_b2m(s, "train --stimuli '" + fx + "bundle.npz:responses' --labels '" + fx + "bundle.npz:names' --epochs 2 --quiet --out z");
        CAPTURE(z.err);
        REQUIRE(z.code == 0);
        CHECK(read_text(s / "z/label_names.json") == read_text(s / "u/label_names.json"));
        const auto nz = run_b2m(s, "train --stimuli '" + fx + "bundle.npz:nope' --labels y.npy --out nz");
        CHECK(nz.code == 1);
        CHECK(nz.err.find("bundle.npz:nope: no array of that name in the archive (it holds: responses, labels, names)") != std::string::npos);
#endif
#if defined(B2M_HAVE_MATIO)
        const auto m5 = run_b2m(s, "train --stimuli '" + fx + "v5.mat:resp' --labels '" + fx + "v5.mat:names' --epochs 2 --quiet --out m5");
        CAPTURE(m5.err);
        REQUIRE(m5.code == 0);
        CHECK(read_text(s / "m5/label_names.json") == read_text(s / "u/label_names.json"));
        const auto m73 = run_b2m(s, "train --stimuli '" + fx + "v73.mat:resp' --labels '" + fx + "names_S.npy' --classes 3 --epochs 2 --quiet --out m73");
        CAPTURE(m73.err);
        REQUIRE(m73.code == 0);
        const auto img = run_b2m(s, "train --stimuli '" + fx + "v5.mat:img' --labels '" + fx + "v5.mat:flags' --epochs 2 --quiet --out img");
        CAPTURE(img.err);
        REQUIRE(img.code == 0);
        CHECK(img.err.find("divided by 255") != std::string::npos);  // uint8 in the .mat too
        const auto missing = run_b2m(s, "train --stimuli '" + fx + "v5.mat:nope' --labels '" + fx + "names_U.npy' --out x");
        CHECK(missing.code == 1);
        CHECK(lines(missing.err) == 1);
        CHECK(missing.err.find("--stimuli " + fx + "v5.mat:nope: variable not found") != std::string::npos);
#endif
    }
}
#endif

// tests/test_cli_reliability.cpp - TEST_SUITE("cli"): the b2m program's defects found by
// probing (issue #16), each run as a separate process on files written here. Bad input
// must exit 1 or 2 with one line naming the file and the cause (never a signal, never a
// silent wrong answer); `b2m train` writes periodic atomic checkpoints and resumes.
#include <doctest/doctest.h>

#include "cli_run.hpp"

#include <b2m/brain/npy.hpp>
#include <b2m/core/rng.hpp>
#include <b2m/train/checkpoint.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>

using namespace b2m;
namespace fs = std::filesystem;

#ifdef B2M_CLI_PATH
namespace {

using b2m_test::process_result;
using b2m_test::read_text;
using b2m_test::run_b2m;
using b2m_test::scratch;
using result = b2m_test::process_result;

/// Two separable classes: stimuli (n, 6) float, labels 0/1.
void write_task(const scratch& s, std::size_t n = 48) {
    rng r(5);
    matrix<float> x = matrix<float>::from_shape({n, 6});
    xt::xtensor<std::int64_t, 1> y = xt::xtensor<std::int64_t, 1>::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) {
        y(i) = std::int64_t(i % 2);
        for (std::size_t j = 0; j < 6; ++j) x(i, j) = float(r.normal() + (j == 0 ? 2.0 * double(y(i)) : 0.0));
    }
    brain::save_npy(s / "x.npy", x);
    brain::save_npy(s / "y.npy", y);
}

/// The entries of a checkpoint file, name -> raw bytes (format: train/checkpoint.hpp).
std::map<std::string, std::string> checkpoint_entries(const std::string& path) {
    const std::string d = read_text(path);
    std::map<std::string, std::string> out;
    std::size_t pos = 8;
    while (pos + 8 < d.size()) {
        const auto kind = std::uint8_t(d[pos]);
        std::uint32_t len;
        std::memcpy(&len, d.data() + pos + 1, 4);
        const std::string name = d.substr(pos + 5, len);
        pos += 5 + len;
        std::size_t bytes = 8;
        if (kind == 1) {
            std::uint64_t h[3];
            std::memcpy(h, d.data() + pos, 24);
            bytes = 24 + h[0] * h[1] * h[2];
        }
        out[name] = d.substr(pos, bytes);
        pos += bytes;
    }
    return out;
}

/// One line on stderr containing every `needles`, exit code 1 or 2.
void check_clear_error(const result& r, std::initializer_list<const char*> needles) {
    INFO("stderr: " << r.err);
    CHECK((r.code == 1 || r.code == 2));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    for (const char* n : needles) CHECK(r.err.find(n) != std::string::npos);
}

} // namespace

TEST_SUITE("cli") {

// Before: -1e20 was cast to int64 (undefined behaviour; UBSan stops there), 2^64 printed as
// "9000000000000000000" and 1e300 as 301 digits.
TEST_CASE("b2m: huge and negative numbers in files are printed sanely, never cast out of range") {
    scratch s("huge");
    write_task(s);
    xt::xtensor<double, 1> y = xt::zeros<double>({48});
    y(7) = -1e20;
    brain::save_npy(s / "neg.npy", y);
    auto r = run_b2m(s, "train --stimuli x.npy --labels neg.npy --out o --quiet");
    check_clear_error(r, {"neg.npy", "index 7", "-1e+20", "negative"});
    y(7) = 18446744073709551616.0;  // 2^64
    brain::save_npy(s / "big.npy", y);
    r = run_b2m(s, "train --stimuli x.npy --labels big.npy --out o --quiet");
    check_clear_error(r, {"big.npy", "index 7", "1.844674407"});  // 2^64 in %g form, not 9000000000000000000
    CHECK(r.err.find("9000000000000000000") == std::string::npos);
    matrix<double> x = xt::ones<double>({48, 6});
    x(3, 2) = 1e300;
    brain::save_npy(s / "x300.npy", x);
    r = run_b2m(s, "train --stimuli x300.npy --labels y.npy --out o --quiet");
    check_clear_error(r, {"x300.npy", "1e+300", "row 3"});
    CHECK(r.err.size() < 300);
}

// Before: strtoull skipped the blank and wrapped " -1" to 2^64-1 while report.json said -1.
TEST_CASE("b2m: --seed ' -1' and other signed or blank-led counts are refused - 2^64-1 is recorded as such") {
    scratch s("seed");
    write_task(s);
    for (const char* bad : {"' -1'", "' 1'", "+1", "-1", "0x10"}) {
        CAPTURE(bad);
        const auto r = run_b2m(s, std::string("train --stimuli x.npy --labels y.npy --out o --quiet --epochs 1 --seed ") + bad);
        check_clear_error(r, {"--seed", "not a whole number"});
    }
    const auto r = run_b2m(s, "train --stimuli x.npy --labels y.npy --out o --quiet --epochs 1 --seed 18446744073709551615");
    REQUIRE(r.code == 0);
    const std::string rep = read_text(s / "o/report.json");
    CHECK(rep.find("\"seed\": 18446744073709551615") != std::string::npos);
    CHECK(rep.find("\"seed\": -1") == std::string::npos);
}

// Before: all-0 labels were refused but all-1 labels trained as "2 classes".
TEST_CASE("b2m train: labels of one class are refused whichever class it is") {
    scratch s("oneclass");
    write_task(s);
    for (double v : {0.0, 1.0, 3.0}) {
        CAPTURE(v);
        brain::save_npy(s / "one.npy", xt::xtensor<double, 1>(xt::ones<double>({48}) * v));
        auto r = run_b2m(s, "train --stimuli x.npy --labels one.npy --out o --quiet");
        check_clear_error(r, {"one.npy", "every label is", "at least 2 classes"});
        r = run_b2m(s, "train --stimuli x.npy --labels one.npy --classes 5 --out o --quiet");
        check_clear_error(r, {"one.npy", "every label is", "at least 2 classes"});
    }
}

// Before: a valid empty array (200, 0) was called truncated.
TEST_CASE("b2m: an empty (200, 0) .npy is named as empty, not as truncated") {
    scratch s("empty");
    write_task(s);
    brain::save_npy(s / "e.npy", matrix<float>::from_shape({48, 0}));
    const auto r = run_b2m(s, "train --stimuli e.npy --labels y.npy --out o --quiet");
    check_clear_error(r, {"e.npy", "empty"});
    CHECK(r.err.find("truncated") == std::string::npos);
}

// Before: b2m train wrote its parameters only at the end (a kill lost everything) and had
// no --resume; a checkpoint's epoch was not checked (2^64-1 wrapped to 0; a value past
// --epochs left an empty report whose .back() the CLI read).
TEST_CASE("b2m train: periodic checkpoints, --resume continues to the same parameters, bad saved epochs refused") {
    scratch s("resume");
    write_task(s);
    const std::string common = "train --stimuli x.npy --labels y.npy --quiet --batch 8 --seed 3 ";
    // Reference: 6 epochs straight.
    auto r = run_b2m(s, common + "--epochs 6 --out full");
    REQUIRE(r.code == 0);
    // 4 epochs with a checkpoint every 2, then resume to 6.
    r = run_b2m(s, common + "--epochs 4 --checkpoint-every 2 --out part");
    REQUIRE(r.code == 0);
    CHECK(train::checkpoint_u64(s / "part/params", "fit.epoch").value_or(0) == 4);
    r = run_b2m(s, common + "--epochs 6 --checkpoint-every 2 --resume --out part");
    INFO(r.err);
    REQUIRE(r.code == 0);
    // The same training state as the uninterrupted run, bit for bit: parameters, optimiser
    // moments, fit and early-stopping state (entries "build.*" record the batch used to size
    // lazily built parts, which differs on a resume and is not training state).
    const auto full = checkpoint_entries(s / "full/params"), part = checkpoint_entries(s / "part/params");
    REQUIRE(full.size() == part.size());
    std::size_t compared = 0;
    for (const auto& [name, bytes] : full) {
        if (name.rfind("build.", 0) == 0) continue;
        CAPTURE(name);
        REQUIRE(part.count(name));
        CHECK(part.at(name) == bytes);
        compared += name.rfind("student.", 0) == 0;
    }
    CHECK(compared >= 4);  // weights and biases of both layers
    const std::string log = read_text(s / "part/log.csv");
    CHECK(std::count(log.begin(), log.end(), '\n') == 7);  // header + epochs 1..6, none twice
    CHECK(read_text(s / "part/report.json").find("\"resumed_after_epoch\": 4") != std::string::npos);

    // Nothing left to train: a clear error, not a crash on an empty report.
    r = run_b2m(s, common + "--epochs 6 --resume --out part");
    check_clear_error(r, {"params", "epoch 6", "--epochs is 6", "nothing left to train"});
    r = run_b2m(s, common + "--epochs 3 --resume --out part");
    check_clear_error(r, {"epoch 6", "--epochs is 3"});

    // A saved epoch of 2^64-1 (checksum intact) must not wrap to 0.
    {
        std::string ck = read_text(s / "part/params");
        const std::string key = "fit.epoch";
        const auto k = ck.find(key);
        REQUIRE(k != std::string::npos);
        const std::uint64_t big = std::numeric_limits<std::uint64_t>::max();
        std::memcpy(ck.data() + k + key.size(), &big, 8);
        const std::uint64_t sum = train::detail::fnv1a(ck.data(), ck.size() - 8);
        std::memcpy(ck.data() + ck.size() - 8, &sum, 8);
        std::ofstream(s / "part/params", std::ios::binary) << ck;
    }
    r = run_b2m(s, common + "--epochs 6 --resume --out part");
    check_clear_error(r, {"epoch 18446744073709551615", "nothing left to train"});
    // A corrupt checkpoint is named.
    std::ofstream(s / "part/params", std::ios::binary) << "B2MCKPT1 garbage garbage";
    r = run_b2m(s, common + "--epochs 6 --resume --out part");
    check_clear_error(r, {"--resume", "params", "checksum"});
}

// Before: constant patterns gave "spearman = 0.0000" with CI [0, 0].
TEST_CASE("b2m rsa: constant patterns and constant RDMs are refused with the file named, not scored 0") {
    scratch s("rsa");
    rng r(2);
    matrix<double> p = matrix<double>::from_shape({10, 5});
    for (auto& v : p) v = r.normal();
    brain::save_npy(s / "p.npy", p);
    brain::save_npy(s / "flat.npy", matrix<double>(xt::ones<double>({10, 5})));
    auto res = run_b2m(s, "rsa flat.npy p.npy");
    check_clear_error(res, {"flat.npy", "constant", "undefined"});
    res = run_b2m(s, "rsa p.npy flat.npy --metric cosine");  // all patterns equal: a constant RDM
    check_clear_error(res, {"RDM B (flat.npy)", "is constant", "undefined"});
    CHECK(res.out.find("0.0000") == std::string::npos);
}

}  // TEST_SUITE
#endif

// Data handling of the real-data studies (examples/study_common.hpp) and the stimulus
// identity of brain/stimulus_ids.hpp: repeats come from the images, never from folder
// names; sessions come from listing the folder; the report's checksums are SHA-256.
#include <doctest/doctest.h>

#include <b2m/brain/npy.hpp>
#include <b2m/brain/stimulus_ids.hpp>
#include <b2m/core/rng.hpp>

#include <unistd.h>

#include <filesystem>
#include <random>

#include "../examples/study_common.hpp"

using namespace b2m;
namespace fs = std::filesystem;

namespace {

/// Brute-force oracle: id of row i = index of the first row equal to it.
std::vector<std::int64_t> first_equal_row(const matrix<float>& x) {
    std::vector<std::int64_t> ids(x.shape(0));
    for (std::size_t i = 0; i < x.shape(0); ++i) {
        ids[i] = std::int64_t(i);
        for (std::size_t j = 0; j < i; ++j) {
            bool eq = true;
            for (std::size_t k = 0; k < x.shape(1); ++k) eq = eq && x(i, k) == x(j, k);
            if (eq) {
                ids[i] = std::int64_t(j);
                break;
            }
        }
    }
    return ids;
}

/// A temporary folder with v4-style sessions: <root>/v4/<name>/{images,responses}.npy.
struct fake_v4 {
    fs::path root = fs::temp_directory_path() / ("b2m_study_data_" + std::to_string(::getpid()));
    fake_v4() { fs::remove_all(root); }
    ~fake_v4() { fs::remove_all(root); }
    /// n distinct 2x2 RGB images (the row index is written into the first two pixels),
    /// then rows `copy_to` get the pixels of rows `copy_from`.
    void add(const std::string& name, std::size_t n, const std::vector<std::pair<std::size_t, std::size_t>>& copies = {}) {
        const fs::path d = root / "v4" / name;
        fs::create_directories(d);
        xt::xtensor<std::uint8_t, 4> img = xt::zeros<std::uint8_t>({n, std::size_t(2), std::size_t(2), std::size_t(3)});
        std::mt19937 g(7);
        for (std::size_t i = 0; i < n; ++i) {
            img(i, 0, 0, 0) = std::uint8_t(i % 256);
            img(i, 0, 0, 1) = std::uint8_t(i / 256);
            for (std::size_t c = 2; c < 12; ++c) img(i, c / 6, (c / 3) % 2, c % 3) = std::uint8_t(g() % 256);
        }
        for (auto [from, to] : copies)
            for (std::size_t h = 0; h < 2; ++h)
                for (std::size_t w = 0; w < 2; ++w)
                    for (std::size_t c = 0; c < 3; ++c) img(to, h, w, c) = img(from, h, w, c);
        xt::xtensor<float, 2> resp = xt::zeros<float>({n, std::size_t(2)});
        for (std::size_t i = 0; i < n; ++i) resp(i, 0) = float(i), resp(i, 1) = 1.0f;
        brain::save_npy((d / "images.npy").string(), img);
        brain::save_npy((d / "responses.npy").string(), resp);
    }
};

} // namespace

TEST_CASE("identical_row_ids matches a brute-force oracle on rows with many repeats") {
    // 300 rows of 4 values from {0, 1, 2}: 81 possible rows, so most rows repeat.
    rng r(5);
    matrix<float> x = matrix<float>::from_shape({300, 4});
    for (auto& v : x) v = float(r.below(3));
    const auto ids = brain::identical_row_ids(x);
    CHECK(ids == first_equal_row(x));
    std::size_t repeated = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) repeated += ids[i] != std::int64_t(i);
    CHECK(repeated > 200);  // the draw really has repeats (at most 81 distinct rows)
}

TEST_CASE("identical_row_ids gives every distinct row its own index and folds -0 onto +0") {
    matrix<float> x = {{0.f, 1.f}, {-0.f, 1.f}, {0.f, 1.0000001f}, {2.f, 3.f}};
    const auto ids = brain::identical_row_ids(x);
    CHECK(ids == std::vector<std::int64_t>{0, 0, 2, 3});
    matrix<float> bad = {{0.f, 1.f}, {NAN, 1.f}};
    CHECK_THROWS_AS(brain::identical_row_ids(bad), data_error);
}

TEST_CASE("near_copies finds exactly the pairs below the threshold") {
    rng r(9);
    const std::size_t n = 40, m = 50, d = 96;
    matrix<float> a = matrix<float>::from_shape({n, d}), b = matrix<float>::from_shape({m, d});
    for (auto& v : a) v = float(r.below(256));
    for (auto& v : b) v = float(r.below(256));
    // planted: b3 = a5 + 0.9 everywhere (mad 0.9, kept), b7 = a11 + 1.1 (mad 1.1, not),
    // b20 = a0 exactly, b21 = a2 with one value changed by 90 (mad 90/96 = 0.94, kept)
    for (std::size_t k = 0; k < d; ++k) b(3, k) = a(5, k) + 0.9f, b(7, k) = a(11, k) + 1.1f, b(20, k) = a(0, k), b(21, k) = a(2, k);
    b(21, 17) += 90.f;
    const auto got = brain::near_copies(a, b, 1.0);
    std::vector<std::pair<std::size_t, std::size_t>> want;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < m; ++j) {
            double s = 0;
            for (std::size_t k = 0; k < d; ++k) s += std::abs(double(a(i, k)) - double(b(j, k)));
            if (s / double(d) < 1.0) want.emplace_back(i, j);
        }
    CHECK(got == want);
    CHECK(want == std::vector<std::pair<std::size_t, std::size_t>>{{0, 20}, {2, 21}, {5, 3}});
    CHECK_THROWS_AS(brain::near_copies(a, matrix<float>::from_shape({2, d + 1}), 1.0), shape_error);
}

TEST_CASE("load_v4 takes repeats from the pixels and not from the session name") {
    fake_v4 data;
    // Named like the sessions whose repeats used to be hard-coded, but holding other images:
    // "190925" with 1000 distinct images (the old rule paired rows 900.. with 0..), "210621"
    // with 700 distinct images (the old rule paired 535 with 100 and 696 with 424), and a new
    // session whose row 7 repeats row 2 (the old rule knew no repeats there).
    data.add("190925", 1000);
    data.add("210621", 700);
    data.add("230101", 12, {{2, 7}});
    const std::string root = data.root.string();
    for (const char* name : {"190925", "210621"}) {
        const auto s = study::load_v4(root, name);
        std::vector<std::int64_t> iota(s.ids.size());
        std::iota(iota.begin(), iota.end(), std::int64_t(0));
        CHECK_MESSAGE(s.ids == iota, name);
        CHECK(s.repeated_rows == 0);
    }
    const auto s = study::load_v4(root, "230101");
    CHECK(s.ids[7] == 2);
    CHECK(s.repeated_rows == 1);
    for (std::size_t i = 0; i < s.ids.size(); ++i)
        if (i != 7) CHECK(s.ids[i] == std::int64_t(i));
    // the record names every file read, with its size and SHA-256
    const auto md = study::data_section(root);
    CHECK(md.find("v4/230101/images.npy") != std::string::npos);
    CHECK(md.find(std::to_string(fs::file_size(data.root / "v4/230101/images.npy"))) != std::string::npos);
}

TEST_CASE("sessions are found by listing the folder and requested ones must exist") {
    fake_v4 data;
    data.add("b_second", 3);
    data.add("a_first", 3);
    data.add("c_third", 3);
    fs::create_directories(data.root / "v4" / "not_a_session");  // no responses.npy
    const std::string dir = (data.root / "v4").string();
    CHECK(study::list_sessions(dir, "responses.npy") == std::vector<std::string>{"a_first", "b_second", "c_third"});
    CHECK(study::resolve_sessions({}, dir, "responses.npy") == std::vector<std::string>{"a_first", "b_second", "c_third"});
    CHECK(study::resolve_sessions({"c_third", "a_first"}, dir, "responses.npy") ==
          std::vector<std::string>{"c_third", "a_first"});
    CHECK_THROWS_AS(study::resolve_sessions({"a_first", "missing"}, dir, "responses.npy"), data_error);
    CHECK(study::resolve_sessions({}, (data.root / "absent").string(), "responses.npy").empty());
    CHECK(study::split_list("a,,b,c") == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("sha256 matches the FIPS 180-4 test vectors") {
    CHECK(study::sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(study::sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // two blocks (56 bytes: the length no longer fits the first block)
    CHECK(study::sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(study::sha256(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("study intervals stay inside the range of the quantity") {
    // accuracies 0.6 .. 1.0 over 4 seeds: the unclipped t interval is [0.574, 1.176]
    // (numpy: mean 0.875, sd 0.1893, t(0.975, 3) = 3.1824)
    const std::vector<double> acc{1.0, 1.0, 0.6, 0.9};
    const auto s = report::summarize(acc);
    REQUIRE(s.mean + s.ci95 > 1.0);
    const std::string c = study::ci01(acc);
    CHECK(c == "0.875 [0.574, 1.000]");
    // a paired difference of accuracies is clipped to [-1, 1]
    const std::vector<double> a{1.0, 1.0, 0.2, 1.0}, b{0.0, 0.1, 0.0, 0.1};
    REQUIRE(report::compare_paired(a, b).difference.high() > 1.0);
    CHECK(study::paired(a, b, 1.0).find(", +1.000], d_z") != std::string::npos);
    // every difference equal: d_z is undefined and says so (it used to print a huge number or nan)
    CHECK(study::paired({0.5, 0.6, 0.7}, {0.4, 0.5, 0.6}, 1.0).find("d_z undefined") != std::string::npos);
}

// TEST_SUITE("formats"): the array readers of b2m/io against files written by numpy,
// scipy.io.savemat (MATLAB v5) and h5py (MATLAB v7.3), committed in
// tests/fixtures/formats/ with their generator make_format_fixtures.py. Expected values
// are plain little-endian float64 .npy files (read by brain/npy.hpp, not by the readers
// under test) and UTF-8 text. Also: corrupt and oversized files give one error naming
// the file (and variable) and the problem, before any large allocation.
#include <doctest/doctest.h>

#include <b2m/brain/npy.hpp>
#include <b2m/io/array_file.hpp>
#if defined(B2M_HAVE_MATIO)
#include <b2m/io/mat.hpp>
#endif
#if defined(B2M_WITH_IO)
#include <b2m/io/zip.hpp>
#endif

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace b2m;

namespace {
std::string fx(const std::string& name) { return std::string(B2M_TEST_DIR) + "/fixtures/formats/" + name; }

std::vector<double> expect(const std::string& name) {
    const auto t = brain::load_npy<double, 2>(fx(name));
    return {t.begin(), t.end()};
}
std::vector<double> expect1(const std::string& name) {
    const auto t = brain::load_npy<double, 1>(fx(name));
    return {t.begin(), t.end()};
}
std::vector<std::string> expect_text(const std::string& name) {
    std::ifstream in(fx(name));
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}
std::string message_of(auto&& f) {
    try {
        f();
    } catch (const b2m::error& e) {
        return e.what();
    }
    return "";
}
std::string scratch_file(const std::string& name, const std::string& bytes) {
    const auto p = std::filesystem::temp_directory_path() / ("b2m_formats_" + std::to_string(::getpid()) + "_" + name);
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
}
} // namespace

TEST_SUITE("formats") {
    TEST_CASE(".npy big-endian float64 (C and Fortran order) equals numpy's values") {
        const auto want = expect("expect_resp.npy");
        for (const char* f : {"resp_be_f8.npy", "resp_be_f8_fortran.npy"}) {
            CAPTURE(f);
            const auto a = io::read_npy_any(fx(f));
            CHECK(a.dtype == ">f8");
            REQUIRE(a.shape == std::vector<std::size_t>{6, 4});
            REQUIRE(a.values.size() == want.size());
            for (std::size_t i = 0; i < want.size(); ++i) CHECK(a.values[i] == want[i]);  // bit for bit
        }
    }

    TEST_CASE(".npy big-endian int16 and int64 read with their negative values") {
        const auto ints = expect1("expect_ints.npy");
        for (const char* f : {"ints_be_i2.npy", "ints_be_i8.npy"}) {
            CAPTURE(f);
            const auto a = io::read_npy_any(fx(f));
            REQUIRE(a.values.size() == ints.size());
            for (std::size_t i = 0; i < ints.size(); ++i) CHECK(a.values[i] == ints[i]);
        }
    }

    TEST_CASE(".npy float16 converts to double exactly") {
        const auto half = expect("expect_resp_f2.npy");
        const auto h = io::read_npy_any(fx("resp_f2.npy"));
        CHECK(h.dtype == "<f2");
        REQUIRE(h.values.size() == half.size());
        for (std::size_t i = 0; i < half.size(); ++i) CHECK(h.values[i] == half[i]);  // float16 -> double is exact
    }

    TEST_CASE(".npy strings: <U (UTF-32, non-ASCII) and |S") {
        const auto a = io::read_npy_any(fx("names_U.npy"));
        CHECK(a.is_text());
        CHECK(a.text == expect_text("expect_names.txt"));
        const auto s = io::read_npy_any(fx("names_S.npy"));
        CHECK(s.text == std::vector<std::string>{"b", "a", "b", "c", "a", "a"});
    }

    TEST_CASE(".npy uint8 images keep their shape and values") {
        const auto a = io::read_npy_any(fx("img_u1.npy"));
        CHECK(a.shape == std::vector<std::size_t>{3, 2, 2, 3});
        CHECK(a.values == expect("expect_img.npy"));
    }

    TEST_CASE("an .npy held in memory parses the same as the file") {
        std::ifstream in(fx("resp_be_f8.npy"), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        const auto m = io::parse_npy_any(ss.str(), "bundle.npz:responses");
        CHECK(m.values == expect("expect_resp.npy"));
    }

    TEST_CASE("bad .npy: one error naming the file and the problem, sizes checked before allocating") {
        const std::string missing = fx("no_such_file.npy");
        CHECK(message_of([&] { io::read_npy_any(missing); }).find(missing) == 0);
        // A header declaring 2^40 x 2^20 doubles in a 100-byte file: refused before allocating.
        std::string h = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1048576), }";
        h.resize(118, ' ');
        h += '\n';
        std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + char(h.size() & 0xff) + char(h.size() >> 8) + h + std::string(8, '\0');
        const auto big = scratch_file("huge.npy", bytes);
        const std::string m = message_of([&] { io::read_npy_any(big); });
        CHECK(m.find(big + ": truncated .npy") == 0);
        CHECK(m.find("(1099511627776, 1048576)") != std::string::npos);
        std::string c = "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }";
        c.resize(118, ' ');
        c += '\n';
        const auto cplx = scratch_file("complex.npy", std::string("\x93NUMPY\x01\x00", 8) + char(c.size()) + char(0) + c + std::string(16, '\0'));
        CHECK(message_of([&] { io::read_npy_any(cplx); }).find(cplx + ": unsupported .npy dtype '<c16' (complex") == 0);
        const auto junk = scratch_file("junk.npy", "hello, not numpy");
        CHECK(message_of([&] { io::read_npy_any(junk); }).find(junk + ": not a .npy file") == 0);
        for (const auto& p : {big, cplx, junk}) std::filesystem::remove(p);
    }

#if defined(B2M_WITH_IO)
    TEST_CASE(".npz (numpy.savez) members, strings included, through the zip reader and parse_npy_any") {
        io::zip_reader z(fx("bundle.npz"));
        CHECK(io::parse_npy_any(z.read("responses.npy"), "bundle.npz:responses").values == expect("expect_resp.npy"));
        CHECK(io::parse_npy_any(z.read("labels.npy"), "bundle.npz:labels").values == expect1("expect_ints.npy"));
        CHECK(io::parse_npy_any(z.read("names.npy"), "bundle.npz:names").text == expect_text("expect_names.txt"));
    }
#endif

#if defined(B2M_HAVE_MATIO)
    TEST_CASE("MATLAB v5 (scipy.io.savemat, compressed): double, int16, logical, cellstr, 4-D uint8, row vector") {
        const std::string f = fx("v5.mat");
        const auto r = io::read_mat_variable(f, "resp");
        CHECK(r.shape == std::vector<std::size_t>{6, 4});
        CHECK(r.values == expect("expect_resp.npy"));
        const auto i = io::read_mat_variable(f, "ints");
        CHECK(i.shape == std::vector<std::size_t>{6});  // MATLAB 1 x 6 -> (6,)
        CHECK(i.values == expect1("expect_ints.npy"));
        CHECK(io::read_mat_variable(f, "flags").values == std::vector<double>{1, 0, 1});
        const auto n = io::read_mat_variable(f, "names");
        CHECK(n.text == expect_text("expect_names.txt"));
        const auto img = io::read_mat_variable(f, "img");
        CHECK(img.shape == std::vector<std::size_t>{3, 2, 2, 3});
        CHECK(img.dtype == "uint8");
        CHECK(img.values == expect("expect_img.npy"));
        const auto row = io::read_mat_variable(f, "single_row");
        const auto want = expect("expect_resp.npy");
        REQUIRE(row.values.size() == 4);
        for (std::size_t k = 0; k < 4; ++k) CHECK(row.values[k] == double(float(want[k])));
    }

    TEST_CASE("MATLAB v7.3 (HDF5, written by h5py): double matrix, int32 row, 4-D uint8") {
        const std::string f = fx("v73.mat");
        const auto r = io::read_mat_variable(f, "resp");
        CHECK(r.shape == std::vector<std::size_t>{6, 4});
        CHECK(r.values == expect("expect_resp.npy"));
        CHECK(io::read_mat_variable(f, "ints").values == expect1("expect_ints.npy"));
        const auto img = io::read_mat_variable(f, "img");
        CHECK(img.shape == std::vector<std::size_t>{3, 2, 2, 3});
        CHECK(img.values == expect("expect_img.npy"));
    }

    TEST_CASE("MATLAB errors name the file, the variable and the problem") {
        const std::string f = fx("v5.mat");
        const std::string m = message_of([&] { io::read_mat_variable(f, "respons"); });
        CHECK(m.find(f + ":respons: variable not found") == 0);
        CHECK(m.find("resp") != std::string::npos);  // lists what the file holds
        const auto junk = scratch_file("junk.mat", std::string(300, 'x'));
        CHECK(message_of([&] { io::read_mat_variable(junk, "x"); }).find(junk + ": not a MATLAB .mat file") == 0);
        std::filesystem::remove(junk);
    }

    // Inputs found by fuzz/fuzz_mat.cpp. Before the fixes: a text tag declaring 1.8 GB made
    // matio allocate and clear it (finding 1), a cell of 572M declared cells made it allocate
    // 4.5 GB of pointers (2), a 33M x 0 char matrix became 33M strings (3), a 126-byte file
    // sent matio's v4 reader into a huge memset (4), and char data shorter than its
    // dimensions were read past their end (5, heap-buffer-overflow under ASan).
    TEST_CASE("MATLAB files found by fuzzing are refused with one error naming the file") {
        const std::vector<std::string> expected = {"declares 1811939338 bytes but only", "declares more elements than its",
                                                   "char array of 33947649 rows", "126 bytes, under the 128-byte header",
                                                   "cells{2}: char data holds 2 bytes, fewer than its 2 x 2 characters"};
        for (std::size_t k = 0; k < expected.size(); ++k) {
            const std::string f = fx("fuzz_finding_" + std::to_string(k + 1) + ".mat");
            INFO(f);
            std::string m;
            try {
                for (const auto& name : io::mat_variables(f)) io::read_mat_variable(f, name);
            } catch (const b2m::error& e) {
                m = e.what();
            }
            CHECK(m.find(f) == 0);
            CHECK(m.find(expected[k]) != std::string::npos);
        }
    }

    TEST_CASE("MATLAB v4 files are refused before matio parses them") {
        std::string v4(20, '\0');  // a v4 header: type 0 (double, little-endian), 1 x 1, no imaginary part, name length 2
        v4[4] = 1, v4[8] = 1, v4[16] = 2;
        v4 += std::string("x\0", 2) + std::string(8, '\0');
        v4 += std::string(128 - v4.size(), '\0');
        const auto f = scratch_file("v4.mat", v4);
        CHECK(message_of([&] { io::mat_variables(f); }).find("MATLAB v4 files are not read") != std::string::npos);
        std::filesystem::remove(f);
    }
#endif
}

// Memory-mapped column-block reading and block-wise .npy writing (b2m/brain/npy_mmap.hpp),
// checked against whole-file loads (the independent reader in npy.hpp and numpy's format).
#include <doctest/doctest.h>

#include <b2m/brain/npy.hpp>
#include <b2m/brain/npy_mmap.hpp>
#include <b2m/core/rng.hpp>

#include <xtensor/xview.hpp>

#include <filesystem>
#include <fstream>
#include <string>

using namespace b2m;
using namespace b2m::brain;

namespace {
std::string tmp_path(const std::string& name) {
    const auto d = std::filesystem::temp_directory_path() / ("b2m_npy_mmap_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return (d / name).string();
}
} // namespace

TEST_CASE("npy_mmap reads column blocks of C- and Fortran-order float32/float64 files") {
    rng r(5);
    matrix<double> y = matrix<double>::from_shape({37, 23});
    r.fill_normal(y);
    const auto pc = tmp_path("c.npy"), pf = tmp_path("f.npy"), p32 = tmp_path("c32.npy");
    save_npy(pc, y);
    xt::xtensor<double, 2, xt::layout_type::column_major> yf = y;
    xt::dump_npy(pf, yf);
    matrix<float> y32 = xt::cast<float>(y);
    save_npy(p32, y32);
    for (const auto& p : {pc, pf, p32}) {
        npy_mmap m(p);
        CHECK(m.rows() == 37);
        CHECK(m.cols() == 23);
        matrix<double> block;
        for (std::size_t c0 = 0; c0 < 23; c0 += 5) {
            const std::size_t b = std::min<std::size_t>(5, 23 - c0);
            m.read_columns(c0, b, block);
            for (std::size_t i = 0; i < 37; ++i)
                for (std::size_t j = 0; j < b; ++j) {
                    if (p == p32) CHECK(block(i, j) == doctest::Approx(y(i, c0 + j)).epsilon(1e-6));
                    else CHECK(block(i, j) == y(i, c0 + j));  // float64 read bit for bit
                }
        }
        const std::vector<std::size_t> some = {3, 0, 36};
        matrix<float> fb;
        m.read_columns(20, 3, fb, &some);
        CHECK(fb(1, 2) == doctest::Approx(y(0, 22)).epsilon(1e-6));
        CHECK(fb(2, 0) == doctest::Approx(y(36, 20)).epsilon(1e-6));
        CHECK_THROWS_AS(m.read_columns(21, 3, block), shape_error);
    }
    matrix<int> ints = xt::zeros<int>({2, 2});
    const auto pi = tmp_path("i.npy");
    xt::dump_npy(pi, ints);
    CHECK_THROWS_AS(npy_mmap{pi}, data_error);
    std::filesystem::remove_all(std::filesystem::path(pc).parent_path());
}

TEST_CASE("npy_block_writer writes blocks in any order, publishes atomically, leaves nothing on failure") {
    rng r(6);
    matrix<double> y = matrix<double>::from_shape({4, 9});
    r.fill_normal(y);
    const auto p = tmp_path("out.npy");
    {
        npy_block_writer<float> w(p, {4, 9});
        w.write_columns(5, matrix<double>(xt::view(y, xt::all(), xt::range(5, 9))));
        w.write_columns(0, matrix<double>(xt::view(y, xt::all(), xt::range(0, 5))));
        CHECK_FALSE(std::filesystem::exists(p));
        w.commit();
    }
    const auto back = load_npy<double, 2>(p);
    REQUIRE(back.shape(0) == 4);
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 9; ++j) CHECK(back(i, j) == doctest::Approx(y(i, j)).epsilon(1e-6));
    const auto pv = tmp_path("vec.npy");
    {
        npy_block_writer<double> w(pv, {5});
        w.write_range(0, std::vector<double>{1, 2});
        w.write_range(2, std::vector<double>{3, 4, 5});
        w.commit();
    }
    const auto v = load_npy<double, 1>(pv);
    CHECK(v(4) == 5.0);
    const auto pn = tmp_path("never.npy");
    {
        npy_block_writer<double> w(pn, {3});
        w.write_range(0, std::vector<double>{1});
        CHECK_THROWS_AS(w.commit(), data_error);
    }
    CHECK_FALSE(std::filesystem::exists(pn));
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(p).parent_path()))
        CHECK(e.path().string().find(".tmp.") == std::string::npos);
    std::filesystem::remove_all(std::filesystem::path(p).parent_path());
}

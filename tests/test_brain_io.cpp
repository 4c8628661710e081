// .npy / CSV I/O, dataset validation and splits, preprocessing; bad input gives clear errors.
#include <doctest/doctest.h>

#include <b2m/brain/dataset.hpp>
#include <b2m/brain/delays.hpp>
#include <b2m/brain/npy.hpp>
#include <b2m/brain/pca.hpp>
#include <b2m/brain/repeats.hpp>
#include <b2m/brain/zscore.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

using namespace b2m;
using namespace b2m::brain;

namespace {
std::string tmp(const std::string& name) {
    const auto d = std::filesystem::temp_directory_path() / ("b2m_brain_io_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return (d / name).string();
}
/// Writes a .npy by hand: header dict text, version, raw payload.
void write_npy(const std::string& path, const std::string& dict, const std::string& payload, int version = 1) {
    std::string h = dict;
    const std::size_t pre = version == 1 ? 10 : 12;
    while ((pre + h.size() + 1) % 64) h += ' ';
    h += '\n';
    std::ofstream f(path, std::ios::binary);
    f.write("\x93NUMPY", 6);
    f.put(char(version));
    f.put(0);
    if (version == 1) {
        f.put(char(h.size() & 0xff));
        f.put(char(h.size() >> 8));
    } else {
        for (int k = 0; k < 4; ++k) f.put(char((h.size() >> (8 * k)) & 0xff));
    }
    f << h << payload;
}
template <class S>
std::string bytes(std::initializer_list<S> v) {
    std::string s;
    for (S x : v) s.append(reinterpret_cast<const char*>(&x), sizeof(S));
    return s;
}
auto load_f1(const std::string& p) { return load_npy<float, 1>(p); }
auto load_f2(const std::string& p) { return load_npy<float, 2>(p); }
template <class F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const b2m::error& e) {
        return e.what();
    }
    return "no exception";
}
} // namespace

TEST_CASE_TEMPLATE("save_npy then load_npy gives back the same matrix", T, float, double) {
    matrix<T> a = {{T(1.5), T(-2), T(3)}, {T(4), T(5), T(6.25)}};
    save_npy(tmp("a.npy"), a);
    const auto b = load_npy<T, 2>(tmp("a.npy"));
    CHECK(b == a);
    CHECK(!std::filesystem::exists(tmp("a.npy") + ".tmp." + std::to_string(::getpid())));  // written atomically
}

TEST_CASE("load_npy reads a float32 file as double") {
    matrix<float> a = {{1.5f, -2.f, 3.f}, {4.f, 5.f, 6.25f}};
    save_npy(tmp("a.npy"), a);
    const auto c = load_npy<double, 2>(tmp("a.npy"));
    CHECK(c(1, 2) == 6.25);
}

namespace {
struct npy_item {
    const char* descr;
    std::string payload;
};
/// Every numeric dtype load_npy converts, each holding 0..5 (shape (2, 3)).
std::vector<npy_item> every_dtype() {
    return {
        {"<f8", bytes<double>({0, 1, 2, 3, 4, 5})},       {"<f4", bytes<float>({0, 1, 2, 3, 4, 5})},
        {"|u1", bytes<std::uint8_t>({0, 1, 2, 3, 4, 5})}, {"|i1", bytes<std::int8_t>({0, 1, 2, 3, 4, 5})},
        {"<i2", bytes<std::int16_t>({0, 1, 2, 3, 4, 5})}, {"<i4", bytes<std::int32_t>({0, 1, 2, 3, 4, 5})},
        {"<i8", bytes<std::int64_t>({0, 1, 2, 3, 4, 5})}, {"<u2", bytes<std::uint16_t>({0, 1, 2, 3, 4, 5})},
        {"<u4", bytes<std::uint32_t>({0, 1, 2, 3, 4, 5})}, {"<u8", bytes<std::uint64_t>({0, 1, 2, 3, 4, 5})},
    };
}
const std::string shape_2x3 = "'shape': (2, 3), }";
} // namespace

TEST_CASE("load_npy converts every supported dtype in format versions 1 2 and 3") {
    for (const auto& it : every_dtype())
        for (int version : {1, 2, 3}) {
            INFO(it.descr << " v" << version);
            write_npy(tmp("d.npy"), std::string("{'descr': '") + it.descr + "', 'fortran_order': False, " + shape_2x3,
                      it.payload, version);
            const auto m = load_npy<double, 2>(tmp("d.npy"));
            CHECK(m(1, 0) == 3.0);
            CHECK(m(0, 2) == 2.0);
        }
}

TEST_CASE("load_npy honours Fortran order for every supported dtype and format version") {
    for (const auto& it : every_dtype())
        for (int version : {1, 2, 3}) {
            INFO(it.descr << " v" << version);
            write_npy(tmp("f.npy"), std::string("{'descr': '") + it.descr + "', 'fortran_order': True, " + shape_2x3,
                      it.payload, version);
            const auto f = load_npy<float, 2>(tmp("f.npy"));
            // column-major payload 0..5 in a (2, 3) array: f(r, c) = r + 2 c
            CHECK(f(1, 0) == 1.0f);
            CHECK(f(0, 2) == 4.0f);
        }
}

TEST_CASE("load_npy reads booleans as 1 and 0") {
    write_npy(tmp("b.npy"), "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", std::string("\x01\x00\x01", 3));
    const auto v = load_npy<float, 1>(tmp("b.npy"));
    CHECK(v(0) == 1.f);
    CHECK(v(1) == 0.f);
}

TEST_CASE("load_npy refuses a bad .npy file with an error naming the file and the problem") {
    const std::string good = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
    std::string m;
    SUBCASE("a truncated payload") {
        write_npy(tmp("trunc.npy"), good, bytes<double>({0, 1, 2, 3, 4}));  // one value short
        m = message_of([&] { load_npy<float, 2>(tmp("trunc.npy")); });
        CHECK(m.find("trunc.npy") != std::string::npos);
        CHECK(m.find("truncated") != std::string::npos);
        CHECK_THROWS_AS(load_f2(tmp("trunc.npy")), io_error);
    }
    SUBCASE("a corrupt header") {
        write_npy(tmp("corrupt.npy"), "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (2, 3), }", bytes<double>({0, 1, 2, 3, 4, 5}));
        m = message_of([&] { load_npy<float, 2>(tmp("corrupt.npy")); });
        CHECK(m.find("corrupt.npy") != std::string::npos);
        CHECK(m.find("fortran_order") != std::string::npos);
        write_npy(tmp("corrupt2.npy"), "{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }", bytes<double>({0, 1, 2, 3, 4, 5}));
        CHECK_THROWS_AS(load_f2(tmp("corrupt2.npy")), io_error);
        {
            std::ofstream f(tmp("magic.npy"), std::ios::binary);
            f << "PK\x03\x04 this is a zip, not an npy";
        }
        CHECK(message_of([&] { load_npy<float, 2>(tmp("magic.npy")); }).find("magic") != std::string::npos);
        {  // header length pointing past the end of the file
            std::ofstream f(tmp("hdr.npy"), std::ios::binary);
            f.write("\x93NUMPY\x01\x00\xff\x7f{'descr'", 17);
        }
        CHECK_THROWS_AS(load_f2(tmp("hdr.npy")), io_error);
    }
    SUBCASE("an unsupported dtype") {
        write_npy(tmp("cplx.npy"), "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", std::string(16, '\0'));
        m = message_of([&] { load_npy<float, 1>(tmp("cplx.npy")); });
        CHECK(m.find("unsupported .npy dtype '<c16'") != std::string::npos);
        CHECK_THROWS_AS(load_f1(tmp("cplx.npy")), data_error);
        write_npy(tmp("be.npy"), "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0'));
        CHECK_THROWS_AS(load_f1(tmp("be.npy")), data_error);
    }
    SUBCASE("the wrong rank names the file's shape") {
        write_npy(tmp("rank.npy"), good, bytes<double>({0, 1, 2, 3, 4, 5}));
        m = message_of([&] { load_npy<float, 3>(tmp("rank.npy")); });
        CHECK(m.find("(2, 3)") != std::string::npos);
    }
    SUBCASE("a missing file") { CHECK_THROWS_AS(load_f2(tmp("does_not_exist.npy")), io_error); }
}

TEST_CASE("load_csv reads numbers and skips comment lines") {
    { std::ofstream f(tmp("a.csv")); f << "# comment\n1, 2.5, 3\n4,5,6e-1\n"; }
    const auto a = load_csv<double>(tmp("a.csv"));
    CHECK(a.shape(0) == 2);
    CHECK(a(1, 2) == doctest::Approx(0.6));
}

TEST_CASE("load_csv refuses ragged rows naming the line") {
    { std::ofstream f(tmp("r.csv")); f << "1,2,3\n4,5\n"; }
    CHECK(message_of([&] { load_csv<double>(tmp("r.csv")); }).find("line 2 has 2 cells") != std::string::npos);
}

TEST_CASE("load_csv refuses a cell that is not a number naming the cell") {
    { std::ofstream f(tmp("j.csv")); f << "1,2,abc\n"; }
    CHECK(message_of([&] { load_csv<double>(tmp("j.csv")); }).find("'abc' is not a number") != std::string::npos);
}

TEST_CASE("dataset validation names fields and shapes") {
    dataset<float> d;
    d.responses = xt::ones<float>({10, 4});
    d.stimuli = xt::ones<float>({9, 3});
    std::string m = message_of([&] { d.validate(); });
    CHECK(m.find("stimuli has shape (9, 3)") != std::string::npos);
    CHECK(m.find("responses has shape (10, 4)") != std::string::npos);
    d.stimuli = xt::ones<float>({10, 3});
    d.validate();
    d.responses(2, 1) = std::nanf("");
    m = message_of([&] { d.validate(); });
    CHECK(m.find("dataset.responses") != std::string::npos);
    CHECK(m.find("non-finite") != std::string::npos);
    d.responses(2, 1) = 0;
    d.stimulus_ids = {1, 2, 3};
    CHECK_THROWS_AS(d.validate(), shape_error);
    dataset<float> empty;
    CHECK_THROWS_AS(empty.validate(), data_error);
}

TEST_CASE("split_by_stimulus never puts a stimulus in two parts and is seeded") {
    std::vector<std::int64_t> ids;
    for (int s = 0; s < 50; ++s)
        for (int r = 0; r < 1 + s % 3; ++r) ids.push_back(s * 7);
    const auto sp = split_by_stimulus(ids, 0.6, 0.2, 11);
    std::set<std::int64_t> tr, va, te;
    for (auto i : sp.train) tr.insert(ids[i]);
    for (auto i : sp.validation) va.insert(ids[i]);
    for (auto i : sp.test) te.insert(ids[i]);
    CHECK(tr.size() == 30);
    CHECK(va.size() == 10);
    CHECK(te.size() == 10);
    for (auto s : tr) CHECK((va.count(s) == 0 && te.count(s) == 0));
    for (auto s : va) CHECK(te.count(s) == 0);
    CHECK(sp.train.size() + sp.validation.size() + sp.test.size() == ids.size());
    CHECK(split_by_stimulus(ids, 0.6, 0.2, 11).train == sp.train);
    CHECK(split_by_stimulus(ids, 0.6, 0.2, 12).train != sp.train);
    const auto folds = group_folds(ids, 5, 3);
    for (std::size_t i = 0; i < ids.size(); ++i)
        for (std::size_t j = 0; j < ids.size(); ++j)
            if (ids[i] == ids[j]) CHECK(folds[i] == folds[j]);
    CHECK_THROWS_AS(split_by_stimulus(ids, 0.9, 0.2, 1), data_error);
}

TEST_CASE("zscore transforms with the training statistics only") {
    matrix<double> tr = {{1, 10}, {3, 10}, {5, 10}}, te = {{7, 11}};
    zscore<double> z;
    z.fit(tr);
    const auto t = z.transform(te);
    CHECK(t(0, 0) == doctest::Approx((7 - 3) / std::sqrt(8.0 / 3)));
    CHECK(t(0, 1) == doctest::Approx(1.0));  // constant training column: scale 1
}

TEST_CASE("zscore refuses data with another number of columns") {
    matrix<double> tr = {{1, 10}, {3, 10}, {5, 10}};
    zscore<double> z;
    z.fit(tr);
    CHECK_THROWS_AS(z.transform(matrix<double>(xt::zeros<double>({1, 3}))), shape_error);
}

namespace {
/// Five points on the line through (0, 1) along (1, 2).
matrix<double> points_on_a_line() {
    matrix<double> x = xt::zeros<double>({5, 2});
    for (std::size_t i = 0; i < 5; ++i) x(i, 0) = double(i), x(i, 1) = 2.0 * double(i) + 1;
    return x;
}
} // namespace

TEST_CASE("pca of points on a line puts all the variance in one component along the line") {
    // One component carries all variance, aligned with (1, 2)/sqrt5.
    const auto x = points_on_a_line();
    pca<double> p;
    p.fit(x, 2);
    CHECK(std::abs(p.components(0, 0)) == doctest::Approx(1 / std::sqrt(5.0)));
    CHECK(p.explained_variance(0) == doctest::Approx(5 * 2.5));
    CHECK(p.explained_variance(1) == doctest::Approx(0).epsilon(1e-9));
    const auto proj = p.transform(x);
    CHECK(std::abs(proj(4, 0)) == doctest::Approx(2 * std::sqrt(5.0)));
}

TEST_CASE("pca refuses more components than features") {
    const auto x = points_on_a_line();
    pca<double> p;
    CHECK_THROWS_AS(p.fit(x, 3), data_error);
}

TEST_CASE("stack_delays shifts each column by its delay with zeros before the start") {
    matrix<float> s = {{1, 2}, {3, 4}, {5, 6}};
    const auto d = stack_delays(s, {0, 1, 2});
    CHECK(d.shape(1) == 6);
    CHECK(d(2, 2) == 3.f);  // delay 1 at t=2 -> s(1, 0)
    CHECK(d(0, 2) == 0.f);  // before the start: zero
    CHECK(d(2, 5) == 2.f);  // delay 2 at t=2 -> s(0, 1)
}

TEST_CASE("average_repeats averages the rows of each stimulus id") {
    matrix<float> r = {{1, 0}, {3, 2}, {10, 10}, {5, 4}};
    const auto avg = average_repeats(r, {7, 7, 9, 7});
    CHECK(avg.ids == std::vector<std::int64_t>{7, 9});
    CHECK(avg.counts[0] == 3);
    CHECK(avg.mean(0, 0) == doctest::Approx(3.0));
    CHECK(avg.mean(1, 1) == doctest::Approx(10.0));
}

TEST_CASE("average_repeats refuses ids of another length than the rows") {
    matrix<float> r = {{1, 0}, {3, 2}, {10, 10}, {5, 4}};
    CHECK_THROWS_AS(average_repeats(r, {1, 2}), shape_error);
}

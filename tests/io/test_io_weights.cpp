// Weight files (io/zip, io/npz, io/safetensors, io/state_dict): bad files give one error
// naming the file and the tensor (truncated, wrong magic, a header claiming more data than
// the file holds, wrong dtype or shape, duplicate names, a compressed member that does not
// inflate, an absurd declared size) and never a crash or a huge allocation; strict loading
// lists every problem and changes nothing; strict = false loads the matching subset and
// says what it skipped; names map by table and prefix; a trained student survives export
// bit for bit (label io). The new layers conv1d and padded max pooling are checked
// against central differences (label gradcheck); their forward values against PyTorch are
// in test_interop (SoundNet-8, CORnet-Z).
#include <doctest/doctest.h>

#include <b2m/io/npz.hpp>
#include <b2m/io/safetensors.hpp>
#include <b2m/io/state_dict.hpp>
#include <b2m/loss/cross_entropy.hpp>
#include <b2m/nn.hpp>
#include <b2m/nn/conv1d.hpp>
#include <b2m/nn/max_pool_padded.hpp>
#include <b2m/optim/optimizer.hpp>
#include <b2m/train/trainer.hpp>

#include <b2m/autodiff/gradcheck.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <unistd.h>

using namespace b2m;

namespace {

struct tmpdir {
    std::filesystem::path p;
    tmpdir() : p(std::filesystem::temp_directory_path() / ("b2m_io_weights_" + std::to_string(::getpid()))) {
        std::filesystem::create_directories(p);
    }
    ~tmpdir() { std::filesystem::remove_all(p); }
    std::string operator()(const std::string& f) const { return (p / f).string(); }
};

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
void spit(const std::string& path, const std::string& s) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(s.data(), std::streamsize(s.size()));
}

auto small_net() {
    return nn::sequential<double>(nn::conv2d({.out_channels = 3, .kernel = 3, .padding = 1}, {2, 5, 5}), nn::relu{},
                                  nn::tap<"h">{}, nn::batch_norm({3, 5, 5}), nn::flatten{}, nn::dense(75, 4));
}

/// Requires f() to throw an exception of type E whose message contains every needle.
template <class E, class F>
void require_error(F&& f, std::initializer_list<std::string> needles) {
    std::string what;
    try {
        f();
    } catch (const E& e) {
        what = e.what();
    }
    INFO("message: " << what);
    REQUIRE(!what.empty());
    for (const auto& n : needles) CHECK(what.find(n) != std::string::npos);
}

matrix<double> randn(std::size_t rows, std::size_t cols, std::uint64_t seed) {
    matrix<double> m = matrix<double>::from_shape({rows, cols});
    rng r(seed);
    r.fill_normal(m);
    return m;
}

/// dL/dx and dL/d(each parameter) of L = sum(forward(x) .* R), R fixed random, against
/// central differences: relative error <= 1e-6 and a non-zero analytic gradient.
template <class Layer>
void check_gradients(Layer& layer, matrix<double> x) {
    const nn::step_context ctx{.training = true};
    const matrix<double> r = randn(layer.forward(x, ctx).shape(0), layer.forward(x, ctx).shape(1), 99);
    auto loss = [&] {
        const auto& y = layer.forward(x, ctx);
        double s = 0;
        for (std::size_t i = 0; i < y.size(); ++i) s += y.data()[i] * r.data()[i];
        return s;
    };
    layer.for_each_param([](const std::string&, matrix<double>&, matrix<double>& g) { g.fill(0.0); });
    layer.forward(x, ctx);
    const matrix<double> gx = layer.backward(r, true);
    CHECK(ad::norm(gx) > 1e-8);
    CHECK(ad::relative_error(gx, ad::numeric_gradient(loss, x)) <= 1e-6);
    std::size_t params = 0;
    layer.for_each_param([&](const std::string& name, matrix<double>& v, matrix<double>& g) {
        const matrix<double> analytic = g;
        INFO("parameter " << name);
        CHECK(ad::norm(analytic) > 1e-8);
        CHECK(ad::relative_error(analytic, ad::numeric_gradient(loss, v)) <= 1e-6);
        ++params;
    });
    MESSAGE("checked dL/dx and " << params << " parameter gradients");
}

std::vector<double> flat(auto& net) {
    std::vector<double> v;
    net.for_each_param([&](const std::string&, matrix<double>& w, matrix<double>&) { v.insert(v.end(), w.begin(), w.end()); });
    net.for_each_buffer([&](const std::string&, matrix<double>& w) { v.insert(v.end(), w.begin(), w.end()); });
    return v;
}

io::array f64(const std::string& name, std::vector<std::size_t> shape, double fill = 0.5) {
    std::size_t n = 1;
    for (auto s : shape) n *= s;
    return io::make_array<double>(name, shape, std::vector<double>(n, fill));
}

} // namespace

TEST_SUITE("io") {

TEST_CASE("state_dict names follow torch.nn.Sequential (taps are not modules) with PyTorch shapes") {
    auto net = small_net();
    const auto e = io::state_dict_entries(net);
    REQUIRE(e.size() == 9);
    CHECK(e[0].name == "0.weight");
    CHECK(e[0].shape == std::vector<std::size_t>{3, 2, 3, 3});
    CHECK(e[2].name == "2.weight");  // batch_norm: b2m layer 3 (after the tap), torch module 2
    CHECK(e[2].b2m_name == "3.gamma");
    CHECK(e[6].name == "2.num_batches_tracked");
    CHECK(e[6].shape.empty());
    CHECK(e[7].name == "4.weight");
    CHECK(e[7].shape == std::vector<std::size_t>{4, 75});  // (out, in); b2m stores (in, out)
    const auto m = io::state_dict_entries(net, "backbone.", {{"0.", "features.conv."}, {"4.weight", "head.w"}});
    CHECK(m[0].name == "backbone.features.conv.weight");
    CHECK(m[7].name == "backbone.head.w");
    CHECK(m[8].name == "backbone.4.bias");
}

TEST_CASE("save_state_dict writes weights in PyTorch's layouts") {
    tmpdir t;
    auto net = nn::sequential<double>(nn::gru(2, 3), nn::time_distributed(nn::dense(3, 2)),
                                      nn::temporal_conv(2, 4, 3, {.padding = nn::time_padding::same}));
    net.init(rng(3));
    io::save_state_dict(net, t("l.npz"));
    SUBCASE("a GRU's weights are transposed with the gates in place") {
        auto& g = net.layer<0>();
        const auto wih = io::read_npz_member<double, 2>(t("l.npz"), "0.weight_ih_l0");
        REQUIRE(wih.shape(0) == 9);
        REQUIRE(wih.shape(1) == 2);
        for (std::size_t i = 0; i < 9; ++i)
            for (std::size_t j = 0; j < 2; ++j) CHECK(wih(i, j) == g.weight_ih()(j, i));
    }
    SUBCASE("a dense weight is transposed") {
        const auto dw = io::read_npz_member<double, 2>(t("l.npz"), "1.weight");
        CHECK(dw(1, 2) == net.layer<1>().weight()(2, 1));
    }
    SUBCASE("a temporal_conv weight is permuted to PyTorch's out-in-kernel order") {
        const auto cw = io::read_npz_member<double, 3>(t("l.npz"), "2.weight");  // (out, in, k)
        REQUIRE(cw.shape(0) == 4);
        REQUIRE(cw.shape(1) == 2);
        REQUIRE(cw.shape(2) == 3);
        auto& tc = net.layer<2>();
        for (std::size_t o = 0; o < 4; ++o)
            for (std::size_t f = 0; f < 2; ++f)
                for (std::size_t s = 0; s < 3; ++s) CHECK(cw(o, f, s) == tc.weight()(s * 2 + f, o));
    }
}

TEST_CASE("strict loading lists every missing and unexpected and mismatched tensor in one error and changes nothing") {
    tmpdir t;
    auto net = small_net();
    net.init(rng(1));
    io::save_state_dict(net, t("ok.npz"));
    auto arrays = io::read_npz(t("ok.npz"));
    arrays.erase(arrays.begin() + 1);                        // drop 0.bias -> missing
    arrays[0] = f64("0.weight", {3, 2, 3, 2});               // wrong shape
    arrays.push_back(f64("9.extra", {2}));                   // unexpected
    arrays.push_back(io::make_array<std::int64_t>("4.bias", {4}, {1, 2, 3, 4}));  // replaces float bias below
    arrays.erase(std::find_if(arrays.begin(), arrays.end(), [](auto& a) { return a.name == "4.bias" && a.dtype == "<f8"; }));
    io::write_npz(t("bad.npz"), arrays);
    auto fresh = small_net();
    fresh.init(rng(2));
    const auto before = flat(fresh);
    require_error<io::state_dict_error>([&] { io::load_state_dict(fresh, t("bad.npz")); },
                                        {t("bad.npz"), "1 missing [0.bias]", "1 unexpected [9.extra]",
                                         "0.weight: file (3, 2, 3, 2) vs student (3, 2, 3, 3)",
                                         "4.bias: dtype '<i8'", "unchanged"});
    CHECK(flat(fresh) == before);

    SUBCASE("strict = false loads the rest and reports what it skipped") {
        const auto r = io::load_state_dict(fresh, t("bad.npz"), {.strict = false});
        CHECK(r.missing == std::vector<std::string>{"0.bias"});
        CHECK(r.unexpected == std::vector<std::string>{"9.extra"});
        CHECK(r.mismatched.size() == 2);
        CHECK(r.loaded.size() == 6);  // bn weight, bias, stats, counter; dense weight
        CHECK(fresh.layer<5>().weight() == net.layer<5>().weight());
        CHECK(fresh.layer<0>().weight() != net.layer<0>().weight());
    }
}

TEST_CASE("a prefix selects a sub-module of a bigger state_dict") {
    tmpdir t;
    auto net = small_net();
    net.init(rng(4));
    io::save_state_dict(net, t("p.safetensors"), {.prefix = "features."});
    auto arrays = io::read_safetensors(t("p.safetensors"));
    arrays.push_back(f64("classifier.weight", {2, 2}));
    io::write_safetensors(t("big.safetensors"), arrays);
    auto back = small_net();
    SUBCASE("without the prefix every tensor is missing or unexpected") {
        require_error<io::state_dict_error>([&] { io::load_state_dict(back, t("big.safetensors")); }, {"8 missing", "10 unexpected"});
    }
    SUBCASE("with the prefix the sub-module loads and the rest is ignored") {
        const auto r = io::load_state_dict(back, t("big.safetensors"), {.prefix = "features."});
        CHECK(r.ignored == std::vector<std::string>{"classifier.weight"});
        CHECK(flat(back) == flat(net));
    }
}

TEST_CASE("truncated files and wrong magic are io_errors naming the file") {
    tmpdir t;
    auto net = small_net();
    net.init(rng(1));
    io::save_state_dict(net, t("w.npz"));
    io::save_state_dict(net, t("w.safetensors"));
    const std::string z = slurp(t("w.npz")), s = slurp(t("w.safetensors"));
    for (std::size_t cut : {std::size_t(3), z.size() / 2, z.size() - 5}) {
        spit(t("cut.npz"), z.substr(0, cut));
        auto b = small_net();
        require_error<io_error>([&] { io::load_state_dict(b, t("cut.npz")); }, {t("cut.npz")});
    }
    for (std::size_t cut : {std::size_t(5), s.size() / 2, s.size() - 1}) {
        spit(t("cut.safetensors"), s.substr(0, cut));
        auto b = small_net();
        require_error<io_error>([&] { io::load_state_dict(b, t("cut.safetensors")); }, {t("cut.safetensors")});
    }
    spit(t("text.npz"), "this is not a zip archive at all, just text of some length");
    require_error<io_error>([&] { io::read_npz(t("text.npz")); }, {t("text.npz"), "not a zip archive"});
    spit(t("text.safetensors"), "this is not a safetensors file, just text");
    require_error<io_error>([&] { io::read_safetensors(t("text.safetensors")); }, {t("text.safetensors"), "100 MB"});
    // A torch.save checkpoint (a zip of pickles) is named as such.
    io::write_zip(t("model.pt"), {{"archive/data.pkl", "\x80\x02}q"}, {"archive/data/0", "1234"}}, false);
    require_error<io_error>([&] { io::read_weights(t("model.pt")); }, {t("model.pt"), "torch.save", "np.savez"});
    // A member whose bytes are not a .npy array.
    io::write_zip(t("notnpy.npz"), {{"a.npy", "hello world, not an array"}}, false);
    require_error<io_error>([&] { io::read_npz(t("notnpy.npz")); }, {t("notnpy.npz"), "array 'a'", "bad magic"});
}

TEST_CASE("headers claiming more data than the file holds are rejected before allocating") {
    tmpdir t;
    // safetensors: a tensor whose data_offsets run past the end; and a shape needing more.
    auto write_st = [&](const std::string& f, const std::string& json, std::size_t data_bytes) {
        std::string h = json;
        std::string out;
        for (int i = 0; i < 8; ++i) out.push_back(char((h.size() >> (8 * i)) & 0xff));
        spit(f, out + h + std::string(data_bytes, '\0'));
    };
    write_st(t("past.safetensors"), R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8);
    require_error<io_error>([&] { io::read_safetensors(t("past.safetensors")); }, {t("past.safetensors"), "tensor 'w'", "outside"});
    write_st(t("huge.safetensors"), R"({"w":{"dtype":"F64","shape":[100000000000,100000],"data_offsets":[0,16]}})", 16);
    require_error<io_error>([&] { io::read_safetensors(t("huge.safetensors")); }, {t("huge.safetensors"), "tensor 'w'"});
    write_st(t("hlen.safetensors"), "{}", 0);
    {  // header length claiming 50 MB in a tiny file
        std::string b = slurp(t("hlen.safetensors"));
        const std::uint64_t n = 50'000'000;
        std::memcpy(b.data(), &n, 8);
        spit(t("hlen.safetensors"), b);
    }
    require_error<io_error>([&] { io::read_safetensors(t("hlen.safetensors")); }, {t("hlen.safetensors"), "truncated"});
    // .npy inside .npz: a header whose shape needs more bytes than the member holds.
    std::string npy = io::to_npy(f64("x", {2, 2}));
    const auto at = npy.find("(2, 2)");
    npy.replace(at, 6, "(9, 9)");
    io::write_zip(t("shape.npz"), {{"x.npy", npy}}, false);
    require_error<io_error>([&] { io::read_npz(t("shape.npz")); }, {t("shape.npz"), "array 'x'", "truncated"});
    // zip central directory claiming a 4 GB stored member in a small file.
    io::write_npz(t("big.npz"), {f64("x", {4})});
    std::string z = slurp(t("big.npz"));
    const auto cd = z.rfind(std::string("PK\x01\x02", 4));
    REQUIRE(cd != std::string::npos);
    for (int k : {20, 24}) std::memset(z.data() + cd + std::size_t(k), 0xfe, 4);  // compressed and uncompressed sizes
    spit(t("big.npz"), z);
    require_error<io_error>([&] { io::read_npz(t("big.npz")); }, {t("big.npz"), "'x.npy'", "does not fit"});
    // deflate member declaring an impossible inflated size
    io::write_npz(t("bomb.npz"), {f64("x", {4})}, true);
    z = slurp(t("bomb.npz"));
    const auto cd2 = z.rfind(std::string("PK\x01\x02", 4));
    std::memset(z.data() + cd2 + 24, 0xfe, 4);
    spit(t("bomb.npz"), z);
    require_error<io_error>([&] { io::read_npz(t("bomb.npz")); }, {t("bomb.npz"), "'x.npy'", "more than deflate can produce"});
}

TEST_CASE("a compressed member that does not inflate names the file and the member") {
    tmpdir t;
    std::vector<double> v(200);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(double(i));
    io::write_npz(t("c.npz"), {io::make_array<double>("weights", {200}, v)}, true);
    std::string z = slurp(t("c.npz"));
    const std::size_t data = 30 + std::strlen("weights.npy");
    for (std::size_t i = data + 10; i < data + 60; ++i) z[i] = char(0xff);  // garble the deflate stream
    spit(t("c.npz"), z);
    require_error<io_error>([&] { io::read_npz(t("c.npz")); }, {t("c.npz"), "'weights.npy'"});
    // intact stream, wrong CRC
    io::write_npz(t("crc.npz"), {io::make_array<double>("weights", {200}, v)}, true);
    z = slurp(t("crc.npz"));
    z[14] = char(z[14] ^ 0x55);  // CRC in the local header is not read; patch the central one
    const auto cd = z.rfind(std::string("PK\x01\x02", 4));
    z[cd + 16] = char(z[cd + 16] ^ 0x55);
    spit(t("crc.npz"), z);
    require_error<io_error>([&] { io::read_npz(t("crc.npz")); }, {t("crc.npz"), "'weights.npy'", "CRC"});
}

TEST_CASE("duplicate names are refused naming the file") {
    tmpdir t;
    SUBCASE("in a zip directory") {
        io::write_npz(t("d.npz"), {f64("aa", {2}), f64("bb", {2})});
        std::string z = slurp(t("d.npz"));
        for (std::size_t p = z.find("bb.npy"); p != std::string::npos; p = z.find("bb.npy")) z.replace(p, 6, "aa.npy");
        spit(t("d.npz"), z);
        require_error<io_error>([&] { io::read_npz(t("d.npz")); }, {t("d.npz"), "duplicate", "'aa.npy'"});
    }
    SUBCASE("as x and x.npy in one .npz") {
        io::write_zip(t("d2.npz"), {{"w.npy", io::to_npy(f64("w", {2}))}, {"w", io::to_npy(f64("w", {2}))}}, false);
        require_error<io_error>([&] { io::read_npz(t("d2.npz")); }, {t("d2.npz"), "duplicate array 'w'"});
    }
    SUBCASE("in a safetensors header") {
        const std::string json = R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"w":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}})";
        std::string out;
        for (int i = 0; i < 8; ++i) out.push_back(char((json.size() >> (8 * i)) & 0xff));
        spit(t("d.safetensors"), out + json + std::string(16, '\0'));
        require_error<io_error>([&] { io::read_safetensors(t("d.safetensors")); }, {t("d.safetensors"), "duplicate tensor 'w'"});
    }
}

TEST_CASE("an unsupported dtype is a data_error naming the file and the tensor") {
    tmpdir t;
    SUBCASE("a complex safetensors tensor") {
        const std::string json = R"({"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}})";
        std::string out;
        for (int i = 0; i < 8; ++i) out.push_back(char((json.size() >> (8 * i)) & 0xff));
        spit(t("c.safetensors"), out + json + std::string(8, '\0'));
        require_error<data_error>([&] { io::read_safetensors(t("c.safetensors")); }, {t("c.safetensors"), "tensor 'w'", "C64"});
    }
    SUBCASE("a complex .npy member of an .npz") {
        std::string npy = io::to_npy(f64("x", {2}));
        npy.replace(npy.find("<f8"), 3, "<c8");
        io::write_zip(t("c.npz"), {{"x.npy", npy}}, false);
        require_error<data_error>([&] { io::read_npz(t("c.npz")); }, {t("c.npz"), "array 'x'", "<c8"});
    }
}

TEST_CASE("load_state_dict refuses NaN weights naming the tensor") {
    tmpdir t;
    auto net = nn::sequential<double>(nn::dense(2, 1));
    io::write_npz(t("nan.npz"), {f64("0.weight", {1, 2}, std::nan("")), f64("0.bias", {1})});
    require_error<io::state_dict_error>([&] { io::load_state_dict(net, t("nan.npz")); }, {"0.weight: holds NaN"});
}

namespace {
/// a.npz: m, a (2, 3) double matrix 1..6, and f, three floats.
void write_two_member_npz(const tmpdir& t) {
    std::vector<double> v{1, 2, 3, 4, 5, 6};
    io::write_npz(t("a.npz"), {io::make_array<double>("m", {2, 3}, v), io::make_array<float>("f", {3}, {1.5f, 2.5f, 3.5f})});
}
} // namespace

TEST_CASE("list_npz lists the members in order with their dtypes") {
    tmpdir t;
    write_two_member_npz(t);
    const auto l = io::list_npz(t("a.npz"));
    REQUIRE(l.size() == 2);
    CHECK(l[0].name == "m");
    CHECK(l[1].dtype == "<f4");
}

TEST_CASE("load_array reads a member named as file.npz:member") {
    tmpdir t;
    write_two_member_npz(t);
    const auto m = io::load_array<float, 2>(t("a.npz") + ":m");
    CHECK(m(1, 2) == 6.0f);
}

TEST_CASE("read_npz_member refuses a member of another rank naming its shape") {
    tmpdir t;
    write_two_member_npz(t);
    require_error<shape_error>([&] { io::read_npz_member<double, 1>(t("a.npz"), "m"); }, {"array 'm'", "(2, 3)", "rank 1"});
}

TEST_CASE("read_npz_member refuses a missing member listing the members") {
    tmpdir t;
    write_two_member_npz(t);
    require_error<io_error>([&] { io::read_npz_member<double, 1>(t("a.npz"), "zz"); }, {"no array 'zz'", "m, f"});
}

TEST_CASE("read_npz_member reads float16 and Fortran order as numpy writes them") {
    tmpdir t;
    io::array h;
    h.name = "h";
    h.dtype = "<f2";
    h.shape = {2};
    const std::uint16_t bits[2] = {0x3c00, 0xc100};  // 1.0, -2.5
    h.bytes.assign(reinterpret_cast<const char*>(bits), 4);
    std::string fo = io::to_npy(io::make_array<double>("f", {2, 3}, {1, 4, 2, 5, 3, 6}));  // column-major data of 1..6
    fo.replace(fo.find("False"), 5, "True ");
    io::write_zip(t("b.npz"), {{"h.npy", io::to_npy(h)}, {"fo.npy", fo}}, true);
    const auto hv = io::read_npz_member<double, 1>(t("b.npz"), "h");
    CHECK(hv(0) == 1.0);
    CHECK(hv(1) == -2.5);
    const auto fv = io::read_npz_member<double, 2>(t("b.npz"), "fo");
    CHECK(fv(0, 1) == 2.0);
    CHECK(fv(1, 2) == 6.0);
}

TEST_CASE("safetensors F16 and BF16 tensors (as Hugging Face ships them) convert exactly") {
    tmpdir t;
    const std::string json = R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},)"
                             R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[6,10]},"__metadata__":{"format":"pt"}})";
    std::string out;
    for (int i = 0; i < 8; ++i) out.push_back(char((json.size() >> (8 * i)) & 0xff));
    // F16: 1.0, -2.5, 2^-24 (smallest subnormal); BF16: 1.0, -3.0 (top halves of the floats)
    const std::uint16_t v[5] = {0x3c00, 0xc100, 0x0001, 0x3f80, 0xc040};
    spit(t("h.safetensors"), out + json + std::string(reinterpret_cast<const char*>(v), 10));
    const auto a = io::read_safetensors(t("h.safetensors"));
    REQUIRE(a.size() == 2);
    CHECK(a[0].name == "h");
    const auto h = a[0].values<double>("h");
    CHECK(h == std::vector<double>{1.0, -2.5, std::ldexp(1.0, -24)});
    CHECK(a[1].values<double>("b") == std::vector<double>{1.0, -3.0});
}

TEST_CASE("a trained student exported to .npz and .safetensors reads back with identical outputs") {
    tmpdir t;
    const nn::image_shape img{1, 6, 6};
    const auto c = nn::conv2d({.out_channels = 3, .kernel = 3, .padding = 1}, img);
    auto spec = [&] {
        return std::tuple{c, nn::batch_norm(c.output_shape()), nn::relu{}, nn::flatten{}, nn::dense(108, 3)};
    };
    auto student = std::apply([](auto... s) { return nn::sequential<float>(s...); }, spec());
    auto trainer = train::make_trainer(student, loss::cross_entropy(nn::output, data::labels), optim::adam({.lr = 1e-2}),
                                       {.seed = 7});
    data::batch<float> b;
    b.x = matrix<float>::from_shape({16, 36});
    rng r(9);
    r.fill_normal(b.x);
    b.labels = index_vector::from_shape({16});
    for (std::size_t i = 0; i < 16; ++i) b.labels(i) = std::int64_t(i % 3);
    for (int s = 0; s < 20; ++s) trainer.step(b);
    auto& trained = trainer.student();
    const matrix<float> y = trained.forward(b.x, nn::step_context{.training = false});
    for (const std::string f : {"t.npz", "t.safetensors"}) {
        io::save_state_dict(trained, t(f));
        auto back = std::apply([](auto... s) { return nn::sequential<float>(s...); }, spec());
        io::load_state_dict(back, t(f));
        INFO(f);
        CHECK(back.forward(b.x, nn::step_context{.training = false}) == y);
        io::save_state_dict(back, t("again_" + f));  // running statistics included
        CHECK(slurp(t("again_" + f)) == slurp(t(f)));
    }
    // and a double copy from the float export equals the float student's values exactly
    auto wide = std::apply([](auto... s) { return nn::sequential<double>(s...); }, spec());
    io::load_state_dict(wide, t("t.npz"));
    CHECK(wide.layer<4>().weight()(5, 1) == double(trained.layer<4>().weight()(5, 1)));
}

TEST_CASE("writes are atomic: a failed write leaves the previous file") {
    tmpdir t;
    auto net = small_net();
    io::save_state_dict(net, t("keep.npz"));
    const std::string before = slurp(t("keep.npz"));
    require_error<io_error>([&] { io::save_state_dict(net, t("keep.pt")); }, {"keep.pt", "extension"});
    require_error<io_error>([&] { io::save_state_dict(net, t("nodir/x.npz")); }, {"nodir/x.npz"});
    CHECK(slurp(t("keep.npz")) == before);
}

}  // TEST_SUITE io

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck conv1d: input and weight and bias with stride and padding and dilation") {
    auto l = nn::conv1d({.out_channels = 3, .kernel = 4, .stride = 2, .padding = 2, .dilation = 1}, {2, 11}).make<double>();
    rng r(1);
    l.init(r);
    check_gradients(l, randn(3, 22, 5));
    auto l2 = nn::conv1d({.out_channels = 2, .kernel = 3, .stride = 1, .padding = 0, .dilation = 2}, {3, 9}).make<double>();
    l2.init(r);
    check_gradients(l2, randn(2, 27, 6));
}

TEST_CASE("gradcheck padded max pooling in 2-D and 1-D (distinct values)") {
    auto distinct = [](std::size_t rows, std::size_t cols, std::uint64_t seed) {
        std::vector<std::size_t> order(rows * cols);
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        rng r(seed);
        r.shuffle(order);
        matrix<double> m = matrix<double>::from_shape({rows, cols});
        for (std::size_t i = 0; i < m.size(); ++i) m.data()[i] = 1e-2 * double(order[i]) - 0.005 * double(m.size());
        return m;
    };
    auto p2 = nn::max_pool2d_padded({.kernel = 3, .stride = 2, .padding = 1}, {2, 5, 6}).make<double>();
    CHECK(p2.output_shape() == nn::image_shape{2, 3, 3});
    check_gradients(p2, distinct(2, 60, 1));
    auto p1 = nn::max_pool1d({.kernel = 4, .stride = 4}, {3, 13}).make<double>();
    CHECK(p1.output_shape().width == 3);
    check_gradients(p1, distinct(2, 39, 2));
}

}  // TEST_SUITE gradcheck

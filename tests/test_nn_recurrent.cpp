// Recurrent layers, step selection, time-distributed dense and temporal convolution:
// gradients against finite differences (label gradcheck), forward values against PyTorch
// fixtures written by tests/fixtures/make_rnn_fixtures.py (label oracle), bad input.
#include <doctest/doctest.h>

#include <b2m/autodiff/gradcheck.hpp>
#include <b2m/nn/dense.hpp>
#include <b2m/nn/last_step.hpp>
#include <b2m/nn/recurrent.hpp>
#include <b2m/nn/sequential.hpp>
#include <b2m/nn/temporal_conv.hpp>
#include <b2m/nn/time_distributed.hpp>

#include <xtensor/xnpy.hpp>
#include <xtensor/xmath.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

using namespace b2m;

namespace {

using md = matrix<double>;

md random_matrix(std::size_t r, std::size_t c, std::uint64_t seed, double scale = 1.0) {
    md m = md::from_shape({r, c});
    rng g(seed);
    g.fill_normal(m, 0.0, scale);
    return m;
}

double dot(const md& a, const md& b) {
    REQUIRE(a.shape() == b.shape());
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a.data()[i] * b.data()[i];
    return s;
}

void check_grad(const std::string& what, const md& analytic, const md& numeric) {
    INFO(what);
    const double err = ad::relative_error(analytic, numeric);
    CHECK(err <= 1e-6);
    CHECK(ad::norm(numeric) > 1e-3);  // the checked gradient is not trivially zero
    MESSAGE(what << ": relative error " << err);
}

/// Checks dL/dx and dL/d(every parameter) of `layer` for L = sum(y .* R) with a fixed random R.
/// `extra` (optional) names further matrices the loss depends on, with their analytic gradient.
template <class Layer>
void check_layer(Layer& layer, md& x, const std::string& name,
                 std::vector<std::tuple<std::string, md*, std::function<md()>>> extra = {}) {
    const nn::step_context ctx{.training = true, .noise = nullptr};
    const md r = random_matrix(layer.forward(x, ctx).shape(0), layer.forward(x, ctx).shape(1), 777);
    auto loss = [&] { return dot(layer.forward(x, ctx), r); };
    std::vector<std::tuple<std::string, md*, md*>> params;
    layer.for_each_param([&](const std::string& n, md& v, md& g) {
        g.fill(0.0);
        params.emplace_back(n, &v, &g);
    });
    layer.forward(x, ctx);
    const md gx = layer.backward(r, true);
    std::vector<md> extra_grads;
    for (auto& e : extra) extra_grads.push_back(std::get<2>(e)());
    check_grad(name + " input", gx, ad::numeric_gradient(loss, x));
    for (auto& [n, v, g] : params) {
        const md analytic = *g;
        check_grad(name + " " + n, analytic, ad::numeric_gradient(loss, *v));
    }
    for (std::size_t i = 0; i < extra.size(); ++i)
        check_grad(name + " " + std::get<0>(extra[i]), extra_grads[i], ad::numeric_gradient(loss, *std::get<1>(extra[i])));
}

template <class Spec>
void check_recurrent(const Spec& spec, const std::string& name, bool learn_h0, bool lengths) {
    auto layer = spec.template make<double>();
    rng r(3);
    layer.init(r);
    if (learn_h0) {
        rng(4).fill_normal(layer.h0(), 0.0, 0.5);
        rng(5).fill_normal(layer.c0(), 0.0, 0.5);
    }
    const std::vector<std::int64_t> len = {6, 4, 1, 0};
    if (lengths) layer.set_lengths(len);
    md x = random_matrix(4, 6 * 3, 11);  // B = 4, T = 6 (BPTT over 6 steps), F = 3
    check_layer(layer, x, name);
}

md load_fixture(const std::string& name) {
    const auto a = xt::load_npy<double>(std::string(B2M_TEST_DIR) + "/fixtures/rnn/" + name + ".npy");
    const std::size_t rows = a.shape(0);
    md m = md::from_shape({rows, a.size() / rows});
    std::copy(a.data(), a.data() + a.size(), m.data());
    return m;
}

double max_abs_diff(const md& a, const md& b) {
    REQUIRE(a.shape() == b.shape());
    double d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a.data()[i] - b.data()[i]));
    return d;
}

template <class Spec>
void check_against_torch(const Spec& spec, const std::string& kind) {
    auto layer = spec.template make<double>();
    layer.weight_ih() = load_fixture(kind + "_w_ih");
    layer.weight_hh() = load_fixture(kind + "_w_hh");
    layer.bias_ih() = load_fixture(kind + "_b_ih");
    layer.bias_hh() = load_fixture(kind + "_b_hh");
    const md x = load_fixture(kind + "_x"), h0 = load_fixture(kind + "_h0"), c0 = load_fixture(kind + "_c0");
    const nn::step_context ctx{};
    CHECK(max_abs_diff(layer.forward(x, ctx), load_fixture(kind + "_y_zero")) < 1e-10);
    layer.set_initial_state(&h0, &c0);
    CHECK(max_abs_diff(layer.forward(x, ctx), load_fixture(kind + "_y")) < 1e-10);
    // Lengths (6, 4, 1) as in torch's pack_padded_sequence: the last step holds each
    // row's final valid state (torch's h_n).
    const std::vector<std::int64_t> len = {6, 4, 1};
    layer.set_lengths(len);
    auto last = nn::last_step(5).make<double>();
    const md& y = layer.forward(x, ctx);
    CHECK(max_abs_diff(last.forward(y, ctx), load_fixture(kind + "_hn_masked")) < 1e-10);
}

} // namespace

TEST_SUITE("gradcheck") {
TEST_CASE("rnn gradients with BPTT over 6 steps") {
    check_recurrent(nn::rnn(3, 5), "rnn", false, false);
    check_recurrent(nn::rnn(3, 5, {.learn_initial_state = true}), "rnn learnable h0 + lengths", true, true);
}
TEST_CASE("gru gradients with BPTT over 6 steps") {
    check_recurrent(nn::gru(3, 5), "gru", false, false);
    check_recurrent(nn::gru(3, 5, {.learn_initial_state = true}), "gru learnable h0", true, false);
    check_recurrent(nn::gru(3, 5, {.learn_initial_state = true}), "gru learnable h0 + lengths", true, true);
}
TEST_CASE("lstm gradients with BPTT over 6 steps") {
    check_recurrent(nn::lstm(3, 5), "lstm", false, false);
    check_recurrent(nn::lstm(3, 5, {.learn_initial_state = true}), "lstm learnable h0 c0", true, false);
    check_recurrent(nn::lstm(3, 5, {.learn_initial_state = true}), "lstm learnable h0 c0 + lengths", true, true);
}
TEST_CASE("gru and lstm gradients wrt a provided initial state") {
    md h0 = random_matrix(2, 4, 21, 0.5), c0 = random_matrix(2, 4, 22, 0.5);
    {
        auto gru = nn::gru(3, 4).make<double>();
        rng r(1);
        gru.init(r);
        gru.set_initial_state(&h0);
        md x = random_matrix(2, 5 * 3, 23);
        check_layer(gru, x, "gru given h0", {{"h0", &h0, [&] { return md(gru.initial_state_grad()); }}});
    }
    {
        auto lstm = nn::lstm(3, 4).make<double>();
        rng r(2);
        lstm.init(r);
        lstm.set_initial_state(&h0, &c0);
        md x = random_matrix(2, 5 * 3, 24);
        check_layer(lstm, x, "lstm given h0 c0",
                    {{"h0", &h0, [&] { return md(lstm.initial_state_grad()); }},
                     {"c0", &c0, [&] { return md(lstm.initial_cell_grad()); }}});
    }
}
TEST_CASE("temporal_conv gradients for causal and same and valid padding with dilation") {
    for (auto pad : {nn::time_padding::causal, nn::time_padding::same, nn::time_padding::valid})
        for (std::size_t dil : {std::size_t(1), std::size_t(2)}) {
            auto conv = nn::temporal_conv(3, 2, 3, {.padding = pad, .dilation = dil}).make<double>();
            rng r(8);
            conv.init(r);
            md x = random_matrix(2, 7 * 3, 9);
            check_layer(conv, x, "temporal_conv padding " + std::to_string(int(pad)) + " dilation " + std::to_string(dil));
        }
}
TEST_CASE("last_step and select_step and time_distributed gradients") {
    md x = random_matrix(3, 6 * 4, 31);
    auto last = nn::last_step(4).make<double>();
    check_layer(last, x, "last_step");
    auto first = nn::select_step(4, 0).make<double>();
    check_layer(first, x, "select_step 0");
    auto masked = nn::last_step(4).make<double>();
    const std::vector<std::int64_t> len = {2, 6, 1};
    masked.set_lengths(len);
    check_layer(masked, x, "last_step with lengths");
    auto td = nn::time_distributed(nn::dense(4, 3, true, nn::init::fan_in_uniform)).make<double>();
    rng r(5);
    td.init(r);
    check_layer(td, x, "time_distributed dense");
}
TEST_CASE("a gru -> last_step -> dense student back-propagates through sequential") {
    auto net = nn::sequential<double>(nn::gru(3, 6), nn::last_step(6), nn::dense(6, 2));
    net.init(rng(4));
    md x = random_matrix(3, 7 * 3, 41);
    const md r = random_matrix(3, 2, 42);
    auto loss = [&] { return dot(net.forward(x), r); };
    net.for_each_param([](const std::string&, md&, md& g) { g.fill(0.0); });
    net.forward(x);
    net.output_grad() = r;
    const md gx = net.backward(true);
    check_grad("sequential input", gx, ad::numeric_gradient(loss, x));
    net.for_each_param([&](const std::string& n, md& v, md& g) {
        const md analytic = g;
        check_grad("sequential " + n, analytic, ad::numeric_gradient(loss, v));
    });
}
}

TEST_CASE("recurrent parameter gradients accumulate over backward calls") {
    auto gru = nn::gru(3, 4).make<double>();
    rng r(1);
    gru.init(r);
    const md x = random_matrix(2, 5 * 3, 2), gy = random_matrix(2, 5 * 4, 3);
    gru.forward(x, {});
    gru.backward(gy, false);
    std::vector<md> once;
    gru.for_each_param([&](const std::string&, md&, md& g) { once.push_back(g); });
    gru.forward(x, {});
    gru.backward(gy, false);
    std::size_t i = 0;
    gru.for_each_param([&](const std::string&, md&, md& g) {
        CHECK(max_abs_diff(g, 2.0 * once[i]) < 1e-12);
        ++i;
    });
}

TEST_SUITE("oracle") {
TEST_CASE("rnn and gru and lstm forward match torch.nn in float64") {
    check_against_torch(nn::rnn(4, 5), "rnn");
    check_against_torch(nn::gru(4, 5), "gru");
    check_against_torch(nn::lstm(4, 5), "lstm");
}
TEST_CASE("temporal_conv matches torch Conv1d for causal and same and valid padding") {
    const md x = load_fixture("conv_x");
    for (auto [pad, name] : {std::pair{nn::time_padding::causal, "conv_causal"}, std::pair{nn::time_padding::same, "conv_same"},
                             std::pair{nn::time_padding::valid, "conv_valid"}}) {
        auto conv = nn::temporal_conv(3, 2, 3, {.padding = pad, .dilation = 2}).make<double>();
        conv.weight() = load_fixture("conv_w");
        conv.bias() = load_fixture("conv_b");
        CHECK(max_abs_diff(conv.forward(x, {}), load_fixture(name)) < 1e-10);
    }
}
}

TEST_CASE("causal temporal_conv output does not depend on future inputs") {
    auto conv = nn::temporal_conv(2, 3, 4, {.padding = nn::time_padding::causal}).make<double>();
    rng r(1);
    conv.init(r);
    md x = random_matrix(1, 8 * 2, 5);
    const md y0 = conv.forward(x, {});
    x(0, 5 * 2 + 1) += 1.0;  // change step 5
    const md y1 = conv.forward(x, {});
    for (std::size_t t = 0; t < 8; ++t)
        for (std::size_t k = 0; k < 3; ++k) {
            if (t < 5) CHECK(y1(0, t * 3 + k) == y0(0, t * 3 + k));
        }
    CHECK(max_abs_diff(y0, y1) > 0);
}

TEST_CASE("sequence layers reject bad input with shape errors naming the shapes") {
    const nn::step_context ctx{};
    auto gru = nn::gru(8, 16).make<float>();
    matrix<float> wrong = xt::zeros<float>({4, 30});
    CHECK_THROWS_WITH_AS(gru.forward(wrong, ctx), doctest::Contains("nn::gru(8, 16): input has shape (4, 30)"), shape_error);
    CHECK_THROWS_WITH_AS(gru.forward(wrong, ctx), doctest::Contains("not a multiple of 8 features"), shape_error);
    matrix<float> empty = xt::zeros<float>({4, 0});
    CHECK_THROWS_WITH_AS(gru.forward(empty, ctx), doctest::Contains("sequence length 0"), shape_error);
    auto lstm = nn::lstm(3, 4).make<float>();
    CHECK_THROWS_WITH_AS(lstm.forward(empty, ctx), doctest::Contains("nn::lstm(3, 4): input has shape (4, 0)"), shape_error);

    matrix<float> x = xt::zeros<float>({2, 5 * 8});
    const std::vector<std::int64_t> three = {1, 2, 3}, too_long = {6, 1};
    gru.set_lengths(three);
    CHECK_THROWS_WITH_AS(gru.forward(x, ctx), doctest::Contains("3 lengths but the input has 2 rows"), shape_error);
    gru.set_lengths(too_long);
    CHECK_THROWS_WITH_AS(gru.forward(x, ctx), doctest::Contains("length 6 of row 0 is outside [0, 5]"), data_error);
    gru.clear_lengths();
    matrix<float> h0 = xt::zeros<float>({3, 16});
    gru.set_initial_state(&h0);
    CHECK_THROWS_WITH_AS(gru.forward(x, ctx), doctest::Contains("has shape (3, 16) but the batch needs (2, 16)"), shape_error);
    gru.set_initial_state(nullptr);
    gru.forward(x, ctx);
    matrix<float> bad_gy = xt::zeros<float>({2, 7});
    CHECK_THROWS_WITH_AS(gru.backward(bad_gy, true), doctest::Contains("gradient has shape (2, 7)"), shape_error);

    auto conv = nn::temporal_conv(8, 2, 6, {.padding = nn::time_padding::valid}).make<float>();
    CHECK_THROWS_WITH_AS(conv.forward(x, ctx), doctest::Contains("5 steps, fewer than the kernel's span of 6"), shape_error);
    CHECK_THROWS_WITH_AS(conv.forward(wrong, ctx), doctest::Contains("input has shape (4, 30)"), shape_error);
    CHECK_THROWS_AS(nn::temporal_conv(8, 2, 0).make<float>(), shape_error);

    auto pick = nn::select_step(8, 5).make<float>();
    CHECK_THROWS_WITH_AS(pick.forward(x, ctx), doctest::Contains("step 5 is outside an input of shape (2, 40)"), shape_error);
    auto last = nn::last_step(8).make<float>();
    CHECK_THROWS_WITH_AS(last.forward(empty, ctx), doctest::Contains("sequence length 0"), shape_error);
    auto td = nn::time_distributed(nn::dense(8, 3)).make<float>();
    CHECK_THROWS_WITH_AS(td.forward(wrong, ctx), doctest::Contains("nn::time_distributed(nn::dense(8, 3)): input has shape (4, 30)"),
                         shape_error);
}

TEST_CASE("float recurrent layers with the fast exp agree with double also for saturated gates") {
    auto check = [](auto spec, const char* name) {
        INFO(name);
        auto d = spec.template make<double>();
        auto f = spec.template make<float>();
        rng r(6);
        d.init(r);
        f.for_each_param([&](const std::string& n, matrix<float>& v, matrix<float>&) {
            d.for_each_param([&](const std::string& m, md& w, md&) {
                if (m == n) v = xt::cast<float>(w);
            });
        });
        md x = random_matrix(3, 8 * 4, 7, 30.0);  // large inputs saturate the gates (exp clamped)
        for (std::size_t i = 0; i < 8; ++i) x(0, i) = 0.01 * double(i);  // and small ones
        const matrix<float> xf = xt::cast<float>(x);
        const md yd = d.forward(x, {});
        const matrix<float>& yf = f.forward(xf, {});
        double err = 0;
        for (std::size_t i = 0; i < yd.size(); ++i) {
            REQUIRE(std::isfinite(yf.data()[i]));
            err = std::max(err, std::abs(double(yf.data()[i]) - yd.data()[i]));
        }
        CHECK(err < 1e-5);
    };
    check(nn::rnn(4, 6), "rnn");
    check(nn::gru(4, 6), "gru");
    check(nn::lstm(4, 6), "lstm");
}

TEST_CASE("float recurrent forward and backward agree with double at benchmark-like sizes on every instruction set") {
    // Rows and units not multiples of the kernel blocks (21 rows, H = 40: G*H = 120 or 160
    // columns), 9 steps, 1 and 2 threads; the double layer is the reference (its gradients
    // are checked against finite differences above). Relative to the largest entry.
    auto check = [](auto spec, const char* name, bool lengths) {
        INFO(name);
        const simd_isa best = active_simd_isa();
        const int threads0 = num_threads();
        const std::size_t B = 21, T = 9, F = 5, H = 40;
        auto d = spec.template make<double>();
        rng r(8);
        d.init(r);
        const md x = random_matrix(B, T * F, 12);
        const md gy = random_matrix(B, T * H, 13);
        std::vector<std::int64_t> len(B);
        for (std::size_t b = 0; b < B; ++b) len[b] = std::int64_t((b * 5) % (T + 1));
        if (lengths) d.set_lengths(len);
        const md yd = d.forward(x, {});
        const md gxd = d.backward(gy, true);
        std::vector<md> gd;
        d.for_each_param([&](const std::string&, md&, md& g) { gd.push_back(g); });
        auto rel = [](const auto& a, const md& ref) {
            double err = 0, scale = 0;
            for (std::size_t i = 0; i < ref.size(); ++i) {
                err = std::max(err, std::abs(double(a.data()[i]) - ref.data()[i]));
                scale = std::max(scale, std::abs(ref.data()[i]));
            }
            REQUIRE(scale > 0);
            return err / scale;
        };
        for (simd_isa isa : {simd_isa::sse2, simd_isa::avx2, simd_isa::avx512}) {
            if (int(isa) > int(best)) continue;
            for (int threads : {1, 2}) {
                set_simd_isa(isa);
                set_num_threads(threads);
                CAPTURE(int(isa));
                CAPTURE(threads);
                auto f = spec.template make<float>();
                f.for_each_param([&](const std::string& n, matrix<float>& v, matrix<float>&) {
                    d.for_each_param([&](const std::string& m, md& w, md&) {
                        if (m == n) v = xt::cast<float>(w);
                    });
                });
                if (lengths) f.set_lengths(len);
                const matrix<float> xf = xt::cast<float>(x), gyf = xt::cast<float>(gy);
                CHECK(rel(f.forward(xf, {}), yd) < 1e-5);
                CHECK(rel(f.backward(gyf, true), gxd) < 1e-5);
                std::size_t i = 0;
                f.for_each_param([&](const std::string& n, matrix<float>&, matrix<float>& g) {
                    INFO(n);
                    CHECK(rel(g, gd[i++]) < 1e-5);
                });
            }
        }
        set_simd_isa(best);
        set_num_threads(threads0);
    };
    for (bool lengths : {false, true}) {
        CAPTURE(lengths);
        check(nn::rnn(5, 40), "rnn", lengths);
        check(nn::gru(5, 40), "gru", lengths);
        check(nn::lstm(5, 40, {.learn_initial_state = true}), "lstm", lengths);
    }
}

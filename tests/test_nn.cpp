// Dense students: gradient checks of every layer (label: gradcheck), composition, taps,
// and run-time shape errors.
#include "gradcheck_util.hpp"

#include <b2m/nn.hpp>

using namespace b2m;
using b2m::testing::checked::check_layer;
using b2m::testing::random_matrix;

TEST_SUITE("gradcheck") {
    TEST_CASE("dense with bias, each initialisation") {
        for (auto how : {nn::init::he, nn::init::xavier, nn::init::fan_in_uniform}) {
            auto layer = nn::dense(5, 3, true, how).make<double>();
            rng r(1);
            layer.init(r);
            layer.bias() = random_matrix(1, 3, 5);
            check_layer(layer, random_matrix(4, 5, 2));
        }
    }
    TEST_CASE("dense without bias") {
        auto layer = nn::dense(5, 3, false).make<double>();
        rng r(1);
        layer.init(r);
        check_layer(layer, random_matrix(4, 5, 2));
    }
    TEST_CASE("activation layers") {
        auto re = nn::relu{}.make<double>();
        check_layer(re, random_matrix(4, 5, 2, 0.1));
        auto t = nn::tanh{}.make<double>();
        check_layer(t, random_matrix(4, 5, 2));
        auto s = nn::sigmoid{}.make<double>();
        check_layer(s, random_matrix(4, 5, 2));
        auto g = nn::gelu{}.make<double>();
        check_layer(g, random_matrix(4, 5, 2));
        auto sp = nn::softplus{}.make<double>();
        check_layer(sp, random_matrix(4, 5, 2));
        auto l = nn::leaky_relu{{0.2}}.make<double>();
        check_layer(l, random_matrix(4, 5, 2, 0.1));
    }
    TEST_CASE("dropout in training mode with a fixed noise draw") {
        auto d = nn::dropout{0.3}.make<double>();
        rng noise(5);
        check_layer(d, random_matrix(6, 5, 2), {.training = true, .noise = &noise});
    }
    TEST_CASE("layer_norm") {
        auto ln = nn::layer_norm{5}.make<double>();
        ln.for_each_param([](const std::string& n, matrix<double>& v, matrix<double>&) {
            v = random_matrix(1, 5, n == "gamma" ? 3 : 4);
        });
        check_layer(ln, random_matrix(4, 5, 2));
    }
    TEST_CASE("sequential with a tap: objective gradients at the tap and the output both reach the parameters") {
        auto net = nn::sequential<double>(nn::dense(4, 6), nn::tanh{}, nn::tap<"embed">{}, nn::layer_norm{6},
                                          nn::dense(6, 3));
        net.init(rng(3));
        matrix<double> x = random_matrix(5, 4, 1);
        const matrix<double> ro = random_matrix(5, 3, 8), rt = random_matrix(5, 6, 9);
        // L = sum(output * ro) + sum(tap * rt)
        auto loss = [&] {
            net.forward(x);
            double s = 0;
            for (std::size_t i = 0; i < ro.size(); ++i) s += net.output().data()[i] * ro.data()[i];
            const auto& t = net.tap<"embed">().value();
            for (std::size_t i = 0; i < rt.size(); ++i) s += t.data()[i] * rt.data()[i];
            return s;
        };
        net.forward(x);
        net.output_grad() = ro;
        net.tap<"embed">().grad() = rt;
        const matrix<double> gx = net.backward(true);
        CHECK(ad::relative_error(gx, ad::numeric_gradient(loss, x)) <= 1e-6);
        net.for_each_param([&](const std::string& name, matrix<double>& v, matrix<double>& g) {
            INFO(name);
            CHECK(ad::norm(g) > 1e-8);
            CHECK(ad::relative_error(g, ad::numeric_gradient(loss, v)) <= 1e-6);
        });
    }
}

TEST_CASE("dropout: evaluation is the identity, training keeps about 1-p of the entries") {
    auto d = nn::dropout{0.25}.make<float>();
    matrix<float> x = xt::ones<float>({100, 100});
    CHECK(&d.forward(x, {.training = false}) == &x);
    rng noise(1);
    const auto& y = d.forward(x, {.training = true, .noise = &noise});
    std::size_t kept = 0;
    for (float v : y) {
        if (v != 0.f) {
            CHECK(v == doctest::Approx(1.0 / 0.75));
            ++kept;
        }
    }
    CHECK(std::abs(double(kept) / 10000.0 - 0.75) < 0.02);
    CHECK_THROWS_AS(nn::dropout{1.0}.make<float>(), error);
}

TEST_CASE("initialisation is deterministic per seed and has the documented scale") {
    auto a = nn::sequential(nn::dense(400, 300));
    auto b = nn::sequential(nn::dense(400, 300));
    a.init(rng(5));
    b.init(rng(5));
    CHECK(a.layer<0>().weight() == b.layer<0>().weight());
    b.init(rng(6));
    CHECK(a.layer<0>().weight() != b.layer<0>().weight());
    double var = 0;
    for (float w : a.layer<0>().weight()) var += double(w) * w;
    var /= double(a.layer<0>().weight().size());
    CHECK(var == doctest::Approx(2.0 / 400.0).epsilon(0.05));  // He: N(0, 2/in)
}

TEST_CASE("a run-time shape mismatch names the layer, the input and its shape") {
    auto net = nn::sequential(nn::dense(784, 256), nn::relu{}, nn::dense(256, 10));
    net.init(rng(1));
    matrix<float> x = xt::zeros<float>({32, 100});
    CHECK_THROWS_WITH_AS(net.forward(x), doctest::Contains("nn::dense(784, 256): input has shape (32, 100)"),
                         shape_error);
    auto ln = nn::layer_norm{8}.make<float>();
    CHECK_THROWS_AS(ln.forward(x, {}), shape_error);
}

TEST_CASE("backward rejects a gradient not shaped like the output and names the layer") {
    rng noise(3), init_rng(1);
    const nn::step_context train{.training = true, .noise = &noise};
    const matrix<double> x = random_matrix(5, 6, 1);
    const matrix<double> g55 = xt::zeros<double>({5, 5});
    auto dense = nn::dense(6, 4).make<double>();
    dense.init(init_rng);
    dense.forward(x, train);
    for (bool need_input_grad : {true, false})
        CHECK_THROWS_WITH_AS(dense.backward(g55, need_input_grad),
                             doctest::Contains("nn::dense(6, 4) backward: gradient has shape (5, 5) but output has shape (5, 4)"),
                             shape_error);
    const matrix<double> g54 = xt::zeros<double>({5, 4});
    CHECK(dense.backward(g54, true).shape() == x.shape());
    auto td = nn::time_distributed(nn::dense(2, 3)).make<double>();
    td.init(init_rng);
    td.forward(x, train);  // 3 steps of 2 features -> (5, 9)
    CHECK_THROWS_WITH_AS(td.backward(g55, true),
                         doctest::Contains("nn::time_distributed(nn::dense(2, 3)) backward: gradient has shape (5, 5)"),
                         shape_error);
    auto ln = nn::layer_norm{6}.make<double>();
    ln.init(init_rng);
    ln.forward(x, train);
    CHECK_THROWS_WITH_AS(ln.backward(g55, false), doctest::Contains("nn::layer_norm(6) backward: gradient has shape (5, 5)"),
                         shape_error);
    auto drop = nn::dropout{0.5}.make<double>();
    drop.forward(x, train);
    CHECK_THROWS_WITH_AS(drop.backward(g55, true), doctest::Contains("nn::dropout backward: gradient has shape (5, 5)"),
                         shape_error);
    auto rep = nn::reparameterize{3}.make<double>();
    rep.forward(x, train);
    CHECK_THROWS_WITH_AS(rep.backward(g55, true),
                         doctest::Contains("nn::reparameterize(3) backward: gradient has shape (5, 5)"), shape_error);
    auto last = nn::last_step(2).make<double>();
    last.forward(x, train);
    CHECK_THROWS_WITH_AS(last.backward(g55, true),
                         doctest::Contains("nn::select_step(2, -1) backward: gradient has shape (5, 5)"), shape_error);
    auto tap = nn::tap<"t">{}.make<double>();
    tap.forward(x, train);
    CHECK_THROWS_WITH_AS(tap.backward(g55, true),
                         doctest::Contains("nn::tap<\"t\"> backward: gradient has shape (5, 5) but value has shape (5, 6)"),
                         shape_error);
}

TEST_CASE("taps report their logical rank at compile time") {
    using net_t = decltype(nn::sequential(nn::dense(4, 6), nn::tap<"a">{}, nn::relu{}, nn::tap<"b">{}));
    static_assert(net_t::has_tap<"a">() && net_t::has_tap<"b">() && !net_t::has_tap<"c">());
    static_assert(net_t::tap_rank<"b">() == 2 && net_t::output_rank() == 2);
    CHECK(net_t::tap_index<"b">() == 3);
}

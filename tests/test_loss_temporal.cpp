// loss::temporal_encoding (the temporal-convolution encoding head of Freteault et al.):
// value, prediction and tap gradient against torch.nn.functional.conv1d in float64
// (tests/fixtures/make_temporal_fixtures.py), finite-difference gradient checks, bad
// shapes; and brain::r2_columns against sklearn's r2_score.
#include <doctest/doctest.h>

#include <cmath>

#include <xtensor/xview.hpp>

#include <b2m/brain/metrics.hpp>
#include <b2m/loss/temporal_encoding.hpp>
#include <b2m/nn/activation.hpp>
#include <b2m/nn/sequential.hpp>
#include <b2m/nn/temporal_conv.hpp>

#include "loss_check.hpp"

using namespace b2m;

namespace {
matrix<double> load(const std::string& name) {
    auto a = xt::load_npy<double>(std::string(B2M_TEST_DIR) + "/fixtures/temporal/" + name + ".npy");
    if (a.dimension() == 1) a.reshape({std::size_t(1), a.size()});
    return matrix<double>(a);
}
double max_rel(const matrix<double>& a, const matrix<double>& b) {
    REQUIRE(a.shape() == b.shape());
    double m = 0, s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        m = std::max(m, std::abs(a.data()[i] - b.data()[i]));
        s = std::max(s, std::abs(b.data()[i]));
    }
    return m / s;
}
// B=3 rows of T=11 steps x F=4 features, R=4 volumes x V=5 targets, kernel 5.
constexpr std::size_t B = 3, T = 11, F = 4, R = 4, V = 5, K = 5;
}  // namespace

TEST_CASE("temporal_encoding equals torch conv1d over volume-pooled features - causal and same padding") {
    const matrix<double> w = [] {  // torch (V, F, K) -> b2m (K*F, V)
        auto a = xt::load_npy<double>(std::string(B2M_TEST_DIR) + "/fixtures/temporal/weight.npy");
        matrix<double> m = matrix<double>::from_shape({K * F, V});
        for (std::size_t o = 0; o < V; ++o)
            for (std::size_t f = 0; f < F; ++f)
                for (std::size_t s = 0; s < K; ++s) m(s * F + f, o) = a(o, f, s);
        return m;
    }();
    const matrix<double> bias = load("bias");
    for (auto [pad, tag] : {std::pair{nn::time_padding::causal, "causal"}, std::pair{nn::time_padding::same, "same"}}) {
        CAPTURE(tag);
        auto s = nn::sequential<double>(nn::tap<"h">{});
        train::batch<double> b;
        b.x = load("h");
        b.brain = load("brain");
        auto t = loss::temporal_encoding(nn::tap<"h">{}, data::brain,
                                         {.features = F, .volumes = R, .targets = V, .kernel = K, .padding = pad})
                     .make<double>();
        t.head().weight() = w;
        t.head().bias() = bias;
        const double value = loss_check::value(t, s, b);
        CHECK(std::abs(value - load(std::string(tag) + "_loss")(0, 0)) <= 1e-12 * std::abs(value));
        const matrix<double> g = loss_check::analytic_input_grad(t, s, b);
        CHECK(max_rel(g, load(std::string(tag) + "_grad_h")) <= 1e-10);
        // The head's prediction itself, through the frozen-feature path.
        const matrix<double>& p = t.head().forward(t.pooled(), {});
        CHECK(max_rel(p, load(std::string(tag) + "_pred")) <= 1e-10);
    }
}

TEST_SUITE("gradcheck") {
    TEST_CASE("temporal_encoding gradients through a temporal conv student match finite differences") {
        // 11 steps of 3 inputs -> a causal conv (4 channels) -> tanh -> tap; pooled into 4 volumes
        auto s = nn::sequential<double>(nn::temporal_conv(3, F, 2), nn::tanh{}, nn::tap<"h">{});
        s.init(rng(3));
        train::batch<double> b;
        b.x = xt::view(load("h"), xt::all(), xt::range(0, T * 3));
        b.brain = load("brain");
        auto term = [](nn::time_padding pad) {
            return loss::temporal_encoding(nn::tap<"h">{}, data::brain,
                                           {.features = F, .volumes = R, .kernel = K, .padding = pad, .seed = 2})
                .make<double>();
        };
        const nn::time_padding pads[] = {nn::time_padding::causal, nn::time_padding::same};
        SUBCASE("the gradient with respect to the student's input") {
            for (auto pad : pads) {
                CAPTURE(int(pad));
                auto t = term(pad);
                loss_check::check_input_grad(t, s, b);
            }
        }
        SUBCASE("the gradients of the head's weight and bias") {
            for (auto pad : pads) {
                CAPTURE(int(pad));
                auto t = term(pad);
                loss_check::check_param_grads(t, s, b, {"head.weight", "head.bias"});
            }
        }
    }
}

TEST_CASE("temporal_encoding on channel-major taps (nn::conv1d layout) equals the time-major result") {
    auto s = nn::sequential<double>(nn::tap<"h">{});
    train::batch<double> b, bt;
    b.x = load("h");
    b.brain = load("brain");
    bt = b;  // transpose each row from (T, F) to (F, T)
    for (std::size_t i = 0; i < B; ++i)
        for (std::size_t t = 0; t < T; ++t)
            for (std::size_t f = 0; f < F; ++f) bt.x(i, f * T + t) = b.x(i, t * F + f);
    auto a = loss::temporal_encoding(nn::tap<"h">{}, data::brain, {.features = F, .volumes = R, .targets = V, .seed = 4})
                 .make<double>();
    auto c = loss::temporal_encoding(nn::tap<"h">{}, data::brain,
                                     {.features = F, .volumes = R, .targets = V, .channels_first = true, .seed = 4})
                 .make<double>();
    CHECK(loss_check::value(a, s, b) == doctest::Approx(loss_check::value(c, s, bt)).epsilon(1e-14));
    const matrix<double> ga = loss_check::analytic_input_grad(a, s, b), gc = loss_check::analytic_input_grad(c, s, bt);
    for (std::size_t i = 0; i < B; ++i)
        for (std::size_t t = 0; t < T; ++t)
            for (std::size_t f = 0; f < F; ++f) CHECK(gc(i, f * T + t) == doctest::Approx(ga(i, t * F + f)).epsilon(1e-14));
}

TEST_CASE("temporal_encoding rejects shapes that do not fit - names the source and the shape") {
    auto s = nn::sequential<double>(nn::tap<"h">{});
    train::batch<double> b;
    b.x = load("h");
    b.brain = load("brain");
    SUBCASE("more volumes than time steps") {
        auto t = loss::temporal_encoding(nn::tap<"h">{}, data::brain, {.features = F, .volumes = T + 1}).make<double>();
        s.forward(b.x, {});
        CHECK_THROWS_WITH_AS(t.forward(s, b), doctest::Contains("nn::tap<\"h\"> has shape (3, 44)"), shape_error);
    }
    SUBCASE("brain width not a multiple of the volumes") {
        auto t = loss::temporal_encoding(nn::tap<"h">{}, data::brain, {.features = F, .volumes = 3}).make<double>();
        s.forward(b.x, {});
        CHECK_THROWS_WITH_AS(t.forward(s, b), doctest::Contains("data::brain has shape (3, 20)"), shape_error);
    }
    SUBCASE("targets differ from the head's") {
        auto t = loss::temporal_encoding(nn::tap<"h">{}, data::brain, {.features = F, .volumes = R, .targets = 4})
                     .make<double>();
        s.forward(b.x, {});
        CHECK_THROWS_WITH_AS(t.forward(s, b), doctest::Contains("built for 4 targets"), shape_error);
    }
    SUBCASE("valid padding is refused") {
        CHECK_THROWS_AS(loss::temporal_encoding(nn::tap<"h">{}, data::brain,
                                                {.features = F, .volumes = R, .padding = nn::time_padding::valid})
                            .make<double>(),
                        error);
    }
}

TEST_CASE("r2_columns equals sklearn's r2_score per target - including a constant target") {
    const matrix<double> yt = load("r2_true"), yp = load("r2_pred"), ref = load("r2_sklearn");
    const vector<double> r2 = brain::r2_columns(yt, yp);
    REQUIRE(r2.size() == ref.size());
    for (std::size_t j = 0; j < r2.size(); ++j) CHECK(r2(j) == doctest::Approx(ref.data()[j]).epsilon(1e-12));
}

// Latent transfer, encoding alignment, RSA loss and CKA loss: values and gradients
// against PyTorch fixtures (tests/fixtures/make_loss_fixtures.py), finite-difference
// gradient checks, and edge cases.
#include <doctest/doctest.h>

#include <b2m/loss/cka_loss.hpp>
#include <b2m/loss/encoding_alignment.hpp>
#include <b2m/loss/latent.hpp>
#include <b2m/loss/rsa_loss.hpp>
#include <b2m/nn/activation.hpp>
#include <b2m/nn/dense.hpp>
#include <b2m/nn/sequential.hpp>

#include "loss_check.hpp"

using namespace b2m;
using loss_check::fixture;

namespace {
auto identity_student() { return nn::sequential<double>(nn::tap<"h">{}); }
}  // namespace

// ------------------------------------------------------------------------- RSA
TEST_CASE("rsa_loss equals PyTorch") {
    auto s = identity_student();
    train::batch<double> b;
    b.x = fixture("rsa_h");
    b.brain = fixture("rsa_b");
    const auto values = fixture("rsa_values");
    auto t0 = loss::rsa_loss(nn::tap<"h">{}, data::brain).make<double>();
    SUBCASE("the value with the default clamp 0.999") {
        CHECK(std::abs(loss_check::value(t0, s, b) - values(0, 0)) <= 1e-10);
    }
    SUBCASE("the tap gradient with the default clamp 0.999") {
        CHECK(ad::relative_error(loss_check::analytic_input_grad(t0, s, b), fixture("rsa_grad_h0")) <= 1e-10);
    }
    SUBCASE("the value with clamp 0.2 binding on many pairs") {
        auto t1 = loss::rsa_loss(nn::tap<"h">{}, data::brain, {.clamp = 0.2}).make<double>();
        CHECK(std::abs(loss_check::value(t1, s, b) - values(0, 1)) <= 1e-10);
    }
}

TEST_CASE("rsa_loss edge cases") {
    auto s = identity_student();
    auto t = loss::rsa_loss(nn::tap<"h">{}, data::brain).make<double>();
    train::batch<double> one;
    one.x = xt::ones<double>({1, 3});
    one.brain = xt::ones<double>({1, 4});
    s.forward(one.x);
    CHECK_THROWS_WITH_AS(t.forward(s, one), doctest::Contains("at least 2 trials"), data_error);
    // Identical rows on both sides: all similarities clamp to the same value, loss 0.
    train::batch<double> same;
    same.x = xt::ones<double>({4, 3});
    same.brain = xt::ones<double>({4, 5});
    CHECK(loss_check::value(t, s, same) == 0.0);
    CHECK(ad::norm(loss_check::analytic_input_grad(t, s, same)) == 0.0);
    // A zero brain row (no response) has cosine 0 with everything: finite.
    train::batch<double> b;
    b.x = fixture("rsa_h");
    b.brain = fixture("rsa_b");
    for (std::size_t j = 0; j < b.brain.shape(1); ++j) b.brain(3, j) = 0.0;
    CHECK(std::isfinite(loss_check::value(t, s, b)));
    CHECK_THROWS_AS(loss::rsa_loss(nn::tap<"h">{}, data::brain, {.clamp = 1.0}).make<double>(), error);
}

// ------------------------------------------------------------------------- CKA
TEST_CASE("cka_loss and log-CKA equal PyTorch (value and gradient)") {
    auto s = identity_student();
    train::batch<double> b;
    b.x = fixture("cka_h");
    b.brain = fixture("cka_b");
    const auto values = fixture("cka_values");
    auto lin = loss::cka_loss(nn::tap<"h">{}, data::brain).make<double>();
    CHECK(std::abs(loss_check::value(lin, s, b) - values(0, 0)) <= 1e-10);
    CHECK(ad::relative_error(loss_check::analytic_input_grad(lin, s, b), fixture("cka_grad_h_linear")) <= 1e-10);
    auto lg = loss::cka_loss(nn::tap<"h">{}, data::brain, {.log = true}).make<double>();
    CHECK(std::abs(loss_check::value(lg, s, b) - values(0, 1)) <= 1e-10);
    CHECK(ad::relative_error(loss_check::analytic_input_grad(lg, s, b), fixture("cka_grad_h_log")) <= 1e-10);
}

TEST_CASE("cka_loss of a representation against a scaled and shifted copy of itself is 0") {
    auto s = identity_student();
    auto t = loss::cka_loss(nn::tap<"h">{}, data::brain).make<double>();
    train::batch<double> b;
    b.x = fixture("cka_h");
    b.brain = b.x * 3.0 + 1.0;  // CKA is invariant to isotropic scaling and shifts
    CHECK(loss_check::value(t, s, b) == doctest::Approx(0.0).epsilon(1e-12));
}

TEST_CASE("cka_loss refuses a zero-variance brain naming its shape") {
    auto s = identity_student();
    auto t = loss::cka_loss(nn::tap<"h">{}, data::brain).make<double>();
    train::batch<double> b;
    b.x = fixture("cka_h");
    b.brain = xt::ones<double>({8, 10});
    s.forward(b.x);
    CHECK_THROWS_WITH_AS(t.forward(s, b), doctest::Contains("data::brain (shape (8, 10)) has zero variance"),
                         data_error);
}

TEST_CASE("cka_loss refuses a batch of 1 trial") {
    auto s = identity_student();
    auto t = loss::cka_loss(nn::tap<"h">{}, data::brain).make<double>();
    train::batch<double> one;
    one.x = xt::ones<double>({1, 3});
    one.brain = xt::ones<double>({1, 4});
    s.forward(one.x);
    CHECK_THROWS_AS(t.forward(s, one), data_error);
}

// ------------------------------------------------------------------------- encoding alignment
namespace {
template <class Term>
void load_encoders(Term& t) {
    t.encoder(0).weight() = fixture("enc_a1");
    t.encoder(0).bias() = fixture("enc_c1");
    t.encoder(1).weight() = fixture("enc_a2");
    t.encoder(1).bias() = fixture("enc_c2");
    t.head().weight() = fixture("enc_cw");
    t.head().bias() = fixture("enc_cb");
}

/// A minimal student exposing two taps with independent values (the fixture's h1 and h2),
/// which a sequential chain cannot produce.
struct two_tap_student {
    using value_type = double;
    nn::tap_layer<double, "a"> ta;
    nn::tap_layer<double, "b"> tb;
    matrix<double> xa, xb;
    template <fixed_string Name>
    static constexpr bool has_tap() { return Name == fixed_string("a") || Name == fixed_string("b"); }
    template <fixed_string Name>
    static constexpr int tap_rank() { return 2; }
    template <fixed_string Name>
    auto& tap() {
        if constexpr (Name == fixed_string("a")) return ta;
        else return tb;
    }
    void forward() {
        ta.forward(xa, {});
        tb.forward(xb, {});
    }
};

template <class Term>
double two_tap_value(Term& t, two_tap_student& s, train::batch<double>& b) {
    s.forward();
    return t.forward(s, b);
}
}  // namespace

TEST_CASE("encoding_alignment equals PyTorch") {
    two_tap_student s;
    s.xa = fixture("enc_h1");
    s.xb = fixture("enc_h2");
    train::batch<double> b;
    b.x = s.xa;
    b.brain = fixture("enc_b");
    const auto values = fixture("enc_values");
    const std::pair<bool, bool> parts[] = {{true, true}, {true, false}, {false, true}};
    // Part k of `parts` (MSE, correlation), with the fixture's encoders and head.
    auto term = [&](std::size_t k) {
        auto t = loss::encoding_alignment(loss::taps(nn::tap<"a">{}, nn::tap<"b">{}), data::brain,
                                          {.units = 4, .mse = parts[k].first, .correlation = parts[k].second})
                     .make<double>();
        two_tap_value(t, s, b);
        load_encoders(t);
        return t;
    };
    SUBCASE("the value of MSE plus correlation and of each part alone") {
        for (std::size_t k = 0; k < 3; ++k) {
            CAPTURE(k);
            auto t = term(k);
            CHECK(std::abs(two_tap_value(t, s, b) - values(0, k)) <= 1e-10);
        }
    }
    SUBCASE("the gradients of both taps under MSE plus correlation") {
        auto t = term(0);
        two_tap_value(t, s, b);
        t.backward(s, b, 1.0);
        CHECK(ad::relative_error(s.ta.grad(), fixture("enc_grad_h1")) <= 1e-10);
        CHECK(ad::relative_error(s.tb.grad(), fixture("enc_grad_h2")) <= 1e-10);
    }
}

TEST_SUITE("gradcheck") {
    TEST_CASE("encoding_alignment gradients through two taps of a dense student match finite differences") {
        auto s = nn::sequential<double>(nn::tap<"a">{}, nn::dense(5, 6), nn::tanh{}, nn::tap<"b">{});
        s.init(rng(5));
        train::batch<double> b;
        b.x = fixture("enc_h1");
        b.brain = fixture("enc_b");
        auto term = [](bool corr) {
            return loss::encoding_alignment(loss::taps(nn::tap<"a">{}, nn::tap<"b">{}), data::brain,
                                            {.units = 4, .correlation = corr, .seed = 9})
                .make<double>();
        };
        SUBCASE("the gradient with respect to the student's input") {
            for (bool corr : {true, false}) {
                CAPTURE(corr);
                auto t = term(corr);
                loss_check::check_input_grad(t, s, b);
            }
        }
        SUBCASE("the gradients of the encoders and the head") {
            for (bool corr : {true, false}) {
                CAPTURE(corr);
                auto t = term(corr);
                loss_check::check_param_grads(t, s, b,
                                              {"encoder0.weight", "encoder0.bias", "encoder1.weight", "head.weight",
                                               "head.bias"});
            }
        }
    }

    TEST_CASE("latent gradients of the tap and the map match finite differences for MSE and cosine") {
        const loss::latent_loss kinds[] = {loss::latent_loss::mse, loss::latent_loss::cosine};
        auto s = identity_student();
        SUBCASE("a sequence tap of 3 steps") {
            for (auto kind : kinds) {
                CAPTURE(int(kind));
                train::batch<double> b;
                b.x = fixture("lat_h");        // (4, 3*5): three steps of 5 features
                b.targets = fixture("lat_b");  // (4, 3*6)
                auto t = loss::latent(nn::tap<"h">{}, data::targets, {.kind = kind, .steps = 3, .seed = 1}).make<double>();
                loss_check::check_input_grad(t, s, b);
                loss_check::check_param_grads(t, s, b, {"map.weight", "map.bias"});
            }
        }
        SUBCASE("a rank-2 tap of one step") {
            for (auto kind : kinds) {
                CAPTURE(int(kind));
                train::batch<double> b2;
                b2.x = fixture("rsa_h");
                b2.targets = fixture("rsa_b");
                auto t2 = loss::latent(nn::tap<"h">{}, data::targets, {.kind = kind}).make<double>();
                loss_check::check_input_grad(t2, s, b2);
                loss_check::check_param_grads(t2, s, b2, {"map.weight"});
            }
        }
    }

    TEST_CASE("rsa_loss and cka_loss gradients through a dense student") {
        auto s = nn::sequential<double>(nn::dense(6, 5), nn::tanh{}, nn::tap<"h">{});
        s.init(rng(8));
        train::batch<double> b;
        b.x = fixture("cka_h");
        b.brain = fixture("cka_b");
        auto r = loss::rsa_loss(nn::tap<"h">{}, data::brain).make<double>();
        loss_check::check_input_grad(r, s, b);
        auto c = loss::cka_loss(nn::tap<"h">{}, data::brain).make<double>();
        loss_check::check_input_grad(c, s, b);
        auto cl = loss::cka_loss(nn::tap<"h">{}, data::brain, {.log = true}).make<double>();
        loss_check::check_input_grad(cl, s, b);
        // both sides from the student (tap against the output)
        auto both = loss::cka_loss(nn::tap<"h">{}, nn::output).make<double>();
        auto s2 = nn::sequential<double>(nn::dense(6, 5), nn::tanh{}, nn::tap<"h">{}, nn::dense(5, 3));
        s2.init(rng(2));
        loss_check::check_input_grad(both, s2, b);
    }
}

// ------------------------------------------------------------------------- latent
TEST_CASE("latent equals PyTorch on a sequence tap with a PCA reduction of the brain") {
    auto s = identity_student();
    train::batch<double> b;
    b.x = fixture("lat_h");
    b.brain = fixture("lat_b");
    const auto values = fixture("lat_values");
    const auto red = loss::brain_reduction::linear(fixture("lat_mean"), fixture("lat_comps"),
                                                   xt::zeros<double>({std::size_t(1), std::size_t(2)}));
    for (std::size_t k = 0; k < 2; ++k) {
        CAPTURE(k);
        auto t = loss::latent(nn::tap<"h">{}, data::brain, red,
                              {.kind = k == 0 ? loss::latent_loss::mse : loss::latent_loss::cosine, .steps = 3})
                     .make<double>();
        loss_check::value(t, s, b);
        t.map().weight() = fixture("lat_w");
        t.map().bias() = fixture("lat_wb");
        CHECK(std::abs(loss_check::value(t, s, b) - values(0, k)) <= 1e-10);
        if (k == 0)
            CHECK(ad::relative_error(loss_check::analytic_input_grad(t, s, b), fixture("lat_grad_h_mse")) <= 1e-10);
    }
}

TEST_CASE("brain_reduction::pca matches numpy's SVD up to sign") {
    const auto p = loss::brain_reduction::pca(fixture("lat_train"), 2);
    const auto comps = fixture("lat_comps");
    for (std::size_t c = 0; c < 2; ++c) {
        double dot = 0;
        for (std::size_t j = 0; j < comps.shape(0); ++j) dot += p.map(j, c) * comps(j, c);
        CHECK(std::abs(std::abs(dot) - 1.0) <= 1e-10);
    }
}

TEST_CASE("brain_reduction::ridge matches the normal equations") {
    const auto r = loss::brain_reduction::ridge(fixture("lat_train"), fixture("lat_ridge_y"), 3.0);
    CHECK(ad::relative_error(r.map, fixture("lat_ridge_coef")) <= 1e-10);
}

TEST_CASE("brain_reduction::ridge transforms the training mean to the mean target") {
    // The transform is the ridge prediction: at the training mean it gives mean(y).
    const auto r = loss::brain_reduction::ridge(fixture("lat_train"), fixture("lat_ridge_y"), 3.0);
    const auto z = r.transform(fixture("lat_mean"));
    const auto y = fixture("lat_ridge_y");
    for (std::size_t c = 0; c < 2; ++c) {
        double m = 0;
        for (std::size_t i = 0; i < y.shape(0); ++i) m += y(i, c);
        CHECK(z(0, c) == doctest::Approx(m / double(y.shape(0))).epsilon(1e-12));
    }
}

TEST_CASE("brain_reduction::ridge refuses targets with another number of rows") {
    CHECK_THROWS_AS(loss::brain_reduction::ridge(fixture("lat_train"), xt::zeros<double>({3, 2}), 1.0), shape_error);
}

TEST_CASE("latent without a map is 0 when the targets equal the tap") {
    auto s = identity_student();
    train::batch<double> b;
    b.x = fixture("lat_h");
    b.targets = b.x;
    auto t = loss::latent(nn::tap<"h">{}, data::targets, {.map = false, .steps = 3}).make<double>();
    CHECK(loss_check::value(t, s, b) == 0.0);
}

TEST_CASE("latent refuses targets whose width is not a multiple of the steps") {
    auto s = identity_student();
    train::batch<double> b;
    b.x = fixture("lat_h");
    b.targets = b.x;
    auto t = loss::latent(nn::tap<"h">{}, data::targets, {.map = false, .steps = 3}).make<double>();
    loss_check::value(t, s, b);
    b.targets = xt::zeros<double>({4, 7});
    s.forward(b.x);
    CHECK_THROWS_WITH_AS(t.forward(s, b), doctest::Contains("multiples of steps = 3"), shape_error);
}

TEST_CASE("latent cosine against all-zero targets is 1 with a finite gradient") {
    // Zero-variance (all-zero) targets: cosine with 0 is 0.
    auto s = identity_student();
    train::batch<double> b;
    b.x = fixture("lat_h");
    auto tc = loss::latent(nn::tap<"h">{}, data::targets, {.kind = loss::latent_loss::cosine, .steps = 3})
                  .make<double>();
    b.targets = xt::zeros<double>({4, 9});
    CHECK(loss_check::value(tc, s, b) == doctest::Approx(1.0));
    CHECK(std::isfinite(ad::norm(loss_check::analytic_input_grad(tc, s, b))));
}

TEST_CASE("latent MSE still regresses identical rows of the tap") {
    // The gradient is non-zero.
    auto s = identity_student();
    train::batch<double> b;
    b.x = xt::ones<double>({4, 15});
    b.targets = fixture("lat_b");
    auto tm = loss::latent(nn::tap<"h">{}, data::targets, {.steps = 3}).make<double>();
    CHECK(ad::norm(loss_check::analytic_input_grad(tm, s, b)) > 0);
}

namespace {
/// The encoding-alignment fixture with brain row 1 flat (a zero-variance response).
train::batch<double> flat_row_batch() {
    train::batch<double> b;
    b.x = fixture("enc_h1");
    b.brain = fixture("enc_b");
    for (std::size_t j = 0; j < b.brain.shape(1); ++j) b.brain(1, j) = 2.5;  // flat response
    return b;
}
}  // namespace

TEST_CASE("encoding_alignment with a flat brain row") {
    auto s = nn::sequential<double>(nn::tap<"a">{});
    auto b = flat_row_batch();
    auto t = loss::encoding_alignment(nn::tap<"a">{}, data::brain, {.units = 4}).make<double>();
    SUBCASE("has a finite value") { CHECK(std::isfinite(loss_check::value(t, s, b))); }
    SUBCASE("has the gradient finite differences give") {
        loss_check::value(t, s, b);
        loss_check::check_input_grad(t, s, b);
    }
}

TEST_CASE("encoding_alignment on a batch of 1 trial") {
    auto s = nn::sequential<double>(nn::tap<"a">{});
    auto b = flat_row_batch();
    auto t = loss::encoding_alignment(nn::tap<"a">{}, data::brain, {.units = 4}).make<double>();
    loss_check::value(t, s, b);  // builds the encoders for b's brain width
    train::batch<double> one;
    one.x = xt::view(b.x, xt::range(0, 1), xt::all());
    one.brain = xt::view(b.brain, xt::range(0, 1), xt::all());
    SUBCASE("has a finite value") { CHECK(std::isfinite(loss_check::value(t, s, one))); }
    SUBCASE("refuses a brain width other than the encoders'") {
        one.brain = xt::ones<double>({1, 3});
        s.forward(one.x);
        CHECK_THROWS_AS(t.forward(s, one), shape_error);
    }
}

#include <doctest/doctest.h>

#include <b2m/loss/contrastive.hpp>
#include <b2m/nn/dense.hpp>
#include <b2m/nn/activation.hpp>
#include <b2m/nn/sequential.hpp>

#include "loss_check.hpp"

using namespace b2m;
using loss_check::fixture;

namespace {
/// A student whose tap is its input: the tap's gradient is dL/dx.
auto identity_student() { return nn::sequential<double>(nn::tap<"h">{}); }

train::batch<double> fixture_batch() {
    train::batch<double> b;
    b.x = fixture("con_h");
    b.brain = fixture("con_b");
    b.stimulus = loss_check::fixture_ids("con_stim");
    return b;
}

template <class Term>
void load_heads(Term& t) {
    t.student_head().weight() = fixture("con_wg");
    t.student_head().bias() = fixture("con_bg");
    t.brain_head().weight() = fixture("con_wf");
    t.brain_head().bias() = fixture("con_bf");
}
} // namespace

TEST_CASE("contrastive equals an independent PyTorch computation (value and tap gradient)") {
    struct variant {
        loss::similarity sim;
        bool symmetric, multi;
        double tau;
    };
    const variant vs[] = {{loss::similarity::cosine, true, true, 0.1},
                          {loss::similarity::cosine, true, false, 0.1},
                          {loss::similarity::cosine, false, true, 0.1},
                          {loss::similarity::dot, true, true, 0.7},
                          {loss::similarity::cosine, true, true, 0.01}};
    const auto values = fixture("con_values");
    for (std::size_t k = 0; k < 5; ++k) {
        CAPTURE(k);
        auto s = identity_student();
        auto batch = fixture_batch();
        auto term = loss::contrastive(nn::tap<"h">{}, data::brain,
                                      {.tau = vs[k].tau, .dim = 4, .sim = vs[k].sim, .symmetric = vs[k].symmetric,
                                       .use_stimulus = vs[k].multi})
                        .make<double>();
        loss_check::value(term, s, batch);  // builds the heads
        load_heads(term);
        const double v = loss_check::value(term, s, batch);
        CHECK(std::abs(v - values(0, k)) <= 1e-10);
        const auto g = loss_check::analytic_input_grad(term, s, batch);
        CHECK(ad::relative_error(g, fixture("con_grad_h" + std::to_string(k))) <= 1e-10);
    }
}

TEST_SUITE("gradcheck") {
    TEST_CASE("contrastive gradients match finite differences for cosine and dot similarity") {
        auto term_for = [](loss::similarity sim, bool symmetric) {
            return loss::contrastive(nn::tap<"h">{}, data::brain,
                                     {.tau = sim == loss::similarity::dot ? 2.0 : 0.3, .learn_tau = true, .dim = 3,
                                      .sim = sim, .symmetric = symmetric, .seed = 4})
                .make<double>();
        };
        const loss::similarity sims[] = {loss::similarity::cosine, loss::similarity::dot};
        SUBCASE("the gradient with respect to the tap") {
            for (auto sim : sims)
                for (bool symmetric : {true, false}) {
                    CAPTURE(int(sim));
                    CAPTURE(symmetric);
                    auto s = identity_student();
                    auto batch = fixture_batch();
                    auto term = term_for(sim, symmetric);
                    loss_check::check_input_grad(term, s, batch);
                }
        }
        SUBCASE("the gradients of both heads and the learnable temperature") {
            for (auto sim : sims)
                for (bool symmetric : {true, false}) {
                    CAPTURE(int(sim));
                    CAPTURE(symmetric);
                    auto s = identity_student();
                    auto batch = fixture_batch();
                    auto term = term_for(sim, symmetric);
                    // One-sided dot-product InfoNCE does not depend on the brain head's bias.
                    loss_check::check_param_grads(term, s, batch,
                                                  {"student_head.weight", "student_head.bias", "brain_head.weight",
                                                   "brain_head.bias", "log_tau"},
                                                  sim == loss::similarity::dot && !symmetric
                                                      ? std::vector<std::string>{"brain_head.bias"}
                                                      : std::vector<std::string>{});
                }
        }
    }

    TEST_CASE("contrastive gradients through a dense student and identity heads") {
        auto s = nn::sequential<double>(nn::dense(5, 7), nn::tanh{}, nn::tap<"h">{});
        s.init(rng(3));
        auto batch = fixture_batch();
        auto term = loss::contrastive(nn::tap<"h">{}, data::brain,
                                      {.tau = 0.5, .learn_tau = true, .project_student = false,
                                       .project_brain = false})
                        .make<double>();
        loss_check::check_input_grad(term, s, batch);
        loss_check::check_param_grads(term, s, batch, {"log_tau"});
    }

    TEST_CASE("contrastive gradients with one brain head per subject (padded brain)") {
        auto s = identity_student();
        auto batch = fixture_batch();
        batch.subject = index_vector({0, 1, 1, 0, 2, 1});
        for (std::size_t i = 0; i < 6; ++i)  // subject 1 has 4 columns: the padding must not matter
            if (batch.subject(i) == 1)
                for (std::size_t j = 4; j < 7; ++j) batch.brain(i, j) = 1e6;
        auto term = loss::contrastive(nn::tap<"h">{}, data::brain,
                                      {.tau = 0.4, .dim = 3, .subject_widths = {7, 4, 6}, .seed = 2})
                        .make<double>();
        loss_check::check_input_grad(term, s, batch);
        loss_check::check_param_grads(term, s, batch,
                                      {"brain_head.subject0.weight", "brain_head.subject1.weight",
                                       "brain_head.subject2.bias", "student_head.weight"});
        // The padding must not matter: other padding values give the same loss and gradients.
        const double v1 = loss_check::value(term, s, batch);
        const auto g1 = loss_check::analytic_input_grad(term, s, batch);
        for (std::size_t i = 0; i < 6; ++i)
            if (batch.subject(i) == 1)
                for (std::size_t j = 4; j < 7; ++j) batch.brain(i, j) = j == 5 ? -3.0 : 0.0;
        CHECK(loss_check::value(term, s, batch) == doctest::Approx(v1).epsilon(1e-14));
        CHECK(ad::relative_error(loss_check::analytic_input_grad(term, s, batch), g1) <= 1e-14);
    }
}

TEST_CASE("contrastive temperature - clamp and zero gradient at the clamp") {
    auto s = identity_student();
    auto batch = fixture_batch();
    auto term = loss::contrastive(nn::tap<"h">{}, data::brain, {.tau = 0.005, .learn_tau = true, .dim = 4})
                    .make<double>();
    loss_check::value(term, s, batch);
    load_heads(term);
    CHECK(term.tau() == 0.01);
    // At the clamp the loss equals the fixed tau = 0.01 one (fixture variant 4).
    CHECK(std::abs(loss_check::value(term, s, batch) - fixture("con_values")(0, 4)) <= 1e-10);
    loss_check::zero_param_grads(term);
    term.backward(s, batch, 1.0);
    CHECK(term.log_tau()(0, 0) == doctest::Approx(std::log(0.005)));
    double g = 1;
    term.for_each_param([&](const std::string& n, matrix<double>&, matrix<double>& gr) {
        if (n == "log_tau") g = gr(0, 0);
    });
    CHECK(g == 0.0);
}

TEST_CASE("contrastive refuses a batch of 1 trial") {
    auto s = identity_student();
    train::batch<double> one;
    one.x = xt::ones<double>({1, 5});
    one.brain = xt::ones<double>({1, 7});
    auto term = loss::contrastive(nn::tap<"h">{}, data::brain, {.dim = 4}).make<double>();
    s.forward(one.x);
    CHECK_THROWS_WITH_AS(term.forward(s, one), doctest::Contains("at least 2 trials"), data_error);
}

TEST_CASE("contrastive on identical rows is log n with a zero gradient") {
    // Every similarity is equal, the loss is log(n) (one positive per row), and the
    // gradient is zero.
    auto s = identity_student();
    auto term = loss::contrastive(nn::tap<"h">{}, data::brain, {.dim = 4}).make<double>();
    train::batch<double> same;
    same.x = xt::ones<double>({4, 5});
    same.brain = xt::ones<double>({4, 7});
    s.forward(same.x);
    CHECK(term.forward(s, same) == doctest::Approx(std::log(4.0)).epsilon(1e-12));
    const auto g = loss_check::analytic_input_grad(term, s, same);
    CHECK(ad::norm(g) < 1e-12);
}

TEST_CASE("contrastive with a zero-variance brain response stays finite") {
    // A flat row, even all zeros.
    auto s = identity_student();
    auto term = loss::contrastive(nn::tap<"h">{}, data::brain, {.dim = 4}).make<double>();
    auto batch = fixture_batch();
    for (std::size_t j = 0; j < 7; ++j) batch.brain(2, j) = 0.0;
    const double v = loss_check::value(term, s, batch);
    CHECK(std::isfinite(v));
    CHECK(std::isfinite(ad::norm(loss_check::analytic_input_grad(term, s, batch))));
}

TEST_CASE("contrastive refuses bad input with an error naming it") {
    auto s = identity_student();
    auto term = loss::contrastive(nn::tap<"h">{}, data::brain, {.dim = 4}).make<double>();
    auto batch = fixture_batch();
    loss_check::value(term, s, batch);  // builds the heads
    SUBCASE("row counts that differ name both sources") {
        batch.brain = xt::ones<double>({5, 7});
        s.forward(batch.x);
        CHECK_THROWS_WITH_AS(term.forward(s, batch), doctest::Contains("data::brain has shape (5, 7)"), shape_error);
    }
    SUBCASE("stimulus ids of the wrong length") {
        batch.stimulus = index_vector({0, 1});
        s.forward(batch.x);
        CHECK_THROWS_WITH_AS(term.forward(s, batch), doctest::Contains("batch.stimulus has 2 entries"), shape_error);
    }
    SUBCASE("a brain width changing after the heads were built") {
        batch.brain = xt::ones<double>({6, 9});
        CHECK_THROWS_AS(term.forward(s, batch), shape_error);
    }
    SUBCASE("a negative temperature") {
        CHECK_THROWS_AS(loss::contrastive(nn::tap<"h">{}, data::brain, {.tau = -1.0}).make<double>(), error);
    }
}

TEST_CASE("contrastive - subject ids are checked against the number of heads") {
    auto s = identity_student();
    auto batch = fixture_batch();
    batch.subject = index_vector({0, 1, 1, 0, 5, 1});
    auto term = loss::contrastive(nn::tap<"h">{}, data::brain, {.dim = 3, .subject_widths = {7, 4}}).make<double>();
    s.forward(batch.x);
    CHECK_THROWS_WITH_AS(term.forward(s, batch), doctest::Contains("batch.subject[4] = 5"), data_error);
}

TEST_CASE("float contrastive agrees with double in the one-exp and the two-exp softmax paths") {
    // tau = 0.1 keeps every similarity within 80 of the largest (the fused one-exp pass);
    // tau = 0.01 does not (the two-exp passes). Symmetric and one-sided, with and without
    // stimulus positives; loss, tap gradient and head gradients relative to double.
    for (double tau : {0.1, 0.01})
        for (bool symmetric : {true, false})
            for (bool multi : {true, false}) {
                CAPTURE(tau);
                CAPTURE(symmetric);
                CAPTURE(multi);
                const loss::contrastive_options o{.tau = tau, .dim = 4, .symmetric = symmetric, .use_stimulus = multi};
                auto sd = identity_student();
                auto bd = fixture_batch();
                auto td = loss::contrastive(nn::tap<"h">{}, data::brain, o).make<double>();
                loss_check::value(td, sd, bd);
                load_heads(td);
                const double vd = loss_check::value(td, sd, bd);
                const auto gd = loss_check::analytic_input_grad(td, sd, bd);
                std::vector<matrix<double>> pd;
                td.for_each_param([&](const std::string&, matrix<double>&, matrix<double>& g) { pd.push_back(g); });

                auto sf = nn::sequential<float>(nn::tap<"h">{});
                train::batch<float> bf;
                bf.x = xt::cast<float>(bd.x);
                bf.brain = xt::cast<float>(bd.brain);
                bf.stimulus = bd.stimulus;
                auto tf = loss::contrastive(nn::tap<"h">{}, data::brain, o).make<float>();
                sf.forward(bf.x, {.training = false});
                tf.forward(sf, bf);
                tf.student_head().weight() = xt::cast<float>(td.student_head().weight());
                tf.student_head().bias() = xt::cast<float>(td.student_head().bias());
                tf.brain_head().weight() = xt::cast<float>(td.brain_head().weight());
                tf.brain_head().bias() = xt::cast<float>(td.brain_head().bias());
                sf.forward(bf.x, {.training = false});
                const double vf = tf.forward(sf, bf);
                CHECK(std::abs(vf - vd) <= 1e-5 * std::abs(vd));
                tf.for_each_param([](const std::string&, matrix<float>&, matrix<float>& g) { g.fill(0.0f); });
                tf.backward(sf, bf, 1.0f);
                const matrix<double> gf = xt::cast<double>(sf.backward(true));
                CHECK(ad::relative_error(gf, gd) <= 1e-5);
                std::size_t k = 0;
                tf.for_each_param([&](const std::string& n, matrix<float>&, matrix<float>& g) {
                    INFO(n);
                    CHECK(ad::relative_error(xt::cast<double>(g), pd[k++]) <= 1e-5);
                });
            }
}

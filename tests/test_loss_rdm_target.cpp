// loss::rdm_target: value against an independent computation (brain::rdm + Pearson on the
// lower triangle of the sub-RDM), gradients against finite differences, and bad input.
#include <doctest/doctest.h>

#include <b2m/brain/rsa.hpp>
#include <b2m/loss/rdm_target.hpp>
#include <b2m/nn/activation.hpp>
#include <b2m/nn/dense.hpp>
#include <b2m/nn/sequential.hpp>

#include "loss_check.hpp"

using namespace b2m;

namespace {
/// A symmetric (S, S) target with zero diagonal and random off-diagonal entries.
matrix<double> random_rdm(std::size_t S, std::uint64_t seed) {
    matrix<double> t = matrix<double>::from_shape({S, S});
    rng(seed).fill_normal(t, 0.0, 1.0);
    for (std::size_t i = 0; i < S; ++i) {
        t(i, i) = 0;
        for (std::size_t j = 0; j < i; ++j) t(i, j) = t(j, i) = 1.0 + 0.3 * t(i, j);
    }
    return t;
}
train::batch<double> make_batch(std::size_t n, std::size_t d, const std::vector<std::int64_t>& ids, std::uint64_t seed) {
    train::batch<double> b;
    b.x = matrix<double>::from_shape({n, d});
    rng(seed).fill_normal(b.x, 0.0, 1.0);
    b.stimulus = index_vector::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) b.stimulus(i) = ids[i];
    return b;
}
}  // namespace

TEST_CASE("rdm_target equals 1 - Pearson r of the lower triangles (brain::rdm as the oracle)") {
    const auto target = random_rdm(10, 3);
    const std::vector<std::int64_t> ids{7, 2, 9, 0, 4, 5};
    auto b = make_batch(6, 5, ids, 11);
    auto s = nn::sequential<double>(nn::tap<"h">{});
    for (bool center : {true, false}) {
        CAPTURE(center);
        auto t = loss::rdm_target(nn::tap<"h">{}, target, {.center = center}).make<double>();
        const double v = loss_check::value(t, s, b);
        matrix<double> sub = matrix<double>::from_shape({6, 6});
        for (std::size_t i = 0; i < 6; ++i)
            for (std::size_t j = 0; j < 6; ++j) sub(i, j) = target(std::size_t(ids[i]), std::size_t(ids[j]));
        const auto model = brain::rdm(b.x, center ? brain::rdm_metric::correlation : brain::rdm_metric::cosine);
        const double expect = 1.0 - brain::pearson(brain::lower_triangle(model), brain::lower_triangle(sub));
        CHECK(std::abs(v - expect) <= 1e-12);
        CHECK(std::abs(t.last_r() - (1.0 - expect)) <= 1e-12);
        CHECK(v > 0.0);
        CHECK(v < 2.0);
    }
    // Affine changes of the target do not change the loss.
    matrix<double> scaled = 3.0 * target + 2.0;
    auto t1 = loss::rdm_target(nn::tap<"h">{}, target).make<double>();
    auto t2 = loss::rdm_target(nn::tap<"h">{}, scaled).make<double>();
    CHECK(std::abs(loss_check::value(t1, s, b) - loss_check::value(t2, s, b)) <= 1e-12);
    // The target's own pattern gives loss 0: rows whose correlation RDM equals the target's.
    auto t3 = loss::rdm_target(nn::tap<"h">{}, brain::rdm(b.x)).make<double>();
    train::batch<double> self = b;
    for (std::size_t i = 0; i < 6; ++i) self.stimulus(i) = std::int64_t(i);
    CHECK(std::abs(loss_check::value(t3, s, self)) <= 1e-12);
}

TEST_SUITE("gradcheck") {
    TEST_CASE("rdm_target gradients through a dense student (double, finite differences)") {
        const auto target = random_rdm(12, 5);
        auto b = make_batch(7, 6, {11, 3, 0, 8, 5, 9, 1}, 21);
        for (bool center : {true, false}) {
            CAPTURE(center);
            auto s = nn::sequential<double>(nn::dense(6, 5), nn::tanh{}, nn::tap<"h">{}, nn::dense(5, 2));
            s.init(rng(4));
            auto t = loss::rdm_target(nn::tap<"h">{}, target, {.center = center}).make<double>();
            loss_check::check_input_grad(t, s, b);
        }
        // Repeated stimuli in a batch (pairs of the same stimulus compare with T_ii = 0).
        auto s = nn::sequential<double>(nn::dense(6, 4), nn::tanh{}, nn::tap<"h">{});
        s.init(rng(9));
        auto rep = make_batch(5, 6, {2, 2, 7, 4, 7}, 33);
        auto t = loss::rdm_target(nn::tap<"h">{}, target).make<double>();
        loss_check::check_input_grad(t, s, rep);
    }
}

TEST_CASE("rdm_target: gradient descent on the rows raises the RDM correlation") {
    const auto target = random_rdm(8, 6);
    auto b = make_batch(8, 4, {0, 1, 2, 3, 4, 5, 6, 7}, 2);
    auto s = nn::sequential<double>(nn::tap<"h">{});
    auto t = loss::rdm_target(nn::tap<"h">{}, target).make<double>();
    const double first = loss_check::value(t, s, b);
    for (int it = 0; it < 200; ++it) {
        const auto g = loss_check::analytic_input_grad(t, s, b);
        b.x -= 0.5 * g;
    }
    const double last = loss_check::value(t, s, b);
    CHECK(last < first - 0.2);
}

TEST_CASE("rdm_target bad input") {
    auto s = nn::sequential<double>(nn::tap<"h">{});
    const auto target = random_rdm(6, 1);
    auto t = loss::rdm_target(nn::tap<"h">{}, target).make<double>();
    auto b = make_batch(4, 3, {0, 1, 2, 3}, 1);
    b.stimulus(2) = 6;
    s.forward(b.x);
    CHECK_THROWS_WITH_AS(t.forward(s, b), doctest::Contains("batch.stimulus[2] = 6"), data_error);
    b.stimulus(2) = -1;
    CHECK_THROWS_AS(t.forward(s, b), data_error);
    b.stimulus = index_vector::from_shape({3});
    CHECK_THROWS_WITH_AS(t.forward(s, b), doctest::Contains("batch.stimulus has 3 entries"), shape_error);
    auto two = make_batch(2, 3, {0, 1}, 1);
    s.forward(two.x);
    CHECK_THROWS_WITH_AS(t.forward(s, two), doctest::Contains("at least 3 trials"), data_error);
    auto same = make_batch(3, 3, {4, 4, 4}, 1);
    s.forward(same.x);
    CHECK_THROWS_WITH_AS(t.forward(s, same), doctest::Contains("constant"), data_error);
    CHECK_THROWS_WITH_AS(loss::rdm_target(nn::tap<"h">{}, matrix<double>(xt::zeros<double>({3, 4}))), doctest::Contains("(3, 4)"),
                         shape_error);
    matrix<double> bad = target;
    bad(1, 2) = std::nan("");
    CHECK_THROWS_AS(loss::rdm_target(nn::tap<"h">{}, bad), data_error);
    // A constant student (all rows equal): r = 0, loss 1, no gradient.
    train::batch<double> flat = make_batch(4, 3, {0, 1, 2, 3}, 1);
    flat.x = xt::ones<double>({4, 3});
    flat.x(0, 0) = flat.x(1, 0) = flat.x(2, 0) = flat.x(3, 0) = 2.0;
    CHECK(loss_check::value(t, s, flat) == doctest::Approx(1.0));
    CHECK(ad::norm(loss_check::analytic_input_grad(t, s, flat)) == 0.0);
}

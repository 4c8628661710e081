// Task losses: gradient checks (label: gradcheck), values against direct computations,
// composition and bad input.
#include "gradcheck_util.hpp"

#include <b2m/loss.hpp>
#include <b2m/nn.hpp>

#include <cmath>

using namespace b2m;
using b2m::testing::random_matrix;

namespace {
/// A student whose output is exactly its input (a tap-free identity), so the term's
/// gradient with respect to the output is what the check sees.
auto identity_student() { return nn::sequential<double>(nn::tap<"in">{}); }

/// Checks d term / d output of `spec` against central differences with batch b.
template <class Spec>
void check_term(const Spec& spec, train::batch<double>& b) {
    auto term = spec.template make<double>();
    auto net = identity_student();
    auto value = [&] {
        net.forward(b.x);
        return term.forward(net, b);
    };
    value();
    term.backward(net, b, 1.0);
    const matrix<double> analytic = net.output_grad();
    CHECK(ad::norm(analytic) > 1e-8);
    CHECK(ad::relative_error(analytic, ad::numeric_gradient(value, b.x)) <= 1e-6);
}
} // namespace

TEST_SUITE("gradcheck") {
    TEST_CASE("cross_entropy with class indices") {
        train::batch<double> b;
        b.x = random_matrix(5, 4, 1, 0.0, 2.0);
        b.labels = {0, 3, 1, 1, 2};
        check_term(loss::cross_entropy(nn::output, data::labels), b);
    }
    TEST_CASE("cross_entropy with soft targets") {
        train::batch<double> b;
        b.x = random_matrix(5, 4, 1, 0.0, 2.0);
        b.targets = xt::abs(random_matrix(5, 4, 2));
        check_term(loss::cross_entropy(nn::output, data::targets), b);
    }
    TEST_CASE("mse") {
        train::batch<double> b;
        b.x = random_matrix(5, 4, 1);
        b.targets = random_matrix(5, 4, 2);
        check_term(loss::mse(nn::output, data::targets), b);
    }
    TEST_CASE("binary_cross_entropy on logits") {
        train::batch<double> b;
        b.x = random_matrix(5, 3, 1, 0.0, 3.0);
        b.targets = {{0, 1, 0.5}, {1, 1, 0}, {0, 0, 0}, {1, 0.2, 1}, {0.9, 0, 1}};
        check_term(loss::binary_cross_entropy(nn::output, data::targets), b);
    }
    TEST_CASE("a weighted sum of terms") {
        train::batch<double> b;
        b.x = random_matrix(5, 4, 1);
        b.targets = random_matrix(5, 4, 2);
        b.labels = {0, 3, 1, 1, 2};
        auto spec = loss::cross_entropy(nn::output, data::labels) + 0.25 * loss::mse(nn::tap<"in">{}, data::targets);
        auto obj = spec.make<double>();
        auto net = identity_student();
        auto value = [&] {
            net.forward(b.x);
            return obj.forward(net, b);
        };
        value();
        obj.backward(net, b);
        net.backward(true);
        // the tap's gradient and the output's both land on the input
        const matrix<double> analytic = net.output_grad() + net.tap<"in">().grad();
        CHECK(ad::relative_error(analytic, ad::numeric_gradient(value, b.x)) <= 1e-6);
        CHECK(obj.weights()[1] == 0.25);
    }
    TEST_CASE("a user-written expression loss") {
        train::batch<double> b;
        b.x = random_matrix(5, 4, 1);
        b.brain = random_matrix(5, 4, 2);
        auto cosine = loss::named_expression(
            "cosine",
            [](auto h, auto r) {
                return 1.0 - ad::mean(ad::sum(ad::l2_normalize(h) * ad::l2_normalize(r), ad::axis::cols));
            },
            nn::output, data::brain);
        check_term(cosine, b);
        CHECK(cosine.make<double>().name() == "cosine");
    }
}

TEST_CASE("loss values equal direct computations") {
    auto net = identity_student();
    train::batch<double> b;
    b.x = {{1.0, 2.0, 0.5}, {-1.0, 0.0, 3.0}};
    b.labels = {1, 2};
    b.targets = {{0.2, 0.3, 0.5}, {1.0, 0.0, 0.0}};
    net.forward(b.x);
    auto ce = loss::cross_entropy(nn::output, data::labels).make<double>();
    const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(0.5));
    const double lse1 = std::log(std::exp(-1.0) + std::exp(0.0) + std::exp(3.0));
    CHECK(ce.forward(net, b) == doctest::Approx(((lse0 - 2.0) + (lse1 - 3.0)) / 2).epsilon(1e-14));
    auto soft = loss::cross_entropy(nn::output, data::targets).make<double>();
    const double s0 = 0.2 * (lse0 - 1.0) + 0.3 * (lse0 - 2.0) + 0.5 * (lse0 - 0.5);
    const double s1 = 1.0 * (lse1 + 1.0);
    CHECK(soft.forward(net, b) == doctest::Approx((s0 + s1) / 2).epsilon(1e-14));
    auto mse = loss::mse(nn::output, data::targets).make<double>();
    double sq = 0;
    for (std::size_t i = 0; i < 6; ++i) sq += std::pow(b.x.data()[i] - b.targets.data()[i], 2);
    CHECK(mse.forward(net, b) == doctest::Approx(sq / 6).epsilon(1e-14));
    auto bce = loss::binary_cross_entropy(nn::output, data::targets).make<double>();
    double e = 0;
    for (std::size_t i = 0; i < 6; ++i) {
        const double z = b.x.data()[i], t = b.targets.data()[i], p = 1 / (1 + std::exp(-z));
        e += -(t * std::log(p) + (1 - t) * std::log(1 - p));
    }
    CHECK(bce.forward(net, b) == doctest::Approx(e / 6).epsilon(1e-12));
}

TEST_CASE("bad labels and shapes are named") {
    auto net = identity_student();
    train::batch<double> b;
    b.x = random_matrix(3, 4, 1);
    net.forward(b.x);
    auto ce = loss::cross_entropy(nn::output, data::labels).make<double>();
    b.labels = {0, 4, 1};
    CHECK_THROWS_WITH_AS(ce.forward(net, b), doctest::Contains("data::labels[1] = 4 is outside [0, 4)"), data_error);
    b.labels = {0, 1};
    CHECK_THROWS_WITH_AS(ce.forward(net, b), doctest::Contains("data::labels has 2 entries"), shape_error);
    auto mse = loss::mse(nn::output, data::targets).make<double>();
    b.targets = random_matrix(3, 5, 2);
    CHECK_THROWS_WITH_AS(mse.forward(net, b),
                         doctest::Contains("nn::output has shape (3, 4) but data::targets has shape (3, 5)"), shape_error);
}

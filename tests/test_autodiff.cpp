// Finite-difference gradient checks of every autodiff op (label: gradcheck), and value
// checks against direct computations.
#include "gradcheck_util.hpp"

#include <cmath>
#include <string>

using namespace b2m;
using b2m::testing::checked::check_function;
using b2m::testing::random_matrix;

namespace {
/// Checks a unary op applied to a (4 x 3) input, contracted with fixed weights so every
/// entry of the output matters: L = sum(op(x) * W).
template <class Op>
void check_unary(Op op, double gap = 0.1, double scale = 1.0, double shift = 0.0) {
    auto f = ad::make_function<double, 2>([&](auto x, auto w) { return ad::sum(op(x) * w); });
    std::array<matrix<double>, 2> in{random_matrix(4, 3, 1, gap, scale), random_matrix(4, 3, 2)};
    in[0] += shift;
    check_function(f, in);
}
} // namespace

TEST_SUITE("gradcheck") {
    TEST_CASE("exp") { check_unary([](auto x) { return ad::exp(x); }); }
    TEST_CASE("log") { check_unary([](auto x) { return ad::log(x); }, 0.1, 0.3, 2.0); }
    TEST_CASE("sqrt") { check_unary([](auto x) { return ad::sqrt(x); }, 0.1, 0.3, 2.0); }
    TEST_CASE("square") { check_unary([](auto x) { return ad::square(x); }); }
    TEST_CASE("pow") { check_unary([](auto x) { return ad::pow(x, 2.5); }, 0.1, 0.3, 2.0); }
    TEST_CASE("abs") { check_unary([](auto x) { return ad::abs(x); }, 0.2); }
    TEST_CASE("relu") { check_unary([](auto x) { return ad::relu(x); }, 0.2); }
    TEST_CASE("leaky_relu") { check_unary([](auto x) { return ad::leaky_relu(x, 0.2); }, 0.2); }
    TEST_CASE("gelu") { check_unary([](auto x) { return ad::gelu(x); }); }
    TEST_CASE("tanh") { check_unary([](auto x) { return ad::tanh(x); }); }
    TEST_CASE("sigmoid") { check_unary([](auto x) { return ad::sigmoid(x); }); }
    TEST_CASE("softplus") { check_unary([](auto x) { return ad::softplus(x); }); }
    TEST_CASE("atanh") { check_unary([](auto x) { return ad::atanh(x); }, 0.0, 0.3); }
    TEST_CASE("scalar arithmetic") {
        check_unary([](auto x) { return 2.0 - (3.0 * x + 1.0) / 4.0 - (-x) * 0.5; });
    }
    TEST_CASE("softmax") { check_unary([](auto x) { return ad::softmax(x); }); }
    TEST_CASE("log_softmax") { check_unary([](auto x) { return ad::log_softmax(x); }); }
    TEST_CASE("l2_normalize") { check_unary([](auto x) { return ad::l2_normalize(x); }); }
    TEST_CASE("transpose") {
        auto f = ad::make_function<double, 2>([](auto x, auto w) { return ad::sum(ad::transpose(x) * w); });
        std::array<matrix<double>, 2> in{random_matrix(4, 3, 1), random_matrix(3, 4, 2)};
        check_function(f, in);
    }
    TEST_CASE("reshape") {
        auto f = ad::make_function<double, 2>([](auto x, auto w) { return ad::sum(ad::reshape(x, 2, 6) * w); });
        std::array<matrix<double>, 2> in{random_matrix(4, 3, 1), random_matrix(2, 6, 2)};
        check_function(f, in);
    }
    TEST_CASE("logsumexp") {
        auto f = ad::make_function<double, 2>([](auto x, auto w) { return ad::sum(ad::logsumexp(x) * w); });
        std::array<matrix<double>, 2> in{random_matrix(4, 3, 1, 0, 3.0), random_matrix(4, 1, 2)};
        check_function(f, in);
    }

    TEST_CASE("add, sub, mul, div with full-shape operands") {
        auto f = ad::make_function<double, 3>([](auto a, auto b, auto w) { return ad::sum(((a + b) * (a - b) / (b * b + 1.0)) * w); });
        std::array<matrix<double>, 3> in{random_matrix(3, 4, 1), random_matrix(3, 4, 2), random_matrix(3, 4, 3)};
        check_function(f, in);
    }
    TEST_CASE("broadcast a row vector") {
        auto f = ad::make_function<double, 3>([](auto a, auto r, auto w) { return ad::sum((a * r + r - a / (r * r + 1.0)) * w); });
        std::array<matrix<double>, 3> in{random_matrix(3, 4, 1), random_matrix(1, 4, 2), random_matrix(3, 4, 3)};
        check_function(f, in);
    }
    TEST_CASE("broadcast a column vector and a scalar") {
        auto f = ad::make_function<double, 4>([](auto a, auto c, auto s, auto w) { return ad::sum((a * c - s / (c * c + 1.0) + a * s) * w); });
        std::array<matrix<double>, 4> in{random_matrix(3, 4, 1), random_matrix(3, 1, 2), random_matrix(1, 1, 3),
                                         random_matrix(3, 4, 4)};
        check_function(f, in);
    }
    TEST_CASE("matmul, all four transpose combinations") {
        auto f = ad::make_function<double, 3>([](auto a, auto b, auto w) {
            return ad::sum((ad::matmul(a, b) + ad::matmul<true, true>(b, a) * 0.5) * w);
        });
        std::array<matrix<double>, 3> in{random_matrix(3, 5, 1), random_matrix(5, 3, 2), random_matrix(3, 3, 3)};
        check_function(f, in);
        auto g = ad::make_function<double, 3>([](auto a, auto b, auto w) {
            return ad::sum((ad::matmul<true, false>(a, b) + ad::matmul<false, true>(a, b)) * w);
        });
        std::array<matrix<double>, 3> in2{random_matrix(4, 4, 4), random_matrix(4, 4, 5), random_matrix(4, 4, 6)};
        check_function(g, in2);
    }
    TEST_CASE("sum and mean over all entries and each axis") {
        auto f = ad::make_function<double, 3>([](auto x, auto wr, auto wc) {
            return ad::sum(ad::sum(x, ad::axis::rows) * wr) + ad::sum(ad::mean(x, ad::axis::cols) * wc) +
                   ad::mean(ad::square(x)) * 2.0;
        });
        std::array<matrix<double>, 3> in{random_matrix(4, 3, 1), random_matrix(1, 3, 2), random_matrix(4, 1, 3)};
        check_function(f, in);
    }
    TEST_CASE("concat along columns and rows") {
        auto f = ad::make_function<double, 4>([](auto a, auto b, auto w1, auto w2) {
            return ad::sum(ad::concat(a, b, ad::axis::cols) * w1) + ad::sum(ad::concat(a, ad::transpose(b), ad::axis::rows) * w2);
        });
        std::array<matrix<double>, 4> in{random_matrix(3, 3, 1), random_matrix(3, 2, 2), random_matrix(3, 5, 3),
                                         random_matrix(5, 3, 4)};
        check_function(f, in);
    }
    TEST_CASE("slice rows and columns") {
        auto f = ad::make_function<double, 3>([](auto x, auto w1, auto w2) {
            return ad::sum(ad::slice(x, ad::axis::rows, 1, 3) * w1) + ad::sum(ad::slice(x, ad::axis::cols, 0, 2) * w2);
        });
        std::array<matrix<double>, 3> in{random_matrix(4, 3, 1), random_matrix(2, 3, 2), random_matrix(4, 2, 3)};
        check_function(f, in);
    }
    TEST_CASE("param leaves get gradients and an input used twice accumulates") {
        auto f = ad::make_function<double, 1>([](auto x) {
            ad::param<double> w(random_matrix(3, 2, 7), "w");
            return ad::mean(ad::square(ad::matmul(x, std::move(w)) - x * x * 0.1)) + ad::sum(x) * 0.01;
        });
        std::array<matrix<double>, 1> in{random_matrix(4, 3, 1)};
        // x (4x3) times w (3x2) is (4x2); x*x is (4x3): shapes do not broadcast, so use a slice
        auto g = ad::make_function<double, 1>([](auto x) {
            ad::param<double> w(random_matrix(3, 3, 7), "w");
            return ad::mean(ad::square(ad::matmul(x, std::move(w)) - x * x * 0.1)) + ad::sum(x) * 0.01;
        });
        check_function(g, in);
        std::array<const matrix<double>*, 1> ptr{&in[0]};
        CHECK_THROWS_AS(f.value(ptr), shape_error);
    }
    TEST_CASE("constant operands get no gradient and their siblings still do") {
        const matrix<double> w = random_matrix(3, 3, 7), v = random_matrix(4, 3, 8), c = random_matrix(4, 1, 9);
        auto f = ad::make_function<double, 1>([&](auto x) {
            auto fixed = ad::constant<double>(w) * ad::constant<double>(w);  // a node with no gradient below it
            static_assert(!decltype(fixed)::has_grad && decltype(ad::matmul(x, fixed))::has_grad);
            return ad::sum(ad::square(ad::matmul(x, std::move(fixed)) * ad::constant<double>(v))) +
                   ad::sum(ad::square(ad::matmul<true, false>(ad::constant<double>(v), x))) +
                   ad::sum(ad::square(ad::concat(ad::constant<double>(c), x, ad::axis::cols)));
        });
        std::array<matrix<double>, 1> in{random_matrix(4, 3, 1)};
        check_function(f, in);
    }
    TEST_CASE("parameters are visited depth first and left to right") {
        auto f = ad::make_function<double, 1>([](auto x) {
            ad::param<double> a(random_matrix(2, 2, 1), "a"), b(random_matrix(2, 2, 2), "b"),
                c(random_matrix(2, 2, 3), "c"), d(random_matrix(2, 2, 4), "d");
            return ad::sum(ad::concat(ad::matmul(std::move(a), x) * std::move(b), ad::transpose(std::move(c)),
                                      ad::axis::rows)) +
                   ad::mean(ad::log_softmax(std::move(d)));
        });
        std::string order;
        f.for_each_param([&](const std::string& name, auto&, auto&) { order += name; });
        CHECK(order == "abcd");
        std::array<matrix<double>, 1> in{random_matrix(2, 2, 5)};
        check_function(f, in);
    }
    TEST_CASE("a user-written InfoNCE loss differentiates end to end") {
        // L = mean_i [logsumexp_j S_ij - S_ii], S = norm(a) norm(b)^T / 0.1
        auto f = ad::make_function<double, 2>([](auto a, auto b) {
            auto s = ad::matmul<false, true>(ad::l2_normalize(a), ad::l2_normalize(b)) / 0.1;
            auto diag = ad::sum(ad::l2_normalize(a) * ad::l2_normalize(b), ad::axis::cols) / 0.1;
            return ad::mean(ad::logsumexp(s) - diag);
        });
        std::array<matrix<double>, 2> in{random_matrix(5, 4, 1), random_matrix(5, 4, 2)};
        check_function(f, in);
    }
}

TEST_CASE("op values agree with direct computations") {
    matrix<double> x = {{1.0, -2.0, 3.0}, {0.5, 0.0, -1.0}};
    std::array<const matrix<double>*, 1> in{&x};
    auto lse = ad::make_function<double, 1>([](auto a) { return ad::logsumexp(a); });
    const auto& v = lse.forward(in);
    CHECK(v(0, 0) == doctest::Approx(std::log(std::exp(1.0) + std::exp(-2.0) + std::exp(3.0))).epsilon(1e-14));
    auto big = ad::make_function<double, 1>([](auto a) { return ad::log_softmax(a * 1000.0); });
    const auto& ls = big.forward(in);
    for (double e : ls) CHECK(std::isfinite(e));  // stable for large logits
    CHECK(ls(0, 2) == doctest::Approx(0.0));
    auto gelu = ad::make_function<double, 1>([](auto a) { return ad::gelu(a); });
    CHECK(gelu.forward(in)(0, 0) == doctest::Approx(0.8413447460685429).epsilon(1e-12));
    auto norm = ad::make_function<double, 1>([](auto a) { return ad::sum(ad::square(ad::l2_normalize(a)), ad::axis::cols); });
    CHECK(norm.forward(in)(0, 0) == doctest::Approx(1.0));
    auto sp = ad::make_function<double, 1>([](auto a) { return ad::softplus(a * 800.0); });
    CHECK(sp.forward(in)(0, 2) == doctest::Approx(2400.0));
}

TEST_CASE("broadcasting mismatches name both shapes") {
    auto f = ad::make_function<double, 2>([](auto a, auto b) { return ad::sum(a + b); });
    matrix<double> a = xt::zeros<double>({3, 4}), b = xt::zeros<double>({2, 4});
    std::array<const matrix<double>*, 2> in{&a, &b};
    CHECK_THROWS_WITH_AS(f.value(in), doctest::Contains("left operand has shape (3, 4) but right operand has shape (2, 4)"),
                         shape_error);
}

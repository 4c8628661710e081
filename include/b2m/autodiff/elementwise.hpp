// b2m/autodiff/elementwise.hpp - element-wise functions y = f(x) and their derivatives.
//
// Each function object has value(x) and grad(x, y) = dy/dx (y = value(x), passed so that
// exp, tanh, sigmoid reuse it). The same objects serve the autodiff op (ad::exp(x), ...)
// and the activation layers of nn/ (nn::relu, ...), so the maths is written once.
#pragma once

#include <cmath>
#include <numbers>
#include <utility>

#include "b2m/autodiff/node_base.hpp"
#include "b2m/core/parallel.hpp"

namespace b2m::ad {

namespace fn {
/// e^x.
struct exp {
    template <class T> T value(T x) const { return std::exp(x); } ///< Returns e^x.
    template <class T> T grad(T, T y) const { return y; }         ///< Returns y (= e^x, the derivative).
};
/// Natural log; requires x > 0 (x <= 0 gives -inf/NaN, caught by the trainer's finite check).
struct log {
    template <class T> T value(T x) const { return std::log(x); } ///< Returns ln x.
    template <class T> T grad(T x, T) const { return T(1) / x; } ///< Returns 1/x.
};
/// Square root; requires x >= 0 (the derivative is infinite at 0).
struct sqrt {
    template <class T> T value(T x) const { return std::sqrt(x); } ///< Returns sqrt(x).
    template <class T> T grad(T, T y) const { return T(0.5) / y; } ///< Returns 1 / (2y), y = sqrt(x).
};
/// x^2.
struct square {
    template <class T> T value(T x) const { return x * x; }      ///< Returns x^2.
    template <class T> T grad(T x, T) const { return T(2) * x; } ///< Returns 2x.
};
/// |x|; the derivative at 0 is taken as 0.
struct abs {
    template <class T> T value(T x) const { return std::abs(x); } ///< Returns |x|.
    template <class T> T grad(T x, T) const { return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0)); } ///< Returns sign(x) (0 at 0).
};
/// x^p for a fixed exponent p.
struct pow {
    double p = 1.0; ///< The exponent; a non-integer p requires x >= 0.
    template <class T> T value(T x) const { return std::pow(x, T(p)); } ///< Returns x^p.
    template <class T> T grad(T x, T) const { return T(p) * std::pow(x, T(p - 1.0)); } ///< Returns p x^(p-1).
};
/// max(x, 0); the derivative at 0 is taken as 0.
struct relu {
    template <class T> T value(T x) const { return x > T(0) ? x : T(0); }     ///< Returns max(x, 0).
    template <class T> T grad(T x, T) const { return x > T(0) ? T(1) : T(0); } ///< Returns 1 for x > 0, else 0.
};
/// x for x > 0, alpha x otherwise.
struct leaky_relu {
    double alpha = 0.01; ///< The slope for x <= 0.
    template <class T> T value(T x) const { return x > T(0) ? x : T(alpha) * x; } ///< Returns x > 0 ? x : alpha x.
    template <class T> T grad(T x, T) const { return x > T(0) ? T(1) : T(alpha); } ///< Returns x > 0 ? 1 : alpha.
};
/// Exact GELU, 0.5 x (1 + erf(x / sqrt 2)) (PyTorch's default).
struct gelu {
    /// Returns x Phi(x), Phi the standard normal CDF.
    template <class T> T value(T x) const { return T(0.5) * x * (T(1) + std::erf(x * T(std::numbers::sqrt2 / 2))); }
    /// Returns Phi(x) + x phi(x), phi the standard normal density.
    template <class T> T grad(T x, T) const {
        const T cdf = T(0.5) * (T(1) + std::erf(x * T(std::numbers::sqrt2 / 2)));
        const T pdf = std::exp(T(-0.5) * x * x) * T(0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2);
        return cdf + x * pdf;
    }
};
/// Hyperbolic tangent.
struct tanh {
    template <class T> T value(T x) const { return std::tanh(x); }     ///< Returns tanh x.
    template <class T> T grad(T, T y) const { return T(1) - y * y; } ///< Returns 1 - y^2, y = tanh x.
};
/// Logistic sigmoid, evaluated without overflow for large |x|.
struct sigmoid {
    /// Returns 1 / (1 + e^-x), in [0, 1].
    template <class T> T value(T x) const {
        if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
        const T e = std::exp(x);
        return e / (T(1) + e);
    }
    template <class T> T grad(T, T y) const { return y * (T(1) - y); } ///< Returns y (1 - y), y = sigmoid(x).
};
/// log(1 + e^x), evaluated without overflow.
struct softplus {
    /// Returns log(1 + e^x) > 0.
    template <class T> T value(T x) const {
        return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    }
    template <class T> T grad(T x, T) const { return sigmoid{}.value(x); } ///< Returns sigmoid(x).
};
/// atanh(x); requires |x| < 1 (the RSA loss clamps before calling it).
struct atanh {
    template <class T> T value(T x) const { return std::atanh(x); }             ///< Returns atanh x.
    template <class T> T grad(T x, T) const { return T(1) / (T(1) - x * x); } ///< Returns 1 / (1 - x^2).
};
/// a * x + b for fixed a, b (scalar arithmetic on expressions).
struct affine {
    /// The scale a;
    double a = 1.0, b = 0.0; ///< the offset b.
    template <class T> T value(T x) const { return T(a) * x + T(b); } ///< Returns a x + b.
    template <class T> T grad(T, T) const { return T(a); }            ///< Returns a.
};
} // namespace fn

/// Applies an element-wise function object Fn (see namespace fn) to every entry of A.
template <expression A, class Fn>
struct unary : node_base<unary<A, Fn>, A> {
    Fn f; ///< The element-wise function (value(x), grad(x, y)).

    /// Takes ownership of the operand and the function object.
    unary(A a_, Fn f_) : node_base<unary, A>(std::move(a_)), f(std::move(f_)) {}

    /// y(i, j) = f.value(x(i, j)), y shaped like x.
    template <class T>
    void eval(matrix<T>& y, const matrix<T>& x) {
        ensure_shape_like(y, x);
        const T* px = x.data();
        T* py = y.data();
        parallel_for(x.size(), elementwise_grain, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) py[i] = f.value(px[i]);
        });
    }
    /// dL/dx(i, j) = g(i, j) * f.grad(x(i, j), y(i, j)).
    template <class T>
    void grad_a(matrix<T>& gx, const matrix<T>& g, const matrix<T>& y, const matrix<T>& x) {
        const T *px = x.data(), *py = y.data(), *pg = g.data();
        T* pa = gx.data();
        parallel_for(x.size(), elementwise_grain, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) pa[i] = pg[i] * f.grad(px[i], py[i]);
        });
    }
};

template <expression A> auto exp(A a) { return unary(std::move(a), fn::exp{}); }
template <expression A> auto log(A a) { return unary(std::move(a), fn::log{}); }
template <expression A> auto sqrt(A a) { return unary(std::move(a), fn::sqrt{}); }
template <expression A> auto square(A a) { return unary(std::move(a), fn::square{}); }
template <expression A> auto abs(A a) { return unary(std::move(a), fn::abs{}); }
template <expression A> auto pow(A a, double p) { return unary(std::move(a), fn::pow{p}); }
template <expression A> auto relu(A a) { return unary(std::move(a), fn::relu{}); }
template <expression A> auto leaky_relu(A a, double alpha = 0.01) { return unary(std::move(a), fn::leaky_relu{alpha}); }
template <expression A> auto gelu(A a) { return unary(std::move(a), fn::gelu{}); }
template <expression A> auto tanh(A a) { return unary(std::move(a), fn::tanh{}); }
template <expression A> auto sigmoid(A a) { return unary(std::move(a), fn::sigmoid{}); }
template <expression A> auto softplus(A a) { return unary(std::move(a), fn::softplus{}); }
template <expression A> auto atanh(A a) { return unary(std::move(a), fn::atanh{}); }

/// Arithmetic with plain numbers: x * c, c * x, x / c, x + c, c + x, x - c, c - x, -x.
template <expression A, class S> requires std::is_arithmetic_v<S>
auto operator*(A a, S c) { return unary(std::move(a), fn::affine{double(c), 0.0}); }
template <expression A, class S> requires std::is_arithmetic_v<S>
auto operator*(S c, A a) { return unary(std::move(a), fn::affine{double(c), 0.0}); }
template <expression A, class S> requires std::is_arithmetic_v<S>
auto operator/(A a, S c) { return unary(std::move(a), fn::affine{1.0 / double(c), 0.0}); }
template <expression A, class S> requires std::is_arithmetic_v<S>
auto operator+(A a, S c) { return unary(std::move(a), fn::affine{1.0, double(c)}); }
template <expression A, class S> requires std::is_arithmetic_v<S>
auto operator+(S c, A a) { return unary(std::move(a), fn::affine{1.0, double(c)}); }
template <expression A, class S> requires std::is_arithmetic_v<S>
auto operator-(A a, S c) { return unary(std::move(a), fn::affine{1.0, -double(c)}); }
template <expression A, class S> requires std::is_arithmetic_v<S>
auto operator-(S c, A a) { return unary(std::move(a), fn::affine{-1.0, double(c)}); }
template <expression A>
auto operator-(A a) { return unary(std::move(a), fn::affine{-1.0, 0.0}); }

} // namespace b2m::ad

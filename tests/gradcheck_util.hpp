// Shared helpers for the finite-difference gradient checks (double precision).
#pragma once

#include <doctest/doctest.h>

#include <b2m/autodiff.hpp>
#include <b2m/core/rng.hpp>
#include <b2m/nn/layer.hpp>

#include <array>

namespace b2m::testing {

/// A (rows x cols) matrix of N(0,1) draws shifted away from 0 by `gap` (keeps kinks
/// such as relu and abs away from the finite-difference step).
inline matrix<double> random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed, double gap = 0.0,
                                    double scale = 1.0) {
    matrix<double> m = matrix<double>::from_shape({rows, cols});
    rng r(seed);
    r.fill_normal(m);
    for (auto& v : m) v = scale * (v + (v >= 0 ? gap : -gap));
    return m;
}

/// Checks d f / d input_k for every input and d f / d param for every param leaf of the
/// scalar function f against central differences. Requires relative error <= tol and a
/// non-zero analytic gradient (so a check of a gradient that is wrongly zero fails).
template <class F, std::size_t N>
void check_function(F& f, std::array<matrix<double>, N>& inputs, double tol = 1e-6) {
    std::array<const matrix<double>*, N> in{};
    std::array<matrix<double>, N> grads;
    std::array<matrix<double>*, N> gp{};
    for (std::size_t k = 0; k < N; ++k) {
        in[k] = &inputs[k];
        grads[k] = xt::zeros<double>(inputs[k].shape());
        gp[k] = &grads[k];
    }
    f.for_each_param([](const std::string&, matrix<double>&, matrix<double>& g) { g.fill(0.0); });
    f.gradient(in, gp);
    auto value = [&] { return f.value(in); };
    for (std::size_t k = 0; k < N; ++k) {
        const auto numeric = ad::numeric_gradient(value, inputs[k]);
        INFO("input " << k);
        CHECK(ad::norm(grads[k]) > 1e-8);
        CHECK(ad::relative_error(grads[k], numeric) <= tol);
    }
    f.for_each_param([&](const std::string& name, matrix<double>& v, matrix<double>& g) {
        const matrix<double> analytic = g;
        const auto numeric = ad::numeric_gradient(value, v);
        INFO("param " << name);
        CHECK(ad::norm(analytic) > 1e-8);
        CHECK(ad::relative_error(analytic, numeric) <= tol);
    });
}

} // namespace b2m::testing

namespace b2m::testing {

/// Checks a layer object's backward against central differences of
/// L = sum(forward(x) * R) for a fixed random R: dL/dx and dL/d(every parameter).
/// `ctx` is passed to every forward (use a fresh copy of the noise for each evaluation
/// when the layer draws random numbers).
template <class Layer>
void check_layer(Layer& layer, matrix<double> x, nn::step_context ctx = {.training = true, .noise = nullptr},
                 double tol = 1e-6) {
    const rng noise0 = ctx.noise ? *ctx.noise : rng();
    auto run = [&]() -> const matrix<double>& {
        nn::step_context c = ctx;
        rng local = noise0;
        if (ctx.noise) c.noise = &local;
        return layer.forward(x, c);
    };
    const matrix<double> y0 = run();
    const matrix<double> r = random_matrix(y0.shape(0), y0.shape(1), 99);
    auto loss = [&] {
        const auto& y = run();
        double s = 0;
        for (std::size_t i = 0; i < y.size(); ++i) s += y.data()[i] * r.data()[i];
        return s;
    };
    layer.for_each_param([](const std::string&, matrix<double>&, matrix<double>& g) { g.fill(0.0); });
    run();
    const matrix<double> gx = layer.backward(r, true);
    const auto nx = ad::numeric_gradient(loss, x);
    CHECK(ad::norm(gx) > 1e-8);
    CHECK(ad::relative_error(gx, nx) <= tol);
    layer.for_each_param([&](const std::string& name, matrix<double>& v, matrix<double>& g) {
        const matrix<double> analytic = g;
        const auto numeric = ad::numeric_gradient(loss, v);
        INFO("parameter " << name);
        CHECK(ad::norm(analytic) > 1e-8);
        CHECK(ad::relative_error(analytic, numeric) <= tol);
    });
}

} // namespace b2m::testing

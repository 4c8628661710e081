// Doctest wrappers around the published checks of b2m/testing.hpp (finite-difference
// gradients in double): each CHECKs the result and prints its report when it fails.
#pragma once

#include <doctest/doctest.h>

#include <b2m/autodiff.hpp>
#include <b2m/core/rng.hpp>
#include <b2m/nn/layer.hpp>
#include <b2m/testing.hpp>
#include <b2m/train/batch.hpp>

#include <array>

namespace b2m::testing::checked {

using b2m::testing::random_matrix;

/// b2m::testing::check_layer, CHECKed.
template <class Layer>
void check_layer(Layer& layer, matrix<double> x, nn::step_context ctx = {.training = true, .noise = nullptr},
                 double tol = 1e-6) {
    const auto r = b2m::testing::check_layer(layer, std::move(x), ctx, tol);
    CHECK_MESSAGE(r.ok(), r.report());
}

/// b2m::testing::check_function, CHECKed.
template <class F, std::size_t N>
void check_function(F& f, std::array<matrix<double>, N>& inputs, double tol = 1e-6) {
    const auto r = b2m::testing::check_function(f, inputs, tol);
    CHECK_MESSAGE(r.ok(), r.report());
}

} // namespace b2m::testing::checked

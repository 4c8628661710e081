// tests/loss_check.hpp - helpers shared by tests/test_loss_*.cpp: doctest wrappers around
// the published term checks of b2m/testing.hpp (the student's input gradient through its
// taps, the term's own parameters), and fixture loading.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <xtensor/xnpy.hpp>

#include <b2m/autodiff/gradcheck.hpp>
#include <b2m/core/tensor.hpp>
#include <b2m/testing.hpp>
#include <b2m/train/batch.hpp>

namespace loss_check {

inline b2m::matrix<double> fixture(const std::string& name) {
    auto a = xt::load_npy<double>(std::string(B2M_TEST_DIR) + "/fixtures/loss_" + name + ".npy");
    if (a.dimension() == 1) a.reshape({std::size_t(1), a.size()});
    return b2m::matrix<double>(a);
}
inline b2m::index_vector fixture_ids(const std::string& name) {
    const auto a = fixture(name);
    b2m::index_vector v = b2m::index_vector::from_shape({a.size()});
    for (std::size_t i = 0; i < a.size(); ++i) v(i) = std::int64_t(a.data()[i]);
    return v;
}

/// The term's value on batch b after the student's forward.
template <class Term, class Student>
double value(Term& t, Student& s, b2m::train::batch<double>& b) {
    return b2m::testing::term_value(t, s, b);
}

/// Zeroes the term's parameter gradients.
template <class Term>
void zero_param_grads(Term& t) {
    t.for_each_param([](const std::string&, b2m::matrix<double>&, b2m::matrix<double>& g) { g.fill(0.0); });
}

/// dL/d(student input) by the term's backward and the student's backward.
template <class Term, class Student>
b2m::matrix<double> analytic_input_grad(Term& t, Student& s, b2m::train::batch<double>& b, double weight = 1.0) {
    return b2m::testing::term_input_gradient(t, s, b, weight);
}

/// b2m::testing::check_term_input_gradient, CHECKed: dL/dx against central differences
/// (relative error <= tol, norm > 1e-8).
template <class Term, class Student>
void check_input_grad(Term& t, Student& s, b2m::train::batch<double>& b, double tol = 1e-6) {
    const auto r = b2m::testing::check_term_input_gradient(t, s, b, tol);
    CHECK_MESSAGE(r.ok(), r.report());
}

/// b2m::testing::check_term_parameters, CHECKed: every parameter's gradient (names in
/// `expect` must all be present and non-trivial; names in `invariant` are parameters the
/// loss provably does not depend on in this configuration, e.g. a brain-head bias under
/// one-sided dot-product InfoNCE: both gradients must then be ~0).
template <class Term, class Student>
void check_param_grads(Term& t, Student& s, b2m::train::batch<double>& b, const std::vector<std::string>& expect,
                       const std::vector<std::string>& invariant = {}, double tol = 1e-6) {
    const auto r = b2m::testing::check_term_parameters(t, s, b, expect, invariant, tol);
    CHECK_MESSAGE(r.ok(), r.report());
}

} // namespace loss_check

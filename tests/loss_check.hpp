// tests/loss_check.hpp - helpers shared by tests/test_loss_*.cpp: finite-difference checks
// of an objective term's gradients (w.r.t. the student's input through its taps, and
// w.r.t. the term's own parameters), and fixture loading.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <xtensor/xnpy.hpp>

#include <b2m/autodiff/gradcheck.hpp>
#include <b2m/core/tensor.hpp>
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
    s.forward(b.x, {.training = false});
    return t.forward(s, b);
}

/// Zeroes the term's parameter gradients.
template <class Term>
void zero_param_grads(Term& t) {
    t.for_each_param([](const std::string&, b2m::matrix<double>&, b2m::matrix<double>& g) { g.fill(0.0); });
}

/// dL/d(student input) by the term's backward and the student's backward.
template <class Term, class Student>
b2m::matrix<double> analytic_input_grad(Term& t, Student& s, b2m::train::batch<double>& b, double weight = 1.0) {
    value(t, s, b);
    zero_param_grads(t);
    t.backward(s, b, weight);
    return s.backward(true);
}

/// Checks dL/dx against central differences (relative error <= tol, norm > 1e-8).
template <class Term, class Student>
void check_input_grad(Term& t, Student& s, b2m::train::batch<double>& b, double tol = 1e-6) {
    const b2m::matrix<double> a = analytic_input_grad(t, s, b);
    const b2m::matrix<double> num = b2m::ad::numeric_gradient([&] { return value(t, s, b); }, b.x);
    const double err = b2m::ad::relative_error(a, num);
    INFO("input gradient: relative error " << err << ", norm " << b2m::ad::norm(num));
    CHECK(err <= tol);
    CHECK(b2m::ad::norm(num) > 1e-8);
}

/// Checks every parameter's gradient (names in `expect` must all be present and non-trivial).
/// Parameters named in `invariant` are ones the loss provably does not depend on in this
/// configuration (e.g. a brain-head bias under one-sided dot-product InfoNCE, which shifts
/// every logit of a row equally): both gradients must then be ~0.
template <class Term, class Student>
void check_param_grads(Term& t, Student& s, b2m::train::batch<double>& b, const std::vector<std::string>& expect,
                       const std::vector<std::string>& invariant = {}, double tol = 1e-6) {
    value(t, s, b);  // creates lazily built parameters
    zero_param_grads(t);
    t.backward(s, b, 1.0);
    std::vector<std::string> names;
    std::vector<b2m::matrix<double>> analytic;
    t.for_each_param([&](const std::string& n, b2m::matrix<double>&, b2m::matrix<double>& g) {
        names.push_back(n);
        analytic.push_back(g);
    });
    for (const auto& e : expect) {
        bool found = false;
        for (const auto& n : names) found = found || n == e;
        INFO("expected parameter " << e);
        CHECK(found);
    }
    std::size_t k = 0;
    t.for_each_param([&](const std::string& n, b2m::matrix<double>& v, b2m::matrix<double>&) {
        const b2m::matrix<double> num = b2m::ad::numeric_gradient([&] { return value(t, s, b); }, v);
        bool inv = false;
        for (const auto& i : invariant) inv = inv || i == n;
        if (inv) {
            INFO("invariant parameter " << n);
            CHECK(b2m::ad::norm(num) < 1e-8);
            CHECK(b2m::ad::norm(analytic[k]) < 1e-8);
            ++k;
            return;
        }
        const double err = b2m::ad::relative_error(analytic[k], num);
        INFO("parameter " << n << ": relative error " << err << ", norm " << b2m::ad::norm(num));
        CHECK(err <= tol);
        CHECK(b2m::ad::norm(num) > 1e-8);
        ++k;
    });
}

} // namespace loss_check

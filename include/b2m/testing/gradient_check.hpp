// b2m/testing/gradient_check.hpp - finite-difference checks for user-written layers, loss
// terms and autodiff functions, as b2m's own tests run them (no test framework needed).
//
//   auto layer = my_layer_spec{...}.make<double>();
//   auto r = b2m::testing::check_layer(layer, b2m::testing::random_matrix(4, 3, 1));
//   if (!r) std::cerr << r.report();          // or: CHECK_MESSAGE(r.ok(), r.report());
//
// check_result
//   represents: the outcome of one check: one entry per gradient compared (the input's,
//               each parameter's), each with its relative error against central differences
//               and both norms. ok() is true when every entry passed.
// A gradient passes when its relative error is <= tol AND it is not trivially zero (norm
// > 1e-8), so a gradient wrongly left at zero fails too. Work in double: central
// differences in float are too coarse to tell a wrong gradient from rounding.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "b2m/autodiff/gradcheck.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/data/batch.hpp"
#include "b2m/nn/layer.hpp"

namespace b2m::testing {

/// One compared gradient.
struct gradient_entry {
    std::string name;           ///< "input", "input 1", "parameter weight", ...
    double relative_error = 0;  ///< |analytic - numeric| / max(|analytic|, |numeric|, tiny)
    double analytic_norm = 0;   ///< norm of the analytic (backward) gradient
    double numeric_norm = 0;    ///< norm of the central finite-difference gradient
    bool expect_zero = false;   ///< a gradient the value provably does not depend on
    bool passed = false;        ///< relative_error <= tol and both norms > 1e-8 (expect_zero: both < 1e-8)
};

/// The outcome of a check (see the header comment).
struct check_result {
    std::vector<gradient_entry> entries; ///< one per compared gradient
    std::vector<std::string> problems;  ///< failures that are not a gradient (a missing parameter)

    /// Every entry passed, at least one was compared, and there is no problem.
    bool ok() const {
        if (!problems.empty() || entries.empty()) return false;
        for (const auto& e : entries)
            if (!e.passed) return false;
        return true;
    }
    explicit operator bool() const { return ok(); } ///< ok().
    /// One line per entry and problem, failures marked.
    std::string report() const {
        std::ostringstream os;
        if (entries.empty() && problems.empty()) os << "no gradient was compared\n";
        for (const auto& p : problems) os << "FAILED: " << p << '\n';
        for (const auto& e : entries)
            os << (e.passed ? "ok     " : "FAILED ") << e.name << ": relative error " << e.relative_error
               << ", analytic norm " << e.analytic_norm << ", numeric norm " << e.numeric_norm
               << (e.expect_zero ? " (expected zero)" : "") << '\n';
        return os.str();
    }
    /// Adds a comparison of analytic against numeric.
    void compare(const std::string& name, const matrix<double>& analytic, const matrix<double>& numeric, double tol,
                 bool expect_zero = false) {
        gradient_entry e;
        e.name = name;
        e.analytic_norm = ad::norm(analytic);
        e.numeric_norm = ad::norm(numeric);
        e.expect_zero = expect_zero;
        if (expect_zero) {
            e.passed = e.analytic_norm < 1e-8 && e.numeric_norm < 1e-8;
        } else {
            e.relative_error = ad::relative_error(analytic, numeric);
            e.passed = e.relative_error <= tol && e.numeric_norm > 1e-8 && e.analytic_norm > 1e-8;
        }
        entries.push_back(e);
    }
};

/// A (rows x cols) matrix of N(0,1) draws shifted away from 0 by `gap` (keeps kinks such
/// as relu and abs away from the finite-difference step), times `scale`.
inline matrix<double> random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed, double gap = 0.0,
                                    double scale = 1.0) {
    matrix<double> m = matrix<double>::from_shape({rows, cols});
    rng r(seed);
    r.fill_normal(m);
    for (auto& v : m) v = scale * (v + (v >= 0 ? gap : -gap));
    return m;
}

/// Checks a layer object's backward against central differences of
/// L = sum(forward(x) * R) for a fixed random R: dL/dx and dL/d(every parameter).
/// `ctx` is passed to every forward; with ctx.noise set, each evaluation starts from a
/// copy of that stream (so a layer drawing random numbers sees the same draws).
/// requires: a layer object for double (nn::layer_object<Layer, double>), initialised.
template <class Layer>
[[nodiscard]] check_result check_layer(Layer& layer, matrix<double> x, nn::step_context ctx = {.training = true, .noise = nullptr},
                         double tol = 1e-6) {
    static_assert(nn::layer_object<Layer, double>,
                  "b2m::testing::check_layer: needs a layer object for double (spec.make<double>())");
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
    check_result out;
    layer.for_each_param([](const std::string&, matrix<double>&, matrix<double>& g) { g.fill(0.0); });
    run();
    const matrix<double> gx = layer.backward(r, true);
    out.compare("input", gx, ad::numeric_gradient(loss, x), tol);
    layer.for_each_param([&](const std::string& name, matrix<double>& v, matrix<double>& g) {
        const matrix<double> analytic = g;
        out.compare("parameter " + name, analytic, ad::numeric_gradient(loss, v), tol);
    });
    return out;
}

/// Checks d f / d input_k for every input and d f / d param for every parameter leaf of a
/// scalar autodiff function f (ad::make_function) against central differences.
template <class F, std::size_t N>
[[nodiscard]] check_result check_function(F& f, std::array<matrix<double>, N>& inputs, double tol = 1e-6) {
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
    check_result out;
    for (std::size_t k = 0; k < N; ++k) out.compare("input " + std::to_string(k), grads[k], ad::numeric_gradient(value, inputs[k]), tol);
    f.for_each_param([&](const std::string& name, matrix<double>& v, matrix<double>& g) {
        const matrix<double> analytic = g;
        out.compare("parameter " + name, analytic, ad::numeric_gradient(value, v), tol);
    });
    return out;
}

/// The term's value on batch b after the student's forward (evaluation mode).
template <class Term, class Student>
double term_value(Term& t, Student& s, const data::batch<double>& b) {
    s.forward(b.x, {.training = false});
    return t.forward(s, b);
}

/// dL/d(student input) by the term's backward and the student's backward.
template <class Term, class Student>
matrix<double> term_input_gradient(Term& t, Student& s, const data::batch<double>& b, double weight = 1.0) {
    term_value(t, s, b);
    t.for_each_param([](const std::string&, matrix<double>&, matrix<double>& g) { g.fill(0.0); });
    t.backward(s, b, weight);
    return s.backward(true);
}

/// Checks an objective term (a term object for double, e.g. spec.make<double>()) through a
/// student: dL/d(student input) (which covers what the term adds into the student's output
/// and tap gradients) against central differences in b.x.
/// requires: the student reads b.x and has the taps the term reads.
template <class Term, class Student>
[[nodiscard]] check_result check_term_input_gradient(Term& t, Student& s, data::batch<double>& b, double tol = 1e-6) {
    check_result out;
    const matrix<double> a = term_input_gradient(t, s, b);
    out.compare("input (through the student)", a, ad::numeric_gradient([&] { return term_value(t, s, b); }, b.x), tol);
    return out;
}

/// Checks every parameter of a term (projection heads, temperatures, ...). Each name in
/// `expect` must be present. Parameters named in `invariant` are ones the value provably
/// does not depend on in this configuration: both gradients must then be ~0.
template <class Term, class Student>
[[nodiscard]] check_result check_term_parameters(Term& t, Student& s, data::batch<double>& b, const std::vector<std::string>& expect = {},
                                   const std::vector<std::string>& invariant = {}, double tol = 1e-6) {
    check_result out;
    term_value(t, s, b);  // creates lazily built parameters
    t.for_each_param([](const std::string&, matrix<double>&, matrix<double>& g) { g.fill(0.0); });
    t.backward(s, b, 1.0);
    std::vector<std::string> names;
    std::vector<matrix<double>> analytic;
    t.for_each_param([&](const std::string& n, matrix<double>&, matrix<double>& g) {
        names.push_back(n);
        analytic.push_back(g);
    });
    for (const auto& e : expect) {
        bool found = false;
        for (const auto& n : names) found = found || n == e;
        if (!found) out.problems.push_back("expected parameter '" + e + "' is missing");
    }
    std::size_t k = 0;
    t.for_each_param([&](const std::string& n, matrix<double>& v, matrix<double>&) {
        const matrix<double> num = ad::numeric_gradient([&] { return term_value(t, s, b); }, v);
        bool inv = false;
        for (const auto& i : invariant) inv = inv || i == n;
        out.compare("parameter " + n, analytic[k++], num, tol, inv);
    });
    if (names.empty() && expect.empty() && out.problems.empty()) out.problems.push_back("the term has no parameters");
    return out;
}

/// Float against double: builds the layer from `spec` in both types with the same
/// initialisation (rng(seed)), runs forward on x (and backward of a fixed random output
/// gradient) in each, and compares: relative error of outputs and input gradients <= tol.
/// Catches kernels that lose precision or mix types.
template <class Spec>
[[nodiscard]] check_result check_float_matches_double(const Spec& spec, const matrix<double>& x, std::uint64_t seed = 1,
                                        double tol = 1e-4) {
    auto ld = spec.template make<double>();
    auto lf = spec.template make<float>();
    rng rd(seed), rf(seed);
    ld.init(rd);
    lf.init(rf);
    // the float layer starts from the double layer's parameters rounded to float
    std::vector<matrix<double>> pd;
    ld.for_each_param([&](const std::string&, matrix<double>& v, matrix<double>&) { pd.push_back(v); });
    std::size_t k = 0;
    lf.for_each_param([&](const std::string&, matrix<float>& v, matrix<float>&) {
        if (k < pd.size() && v.size() == pd[k].size())
            for (std::size_t i = 0; i < v.size(); ++i) v.data()[i] = float(pd[k].data()[i]);
        ++k;
    });
    const matrix<float> xf = xt::cast<float>(x);
    const nn::step_context ctx{.training = false, .noise = nullptr};
    const matrix<double> yd = ld.forward(x, ctx);
    const matrix<double> yf = xt::cast<double>(lf.forward(xf, ctx));
    check_result out;
    out.compare("output", yf, yd, tol);
    const matrix<double> r = random_matrix(yd.shape(0), yd.shape(1), seed + 7);
    const matrix<float> rfl = xt::cast<float>(r);
    const matrix<double> gd = ld.backward(r, true);
    const matrix<double> gf = xt::cast<double>(lf.backward(rfl, true));
    out.compare("input gradient", gf, gd, tol);
    return out;
}

} // namespace b2m::testing

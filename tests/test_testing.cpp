// b2m/testing.hpp used as a user would: on a layer and an objective term written here,
// in this file, and on deliberately broken versions of them (the checks must fail then).
#include <doctest/doctest.h>

#include <b2m/b2m.hpp>
#include <b2m/testing.hpp>

using namespace b2m;

namespace {

/// A user's layer: y = x * s + x^2 * c per feature (s, c learnable), rank-preserving.
/// With `wrong`, backward forgets the x^2 term in dL/dx (a typical slip).
template <real T>
struct quad_object {
    static constexpr int rank_out = 0;
    std::size_t n;
    bool wrong = false;
    matrix<T> s, c, gs, gc, y, gx;
    const matrix<T>* x = nullptr;
    void init(rng& r) {
        s = matrix<T>::from_shape({1, n});
        c = matrix<T>::from_shape({1, n});
        r.fill_normal(s);
        r.fill_normal(c);
        gs = xt::zeros<T>({std::size_t(1), n});
        gc = xt::zeros<T>({std::size_t(1), n});
    }
    const matrix<T>& forward(const matrix<T>& in, const nn::step_context&) {
        x = &in;
        y = matrix<T>::from_shape(in.shape());
        for (std::size_t i = 0; i < in.shape(0); ++i)
            for (std::size_t j = 0; j < n; ++j) y(i, j) = in(i, j) * s(0, j) + in(i, j) * in(i, j) * c(0, j);
        return y;
    }
    const matrix<T>& backward(const matrix<T>& gy, bool) {
        gx = matrix<T>::from_shape(gy.shape());
        for (std::size_t i = 0; i < gy.shape(0); ++i)
            for (std::size_t j = 0; j < n; ++j) {
                const T xv = (*x)(i, j);
                gs(0, j) += gy(i, j) * xv;
                gc(0, j) += gy(i, j) * xv * xv;
                gx(i, j) = gy(i, j) * (s(0, j) + (wrong ? T(0) : T(2) * xv * c(0, j)));
            }
        return gx;
    }
    template <class F>
    void for_each_param(F&& f) {
        f("s", s, gs);
        f("c", c, gc);
    }
};
struct quad {
    std::size_t n;
    bool wrong = false;
    template <real T>
    quad_object<T> make() const { return {n, wrong}; }
};

/// A user's objective term, written on loss::term_base as a user would: L = mean over rows
/// of (sum_j (a_j - b_j)^2) * scale against data::targets, with a learnable 1x1
/// scale = exp(log_scale). The base supplies name(), check(), forward, backward; the term
/// is its maths and its parameter. With `wrong`, the scale's gradient is halved.
template <real T, class A>
struct scaled_sse_term : loss::term_base<scaled_sse_term<T, A>, T, A> {
    static constexpr std::string_view term_name = "scaled_sse";
    bool wrong = false;
    matrix<T> log_scale = xt::zeros<T>({1, 1}), g_log_scale = xt::zeros<T>({1, 1});
    T sse = 0;

    T value(const data::batch<T>& b, const loss::source_ref<T>& a) {
        const matrix<T>& x = a.value;
        sse = 0;
        for (std::size_t i = 0; i < x.shape(0); ++i)
            for (std::size_t j = 0; j < x.shape(1); ++j) sse += (x(i, j) - b.targets(i, j)) * (x(i, j) - b.targets(i, j));
        sse /= T(x.shape(0));
        return std::exp(log_scale(0, 0)) * sse;
    }
    void gradient(const data::batch<T>& b, T weight, const loss::source_ref<T>& a) {
        const matrix<T>& x = a.value;
        const T k = weight * std::exp(log_scale(0, 0)) * T(2) / T(x.shape(0));
        for (std::size_t i = 0; i < x.shape(0); ++i)
            for (std::size_t j = 0; j < x.shape(1); ++j) (*a.grad)(i, j) += k * (x(i, j) - b.targets(i, j));
        g_log_scale(0, 0) += weight * std::exp(log_scale(0, 0)) * sse * (wrong ? T(0.5) : T(1));
    }
    template <class F>
    void for_each_param(F&& f) {
        f("log_scale", log_scale, g_log_scale);
    }
};

/// Its spec, as loss::mse(a, b) is made: loss::scaled_sse(nn::output) composes with b2m's terms.
template <loss::source A>
auto scaled_sse(A) {
    return loss::make_term_spec<scaled_sse_term>(loss::source_list<A>{});
}

data::batch<double> make_batch() {
    data::batch<double> b;
    b.x = testing::random_matrix(5, 4, 3);
    b.targets = testing::random_matrix(5, 2, 4);
    return b;
}

} // namespace

TEST_SUITE("gradcheck") {
    TEST_CASE("check_layer passes a correct user layer and names the wrong gradient of a broken one") {
        auto good = quad{4}.make<double>();
        rng r(1);
        good.init(r);
        const auto ok = testing::check_layer(good, testing::random_matrix(3, 4, 2));
        CHECK_MESSAGE(ok.ok(), ok.report());
        CHECK(ok.entries.size() == 3);  // input, s, c

        auto bad = quad{4, true}.make<double>();
        rng r2(1);
        bad.init(r2);
        const auto fail = testing::check_layer(bad, testing::random_matrix(3, 4, 2));
        CHECK_FALSE(fail.ok());
        REQUIRE(fail.entries.size() == 3);
        CHECK_FALSE(fail.entries[0].passed);  // the input gradient is wrong
        CHECK(fail.entries[1].passed);        // the parameters' are right
        CHECK(fail.entries[2].passed);
        CHECK(fail.report().find("FAILED input") != std::string::npos);
    }

    TEST_CASE("check_float_matches_double on a user layer spec") {
        const auto r = testing::check_float_matches_double(quad{4}, testing::random_matrix(3, 4, 5));
        CHECK_MESSAGE(r.ok(), r.report());
    }

    TEST_CASE("term checks pass a correct user term through a student and catch a wrong parameter gradient") {
        auto student = nn::sequential<double>(nn::dense(4, 6), nn::tanh{}, nn::tap<"h">{}, nn::dense(6, 2));
        student.init(rng(7));
        auto b = make_batch();
        scaled_sse_term<double, nn::output_t> term;
        term.log_scale(0, 0) = 0.3;
        const auto in = testing::check_term_input_gradient(term, student, b);
        CHECK_MESSAGE(in.ok(), in.report());
        const auto params = testing::check_term_parameters(term, student, b, {"log_scale"});
        CHECK_MESSAGE(params.ok(), params.report());

        scaled_sse_term<double, nn::output_t> broken;
        broken.wrong = true;
        broken.log_scale(0, 0) = 0.3;
        CHECK(testing::check_term_input_gradient(broken, student, b).ok());  // inputs still right
        const auto bad = testing::check_term_parameters(broken, student, b, {"log_scale"});
        CHECK_FALSE(bad.ok());
        const auto missing = testing::check_term_parameters(term, student, b, {"temperature"});
        CHECK_FALSE(missing.ok());
        CHECK(missing.report().find("'temperature' is missing") != std::string::npos);
    }

    TEST_CASE("a user term on loss::term_base composes into an objective and a trainer with its name") {
        auto student = nn::sequential<double>(nn::dense(4, 6), nn::tanh{}, nn::tap<"h">{}, nn::dense(6, 2));
        student.init(rng(7));
        auto b = make_batch();
        const auto objective = scaled_sse(nn::output) + 0.5 * loss::mse(nn::output, data::targets);
        auto o = objective.make<double>();
        decltype(o)::check<decltype(student)>();
        CHECK(o.names()[0] == "scaled_sse(nn::output)");
        student.forward(b.x);
        // exp(0) * mean over rows of the row sums of squares, computed here independently.
        double expect = 0;
        for (std::size_t i = 0; i < 5; ++i)
            for (std::size_t j = 0; j < 2; ++j) {
                const double d = student.output()(i, j) - b.targets(i, j);
                expect += d * d / 5.0;
            }
        // mse is the mean over the 10 entries: the same sum over 10 instead of 5.
        CHECK(o.forward(student, b) == doctest::Approx(expect + 0.5 * expect / 2.0).epsilon(1e-12));
        CHECK(o.values()[0] == doctest::Approx(expect).epsilon(1e-12));
        CHECK(o.values()[1] == doctest::Approx(expect / 2.0).epsilon(1e-12));
        auto trainer = train::make_trainer(student, objective, optim::sgd{{.lr = 0.01}});
        CHECK(trainer.term_names()[0] == "scaled_sse(nn::output)");
    }
}

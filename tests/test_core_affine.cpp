// core/affine.hpp: the affine kernel nn::dense and loss::linear_head share, against naive
// double loops, with and without bias, with row strides wider than the rows (as
// linear_head reads sequence blocks), accumulated and overwritten input gradients, a fused
// element-wise epilogue, and the fused activation-derivative + bias column sum; then
// nn::sequential's fused dense + activation against the two layers run one by one.
#include <doctest/doctest.h>

#include <b2m/core/affine.hpp>
#include <b2m/core/parallel.hpp>
#include <b2m/core/rng.hpp>
#include <b2m/nn/activation.hpp>
#include <b2m/nn/dense.hpp>
#include <b2m/nn/sequential.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace b2m;

namespace {
template <class T>
std::vector<T> random_vector(std::size_t n, std::uint64_t seed) {
    matrix<T> m = matrix<T>::from_shape({1, n});
    rng(seed).fill_normal(m);
    return std::vector<T>(m.begin(), m.end());
}

// Shapes: n rows, in -> out, strides wider than the widths.
struct geometry {
    std::size_t n = 7, in = 13, out = 9, ldx = 16, ldy = 12, ldgx = 15;
};

template <class T>
double rel(double got, double want, double scale) { return std::abs(got - want) / std::max(scale, 1e-30); }

template <class T>
void check_forward(bool bias, bool epilogue, const geometry& g = {}) {
    const auto x = random_vector<T>(g.n * g.ldx, 1), w = random_vector<T>(g.in * g.out, 2),
               b = random_vector<T>(g.out, 3);
    std::vector<T> y(g.n * g.ldy, T(-7)), a(g.n * g.ldy, T(-7));
    auto relu = [](T v) { return v > T(0) ? v : T(0); };
    if (epilogue)
        affine_forward<T>(x.data(), g.n, g.in, g.ldx, w.data(), g.out, bias ? b.data() : nullptr, y.data(), g.ldy,
                          a.data(), g.ldy, relu);
    else
        affine_forward<T>(x.data(), g.n, g.in, g.ldx, w.data(), g.out, bias ? b.data() : nullptr, y.data(), g.ldy);
    double err = 0;
    for (std::size_t i = 0; i < g.n; ++i) {
        for (std::size_t j = 0; j < g.out; ++j) {
            double s = bias ? double(b[j]) : 0.0, mag = std::abs(s);
            for (std::size_t p = 0; p < g.in; ++p) {
                s += double(x[i * g.ldx + p]) * double(w[p * g.out + j]);
                mag += std::abs(double(x[i * g.ldx + p]) * double(w[p * g.out + j]));
            }
            err = std::max(err, rel<T>(double(y[i * g.ldy + j]), s, mag));
            if (epilogue) err = std::max(err, rel<T>(double(a[i * g.ldy + j]), s > 0 ? s : 0.0, mag));
        }
        for (std::size_t j = g.out; j < g.ldy; ++j) {  // padding past the width is never written
            CHECK(y[i * g.ldy + j] == T(-7));
            if (epilogue) CHECK(a[i * g.ldy + j] == T(-7));
        }
    }
    CHECK(err < (std::is_same_v<T, float> ? 1e-5 : 1e-13));
}

template <class T>
void check_backward(bool bias, bool accumulate_gx, bool weights, const geometry& g = {}) {
    const T alpha = T(0.75);
    const auto x = random_vector<T>(g.n * g.ldx, 4), w = random_vector<T>(g.in * g.out, 5),
               gy = random_vector<T>(g.n * g.ldy, 6);
    auto gw = random_vector<T>(g.in * g.out, 7), gb = random_vector<T>(g.out, 8), gx = random_vector<T>(g.n * g.ldgx, 9);
    const auto gw0 = gw, gb0 = gb, gx0 = gx;
    affine_backward<T>(x.data(), g.n, g.in, g.ldx, gy.data(), g.ldy, w.data(), g.out, alpha,
                       weights ? gw.data() : nullptr, bias ? gb.data() : nullptr, gx.data(), g.ldgx, accumulate_gx);
    double err = 0;
    for (std::size_t p = 0; p < g.in; ++p)
        for (std::size_t j = 0; j < g.out; ++j) {
            double s = 0, mag = std::abs(double(gw0[p * g.out + j]));
            for (std::size_t i = 0; i < g.n; ++i) {
                s += double(alpha) * double(x[i * g.ldx + p]) * double(gy[i * g.ldy + j]);
                mag += std::abs(double(x[i * g.ldx + p]) * double(gy[i * g.ldy + j]));
            }
            const double want = double(gw0[p * g.out + j]) + (weights ? s : 0.0);
            err = std::max(err, rel<T>(double(gw[p * g.out + j]), want, mag));
        }
    for (std::size_t j = 0; j < g.out; ++j) {
        double s = 0, mag = std::abs(double(gb0[j]));
        for (std::size_t i = 0; i < g.n; ++i) s += double(alpha) * double(gy[i * g.ldy + j]), mag += std::abs(double(gy[i * g.ldy + j]));
        err = std::max(err, rel<T>(double(gb[j]), double(gb0[j]) + (bias ? s : 0.0), mag));
    }
    for (std::size_t i = 0; i < g.n; ++i) {
        for (std::size_t p = 0; p < g.in; ++p) {
            double s = 0, mag = std::abs(double(gx0[i * g.ldgx + p]));
            for (std::size_t j = 0; j < g.out; ++j) {
                s += double(alpha) * double(gy[i * g.ldy + j]) * double(w[p * g.out + j]);
                mag += std::abs(double(gy[i * g.ldy + j]) * double(w[p * g.out + j]));
            }
            const double want = (accumulate_gx ? double(gx0[i * g.ldgx + p]) : 0.0) + s;
            err = std::max(err, rel<T>(double(gx[i * g.ldgx + p]), want, mag));
        }
        for (std::size_t p = g.in; p < g.ldgx; ++p) CHECK(gx[i * g.ldgx + p] == gx0[i * g.ldgx + p]);
    }
    CHECK(err < (std::is_same_v<T, float> ? 1e-5 : 1e-13));
}
} // namespace

TEST_CASE_TEMPLATE("affine_forward equals the naive sum with and without bias at wide strides", T, float, double) {
    for (bool bias : {false, true}) {
        CAPTURE(bias);
        check_forward<T>(bias, false);
    }
}

TEST_CASE_TEMPLATE("affine_forward with an epilogue writes the map and its activation in one pass", T, float, double) {
    for (bool bias : {false, true}) {
        CAPTURE(bias);
        check_forward<T>(bias, true);
    }
}

TEST_CASE_TEMPLATE("affine_backward gives dW db dx of the naive sums", T, float, double) {
    for (bool bias : {false, true})
        for (bool acc : {false, true})
            for (bool weights : {false, true}) {
                CAPTURE(bias);
                CAPTURE(acc);
                CAPTURE(weights);
                check_backward<T>(bias, acc, weights);
            }
}

TEST_CASE_TEMPLATE("affine passes split between two threads give the naive sums", T, float, double) {
    // Large enough for the epilogue (rows) and the column sums (column blocks) to run on 2 threads.
    const int threads0 = num_threads();
    set_num_threads(2);
    const geometry big{.n = 300, .in = 5, .out = 300, .ldx = 7, .ldy = 301, .ldgx = 9};
    check_forward<T>(true, true, big);
    check_backward<T>(true, false, true, big);
    set_num_threads(threads0);
}

TEST_CASE_TEMPLATE("scale_and_column_sums scales by the derivative and sums the columns in one pass", T, float, double) {
    // out = 600: wider than the 256-column scratch the pass without sums works through.
    for (std::size_t out : {std::size_t(21), std::size_t(600)}) {
        CAPTURE(out);
        const std::size_t n = 5, ld = out + 3;
        const auto gy = random_vector<T>(n * ld, 11), z = random_vector<T>(n * ld, 12);
        std::vector<T> a(n * ld), gz(n * ld, T(-3));
        for (std::size_t k = 0; k < a.size(); ++k) a[k] = z[k] > 0 ? z[k] : T(0);
        for (bool sums : {false, true}) {
            CAPTURE(sums);
            auto gb = random_vector<T>(out, 13);
            const auto gb0 = gb;
            scale_and_column_sums<T>(gy.data(), ld, z.data(), ld, a.data(), ld, n, out,
                                     [](T zz, T) { return zz > T(0) ? T(1) : T(0); }, gz.data(), ld, T(2),
                                     sums ? gb.data() : nullptr);
            for (std::size_t j = 0; j < out; ++j) {
                double s = 0;
                for (std::size_t i = 0; i < n; ++i) {
                    const double want = z[i * ld + j] > 0 ? double(gy[i * ld + j]) : 0.0;
                    CHECK(double(gz[i * ld + j]) == want);
                    s += 2.0 * want;
                }
                CHECK(double(gb[j]) == doctest::Approx(double(gb0[j]) + (sums ? s : 0.0)).epsilon(1e-6));
            }
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t j = out; j < ld; ++j) CHECK(gz[i * ld + j] == T(-3));
        }
    }
}

TEST_CASE_TEMPLATE("sequential fuses dense and activation with the results of the layers run one by one", T, float,
                   double) {
    // The fused pair (dense + activation in one step) against the same layers called in turn:
    // the forward is identical, the backward equal to rounding.
    auto net = nn::sequential<T>(nn::dense(6, 8), nn::leaky_relu{{0.1}}, nn::dense(8, 3), nn::tanh{});
    net.init(rng(3));
    auto d0 = nn::dense(6, 8).template make<T>();
    auto a0 = nn::leaky_relu{{0.1}}.template make<T>();
    auto d1 = nn::dense(8, 3).template make<T>();
    auto a1 = nn::tanh{}.template make<T>();
    d0.weight() = net.template layer<0>().weight();
    d0.bias() = net.template layer<0>().bias();
    d1.weight() = net.template layer<2>().weight();
    d1.bias() = net.template layer<2>().bias();
    matrix<T> x = matrix<T>::from_shape({5, 6});
    rng(4).fill_normal(x);
    const nn::step_context c{};
    const matrix<T>& y = net.forward(x, c);
    const matrix<T>& y_ref = a1.forward(d1.forward(a0.forward(d0.forward(x, c), c), c), c);
    CHECK(xt::amax(xt::abs(y - y_ref))() == T(0));
    matrix<T> gy = matrix<T>::from_shape({5, 3});
    rng(5).fill_normal(gy);
    net.output_grad() = gy;
    const matrix<T>& gx = net.backward(true);
    const matrix<T>& gx_ref = d0.backward(a0.backward(d1.backward(a1.backward(gy, true), true), true), true);
    // Backward agrees to rounding: the fused pass runs at the CPU's vector width, where the
    // compiler may contract tanh's 1 - y * y into one FMA.
    const T tol = std::is_same_v<T, float> ? T(1e-6) : T(1e-14);
    auto close = [&](const matrix<T>& a, const matrix<T>& b) {
        return xt::amax(xt::abs(a - b))() <= tol * std::max(T(1), T(xt::amax(xt::abs(b))()));
    };
    CHECK(close(gx, gx_ref));
    std::vector<matrix<T>> grads, grads_ref;
    net.for_each_param([&](const std::string&, matrix<T>&, matrix<T>& g) { grads.push_back(g); });
    for (auto* d : {&d0, &d1})
        d->for_each_param([&](const std::string&, matrix<T>&, matrix<T>& g) { grads_ref.push_back(g); });
    REQUIRE(grads.size() == grads_ref.size());
    for (std::size_t k = 0; k < grads.size(); ++k) {
        CAPTURE(k);
        CHECK(xt::amax(xt::abs(grads[k]))() > T(0));
        CHECK(close(grads[k], grads_ref[k]));
    }
}

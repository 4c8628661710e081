// Image layers (conv2d, conv_transpose2d, pooling, batch_norm, flatten) and the VAE parts
// (nn::reparameterize, loss::kl_normal): forward values against direct loops written from
// the definitions, gradients against central differences in double precision, bad input.
#include <doctest/doctest.h>

#include "shape_error_text.hpp"

#include <b2m/autodiff/gradcheck.hpp>
#include <b2m/loss/kl_normal.hpp>
#include <b2m/loss/mse.hpp>
#include <b2m/nn.hpp>
#include <b2m/train/batch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

using namespace b2m;

namespace {

matrix<double> randn(std::size_t rows, std::size_t cols, std::uint64_t seed, double scale = 1.0) {
    matrix<double> m = matrix<double>::from_shape({rows, cols});
    rng r(seed);
    r.fill_normal(m, 0.0, scale);
    return m;
}

/// Distinct values at least 1e-2 apart in shuffled order (no ties, and no pair closer than
/// the finite-difference step: max pooling's argmax cannot flip while differentiating).
matrix<double> distinct(std::size_t rows, std::size_t cols, std::uint64_t seed) {
    std::vector<std::size_t> order(rows * cols);
    std::iota(order.begin(), order.end(), 0);
    rng r(seed);
    r.shuffle(order);
    matrix<double> m = matrix<double>::from_shape({rows, cols});
    for (std::size_t i = 0; i < m.size(); ++i) m.data()[i] = 1e-2 * double(order[i]) - 0.005 * double(m.size());
    return m;
}

/// Checks a layer's backward against central differences of L = sum(forward(x) .* R) for a
/// fixed random R: dL/dx and dL/d(each parameter), relative error <= tol, non-trivial norms.
/// Every forward gets a fresh copy of the noise stream seeded `noise_seed` (fixed draw).
template <class Layer>
void check_layer(Layer& layer, matrix<double> x, bool training = true, double tol = 1e-6,
                 std::uint64_t noise_seed = 5) {
    auto run = [&]() -> const matrix<double>& {
        rng noise(noise_seed);
        return layer.forward(x, nn::step_context{.training = training, .noise = &noise});
    };
    const matrix<double> y0 = run();
    const matrix<double> R = randn(y0.shape(0), y0.shape(1), 99);
    auto loss = [&] {
        const auto& y = run();
        double s = 0;
        for (std::size_t i = 0; i < y.size(); ++i) s += y.data()[i] * R.data()[i];
        return s;
    };
    layer.for_each_param([](const std::string&, matrix<double>&, matrix<double>& g) { g.fill(0.0); });
    run();
    const matrix<double> gx = layer.backward(R, true);
    const auto nx = ad::numeric_gradient(loss, x);
    CHECK(ad::norm(gx) > 1e-6);
    CHECK(ad::relative_error(gx, nx) <= tol);
    layer.for_each_param([&](const std::string& name, matrix<double>& v, matrix<double>& g) {
        const matrix<double> analytic = g;
        const auto numeric = ad::numeric_gradient(loss, v);
        INFO("parameter " << name);
        CHECK(ad::norm(analytic) > 1e-6);
        CHECK(ad::relative_error(analytic, numeric) <= tol);
    });
    // Parameter gradients accumulate: a second backward adds the same amount again.
    std::vector<matrix<double>> first;
    layer.for_each_param([&](const std::string&, matrix<double>&, matrix<double>& g) {
        g.fill(0.0);
    });
    run();
    layer.backward(R, false);
    layer.for_each_param([&](const std::string&, matrix<double>&, matrix<double>& g) { first.push_back(g); });
    run();
    layer.backward(R, false);
    std::size_t k = 0;
    layer.for_each_param([&](const std::string& name, matrix<double>&, matrix<double>& g) {
        INFO("accumulation of " << name);
        CHECK(ad::relative_error(g, 2.0 * first[k++]) <= 1e-12);
    });
}

double at(const matrix<double>& m, std::size_t b, const nn::image_shape& s, std::size_t c, std::size_t h,
          std::size_t w) {
    return m(b, (c * s.height + h) * s.width + w);
}

/// Direct convolution from the definition (PyTorch's Conv2d, weight (Co, Ci, k, k)).
matrix<double> naive_conv(const matrix<double>& x, const nn::image_shape& in, const matrix<double>& w,
                          const matrix<double>& bias, const nn::conv2d_options& o) {
    const auto out = nn::conv2d(o, in).output_shape();
    matrix<double> y = xt::zeros<double>({x.shape(0), out.size()});
    const long k = long(o.kernel);
    for (std::size_t b = 0; b < x.shape(0); ++b)
        for (std::size_t co = 0; co < out.channels; ++co)
            for (std::size_t oh = 0; oh < out.height; ++oh)
                for (std::size_t ow = 0; ow < out.width; ++ow) {
                    double s = bias(0, co);
                    for (std::size_t ci = 0; ci < in.channels; ++ci)
                        for (long ki = 0; ki < k; ++ki)
                            for (long kj = 0; kj < k; ++kj) {
                                const long ih = long(oh * o.stride) - long(o.padding) + ki * long(o.dilation);
                                const long iw = long(ow * o.stride) - long(o.padding) + kj * long(o.dilation);
                                if (ih < 0 || iw < 0 || ih >= long(in.height) || iw >= long(in.width)) continue;
                                s += at(x, b, in, ci, std::size_t(ih), std::size_t(iw)) *
                                     w(co, (ci * o.kernel + std::size_t(ki)) * o.kernel + std::size_t(kj));
                            }
                    y(b, (co * out.height + oh) * out.width + ow) = s;
                }
    return y;
}

/// Direct transposed convolution (PyTorch's ConvTranspose2d, weight (Ci, Co, k, k)): every
/// input pixel scatters weight * value to oh = ih*s - p + ki*d.
matrix<double> naive_conv_transpose(const matrix<double>& x, const nn::image_shape& in, const matrix<double>& w,
                                    const matrix<double>& bias, const nn::conv_transpose2d_options& o) {
    const auto out = nn::conv_transpose2d(o, in).output_shape();
    matrix<double> y = xt::zeros<double>({x.shape(0), out.size()});
    for (std::size_t b = 0; b < x.shape(0); ++b) {
        for (std::size_t co = 0; co < out.channels; ++co)
            for (std::size_t p = 0; p < out.pixels(); ++p) y(b, co * out.pixels() + p) = bias(0, co);
        for (std::size_t ci = 0; ci < in.channels; ++ci)
            for (std::size_t ih = 0; ih < in.height; ++ih)
                for (std::size_t iw = 0; iw < in.width; ++iw)
                    for (std::size_t co = 0; co < out.channels; ++co)
                        for (std::size_t ki = 0; ki < o.kernel; ++ki)
                            for (std::size_t kj = 0; kj < o.kernel; ++kj) {
                                const long oh = long(ih * o.stride + ki * o.dilation) - long(o.padding);
                                const long ow = long(iw * o.stride + kj * o.dilation) - long(o.padding);
                                if (oh < 0 || ow < 0 || oh >= long(out.height) || ow >= long(out.width)) continue;
                                y(b, (co * out.height + std::size_t(oh)) * out.width + std::size_t(ow)) +=
                                    at(x, b, in, ci, ih, iw) * w(ci, (co * o.kernel + ki) * o.kernel + kj);
                            }
    }
    return y;
}

using b2m_test::shape_error_text;

} // namespace

TEST_CASE("conv_out_size and the specs' output shapes follow PyTorch's formulas") {
    CHECK(nn::conv_out_size(32, 3, 1, 1, 1) == 32);
    CHECK(nn::conv_out_size(32, 3, 2, 1, 1) == 16);
    CHECK(nn::conv_out_size(7, 3, 2, 0, 2) == 2);   // span 5: (7-5)/2+1
    CHECK(nn::conv_out_size(3, 5, 1, 0, 1) == 0);   // does not fit
    constexpr nn::image_shape in{.channels = 3, .height = 32, .width = 32};
    constexpr auto c = nn::conv2d({.out_channels = 16, .kernel = 3, .stride = 2, .padding = 1}, in);
    static_assert(c.output_shape() == nn::image_shape{16, 16, 16});
    constexpr auto p = nn::max_pool2d({.kernel = 2}, c.output_shape());
    static_assert(p.output_shape() == nn::image_shape{16, 8, 8});
    constexpr auto t = nn::conv_transpose2d({.out_channels = 4, .kernel = 4, .stride = 2, .padding = 1}, p.output_shape());
    static_assert(t.output_shape() == nn::image_shape{4, 16, 16});
    CHECK(nn::conv_transpose2d({.out_channels = 2, .kernel = 3, .stride = 2, .padding = 1, .output_padding = 1},
                               {1, 5, 5}).output_shape() == nn::image_shape{2, 10, 10});
}

TEST_CASE("conv2d forward matches a direct convolution (stride padding dilation and chunks)") {
    struct config {
        nn::image_shape in;
        nn::conv2d_options o;
        std::size_t budget;
    };
    const config configs[] = {
        {{3, 8, 8}, {.out_channels = 4, .kernel = 3, .stride = 1, .padding = 1, .dilation = 1}, 1 << 22},
        {{2, 9, 7}, {.out_channels = 3, .kernel = 3, .stride = 2, .padding = 2, .dilation = 2}, 1 << 22},
        {{2, 6, 6}, {.out_channels = 5, .kernel = 2, .stride = 3, .padding = 0, .dilation = 1}, 1 << 22},
        // stride 1 with the output as large as the input (im2col's shifted-plane path)
        {{2, 7, 6}, {.out_channels = 3, .kernel = 3, .stride = 1, .padding = 2, .dilation = 2}, 1 << 22},
        {{2, 5, 9}, {.out_channels = 2, .kernel = 5, .stride = 1, .padding = 2, .dilation = 1}, 1 << 22},
        // two images per im2col chunk, 5 images: chunks of 2, 2, 1
        {{3, 8, 8}, {.out_channels = 4, .kernel = 3, .stride = 1, .padding = 1, .dilation = 1}, 27 * 64 * 2},
    };
    for (const auto& cfg : configs) {
        auto layer = nn::conv2d(cfg.o, cfg.in).make<double>();
        layer.set_im2col_budget(cfg.budget);
        rng r(3);
        layer.init(r);
        r.fill_normal(layer.bias());
        const matrix<double> x = randn(5, cfg.in.size(), 11);
        const matrix<double> y = layer.forward(x, {});
        const matrix<double> expect = naive_conv(x, cfg.in, layer.weight(), layer.bias(), cfg.o);
        CHECK(y.shape() == expect.shape());
        CHECK(ad::relative_error(y, expect) <= 1e-13);
    }
}

TEST_CASE("conv2d backward twice after one forward gives the same gradients") {
    // backward reuses the im2col buffer for dcol; a second backward must not read it as columns
    for (std::size_t budget : {std::size_t(1) << 22, std::size_t(18 * 25)}) {  // one chunk / one image per chunk
        auto layer = nn::conv2d({.out_channels = 3, .kernel = 3, .padding = 1}, {2, 5, 5}).make<double>();
        layer.set_im2col_budget(budget);
        rng r(4);
        layer.init(r);
        const matrix<double> x = randn(3, 50, 6);
        layer.forward(x, {});
        const matrix<double> gy = randn(3, 75, 7);
        auto grads = [&] {
            layer.for_each_param([](const std::string&, matrix<double>&, matrix<double>& g) { g.fill(0.0); });
            const matrix<double> gx = layer.backward(gy, true);
            matrix<double> gw;
            layer.for_each_param([&](const std::string& n, matrix<double>&, matrix<double>& g) {
                if (n == "weight") gw = g;
            });
            return std::pair{gx, gw};
        };
        const auto [gx1, gw1] = grads();
        const auto [gx2, gw2] = grads();
        CHECK(ad::relative_error(gw2, gw1) <= 1e-14);
        CHECK(ad::relative_error(gx2, gx1) <= 1e-14);
        CHECK(xt::amax(xt::abs(gw1))() > 0.0);
    }
}

TEST_CASE("gradcheck conv2d: input weight and bias" * doctest::test_suite("gradcheck")) {
    SUBCASE("stride 1, padding 1") {
        auto layer = nn::conv2d({.out_channels = 3, .kernel = 3, .padding = 1}, {2, 5, 5}).make<double>();
        rng r(1);
        layer.init(r);
        check_layer(layer, randn(3, 50, 2));
    }
    SUBCASE("stride 2, padding 2, dilation 2, several chunks") {
        auto layer = nn::conv2d({.out_channels = 2, .kernel = 3, .stride = 2, .padding = 2, .dilation = 2}, {3, 6, 5})
                         .make<double>();
        layer.set_im2col_budget(27 * 9);  // one image per chunk
        rng r(2);
        layer.init(r);
        check_layer(layer, randn(3, 90, 4));
    }
    SUBCASE("no bias") {
        auto layer = nn::conv2d({.out_channels = 2, .kernel = 2, .stride = 1, .bias = false}, {2, 4, 4}).make<double>();
        rng r(3);
        layer.init(r);
        std::size_t params = 0;
        layer.for_each_param([&](const std::string&, matrix<double>&, matrix<double>&) { ++params; });
        CHECK(params == 1);
        check_layer(layer, randn(2, 32, 5));
    }
}

TEST_CASE("conv_transpose2d forward matches a direct transposed convolution and is conv2d's adjoint") {
    struct config {
        nn::image_shape in;
        nn::conv_transpose2d_options o;
    };
    const config configs[] = {
        {{3, 4, 4}, {.out_channels = 2, .kernel = 4, .stride = 2, .padding = 1}},
        {{2, 3, 5}, {.out_channels = 3, .kernel = 3, .stride = 2, .padding = 1, .output_padding = 1}},
        {{2, 4, 3}, {.out_channels = 2, .kernel = 3, .stride = 1, .padding = 2, .dilation = 2}},
    };
    for (const auto& cfg : configs) {
        auto layer = nn::conv_transpose2d(cfg.o, cfg.in).make<double>();
        rng r(4);
        layer.init(r);
        r.fill_normal(layer.bias());
        const matrix<double> x = randn(3, cfg.in.size(), 12);
        const matrix<double> y = layer.forward(x, {});
        const matrix<double> expect = naive_conv_transpose(x, cfg.in, layer.weight(), layer.bias(), cfg.o);
        CHECK(y.shape() == expect.shape());
        CHECK(ad::relative_error(y, expect) <= 1e-13);
    }
    // <conv(u), v> == <u, conv_transpose(v)> with the same weights and no bias (output_padding
    // 0 and an input size the forward convolution maps exactly).
    const nn::image_shape big{2, 7, 7};
    const nn::conv2d_options co{.out_channels = 3, .kernel = 3, .stride = 2, .padding = 1, .bias = false};
    auto conv = nn::conv2d(co, big).make<double>();
    const auto small = conv.output_shape();
    auto tconv = nn::conv_transpose2d({.out_channels = 2, .kernel = 3, .stride = 2, .padding = 1, .bias = false}, small)
                     .make<double>();
    REQUIRE(tconv.output_shape() == big);
    rng r(8);
    conv.init(r);
    // conv weight (Co=3, Ci*k*k=2*9) vs transposed weight (Ci=3, Co*k*k=2*9): same layout.
    tconv.weight() = conv.weight();
    const matrix<double> u = randn(2, big.size(), 21), v = randn(2, small.size(), 22);
    const matrix<double> cu = conv.forward(u, {});
    const matrix<double> tv = tconv.forward(v, {});
    double lhs = 0, rhs = 0;
    for (std::size_t i = 0; i < cu.size(); ++i) lhs += cu.data()[i] * v.data()[i];
    for (std::size_t i = 0; i < tv.size(); ++i) rhs += u.data()[i] * tv.data()[i];
    CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
}

TEST_CASE("gradcheck conv_transpose2d: input weight and bias" * doctest::test_suite("gradcheck")) {
    SUBCASE("kernel 4, stride 2, padding 1") {
        auto layer = nn::conv_transpose2d({.out_channels = 2, .kernel = 4, .stride = 2, .padding = 1}, {3, 3, 3})
                         .make<double>();
        rng r(1);
        layer.init(r);
        check_layer(layer, randn(2, 27, 3));
    }
    SUBCASE("output_padding, dilation, several chunks") {
        auto layer = nn::conv_transpose2d(
                         {.out_channels = 3, .kernel = 3, .stride = 2, .padding = 1, .output_padding = 1, .dilation = 2},
                         {2, 3, 4})
                         .make<double>();
        layer.set_im2col_budget(1);  // one image per chunk
        rng r(2);
        layer.init(r);
        check_layer(layer, randn(3, 24, 4));
    }
}

TEST_CASE("pooling forward matches direct loops") {
    const nn::image_shape in{2, 5, 6};
    const matrix<double> x = randn(3, in.size(), 31);
    for (std::size_t k : {2u, 3u})
        for (std::size_t s : {0u, 1u, 2u}) {
            auto mp = nn::max_pool2d({.kernel = k, .stride = s}, in).make<double>();
            auto ap = nn::avg_pool2d({.kernel = k, .stride = s}, in).make<double>();
            const matrix<double> ym = mp.forward(x, {});
            const matrix<double> ya = ap.forward(x, {});
            const std::size_t st = s == 0 ? k : s;
            const std::size_t Ho = (in.height - k) / st + 1, Wo = (in.width - k) / st + 1;
            REQUIRE(ym.shape(1) == in.channels * Ho * Wo);
            REQUIRE(ya.shape(1) == in.channels * Ho * Wo);
            for (std::size_t b = 0; b < 3; ++b)
                for (std::size_t c = 0; c < in.channels; ++c)
                    for (std::size_t oh = 0; oh < Ho; ++oh)
                        for (std::size_t ow = 0; ow < Wo; ++ow) {
                            double mx = -INFINITY, sum = 0;
                            for (std::size_t i = 0; i < k; ++i)
                                for (std::size_t j = 0; j < k; ++j) {
                                    const double v = at(x, b, in, c, oh * st + i, ow * st + j);
                                    mx = std::max(mx, v);
                                    sum += v;
                                }
                            const std::size_t o = (c * Ho + oh) * Wo + ow;
                            CHECK(ym(b, o) == mx);
                            CHECK(ya(b, o) == doctest::Approx(sum / double(k * k)).epsilon(1e-14));
                        }
        }
    auto gp = nn::global_avg_pool(in).make<double>();
    const matrix<double> yg = gp.forward(x, {});
    REQUIRE(yg.shape(1) == in.channels);
    for (std::size_t b = 0; b < 3; ++b)
        for (std::size_t c = 0; c < in.channels; ++c) {
            double s = 0;
            for (std::size_t p = 0; p < in.pixels(); ++p) s += x(b, c * in.pixels() + p);
            CHECK(yg(b, c) == doctest::Approx(s / double(in.pixels())).epsilon(1e-14));
        }
}

TEST_CASE("gradcheck pooling: max (no ties) average and global average" * doctest::test_suite("gradcheck")) {
    const nn::image_shape in{2, 6, 5};
    SUBCASE("max, overlapping windows") {
        auto l = nn::max_pool2d({.kernel = 3, .stride = 2}, in).make<double>();
        check_layer(l, distinct(3, in.size(), 1));
    }
    SUBCASE("max, kernel 2") {
        auto l = nn::max_pool2d({.kernel = 2}, in).make<double>();
        check_layer(l, distinct(3, in.size(), 2));
    }
    SUBCASE("average, overlapping windows") {
        auto l = nn::avg_pool2d({.kernel = 3, .stride = 1}, in).make<double>();
        check_layer(l, randn(3, in.size(), 3));
    }
    SUBCASE("global average") {
        auto l = nn::global_avg_pool(in).make<double>();
        check_layer(l, randn(3, in.size(), 4));
    }
}

TEST_CASE("batch_norm: batch and running statistics (momentum 0.1 and unbiased variance) and eval mode") {
    const nn::image_shape in{3, 2, 2};
    auto bn = nn::batch_norm(in).make<double>();
    rng r(0);
    bn.init(r);
    bn.gamma() = randn(1, 3, 41);
    bn.beta() = randn(1, 3, 42);
    const matrix<double> x = randn(4, in.size(), 43, 2.0) + 0.7;
    const matrix<double> y = bn.forward(x, {.training = true});
    for (std::size_t c = 0; c < 3; ++c) {
        double m = 0, v = 0;
        for (std::size_t b = 0; b < 4; ++b)
            for (std::size_t p = 0; p < 4; ++p) m += x(b, c * 4 + p);
        m /= 16;
        for (std::size_t b = 0; b < 4; ++b)
            for (std::size_t p = 0; p < 4; ++p) v += (x(b, c * 4 + p) - m) * (x(b, c * 4 + p) - m);
        for (std::size_t b = 0; b < 4; ++b)
            for (std::size_t p = 0; p < 4; ++p)
                CHECK(y(b, c * 4 + p) == doctest::Approx(bn.gamma()(0, c) * (x(b, c * 4 + p) - m) / std::sqrt(v / 16 + 1e-5) +
                                                         bn.beta()(0, c))
                                             .epsilon(1e-12));
        CHECK(bn.running_mean()(0, c) == doctest::Approx(0.1 * m).epsilon(1e-12));
        CHECK(bn.running_var()(0, c) == doctest::Approx(0.9 + 0.1 * v / 15).epsilon(1e-12));
    }
    const matrix<double> ye = bn.forward(x, {.training = false});
    for (std::size_t c = 0; c < 3; ++c)
        for (std::size_t b = 0; b < 4; ++b)
            CHECK(ye(b, c * 4 + 1) == doctest::Approx(bn.gamma()(0, c) * (x(b, c * 4 + 1) - bn.running_mean()(0, c)) /
                                                          std::sqrt(bn.running_var()(0, c) + 1e-5) +
                                                      bn.beta()(0, c))
                                          .epsilon(1e-12));
    std::size_t buffers = 0;
    bn.for_each_buffer([&](const std::string&, matrix<double>&) { ++buffers; });
    CHECK(buffers == 2);
}

TEST_CASE("gradcheck batch_norm: features and image channels in train and eval" * doctest::test_suite("gradcheck")) {
    auto fill = [](auto& bn) {
        bn.gamma() = randn(1, bn.gamma().shape(1), 51) + 1.0;
        bn.beta() = randn(1, bn.beta().shape(1), 52);
    };
    SUBCASE("features, training") {
        auto bn = nn::batch_norm(4).make<double>();
        fill(bn);
        check_layer(bn, randn(5, 4, 1, 1.5), true);
    }
    SUBCASE("image channels, training") {
        auto bn = nn::batch_norm(nn::image_shape{2, 3, 2}).make<double>();
        fill(bn);
        check_layer(bn, randn(3, 12, 2), true);
    }
    SUBCASE("image channels, evaluation") {
        auto bn = nn::batch_norm(nn::image_shape{2, 3, 2}).make<double>();
        fill(bn);
        bn.running_mean() = randn(1, 2, 7);
        bn.running_var() = randn(1, 2, 8) * randn(1, 2, 8) + 0.5;
        check_layer(bn, randn(3, 12, 3), false);
    }
}

TEST_CASE("flatten changes only the logical rank") {
    constexpr nn::image_shape in{2, 4, 4};
    auto net = nn::sequential<double>(nn::conv2d({.out_channels = 3, .kernel = 3, .padding = 1}, in),
                                      nn::tap<"maps">{}, nn::flatten{}, nn::dense(48, 2));
    static_assert(decltype(net)::tap_rank<"maps">() == 4);
    static_assert(decltype(net)::rank_at<3>() == 2);
    static_assert(decltype(net)::output_rank() == 2);
    auto f = nn::flatten{}.make<double>();
    const matrix<double> x = randn(2, 5, 1);
    CHECK(&f.forward(x, {}) == &x);
    CHECK(&f.backward(x, true) == &x);
    CHECK(f.backward(x, false).size() == 0);
}

TEST_CASE("reparameterize: z = mu + exp(logvar/2) eps in training with the stream's normals and mu in eval") {
    auto l = nn::reparameterize{3}.make<double>();
    const matrix<double> x = randn(4, 6, 61);
    rng noise(77);
    const rng before = noise;
    const matrix<double> z = l.forward(x, {.training = true, .noise = &noise});
    CHECK(noise.counter == before.counter + 12);
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 3; ++j)
            CHECK(z(i, j) == doctest::Approx(x(i, j) + std::exp(0.5 * x(i, 3 + j)) * before.normal_at(i * 3 + j))
                                 .epsilon(1e-14));
    const matrix<double> m = l.forward(x, {.training = false});
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 3; ++j) CHECK(m(i, j) == x(i, j));
    CHECK_THROWS_AS(l.forward(x, {.training = true, .noise = nullptr}), error);
}

TEST_CASE("gradcheck reparameterize with a fixed noise draw" * doctest::test_suite("gradcheck")) {
    auto l = nn::reparameterize{3}.make<double>();
    check_layer(l, randn(4, 6, 62, 0.5), true);
}

namespace {
/// Gradcheck of a student + objective: L = objective(student(x)), every parameter of the
/// student, with the same noise draw on every evaluation. (dL/dx is not checked here: the
/// reconstruction target data::inputs is x itself, which backward does not differentiate.)
template <class Student, class Objective>
void check_student(Student& s, Objective& obj, train::batch<double>& b, double tol = 1e-6) {
    auto run = [&] {
        rng noise(123);
        s.forward(b.x, {.training = true, .noise = &noise});
        return obj.forward(s, b);
    };
    s.for_each_param([](const std::string&, matrix<double>&, matrix<double>& g) { g.fill(0.0); });
    run();
    obj.backward(s, b);
    s.backward(false);
    s.for_each_param([&](const std::string& name, matrix<double>& v, matrix<double>& g) {
        const matrix<double> analytic = g;
        const auto numeric = ad::numeric_gradient(run, v);
        INFO("parameter " << name);
        CHECK(ad::norm(analytic) > 1e-6);
        CHECK(ad::relative_error(analytic, numeric) <= tol);
    });
}
} // namespace

TEST_CASE("kl_normal equals the closed form of KL(N(mu diag(var)) || N(0 I))") {
    auto net = nn::sequential<double>(nn::tap<"stats">{}, nn::reparameterize{2});
    auto term = loss::kl_normal(nn::tap<"stats">{}).make<double>();
    decltype(term)::check<decltype(net)>();
    train::batch<double> b;
    b.x = randn(3, 4, 71);
    net.forward(b.x, {.training = false});
    double expect = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        // 1/2 (tr(S) + mu'mu - k - log det S) with S = diag(exp(logvar))
        double tr = 0, mm = 0, logdet = 0;
        for (std::size_t j = 0; j < 2; ++j) {
            tr += std::exp(b.x(i, 2 + j));
            mm += b.x(i, j) * b.x(i, j);
            logdet += b.x(i, 2 + j);
        }
        expect += 0.5 * (tr + mm - 2.0 - logdet);
    }
    CHECK(term.forward(net, b) == doctest::Approx(expect / 3).epsilon(1e-13));
    // KL is 0 exactly at the prior.
    b.x.fill(0.0);
    net.forward(b.x, {.training = false});
    CHECK(term.forward(net, b) == 0.0);
}

TEST_CASE("gradcheck VAE: KL term and reparameterised path with a fixed noise draw" * doctest::test_suite("gradcheck")) {
    const std::size_t D = 5, k = 2;
    auto vae = nn::sequential<double>(nn::dense(D, 6, true, nn::init::xavier), nn::tanh{}, nn::dense(6, 2 * k),
                                      nn::tap<"stats">{}, nn::reparameterize{k}, nn::dense(k, 6), nn::tanh{},
                                      nn::dense(6, D));
    vae.init(rng(9));
    train::batch<double> b;
    b.x = randn(4, D, 81);
    SUBCASE("KL alone: gradient of every encoder parameter") {
        auto obj = loss::as_objective(loss::kl_normal(nn::tap<"stats">{})).make<double>();
        auto run = [&] {
            rng noise(1);
            vae.forward(b.x, {.training = true, .noise = &noise});
            return obj.forward(vae, b);
        };
        vae.for_each_param([](const std::string&, matrix<double>&, matrix<double>& g) { g.fill(0.0); });
        run();
        obj.backward(vae, b);
        vae.backward(false);
        vae.for_each_param([&](const std::string& name, matrix<double>& v, matrix<double>& g) {
            const matrix<double> analytic = g;
            const auto numeric = ad::numeric_gradient(run, v);
            INFO("parameter " << name);
            if (name[0] - '0' < 3) {  // encoder layers 0..2 get the KL's gradient
                CHECK(ad::norm(analytic) > 1e-6);
                CHECK(ad::relative_error(analytic, numeric) <= 1e-6);
            } else {
                CHECK(ad::norm(analytic) == 0.0);
                CHECK(ad::norm(numeric) <= 1e-9);
            }
        });
    }
    SUBCASE("reconstruction + beta * KL through the sample") {
        auto obj = (loss::mse(nn::output, data::inputs) + 0.3 * loss::kl_normal(nn::tap<"stats">{})).make<double>();
        check_student(vae, obj, b);
    }
}

TEST_CASE("image layers reject rows of the wrong width naming both shapes") {
    const nn::image_shape in{3, 4, 4};
    auto conv = nn::conv2d({.out_channels = 2, .kernel = 3}, in).make<float>();
    const matrix<float> two_channels = xt::zeros<float>({5, 32});
    std::string m = shape_error_text([&] { conv.forward(two_channels, {}); });
    CHECK(m.find("nn::conv2d(3->2") != std::string::npos);
    CHECK(m.find("(5, 32)") != std::string::npos);
    CHECK(m.find("48") != std::string::npos);
    CHECK(m.find("2 channels") != std::string::npos);
    const matrix<float> odd = xt::zeros<float>({5, 47});
    m = shape_error_text([&] { conv.forward(odd, {}); });
    CHECK(m.find("(5, 47)") != std::string::npos);

    auto pool = nn::max_pool2d({.kernel = 2}, in).make<float>();
    CHECK(shape_error_text([&] { pool.forward(two_channels, {}); }).find("(5, 32)") != std::string::npos);
    auto gap = nn::global_avg_pool(in).make<float>();
    CHECK(shape_error_text([&] { gap.forward(two_channels, {}); }).find("nn::global_avg_pool") != std::string::npos);
    auto tconv = nn::conv_transpose2d({.out_channels = 2, .kernel = 2, .stride = 2}, in).make<float>();
    CHECK(shape_error_text([&] { tconv.forward(two_channels, {}); }).find("(5, 32)") != std::string::npos);
    auto bn = nn::batch_norm(in).make<float>();
    m = shape_error_text([&] { bn.forward(two_channels, {}); });
    CHECK(m.find("(5, 32)") != std::string::npos);
    CHECK(m.find("3 channels") != std::string::npos);
    auto bn1 = nn::batch_norm(4).make<float>();
    const matrix<float> one_row = xt::zeros<float>({1, 4});
    CHECK(shape_error_text([&] { bn1.forward(one_row, {.training = true}); }).find("more than one value") != std::string::npos);
    auto rp = nn::reparameterize{3}.make<float>();
    rng noise(1);
    CHECK(shape_error_text([&] { rp.forward(odd, {.training = true, .noise = &noise}); }).find("(5, 47)") != std::string::npos);

    CHECK_THROWS_AS(nn::conv2d({.out_channels = 2, .kernel = 5}, in).make<float>(), shape_error);
    CHECK_THROWS_AS(nn::max_pool2d({.kernel = 5}, in).make<float>(), shape_error);

    auto net = nn::sequential(nn::dense(4, 5), nn::tap<"stats">{});
    auto kl = loss::kl_normal(nn::tap<"stats">{}).make<float>();
    train::batch<float> b;
    b.x = xt::zeros<float>({2, 4});
    net.init(rng(1));
    net.forward(b.x, {.training = false});
    // The tap holds (2, 5): odd width, not [mu | logvar].
    CHECK(shape_error_text([&] { kl.forward(net, b); }).find("(2, 5)") != std::string::npos);
}

TEST_CASE("a student's for_each_buffer visits batch_norm's running statistics (for checkpoints)") {
    auto net = nn::sequential<double>(nn::dense(3, 4), nn::batch_norm(4));
    std::vector<std::string> names;
    net.for_each_buffer([&](const std::string& n, matrix<double>& v) {
        names.push_back(n);
        CHECK(v.shape(1) == 4);
    });
    REQUIRE(names.size() == 2);
    CHECK(names[0] == "1.running_mean");
    CHECK(names[1] == "1.running_var");
    std::size_t params = 0;
    net.for_each_param([&](const std::string& n, matrix<double>&, matrix<double>&) {
        ++params;
        CHECK(n.find("running") == std::string::npos);
    });
    CHECK(params == 4);
}

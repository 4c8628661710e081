// nn::conv2d's oneDNN backend (optional component b2m::dnnl, nn/conv2d_dnnl.hpp) against
// the im2col path and against a double-precision reference: forward, dL/dx, dL/dw, dL/db
// in float on shapes with stride, padding, dilation, odd sizes, batch 1 and no bias; the
// backward accumulates into the parameter gradients as the im2col path does; batch-size
// and thread-count changes rebuild the primitives; allocations per step after warm-up.
#include <doctest/doctest.h>

#include <b2m/core/parallel.hpp>
#include <b2m/loss/cross_entropy.hpp>
#include <b2m/nn.hpp>
#include <b2m/optim/optimizer.hpp>
#include <b2m/train/trainer.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <string>

#include "b2m/testing/allocation_counter.hpp"  // heap-allocation counter (this executable only), for the per-step count

using namespace b2m;

namespace {

template <class T>
matrix<T> randn(std::size_t rows, std::size_t cols, std::uint64_t seed) {
    matrix<double> m = matrix<double>::from_shape({rows, cols});
    rng r(seed);
    r.fill_normal(m, 0.0, 1.0);
    matrix<T> out = matrix<T>::from_shape({rows, cols});
    std::copy(m.begin(), m.end(), out.begin());
    return out;
}

/// max |a - ref| / max |ref| (ref non-trivial): the norm-wise relative error.
template <class A, class R>
double rel_err(const A& a, const R& ref) {
    REQUIRE(a.size() == ref.size());
    double num = 0, den = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        num = std::max(num, std::abs(double(a.data()[i]) - double(ref.data()[i])));
        den = std::max(den, std::abs(double(ref.data()[i])));
    }
    REQUIRE(den > 0);
    return num / den;
}

struct results {
    matrix<double> y, gx, gw, gb;
};

/// Forward and backward (dL/dy = gy) of a conv2d layer in T with the given backend; the
/// parameter gradients start from `g0` (accumulation is part of the contract).
template <class T>
results run(const nn::conv2d& spec, nn::conv_backend be, const matrix<double>& x, const matrix<double>& gy,
            const matrix<double>& w, const matrix<double>& b, double g0, bool input_grad = true) {
    auto layer = spec.make<T>();
    layer.set_backend(be);
    std::copy(w.begin(), w.end(), layer.weight().begin());
    if (spec.options.bias) std::copy(b.begin(), b.end(), layer.bias().begin());
    layer.for_each_param([&](const std::string&, matrix<T>&, matrix<T>& g) { g.fill(T(g0)); });
    matrix<T> xt = matrix<T>::from_shape({x.shape(0), x.shape(1)}), gyt = matrix<T>::from_shape({gy.shape(0), gy.shape(1)});
    std::copy(x.begin(), x.end(), xt.begin());
    std::copy(gy.begin(), gy.end(), gyt.begin());
    results r;
    const matrix<T>& y = layer.forward(xt, nn::step_context{});
    r.y = matrix<double>::from_shape({y.shape(0), y.shape(1)});
    std::copy(y.begin(), y.end(), r.y.begin());
    const matrix<T>& gx = layer.backward(gyt, input_grad);
    r.gx = matrix<double>::from_shape({gx.shape(0), gx.shape(1)});
    std::copy(gx.begin(), gx.end(), r.gx.begin());
    layer.for_each_param([&](const std::string& name, matrix<T>&, matrix<T>& g) {
        matrix<double>& dst = name == "weight" ? r.gw : r.gb;
        dst = matrix<double>::from_shape({g.shape(0), g.shape(1)});
        std::copy(g.begin(), g.end(), dst.begin());
    });
    return r;
}

void compare(const nn::conv2d& spec, std::size_t batch, std::uint64_t seed) {
    const auto out = spec.output_shape();
    const std::size_t in_size = spec.input.channels * spec.input.height * spec.input.width;
    const std::size_t rows = spec.input.channels * spec.options.kernel * spec.options.kernel;
    const auto x = randn<double>(batch, in_size, seed), gy = randn<double>(batch, out.channels * out.height * out.width, seed + 1);
    const auto w = randn<double>(spec.options.out_channels, rows, seed + 2), b = randn<double>(1, spec.options.out_channels, seed + 3);
    const double g0 = 0.25;  // gradients accumulate onto what is there
    const results ref = run<double>(spec, nn::conv_backend::im2col, x, gy, w, b, g0);
    const results gemm = run<float>(spec, nn::conv_backend::im2col, x, gy, w, b, g0);
    const results dnnl = run<float>(spec, nn::conv_backend::dnnl, x, gy, w, b, g0);
    // the float im2col path meets the same bound (the bound is not loose for the backend only)
    CHECK(rel_err(gemm.y, ref.y) <= 1e-5);
    CHECK(rel_err(dnnl.y, ref.y) <= 1e-5);
    CHECK(rel_err(dnnl.gx, ref.gx) <= 1e-5);
    CHECK(rel_err(dnnl.gw, ref.gw) <= 1e-5);
    CHECK(rel_err(dnnl.y, gemm.y) <= 1e-5);
    CHECK(rel_err(dnnl.gx, gemm.gx) <= 1e-5);
    CHECK(rel_err(dnnl.gw, gemm.gw) <= 1e-5);
    if (spec.options.bias) {
        CHECK(rel_err(dnnl.gb, ref.gb) <= 1e-5);
        CHECK(rel_err(dnnl.gb, gemm.gb) <= 1e-5);
    }
}

/// conv(3->8, 16x16) - relu - pool - conv(8->16, stride 2) - relu - global pool - dense(16, 5):
/// both convs large enough for conv_backend::automatic to pick oneDNN.
auto small_conv_student() {
    const nn::image_shape in{3, 16, 16};
    const auto c1 = nn::conv2d({.out_channels = 8, .kernel = 3, .padding = 1}, in);
    const auto p1 = nn::max_pool2d({.kernel = 2}, c1.output_shape());
    const auto c2 = nn::conv2d({.out_channels = 16, .kernel = 3, .stride = 2, .padding = 1}, p1.output_shape());
    return nn::sequential(c1, nn::relu{}, p1, c2, nn::relu{}, nn::global_avg_pool(c2.output_shape()), nn::flatten{},
                          nn::dense(16, 5));
}

/// 6 random 3 x 16 x 16 images with labels 0..4 for small_conv_student.
train::batch<float> small_conv_batch() {
    train::batch<float> b;
    b.x = randn<float>(6, 3 * 16 * 16, 7);
    b.labels = index_vector::from_shape({6});
    for (std::size_t i = 0; i < 6; ++i) b.labels(i) = std::int64_t(i % 5);
    return b;
}
} // namespace

TEST_SUITE("oracle") {
    TEST_CASE("conv2d oneDNN backend matches im2col and the double reference: forward dx dw db") {
        REQUIRE(nn::dnnl_conv_available);
        struct shape_case {
            nn::conv2d_options o;
            nn::image_shape in;
            std::size_t batch;
        };
        const shape_case cases[] = {
            {{.out_channels = 16, .kernel = 3, .stride = 1, .padding = 1}, {8, 12, 12}, 4},
            {{.out_channels = 8, .kernel = 7, .stride = 2, .padding = 3}, {3, 19, 17}, 3},   // V1-like, odd sizes
            {{.out_channels = 5, .kernel = 3, .stride = 2, .padding = 0}, {4, 9, 10}, 1},    // batch 1, floor
            {{.out_channels = 12, .kernel = 3, .stride = 1, .padding = 2, .dilation = 2}, {6, 11, 11}, 2},
            {{.out_channels = 9, .kernel = 5, .stride = 3, .padding = 1, .bias = false}, {7, 13, 14}, 2},
            {{.out_channels = 32, .kernel = 1, .stride = 1, .padding = 0}, {16, 6, 6}, 5},
            {{.out_channels = 64, .kernel = 3, .stride = 1, .padding = 1}, {32, 8, 8}, 8},
        };
        std::uint64_t seed = 10;
        for (const auto& c : cases) {
            const nn::conv2d spec(c.o, c.in);
            CAPTURE(spec.make<float>().name());
            CAPTURE(c.batch);
            compare(spec, c.batch, seed += 10);
        }
    }

    TEST_CASE("conv2d oneDNN backend: no input gradient and frozen weights") {
        const nn::conv2d spec({.out_channels = 8, .kernel = 3, .padding = 1}, {4, 10, 10});
        const auto x = randn<double>(3, 400, 1), gy = randn<double>(3, 800, 2);
        const auto w = randn<double>(8, 36, 3), b = randn<double>(1, 8, 4);
        const results ref = run<double>(spec, nn::conv_backend::im2col, x, gy, w, b, 0.0, false);
        const results dnnl = run<float>(spec, nn::conv_backend::dnnl, x, gy, w, b, 0.0, false);
        CHECK(dnnl.gx.size() == 0);
        CHECK(rel_err(dnnl.gw, ref.gw) <= 1e-5);
        CHECK(rel_err(dnnl.gb, ref.gb) <= 1e-5);
        // frozen: only dL/dx, the parameter gradients stay as they were
        auto layer = spec.make<float>();
        std::copy(w.begin(), w.end(), layer.weight().begin());
        layer.set_trainable(false);
        layer.for_each_param([](const std::string&, matrix<float>&, matrix<float>& g) { g.fill(0.5f); });
        matrix<float> xf = matrix<float>::from_shape({3, 400}), gyf = matrix<float>::from_shape({3, 800});
        std::copy(x.begin(), x.end(), xf.begin());
        std::copy(gy.begin(), gy.end(), gyf.begin());
        layer.forward(xf, nn::step_context{});
        const results full = run<double>(spec, nn::conv_backend::im2col, x, gy, w, b, 0.0);
        CHECK(rel_err(layer.backward(gyf, true), full.gx) <= 1e-5);
        layer.for_each_param([](const std::string&, matrix<float>&, matrix<float>& g) {
            CHECK(std::all_of(g.begin(), g.end(), [](float v) { return v == 0.5f; }));
        });
    }

    TEST_CASE("conv2d oneDNN backend: a new batch size and thread count rebuild the primitives") {
        const nn::conv2d spec({.out_channels = 16, .kernel = 3, .padding = 1}, {8, 9, 9});
        auto layer = spec.make<float>();
        const auto w = randn<double>(16, 72, 5);
        std::copy(w.begin(), w.end(), layer.weight().begin());
        auto ref = spec.make<double>();
        std::copy(w.begin(), w.end(), ref.weight().begin());
        const int threads = num_threads();
        for (const auto& [batch, th] : {std::pair{4, 1}, std::pair{7, 1}, std::pair{4, 2}, std::pair{1, 2}}) {
            set_num_threads(th);
            const auto xd = randn<double>(std::size_t(batch), 648, std::uint64_t(batch));
            matrix<float> xf = matrix<float>::from_shape({xd.shape(0), xd.shape(1)});
            std::copy(xd.begin(), xd.end(), xf.begin());
            CAPTURE(batch);
            CAPTURE(th);
            CHECK(rel_err(layer.forward(xf, nn::step_context{}), ref.forward(xd, nn::step_context{})) <= 1e-5);
        }
        set_num_threads(threads);
    }

    TEST_CASE("conv2d backend choice: double and builds without oneDNN refuse it by name") {
        auto d = nn::conv2d({.out_channels = 4, .kernel = 3}, {2, 5, 5}).make<double>();
        CHECK(d.backend() == nn::conv_backend::im2col);
        CHECK_THROWS_WITH_AS(d.set_backend(nn::conv_backend::dnnl), doctest::Contains("needs float"), error);
        CHECK_FALSE(d.uses_dnnl());
        // im2col is the default even with oneDNN built (no allocation per step); oneDNN is
        // opt-in: automatic takes it from dnnl_min_positions output pixels per image
        auto small = nn::conv2d({.out_channels = 4, .kernel = 3, .padding = 1}, {2, 15, 16}).make<float>();
        auto large = nn::conv2d({.out_channels = 4, .kernel = 3, .padding = 1}, {2, 16, 16}).make<float>();
        CHECK(small.backend() == nn::conv_backend::im2col);
        CHECK(large.backend() == nn::conv_backend::im2col);
        CHECK_FALSE(small.uses_dnnl());
        CHECK_FALSE(large.uses_dnnl());
        small.set_backend(nn::conv_backend::automatic);
        large.set_backend(nn::conv_backend::automatic);
        CHECK_FALSE(small.uses_dnnl());
        CHECK(large.uses_dnnl());
        small.set_backend(nn::conv_backend::dnnl);
        CHECK(small.uses_dnnl());
        large.set_backend(nn::conv_backend::im2col);
        CHECK_FALSE(large.uses_dnnl());
    }
}

TEST_SUITE("alloc") {
    TEST_CASE("conv student in a build with oneDNN on the default backend: zero allocations per step") {
        // the layers are large enough for automatic to take oneDNN, but the default is im2col
        auto trainer = train::make_trainer(small_conv_student(), loss::cross_entropy(nn::output, data::labels),
                                           optim::adam({.lr = 1e-3}), {.seed = 3});
        CHECK_FALSE(trainer.student().layer<0>().uses_dnnl());
        const train::batch<float> b = small_conv_batch();
        for (int i = 0; i < 3; ++i) trainer.step(b);
        CHECK(b2m::testing::count_heap_allocations([&] {
                  for (int i = 0; i < 5; ++i) trainer.step(b);
              }) == 0);
    }

    TEST_CASE("conv student on the oneDNN backend: allocations per step only oneDNN's argument maps") {
        // A conv student step creates nothing of its own; oneDNN 2.6's execute builds a small
        // argument map per primitive call (freed at once), so the count per step is a fixed
        // number bounded by the calls made, the same every step.
        auto trainer = train::make_trainer(small_conv_student(), loss::cross_entropy(nn::output, data::labels),
                                           optim::adam({.lr = 1e-3}), {.seed = 3});
        trainer.student().layer<0>().set_backend(nn::conv_backend::dnnl);
        trainer.student().layer<3>().set_backend(nn::conv_backend::dnnl);
        const train::batch<float> b = small_conv_batch();
        for (int i = 0; i < 3; ++i) trainer.step(b);
        long per_step[3];
        for (long& n : per_step) {
            n = b2m::testing::count_heap_allocations([&] { trainer.step(b); });
        }
        // primitive calls per step: conv 1 (reorders + forward + backward-weights + accumulate;
        // no input gradient) and conv 2 (the same + backward-data + its reorders): at most 16,
        // each with its map of at most 6 arguments (+ buckets)
        CHECK(per_step[0] == per_step[1]);
        CHECK(per_step[1] == per_step[2]);
        CHECK(per_step[0] <= 16 * 8);
        MESSAGE("allocations per step (oneDNN's argument maps): " << per_step[0]);
    }
}

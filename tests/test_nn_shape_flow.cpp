// Shape flow (nn/shape_flow.hpp): inside nn::sequential an image layer may leave its input
// shape out and gets the output shape of the layers before it. A chain built that way must
// be the chain built with every shape written by hand (same shapes, same parameters, same
// outputs); explicit shapes that disagree with the flow, and shapes that nothing provides,
// are shape_errors naming the layer index and both shapes.
#include <doctest/doctest.h>

#include "shape_error_text.hpp"

#include <b2m/nn.hpp>
#include <b2m/nn/conv1d.hpp>
#include <b2m/nn/max_pool_padded.hpp>
#include <b2m/nn/unflatten.hpp>

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

using namespace b2m;

namespace {

using b2m_test::shape_error_text;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// (name, rows, cols) of every parameter of a student.
template <class Net>
std::vector<std::pair<std::string, std::vector<std::size_t>>> param_shapes(Net& net) {
    std::vector<std::pair<std::string, std::vector<std::size_t>>> out;
    net.for_each_param([&](const std::string& n, auto& v, auto&) { out.push_back({n, {v.shape(0), v.shape(1)}}); });
    return out;
}

template <class Net>
std::size_t param_count(Net& net) {
    std::size_t k = 0;
    net.for_each_param([&](const std::string&, auto& v, auto&) { k += v.size(); });
    return k;
}

matrix<double> randn(std::size_t rows, std::size_t cols, std::uint64_t seed) {
    matrix<double> m = matrix<double>::from_shape({rows, cols});
    rng r(seed);
    r.fill_normal(m, 0.0, 1.0);
    return m;
}

// The chain of the test: 2x12x12 images -> conv k3 p1 (4) -> relu -> max pool 2 -> conv k3
// (6) -> relu -> transposed conv k4 s2 p1 (3) -> flatten -> dense (5). Shapes by hand:
// 4x12x12, 4x6x6, 6x4x4, 3x8x8, 192, 5.
constexpr nn::image_shape input{2, 12, 12};
constexpr nn::conv2d_options c1_opt{.out_channels = 4, .kernel = 3, .padding = 1};
constexpr nn::pool2d_options p1_opt{.kernel = 2};
constexpr nn::conv2d_options c2_opt{.out_channels = 6, .kernel = 3};
constexpr nn::conv_transpose2d_options t1_opt{.out_channels = 3, .kernel = 4, .stride = 2, .padding = 1};

auto explicit_chain() {
    const nn::conv2d c1(c1_opt, input);
    const nn::max_pool2d p1(p1_opt, c1.output_shape());
    const nn::conv2d c2(c2_opt, p1.output_shape());
    const nn::conv_transpose2d t1(t1_opt, c2.output_shape());
    return nn::sequential<double>(c1, nn::relu{}, p1, c2, nn::relu{}, t1, nn::flatten{},
                                  nn::dense(t1.output_shape().size(), 5));
}

auto inferred_chain() {
    return nn::sequential<double>(nn::conv2d(c1_opt, input), nn::relu{}, nn::max_pool2d(p1_opt), nn::conv2d(c2_opt),
                                  nn::relu{}, nn::conv_transpose2d(t1_opt), nn::flatten{}, nn::dense(nn::inferred, 5));
}

} // namespace

TEST_CASE("a chain without input shapes has the shapes of the chain written by hand") {
    auto a = inferred_chain();
    auto b = explicit_chain();
    CHECK(a.layer<0>().output_shape() == nn::image_shape{4, 12, 12});
    CHECK(a.layer<2>().input_shape() == nn::image_shape{4, 12, 12});
    CHECK(a.layer<2>().output_shape() == nn::image_shape{4, 6, 6});
    CHECK(a.layer<3>().input_shape() == nn::image_shape{4, 6, 6});
    CHECK(a.layer<3>().output_shape() == nn::image_shape{6, 4, 4});
    CHECK(a.layer<5>().input_shape() == nn::image_shape{6, 4, 4});
    CHECK(a.layer<5>().output_shape() == nn::image_shape{3, 8, 8});
    CHECK(a.layer<0>().output_shape() == b.layer<0>().output_shape());
    CHECK(a.layer<2>().output_shape() == b.layer<2>().output_shape());
    CHECK(a.layer<3>().output_shape() == b.layer<3>().output_shape());
    CHECK(a.layer<5>().output_shape() == b.layer<5>().output_shape());
}

TEST_CASE("a chain without input shapes has the parameters of the chain written by hand") {
    auto a = inferred_chain();
    auto b = explicit_chain();
    CHECK(param_shapes(a) == param_shapes(b));
    // conv 4*2*9 + 4, conv 6*4*9 + 6, transposed conv 6*3*16 + 3, dense 192*5 + 5
    CHECK(param_count(a) == 76 + 222 + 291 + 965);
    CHECK(param_count(b) == param_count(a));
}

TEST_CASE("a chain without input shapes computes what the chain written by hand computes") {
    auto a = inferred_chain();
    auto b = explicit_chain();
    b.init(rng(3));
    a.init(rng(11));  // different draws, then b's weights copied in: outputs must then agree
    std::vector<matrix<double>> w;
    b.for_each_param([&](const std::string&, matrix<double>& v, matrix<double>&) { w.push_back(v); });
    std::size_t k = 0;
    a.for_each_param([&](const std::string&, matrix<double>& v, matrix<double>&) { v = w[k++]; });
    const matrix<double> x = randn(3, input.size(), 5);
    const matrix<double> ya = a.forward(x, {.training = false});
    const matrix<double> yb = b.forward(x, {.training = false});
    REQUIRE(ya.shape(0) == 3);
    REQUIRE(ya.shape(1) == 5);
    REQUIRE(yb.shape() == ya.shape());
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < ya.size(); ++i) {
        diff += std::abs(ya.data()[i] - yb.data()[i]);
        norm += std::abs(yb.data()[i]);
    }
    CHECK(norm > 0.1);
    CHECK(diff == 0.0);
}

TEST_CASE("padded pooling global average pooling and batch_norm take their shape from the flow") {
    const nn::image_shape in{3, 9, 9};
    auto net = nn::sequential<double>(nn::conv2d({.out_channels = 5, .kernel = 3, .padding = 1}, in), nn::batch_norm(),
                                      nn::max_pool2d_padded({.kernel = 3, .stride = 2, .padding = 1}),
                                      nn::avg_pool2d({.kernel = 2, .stride = 1}), nn::global_avg_pool(),
                                      nn::dense(nn::inferred, 2));
    CHECK(net.layer<2>().input_shape() == nn::image_shape{5, 9, 9});
    CHECK(net.layer<2>().output_shape() == nn::image_shape{5, 5, 5});
    CHECK(net.layer<3>().output_shape() == nn::image_shape{5, 4, 4});
    CHECK(net.layer<4>().input_shape() == nn::image_shape{5, 4, 4});
    // batch_norm per channel: gamma and beta (1, 5); dense (5 -> 2)
    const auto shapes = param_shapes(net);
    REQUIRE(shapes.size() == 6);
    CHECK(shapes[2].first == "1.gamma");
    CHECK(shapes[2].second == std::vector<std::size_t>{1, 5});
    CHECK(shapes[4].first == "5.weight");
    CHECK(shapes[4].second == std::vector<std::size_t>{5, 2});
    net.init(rng(1));
    CHECK(net.forward(randn(4, in.size(), 2)).shape(1) == 2);
}

TEST_CASE("batch_norm after a dense layer normalises per feature") {
    auto net = nn::sequential<double>(nn::dense(4, 7), nn::batch_norm(), nn::relu{}, nn::dense(nn::inferred, 3));
    const auto shapes = param_shapes(net);
    REQUIRE(shapes.size() == 6);
    CHECK(shapes[2].second == std::vector<std::size_t>{1, 7});
    CHECK(shapes[4].second == std::vector<std::size_t>{7, 3});
}

TEST_CASE("conv1d and max_pool1d take the signal shape from the flow") {
    const nn::signal_shape in{1, 100};
    const nn::conv1d c1({.out_channels = 4, .kernel = 8, .stride = 2, .padding = 4}, in);
    const nn::max_pool1d p1({.kernel = 4}, c1.output_shape());
    const nn::conv1d c2({.out_channels = 6, .kernel = 3}, p1.output_shape());
    auto b = nn::sequential<double>(c1, nn::batch_norm(c1.output_shape().image()), nn::relu{}, p1, c2);
    auto a = nn::sequential<double>(nn::conv1d({.out_channels = 4, .kernel = 8, .stride = 2, .padding = 4}, in),
                                    nn::batch_norm(), nn::relu{}, nn::max_pool1d({.kernel = 4}),
                                    nn::conv1d({.out_channels = 6, .kernel = 3}));
    // L: (100 + 8 - 8)/2 + 1 = 51, pooled (51 - 4)/4 + 1 = 12, conv k3: 10
    CHECK(a.layer<0>().output_shape() == nn::signal_shape{4, 51});
    CHECK(a.layer<3>().output_shape() == nn::image_shape{4, 1, 12});
    CHECK(a.layer<4>().input_shape() == nn::signal_shape{4, 12});
    CHECK(a.layer<4>().output_shape() == nn::signal_shape{6, 10});
    CHECK(a.layer<4>().output_shape() == b.layer<4>().output_shape());
    CHECK(param_shapes(a) == param_shapes(b));
}

TEST_CASE("an explicit shape after a dense layer must have its row width") {
    // The decoder pattern: dense(latent, C*H*W) then a transposed conv given (C, H, W).
    const nn::image_shape code{4, 3, 3};
    auto ok = nn::sequential<double>(nn::dense(2, code.size()), nn::relu{},
                                     nn::conv_transpose2d({.out_channels = 1, .kernel = 4, .stride = 2, .padding = 1}, code),
                                     nn::flatten{}, nn::dense(nn::inferred, 3));
    CHECK(ok.layer<2>().output_shape() == nn::image_shape{1, 6, 6});
    const std::string m = shape_error_text([&] {
        nn::sequential<double>(nn::dense(2, 30), nn::conv_transpose2d({.out_channels = 1, .kernel = 4}, code));
    });
    CHECK(has(m, "nn::sequential: layer 1: nn::conv_transpose2d"));
    CHECK(has(m, "(C=4, H=3, W=3)"));
    CHECK(has(m, "(features 30)"));
}

TEST_CASE("an explicit image shape that disagrees with the layer before names the layer and both shapes") {
    const std::string m = shape_error_text([&] {
        nn::sequential<double>(nn::conv2d({.out_channels = 4, .kernel = 3}, {1, 8, 8}), nn::relu{},
                               nn::max_pool2d({.kernel = 2}, {4, 8, 8}));
    });
    CHECK(has(m, "nn::sequential: layer 2: nn::max_pool2d"));
    CHECK(has(m, "(C=4, H=8, W=8) was given explicitly"));
    CHECK(has(m, "gives (C=4, H=6, W=6)"));
    CHECK(has(m, "output of layer 0"));  // the relu keeps the shape of layer 0
}

TEST_CASE("a dense layer whose inputs disagree with the row width before it names both sizes") {
    const std::string m = shape_error_text([&] {
        nn::sequential<double>(nn::conv2d({.out_channels = 4, .kernel = 3}, {1, 8, 8}), nn::flatten{}, nn::dense(100, 3));
    });
    CHECK(has(m, "nn::sequential: layer 2: nn::dense(100, 3) expects rows of 100 features"));
    CHECK(has(m, "(features 144)"));
    const std::string r = shape_error_text([&] { nn::sequential<double>(nn::dense(3, 5), nn::reparameterize{2}); });
    CHECK(has(r, "layer 1: nn::reparameterize(2) needs rows of 4"));
    CHECK(has(r, "(features 5)"));
    const std::string u = shape_error_text([&] { nn::sequential<double>(nn::dense(3, 10), nn::unflatten{{1, 3, 3}}); });
    CHECK(has(u, "layer 1: nn::unflatten(C=1, H=3, W=3) needs rows of 9 features"));
}

TEST_CASE("a left-out shape that no layer provides names the layer") {
    const std::string first = shape_error_text([] { nn::sequential<double>(nn::conv2d({.out_channels = 4})); });
    CHECK(has(first, "nn::sequential: layer 0: nn::conv2d(out_channels 4, kernel 3, stride 1) left its input shape out"));
    CHECK(has(first, "it is the first layer"));
    const std::string after_dense =
        shape_error_text([] { nn::sequential<double>(nn::dense(3, 20), nn::relu{}, nn::max_pool2d({.kernel = 2})); });
    CHECK(has(after_dense, "layer 2: nn::max_pool2d(kernel 2) left its input shape out"));
    CHECK(has(after_dense, "rows of 20 features, not images"));
    const std::string dense_first = shape_error_text([] { nn::sequential<double>(nn::dense(nn::inferred, 3)); });
    CHECK(has(dense_first, "layer 0: nn::dense(inferred, 3) infers its input features"));
    const std::string bn_first = shape_error_text([] { nn::sequential<double>(nn::batch_norm()); });
    CHECK(has(bn_first, "layer 0: nn::batch_norm left its shape out"));
    // Global average pooling ends the image flow: its output is (batch, channels).
    const std::string after_gap = shape_error_text([] {
        nn::sequential<double>(nn::conv2d({.out_channels = 2, .kernel = 1}, {1, 4, 4}), nn::global_avg_pool(),
                               nn::conv2d({.out_channels = 2, .kernel = 1}));
    });
    CHECK(has(after_gap, "layer 2: nn::conv2d(out_channels 2, kernel 1, stride 1) left its input shape out"));
    CHECK(has(after_gap, "rows of 2 features"));
}

namespace {
/// A user-written spec that says nothing about shapes (an identity layer): the flow ends.
struct opaque_identity {
    template <real T>
    nn::flatten_layer<T> make() const { return {}; }
};
} // namespace

TEST_CASE("a spec that declares no output shape ends the flow") {
    const std::string m = shape_error_text([] {
        nn::sequential<double>(nn::conv2d({.out_channels = 2, .kernel = 1}, {1, 4, 4}), opaque_identity{},
                               nn::conv2d({.out_channels = 2, .kernel = 1}));
    });
    CHECK(has(m, "layer 2: nn::conv2d(out_channels 2, kernel 1, stride 1) left its input shape out"));
    CHECK(has(m, "layer 1 before it does not declare its output shape"));
    // An explicit shape after it is taken as given (nothing to check it against).
    auto ok = nn::sequential<double>(nn::conv2d({.out_channels = 2, .kernel = 1}, {1, 4, 4}), opaque_identity{},
                                     nn::conv2d({.out_channels = 3, .kernel = 1}, {2, 4, 4}), nn::relu{},
                                     nn::max_pool2d({.kernel = 2}));
    CHECK(ok.layer<4>().output_shape() == nn::image_shape{3, 2, 2});
}

TEST_CASE("conv1d refuses a left-out input after images taller than one row") {
    const std::string m = shape_error_text([] {
        nn::sequential<double>(nn::conv2d({.out_channels = 2, .kernel = 3}, {1, 6, 6}), nn::conv1d({.out_channels = 2}));
    });
    CHECK(has(m, "layer 1: nn::conv1d"));
    CHECK(has(m, "images (C=2, H=4, W=4), not signals"));
}

TEST_CASE("a spec with its input left out cannot be made outside nn::sequential") {
    CHECK(has(shape_error_text([] { (void)nn::conv2d({.out_channels = 4}).make<float>(); }), "the input shape was left out"));
    CHECK(has(shape_error_text([] { (void)nn::conv_transpose2d({.out_channels = 4}).make<float>(); }), "nn::conv_transpose2d"));
    CHECK(has(shape_error_text([] { (void)nn::max_pool2d({.kernel = 2}).make<float>(); }), "nn::max_pool2d"));
    CHECK(has(shape_error_text([] { (void)nn::max_pool1d({.kernel = 2}).make<float>(); }), "nn::max_pool1d"));
    CHECK(has(shape_error_text([] { (void)nn::conv1d({.out_channels = 2}).make<float>(); }), "nn::conv1d"));
    CHECK(has(shape_error_text([] { (void)nn::global_avg_pool().make<float>(); }), "nn::global_avg_pool"));
    CHECK(has(shape_error_text([] { (void)nn::batch_norm().make<float>(); }), "nn::batch_norm"));
    CHECK(has(shape_error_text([] { (void)nn::dense(nn::inferred, 3).make<float>(); }), "nn::dense(inferred, 3)"));
}

TEST_CASE("errors from making a layer carry the layer index") {
    // The kernel does not fit the 2x2 images that flow out of the pooling.
    const std::string m = shape_error_text([] {
        nn::sequential<double>(nn::conv2d({.out_channels = 2, .kernel = 1}, {1, 4, 4}), nn::max_pool2d({.kernel = 2}),
                               nn::conv2d({.out_channels = 2, .kernel = 3}));
    });
    CHECK(has(m, "nn::sequential: layer 2: nn::conv2d: a kernel of 3"));
    CHECK(has(m, "(C=2, H=2, W=2)"));
}

// b2m/models/alexnet.hpp - an AlexNet-style image CNN (Krizhevsky et al. 2012, torchvision's
// layout) scaled to 32x32 or 64x64 inputs: the kind of feature extractor BTL maps into
// brain space.
//
//   auto net = models::alexnet<float>({.image = 64});
//   auto tiny = models::alexnet<double>({.image = 32, .channels = {8, 16, 24, 16, 16}, .fc = 32, .classes = 10});
//
// Layers (torch.nn.Sequential indices in brackets), taps after each ReLU:
//   [0] conv1 (64: k11 s4 p2; 32: k5 s1 p2) [1] relu tap "conv1" [2] maxpool k3 s2
//   [3] conv2 k5 p2 [4] relu tap "conv2" [5] maxpool k3 s2
//   [6] conv3 k3 p1 [7] relu tap "conv3"  [8] conv4 k3 p1 [9] relu tap "conv4"
//   [10] conv5 k3 p1 [11] relu tap "conv5" [12] maxpool k3 s2 [13] flatten
//   [14] dropout [15] linear(C5*S*S, fc) [16] relu tap "fc6" [17] dropout [18] linear(fc, fc)
//   [19] relu tap "fc7" [20] linear(fc, classes)
// (torchvision's AdaptiveAvgPool2d((6, 6)) is left out: at these sizes the features are
// 1x1 (64) or 3x3 (32).) alexnet_torch_names() gives torchvision's names (features.0,
// classifier.1, ...); the first linear layer's shape differs from torchvision's 9216 inputs.
#pragma once

#include <array>
#include <map>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/nn/activation.hpp"
#include "b2m/nn/conv2d.hpp"
#include "b2m/nn/dense.hpp"
#include "b2m/nn/dropout.hpp"
#include "b2m/nn/flatten.hpp"
#include "b2m/nn/pool.hpp"
#include "b2m/nn/sequential.hpp"
#include "b2m/nn/tap.hpp"

namespace b2m::models {

/// Sizes of models::alexnet.
struct alexnet_options {
    std::size_t image = 64;  ///< 32 or 64
    std::size_t in_channels = 3;                                  ///< Input image channels.
    std::array<std::size_t, 5> channels{64, 192, 384, 256, 256};  ///< Output channels of conv1 .. conv5.
    std::size_t fc = 4096;                                        ///< Width of fc6 and fc7.
    std::size_t classes = 1000;                                   ///< Output logits.
    double dropout = 0.5;                                         ///< Drop probability before fc6 and fc7.
};

/// The AlexNet-style student (input (B, in_channels*image*image), NCHW rows).
template <real T = float>
auto alexnet(const alexnet_options& o = {}) {
    if (o.image != 32 && o.image != 64)
        throw shape_error("models::alexnet: image side " + std::to_string(o.image) + " (b2m's AlexNet takes 32 or 64)");
    const nn::image_shape in{o.in_channels, o.image, o.image};
    const bool big = o.image == 64;
    // Only conv1 is given its input shape; the others take theirs from the layer before
    // (nn/shape_flow.hpp), the first linear layer its inputs (C5*S*S).
    const nn::conv2d c1({.out_channels = o.channels[0], .kernel = big ? 11u : 5u, .stride = big ? 4u : 1u, .padding = 2}, in);
    const nn::max_pool2d pool({.kernel = 3, .stride = 2});
    const auto conv = [](std::size_t c, std::size_t k) { return nn::conv2d({.out_channels = c, .kernel = k, .padding = k / 2}); };
    return nn::sequential<T>(c1, nn::relu{}, nn::tap<"conv1">{}, pool,                        //
                             conv(o.channels[1], 5), nn::relu{}, nn::tap<"conv2">{}, pool,    //
                             conv(o.channels[2], 3), nn::relu{}, nn::tap<"conv3">{},          //
                             conv(o.channels[3], 3), nn::relu{}, nn::tap<"conv4">{},          //
                             conv(o.channels[4], 3), nn::relu{}, nn::tap<"conv5">{}, pool, nn::flatten{},
                             nn::dropout{o.dropout}, nn::dense(nn::inferred, o.fc, true, nn::init::fan_in_uniform), nn::relu{},
                             nn::tap<"fc6">{}, nn::dropout{o.dropout}, nn::dense(o.fc, o.fc, true, nn::init::fan_in_uniform),
                             nn::relu{}, nn::tap<"fc7">{}, nn::dense(o.fc, o.classes, true, nn::init::fan_in_uniform));
}

/// Module prefixes of alexnet -> torchvision's AlexNet names.
inline std::map<std::string, std::string> alexnet_torch_names() {
    return {{"0.", "features.0."},    {"3.", "features.3."},    {"6.", "features.6."},   {"8.", "features.8."},
            {"10.", "features.10."},  {"15.", "classifier.1."}, {"18.", "classifier.4."}, {"20.", "classifier.6."}};
}

} // namespace b2m::models

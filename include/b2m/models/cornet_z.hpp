// b2m/models/cornet_z.hpp - CORnet-Z (Kubilius et al. 2018), the small CORnet: four
// conv-ReLU-maxpool areas V1, V2, V4, IT with a tap on each, then a decoder (global
// average pool, flatten, linear). ReAlnet fine-tunes this family with EEG.
//
//   auto net = models::cornet_z<float>();                                // 3x224x224 -> 1000
//   auto small = models::cornet_z<double>({.image = 64, .channels = {8, 16, 32, 64}, .classes = 10});
//   io::load_state_dict(net, "cornet_z.npz", {.prefix = "module.", .names = models::cornet_z_torch_names()});
//
// Layers (module indices of the equivalent torch.nn.Sequential in brackets):
//   V1  [0] conv k7 s2 p3, [1] relu, [2] maxpool k3 s2 p1, tap "V1"
//   V2  [3] conv k3 s1 p1, [4] relu, [5] maxpool k3 s2 p1, tap "V2"   (V4 [6-8], IT [9-11] alike)
//   decoder [12] global average pool, [13] flatten, [14] linear(channels[3], classes)
// cornet_z_torch_names() maps these to the official CORnet repository's names
// (V1.conv.weight, ..., decoder.linear.weight); its published checkpoint adds "module."
// (DataParallel), hence the prefix above.
#pragma once

#include <array>
#include <map>
#include <string>

#include "b2m/nn/activation.hpp"
#include "b2m/nn/conv2d.hpp"
#include "b2m/nn/flatten.hpp"
#include "b2m/nn/max_pool_padded.hpp"
#include "b2m/nn/pool.hpp"
#include "b2m/nn/sequential.hpp"
#include "b2m/nn/tap.hpp"

namespace b2m::models {

/// Sizes of models::cornet_z.
struct cornet_z_options {
    std::size_t image = 224;                            ///< square input side
    std::size_t in_channels = 3;                        ///< Input image channels.
    std::array<std::size_t, 4> channels{64, 128, 256, 512};  ///< V1, V2, V4, IT
    std::size_t classes = 1000;                         ///< Output logits.
};

/// The CORnet-Z student (input (B, in_channels*image*image), NCHW rows; output (B, classes)).
template <real T = float>
auto cornet_z(const cornet_z_options& o = {}) {
    // Only the first layer is given its input shape; the others take theirs from the layer
    // before (nn/shape_flow.hpp).
    const nn::image_shape in{o.in_channels, o.image, o.image};
    const nn::max_pool2d_padded pool({.kernel = 3, .stride = 2, .padding = 1});
    const auto conv3 = [](std::size_t c) { return nn::conv2d({.out_channels = c, .kernel = 3, .stride = 1, .padding = 1}); };
    return nn::sequential<T>(nn::conv2d({.out_channels = o.channels[0], .kernel = 7, .stride = 2, .padding = 3}, in),
                             nn::relu{}, pool, nn::tap<"V1">{},                    //
                             conv3(o.channels[1]), nn::relu{}, pool, nn::tap<"V2">{},  //
                             conv3(o.channels[2]), nn::relu{}, pool, nn::tap<"V4">{},  //
                             conv3(o.channels[3]), nn::relu{}, pool, nn::tap<"IT">{},  //
                             nn::global_avg_pool(), nn::flatten{},
                             nn::dense(nn::inferred, o.classes, true, nn::init::fan_in_uniform));
}

/// Module prefixes of cornet_z -> the official CORnet-Z names (for io::load_options::names).
inline std::map<std::string, std::string> cornet_z_torch_names() {
    return {{"0.", "V1.conv."}, {"3.", "V2.conv."}, {"6.", "V4.conv."}, {"9.", "IT.conv."}, {"14.", "decoder.linear."}};
}

} // namespace b2m::models

// b2m/models/conv_vae.hpp - the B2M convolutional VAE (as in examples/vae_reconstruction.cpp):
// two stride-2 conv layers, a linear layer to [mu | logvar] (tap "stats", read by
// loss::kl_normal), the reparameterised sample (tap "z"), a linear layer back to a code
// image and two stride-2 transposed convolutions.
//
//   auto vae = models::conv_vae<float>({.image = {1, 16, 16}, .channels = {8, 16}, .latent = 4});
//   auto objective = loss::mse(nn::output, data::inputs) + beta * loss::kl_normal(nn::tap<"stats">{});
//
// Layers (torch.nn.Sequential indices): [0] conv k3 s2 p1 [1] relu [2] conv k3 s2 p1
// [3] relu [4] flatten [5] linear(code, 2*latent) tap "stats" [6] reparameterize tap "z"
// [7] linear(latent, code) [8] relu [9] unflatten(C2, H/4, W/4) [10] conv_transpose k4 s2 p1
// [11] relu [12] conv_transpose k4 s2 p1 -> (B, C*H*W) reconstruction logits.
// Requires H and W divisible by 4. In evaluation z = mu (nn/vae.hpp).
#pragma once

#include <array>

#include "b2m/core/error.hpp"
#include "b2m/nn/activation.hpp"
#include "b2m/nn/conv2d.hpp"
#include "b2m/nn/conv_transpose2d.hpp"
#include "b2m/nn/dense.hpp"
#include "b2m/nn/flatten.hpp"
#include "b2m/nn/sequential.hpp"
#include "b2m/nn/tap.hpp"
#include "b2m/nn/unflatten.hpp"
#include "b2m/nn/vae.hpp"

namespace b2m::models {

/// Sizes of models::conv_vae.
struct conv_vae_options {
    nn::image_shape image{1, 16, 16};            ///< Input and reconstruction shape (H, W divisible by 4).
    std::array<std::size_t, 2> channels{8, 16};  ///< Output channels of the two encoder convolutions.
    std::size_t latent = 4;                      ///< Latent size k (tap "stats" is 2k wide, "z" k).
};

template <real T = float>
auto conv_vae(const conv_vae_options& o = {}) {
    if (o.image.height % 4 != 0 || o.image.width % 4 != 0)
        throw shape_error("models::conv_vae: image " + nn::to_string(o.image) + " must have H and W divisible by 4");
    // Each layer but the first takes its input shape from the one before (nn/shape_flow.hpp);
    // the code image is the encoder's output (k3 s2 p1 halves H and W, divisible by 4).
    const nn::image_shape code{o.channels[1], o.image.height / 4, o.image.width / 4};
    return nn::sequential<T>(nn::conv2d({.out_channels = o.channels[0], .kernel = 3, .stride = 2, .padding = 1}, o.image),
                             nn::relu{}, nn::conv2d({.out_channels = o.channels[1], .kernel = 3, .stride = 2, .padding = 1}),
                             nn::relu{}, nn::flatten{},
                             nn::dense(nn::inferred, 2 * o.latent, true, nn::init::fan_in_uniform), nn::tap<"stats">{},
                             nn::reparameterize{o.latent}, nn::tap<"z">{},
                             nn::dense(o.latent, code.size(), true, nn::init::fan_in_uniform), nn::relu{},
                             nn::unflatten{code},
                             nn::conv_transpose2d({.out_channels = o.channels[0], .kernel = 4, .stride = 2, .padding = 1}),
                             nn::relu{},
                             nn::conv_transpose2d({.out_channels = o.image.channels, .kernel = 4, .stride = 2, .padding = 1}));
}

} // namespace b2m::models

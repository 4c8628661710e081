// b2m/models/soundnet.hpp - SoundNet-8 (Aytar et al. 2016), the 1-D conv stack over raw
// waveforms that Freteault et al. fine-tune with fMRI; taps on conv4..conv7.
//
//   auto net = models::soundnet8<float>({.samples = 22050 * 20});
//   auto tiny = models::soundnet8_features<double>({.samples = 16384, .width = 2});   // no conv8
//
// Input (B, samples): one mono waveform per row. Blocks (torch.nn.Sequential indices):
//   conv1 [0] conv1d(1 -> w, k64 s2 p32) [1] batchnorm [2] relu [3] maxpool k8 s8
//   conv2 [4] conv1d(w -> 2w, k32 s2 p16) [5] bn [6] relu [7] maxpool k8 s8
//   conv3 [8] conv1d(2w -> 4w, k16 s2 p8) [9] bn [10] relu
//   conv4 [11] conv1d(4w -> 8w, k8 s2 p4) [12] bn [13] relu, tap "conv4"
//   conv5 [14] conv1d(8w -> 16w, k4 s2 p2) [15] bn [16] relu, tap "conv5", [17] maxpool k4 s4
//   conv6 [18] conv1d(16w -> 32w, k4 s2 p2) [19] bn [20] relu, tap "conv6"
//   conv7 [21] conv1d(32w -> 64w, k4 s2 p2) [22] bn [23] relu, tap "conv7"
//   head (soundnet8 only; soundnet8_features ends at conv7) [24] conv1d(64w -> classes, k8 s2): the object scores (conv8)
// w = width (16 in SoundNet). Activations are channel-major (B, C*L) (nn/conv1d.hpp).
// The head needs conv7 to be at least 8 samples long (about 9.5 s of 22,050 Hz audio).
// soundnet8_torch_names() gives the names of the soundnet_pytorch port (conv1, batchnorm1,
// ..., conv8), whose Conv2d (k, 1) kernels load into conv1d (size-1 dimensions match).
#pragma once

#include <map>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/nn/activation.hpp"
#include "b2m/nn/batch_norm.hpp"
#include "b2m/nn/conv1d.hpp"
#include "b2m/nn/dense.hpp"
#include "b2m/nn/flatten.hpp"
#include "b2m/nn/max_pool_padded.hpp"
#include "b2m/nn/sequential.hpp"
#include "b2m/nn/tap.hpp"

namespace b2m::models {

/// Sizes of models::soundnet8.
struct soundnet8_options {
    std::size_t samples = 22050 * 20;  ///< waveform length per row
    std::size_t width = 16;            ///< channels of conv1 (doubling per block)
    std::size_t classes = 1000;        ///< conv8 output channels
};

namespace detail {
/// conv1 .. conv7 with their batch norms, ReLUs, pools and taps, then `head`. Only conv1 is
/// given its input shape; the other layers take theirs from the layer before
/// (nn/shape_flow.hpp). A shape_error (e.g. a waveform too short for the pools) names the
/// options and the layer.
template <real T, class... Head>
auto soundnet8_body(const soundnet8_options& o, const Head&... head) {
    const std::size_t w = o.width;
    const auto conv = [](std::size_t c, std::size_t k) {
        return nn::conv1d({.out_channels = c, .kernel = k, .stride = 2, .padding = k / 2});
    };
    try {
        return nn::sequential<T>(
            nn::conv1d({.out_channels = w, .kernel = 64, .stride = 2, .padding = 32}, {1, o.samples}),  //
            nn::batch_norm(), nn::relu{}, nn::max_pool1d({.kernel = 8}),                               //
            conv(2 * w, 32), nn::batch_norm(), nn::relu{}, nn::max_pool1d({.kernel = 8}),              //
            conv(4 * w, 16), nn::batch_norm(), nn::relu{},                                             //
            conv(8 * w, 8), nn::batch_norm(), nn::relu{}, nn::tap<"conv4">{},                          //
            conv(16 * w, 4), nn::batch_norm(), nn::relu{}, nn::tap<"conv5">{}, nn::max_pool1d({.kernel = 4}),
            conv(32 * w, 4), nn::batch_norm(), nn::relu{}, nn::tap<"conv6">{},  //
            conv(64 * w, 4), nn::batch_norm(), nn::relu{}, nn::tap<"conv7">{}, head...);
    } catch (const shape_error& e) {
        throw shape_error("models::soundnet8 (" + std::to_string(o.samples) + " samples, width " + std::to_string(w) +
                          "; a waveform too short for the pools and strides?): " + e.what());
    }
}
} // namespace detail

/// The SoundNet-8 student, ending in the conv8 object head.
template <real T = float>
auto soundnet8(const soundnet8_options& o = {}) {
    return detail::soundnet8_body<T>(o, nn::conv1d({.out_channels = o.classes, .kernel = 8, .stride = 2}));
}

/// SoundNet-8 without the conv8 head (ends at the tap "conv7"); any waveform length for
/// which conv7 has at least one sample.
template <real T = float>
auto soundnet8_features(const soundnet8_options& o = {}) {
    return detail::soundnet8_body<T>(o);
}

/// SoundNet-8 through conv7, then flatten and a linear read-out to `classes` (layers [24]
/// flatten, [25] linear): a classifier for clips too short for the conv8 head (conv7 of any
/// length >= 1). Layers [0..23] and their names are those of soundnet8_features, so weights
/// move between the two by name (e.g. pretrain on single clips, fine-tune on longer windows).
template <real T = float>
auto soundnet8_classifier(const soundnet8_options& o = {}) {
    return detail::soundnet8_body<T>(o, nn::flatten{}, nn::dense(nn::inferred, o.classes));
}

/// Module prefixes of soundnet8 -> the soundnet_pytorch port's names.
inline std::map<std::string, std::string> soundnet8_torch_names() {
    std::map<std::string, std::string> m;
    const int conv_at[7] = {0, 4, 8, 11, 14, 18, 21};
    for (int i = 0; i < 7; ++i) {
        m[std::to_string(conv_at[i]) + "."] = "conv" + std::to_string(i + 1) + ".";
        m[std::to_string(conv_at[i] + 1) + "."] = "batchnorm" + std::to_string(i + 1) + ".";
    }
    m["24."] = "conv8.";
    return m;
}

} // namespace b2m::models

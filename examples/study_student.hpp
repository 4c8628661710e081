// examples/study_student.hpp - the small conv student shared by the real-data studies
// (study_v4_vision, study_rsa_teacher, study_btl_rsa92) and its frozen-feature read-out.
//
// conv(3->8)-bn-relu-maxpool, conv(8->16)-bn-relu-maxpool, conv(16->32)-relu, 4x4 average
// pooling -> flatten -> tap "embed" (128 = 32 channels x 2x2) -> dense(128, 768), the
// decoder of the autoencoding task (a 3x16x16 image). Input: 3x32x32 images, NCHW rows.
#pragma once

#include <b2m/nn/activation.hpp>
#include <b2m/nn/batch_norm.hpp>
#include <b2m/nn/conv2d.hpp>
#include <b2m/nn/dense.hpp>
#include <b2m/nn/flatten.hpp>
#include <b2m/nn/pool.hpp>
#include <b2m/nn/sequential.hpp>

#include <algorithm>

namespace study {

inline constexpr b2m::nn::image_shape image{.channels = 3, .height = 32, .width = 32};

inline auto make_student() {
    using namespace b2m;
    const auto c1 = nn::conv2d({.out_channels = 8, .kernel = 3, .padding = 1}, image);
    const auto p1 = nn::max_pool2d({.kernel = 2}, c1.output_shape());  // 8 x 16 x 16
    const auto c2 = nn::conv2d({.out_channels = 16, .kernel = 3, .padding = 1}, p1.output_shape());
    const auto p2 = nn::max_pool2d({.kernel = 2}, c2.output_shape());  // 16 x 8 x 8
    const auto c3 = nn::conv2d({.out_channels = 32, .kernel = 3, .padding = 1}, p2.output_shape());
    const auto p3 = nn::avg_pool2d({.kernel = 4}, c3.output_shape());  // 32 x 2 x 2
    return nn::sequential(c1, nn::batch_norm(c1.output_shape()), nn::relu{}, p1, c2, nn::batch_norm(c2.output_shape()),
                          nn::relu{}, p2, c3, nn::relu{}, p3, nn::flatten{}, nn::tap<"embed">{},
                          nn::dense(p3.output_shape().size(), 768));
}

/// Frozen "embed" features of x (evaluation mode, chunks of 100 rows). Trainer: anything
/// with predict(x) and student().tap<"embed">().
template <class Trainer>
b2m::matrix<float> embed(Trainer& t, const b2m::matrix<float>& x) {
    const std::size_t n = x.shape(0), w = x.shape(1);
    b2m::matrix<float> out, chunk;
    for (std::size_t b = 0; b < n; b += 100) {
        const std::size_t e = std::min(n, b + 100);
        b2m::ensure_shape(chunk, e - b, w);
        std::copy_n(x.data() + b * w, (e - b) * w, chunk.data());
        t.predict(chunk);
        const auto& f = t.student().template tap<"embed">().value();
        if (out.size() == 0) out = b2m::matrix<float>::from_shape({n, f.shape(1)});
        std::copy_n(f.data(), f.size(), out.data() + b * f.shape(1));
    }
    return out;
}

} // namespace study

// tools/arch_students.hpp - the student types of tools/arch.hpp, built from a runtime
// input shape. with_arch_student(a, in, classes, f) calls f(student) with the concrete
// nn::sequential of architecture a (f must return the same type for every architecture).
// Included by arch.cpp (forward only) and train_arch.cpp (trainers) only.
#pragma once

#include <algorithm>
#include <span>
#include <utility>

#include "arch.hpp"
#include "cli.hpp"

#include "b2m/models/cornet_z.hpp"
#include "b2m/nn/activation.hpp"
#include "b2m/nn/batch_norm.hpp"
#include "b2m/nn/conv2d.hpp"
#include "b2m/nn/dense.hpp"
#include "b2m/nn/flatten.hpp"
#include "b2m/nn/last_step.hpp"
#include "b2m/nn/pool.hpp"
#include "b2m/nn/recurrent.hpp"
#include "b2m/nn/sequential.hpp"
#include "b2m/nn/tap.hpp"

namespace b2m::cli {

inline auto mlp_student(std::size_t f, std::size_t c) {
    return nn::sequential(nn::dense(f, 128), nn::relu{}, nn::dense(128, 64), nn::relu{}, nn::tap<"hidden">{},
                          nn::dense(64, c));
}
inline auto mlp_small_student(std::size_t f, std::size_t c) {
    return nn::sequential(nn::dense(f, 32), nn::relu{}, nn::tap<"hidden">{}, nn::dense(32, c));
}
/// Requires h, w multiples of 4 (checked by load_arch_stimuli).
inline auto conv_student(std::size_t ch, std::size_t h, std::size_t w, std::size_t c) {
    const nn::image_shape i0{ch, h, w}, a1{16, h, w}, i1{16, h / 2, w / 2}, a2{32, h / 2, w / 2};
    return nn::sequential(nn::conv2d({.out_channels = 16, .kernel = 3, .padding = 1}, i0), nn::batch_norm(a1), nn::relu{},
                          nn::max_pool2d({.kernel = 2}, a1), nn::tap<"conv1">{},
                          nn::conv2d({.out_channels = 32, .kernel = 3, .padding = 1}, i1), nn::batch_norm(a2), nn::relu{},
                          nn::max_pool2d({.kernel = 2}, a2), nn::tap<"conv2">{}, nn::flatten{},
                          nn::dense(32 * (h / 4) * (w / 4), 64), nn::relu{}, nn::tap<"hidden">{}, nn::dense(64, c));
}
inline auto gru_student(std::size_t f, std::size_t c) {
    return nn::sequential(nn::gru(f, 64), nn::tap<"sequence">{}, nn::last_step(64), nn::tap<"hidden">{}, nn::dense(64, c));
}

inline auto cornet_z_student(const arch_input& in, std::size_t classes) {
    models::cornet_z_options o{.image = in.height, .in_channels = in.channels, .classes = classes};
    if (in.widths.size() == 4) std::copy(in.widths.begin(), in.widths.end(), o.channels.begin());
    return models::cornet_z<float>(o);
}

/// Sets the GRU's per-row lengths for rows [b, e) (no-op for students without a GRU first).
template <class Student>
void set_student_lengths(Student& s, const arch_input& in, std::size_t b, std::size_t e) {
    if constexpr (requires { s.template layer<0>().set_lengths(std::span<const std::int64_t>()); }) {
        if (in.lengths.empty()) s.template layer<0>().clear_lengths();
        else s.template layer<0>().set_lengths(std::span<const std::int64_t>(in.lengths.data() + b, e - b));
    }
}

template <class F>
decltype(auto) with_arch_student(arch_kind a, const arch_input& in, std::size_t classes, F&& f) {
    switch (a) {
    case arch_kind::mlp: return f(mlp_student(in.features, classes));
    case arch_kind::mlp_small: return f(mlp_small_student(in.features, classes));
    case arch_kind::conv: return f(conv_student(in.channels, in.height, in.width, classes));
    case arch_kind::cornet_z: return f(cornet_z_student(in, classes));
    default: return f(gru_student(in.step_features, classes));
    }
}

inline std::string arch_layers(arch_kind a, const arch_input& in, std::size_t classes) {
    const auto s = [](std::size_t v) { return std::to_string(v); };
    const std::string C = s(classes);
    switch (a) {
    case arch_kind::mlp: return "dense(" + s(in.features) + ", 128) relu dense(128, 64) relu tap<hidden> dense(64, " + C + ")";
    case arch_kind::mlp_small: return "dense(" + s(in.features) + ", 32) relu tap<hidden> dense(32, " + C + ")";
    case arch_kind::conv:
        return "conv3x3(" + s(in.channels) + "->16) bn relu maxpool2 tap<conv1> conv3x3(16->32) bn relu maxpool2 tap<conv2> "
               "flatten dense(" + s(32 * (in.height / 4) * (in.width / 4)) + ", 64) relu tap<hidden> dense(64, " + C + ")";
    case arch_kind::cornet_z: {
        std::string w = "64, 128, 256, 512";
        if (in.widths.size() == 4) w = s(in.widths[0]) + ", " + s(in.widths[1]) + ", " + s(in.widths[2]) + ", " + s(in.widths[3]);
        return "CORnet-Z on " + s(in.channels) + "x" + s(in.height) + "x" + s(in.width) + " images, channels " + w +
               ": V1 V2 V4 IT (conv relu maxpool tap each), global average pool, dense(" + C + ")";
    }
    default: return "gru(" + s(in.step_features) + ", 64) tap<sequence> last_step tap<hidden> dense(64, " + C + ")";
    }
}

} // namespace b2m::cli

// b2m/nn/shape_flow.hpp - the shape that flows from one layer spec to the next while
// nn::sequential builds a student.
//
// Rows are flat (an image batch is (B, C*H*W), nn/image.hpp), so a layer cannot see the
// image layout of its input: the specs carry it. nn::sequential walks its specs in order
// with a flow_shape, what the layers before produce: the row width and, when the rows are
// images, their layout. Each spec takes part in one of three ways:
//   - keeps it: `static constexpr bool keeps_shape = true;` (activations, dropout, taps):
//     what flows past the spec is what flowed in;
//   - reads and sets it: optionally `S with_input(const flow_shape& in) const`, the spec
//     with its left-out input taken from `in`, then `flow_shape output_flow(const
//     flow_shape& in) const`, what flows past it. Both throw shape_error when `in` is
//     unknown where the spec needs it, or disagrees with an input the spec was given;
//   - anything else: what flows past the spec is unknown.
// So the image layers (conv1d, conv2d, conv_transpose2d, max/avg pooling, padded max
// pooling, global average pooling, batch_norm) may leave their input shape out,
//     nn::sequential(nn::conv2d({.out_channels = 8, .kernel = 3}, {1, 16, 16}), nn::relu{},
//                    nn::max_pool2d({.kernel = 2}), nn::conv2d({.out_channels = 16}),
//                    nn::flatten{}, nn::dense(nn::inferred, 10));
// and the first image layer needs one: given explicitly, or from an nn::unflatten before
// it. A shape given explicitly must equal the one that flows in (same image layout; after a
// dense layer, same row width). nn::sequential reports a failure as shape_error
// "nn::sequential: layer <i>: <the spec's message> (...)". A left-out shape outside
// nn::sequential (spec.make<T>() alone) is a shape_error too.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>

#include "b2m/core/error.hpp"
#include "b2m/nn/image.hpp"

namespace b2m::nn {

/// What flows out of a chain of layer specs: the row width (0: unknown) and, when the rows
/// are images, their layout (channels 0: not images, or unknown).
struct flow_shape {
    std::size_t features = 0;  ///< row width; 0: unknown
    image_shape image{};       ///< the rows' image layout; channels 0: not images, or unknown
    /// Whether the row width is known.
    constexpr bool known() const { return features != 0; }
    /// Whether the rows are images of a known layout.
    constexpr bool has_image() const { return image.channels != 0; }
    /// Rows that are images of shape s.
    static constexpr flow_shape of(const image_shape& s) { return {s.size(), s}; }
    /// Rows of `features` columns, not images (0: unknown).
    static constexpr flow_shape of(std::size_t features) { return {features, {}}; }
    /// Same width and layout.
    constexpr bool operator==(const flow_shape&) const = default;
};

/// Text "unknown", "(features 288)" or "(C=16, H=4, W=4)".
inline std::string to_string(const flow_shape& f) {
    if (f.has_image()) return to_string(f.image);
    if (f.known()) return "(features " + std::to_string(f.features) + ")";
    return "unknown";
}

/// Tag for a size taken from the layer before: nn::dense(nn::inferred, 10).
struct inferred_t {
    /// Explicit, so `{}` never converts to the tag by accident.
    explicit constexpr inferred_t() = default;
};
/// The tag value.
inline constexpr inferred_t inferred{};

namespace detail {

/// Throws the shape_error of flow_input_image (out of line: the checks stay small).
[[noreturn]] [[gnu::noinline, gnu::cold]] inline void throw_flow_input(const std::string& name, const flow_shape& in,
                                                                       const image_shape& given, bool left_out) {
    if (left_out)
        throw shape_error(name + " left its input shape out, but " +
                          (in.known() ? "the layer before gives rows of " + std::to_string(in.features) +
                                            " features, not images"
                                      : std::string("no layer before it gives an image shape")) +
                          " (give the shape as the spec's second argument, or put nn::unflatten{shape} before it)");
    throw shape_error(name + ": its input shape " + to_string(given) + " was given explicitly, but the layer before gives " +
                      to_string(in));
}

/// The input image of the spec `layer` (a string or a callable returning one, called only
/// on failure): the flowing image when `left_out`, else `given` checked against the flow.
template <class Name>
image_shape flow_input_image(Name&& layer, const flow_shape& in, const image_shape& given, bool left_out) {
    if (left_out && in.has_image()) return in.image;
    if (!left_out && !(in.has_image() ? in.image != given : (in.known() && in.features != given.size()))) return given;
    if constexpr (std::is_invocable_v<Name>) throw_flow_input(layer(), in, given, left_out);
    else throw_flow_input(layer, in, given, left_out);
}

/// The input signal of the spec `layer` (a string or a callable returning one): the flowing
/// image (C, 1, L) as (C, L) when `left_out`, else `given` checked against the flow.
template <class Name>
signal_shape flow_input_signal(Name&& layer, const flow_shape& in, const signal_shape& given, bool left_out) {
    if (left_out && in.has_image() && in.image.height != 1) {
        std::string name;
        if constexpr (std::is_invocable_v<Name>) name = layer();
        else name = layer;
        throw shape_error(name + " left its input shape out, but the layer before gives images " + to_string(in.image) +
                          ", not signals (height 1)");
    }
    const image_shape s = flow_input_image(layer, in, given.image(), left_out);
    return {s.channels, s.width};
}

/// Throws shape_error when a spec whose input was left out is made outside nn::sequential.
inline void require_input_given(bool left_out, const std::string& layer) {
    if (left_out)
        throw shape_error(layer + ": the input shape was left out; only nn::sequential fills it in (from the layer before), "
                                  "so give it explicitly to make the layer alone");
}

} // namespace detail
} // namespace b2m::nn

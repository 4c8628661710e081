// b2m/nn/image_layer_spec.hpp - what the specs of image and signal layers share, written
// once, so such a spec is its options, its name, its output shape and the layer it makes.
//
// A spec derives from image_layer_spec<Derived, Options, Shape> (Shape: image_shape, or
// signal_shape for 1-D layers, which flow as images of height 1) and inherits its two
// constructors:
//
//     struct scale2d : nn::image_layer_spec<scale2d, scale2d_options, nn::image_shape> {
//         using image_layer_spec::image_layer_spec;  // scale2d(opts), scale2d(opts, shape)
//         std::string name() const { return "nn::scale2d"; }
//         constexpr nn::image_shape output_shape() const { return input; }
//     private:
//         friend image_layer_spec;
//         template <real T>
//         scale2d_layer<T> make_layer() const { return scale2d_layer<T>(options, input); }
//     };
//
// The base holds options, input and input_left_out; with_input(flow_shape) fills a left-out
// input from the layers before or checks a given one (detail::flow_input_image /
// flow_input_signal, nn/shape_flow.hpp); output_flow is Derived::output_shape() as a
// flow_shape; make<T>() throws shape_error while the input is left out, else returns
// Derived's make_layer<T>(). Derived provides `std::string name() const` (for messages),
// `output_shape() const` (a Shape; sizes 0 while the input is left out) and
// `template <real T> make_layer() const` (called only with the input given).
#pragma once

#include <string>
#include <type_traits>

#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/nn/image.hpp"
#include "b2m/nn/shape_flow.hpp"

namespace b2m::nn {

/// The state and shape flow shared by the specs of image and signal layers.
/// Requires: Derived derives from image_layer_spec<Derived, Options, Shape>, Shape is
/// image_shape or signal_shape, and Derived has name(), output_shape() and make_layer<T>()
/// (see the file comment; make_layer may be private with image_layer_spec a friend).
template <class Derived, class Options, class Shape>
struct image_layer_spec {
    static_assert(std::is_same_v<Shape, image_shape> || std::is_same_v<Shape, signal_shape>,
                  "image_layer_spec: Shape must be nn::image_shape or nn::signal_shape");

    Options options;              ///< Hyper-parameters.
    Shape input{};                ///< The input shape; unset while input_left_out.
    bool input_left_out = false;  ///< true: filled in by nn::sequential (make() alone throws)

    /// Input shape left out: nn::sequential fills it in from the layer before (nn/shape_flow.hpp).
    constexpr explicit image_layer_spec(const Options& o) : options(o), input_left_out(true) {}
    /// Input shape given: checked against the layer before inside nn::sequential.
    constexpr image_layer_spec(const Options& o, const Shape& in) : options(o), input(in) {}

    /// The spec with its left-out input taken from `in` (a given input is checked against it;
    /// shape_error on a mismatch or when `in` has no shape). See nn/shape_flow.hpp.
    Derived with_input(const flow_shape& in) const {
        Derived r = self();
        const auto name = [this] { return self().name(); };
        if constexpr (std::is_same_v<Shape, signal_shape>)
            r.input = detail::flow_input_signal(name, in, input, input_left_out);
        else
            r.input = detail::flow_input_image(name, in, input, input_left_out);
        r.input_left_out = false;
        return r;
    }
    /// What flows past this layer: its output shape (a signal as an image of height 1).
    flow_shape output_flow(const flow_shape&) const {
        if constexpr (std::is_same_v<Shape, signal_shape>) return flow_shape::of(self().output_shape().image());
        else return flow_shape::of(self().output_shape());
    }
    /// The layer object for scalar type T; throws b2m::shape_error while the input is left out.
    template <real T>
    auto make() const {
        detail::require_input_given(input_left_out, self().name());
        return self().template make_layer<T>();
    }

protected:
    /// The spec this base belongs to.
    constexpr const Derived& self() const { return static_cast<const Derived&>(*this); }
};

} // namespace b2m::nn

// b2m/nn/layer.hpp - what a layer is.
//
// A layer *spec* (nn::dense(784, 256), nn::relu{}, ...) is a small value that describes a
// layer; spec.make<T>() builds the layer *object* that computes in scalar type T. Specs
// are what users compose; nn::sequential<T>(specs...) turns them into one student type,
// making the specs in order and passing each the shape the ones before produce (a spec may
// leave its input shape out; see nn/shape_flow.hpp for the optional members a spec
// provides to take part: keeps_shape, with_input, output_flow).
//
// A layer object L for scalar type T provides:
//   static constexpr int rank_out            logical rank of its output (2: (batch, features),
//                                            3: (batch, time, features) stored as (batch, time*features))
//   void init(rng& r)                        draws initial parameters (deterministic per r)
//   const matrix<T>& forward(const matrix<T>& x, const step_context& c)
//                                            returns its output, stored in a buffer it owns
//   const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad)
//                                            given dL/d(output), ADDS dL/d(param) into the
//                                            parameter gradients and returns dL/d(input)
//                                            (an empty matrix when !need_input_grad)
//   template <class F> void for_each_param(F&& f)   calls f(name, value, grad) per parameter
// Requires: backward follows the forward of the same batch, and the x given to that forward
// is still alive and unchanged (layers keep a pointer to it). Guarantees: after the first
// step with a given batch shape, forward and backward allocate nothing.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <string>

#include "b2m/core/rng.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::nn {

/// What a forward pass needs besides its input: training or evaluation mode, and the
/// step's random stream (dropout, reparameterisation).
struct step_context {
    bool training = true;       ///< false: evaluation (dropout off, reparameterize gives mu, batch_norm uses running statistics).
    b2m::rng* noise = nullptr;  ///< The step's random stream; required in training by dropout and reparameterize.
    /// Valid steps of each row of a sequence batch (data::batch::lengths); empty: every step
    /// is valid, or the lengths a recurrent / last_step layer was given with set_lengths.
    std::span<const std::int64_t> lengths{};
};

/// Checks the layer-object contract above.
template <class L, class T>
concept layer_object = requires(L l, const matrix<T>& x, const step_context& c, rng& r) {
    { L::rank_out } -> std::convertible_to<int>;
    l.init(r);
    { l.forward(x, c) } -> std::same_as<const matrix<T>&>;
    { l.backward(x, true) } -> std::same_as<const matrix<T>&>;
};

/// A layer spec: builds a layer object for float and double.
template <class S>
concept layer_spec = requires(const S s) {
    s.template make<float>();
    s.template make<double>();
};

} // namespace b2m::nn

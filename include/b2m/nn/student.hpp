// b2m/nn/student.hpp - what a student is (what train::make_trainer and objectives accept).
//
// A student S (nn::sequential_t<T, Layers...> is the one b2m provides; each of its layers
// satisfies nn::layer_object) provides:
//   using value_type                               its scalar type (float or double)
//   void init(const rng&)                          draws its parameters
//   const matrix<T>& forward(const matrix<T>&, const step_context&)
//   const matrix<T>& backward(bool need_input_grad) back-propagates output_grad() and the taps'
//   static constexpr int output_rank()             logical rank of its output
//   template <class F> void for_each_param(F&&)    f(name, value, grad)
// A layer *spec* (nn::dense(4, 2)) or a single layer object is not a student: compose
// them with nn::sequential(...).
#pragma once

#include <concepts>

#include "b2m/core/rng.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/nn/layer.hpp"

namespace b2m::nn {

namespace detail {
template <class S>
concept has_real_value_type = requires { typename S::value_type; } && real<typename S::value_type>;
} // namespace detail

/// Checks the student contract above.
template <class S>
concept student = detail::has_real_value_type<S> &&
                  requires(S s, const matrix<typename S::value_type>& x, const step_context& c, const rng& r) {
                      s.init(r);
                      { s.forward(x, c) } -> std::same_as<const matrix<typename S::value_type>&>;
                      s.backward(false);
                      { S::output_rank() } -> std::convertible_to<int>;
                      s.for_each_param([](const auto&, auto&, auto&) {});
                  };

} // namespace b2m::nn

// b2m/nn/tap.hpp - named taps: points in a student that objectives read and send
// gradients into. nn::tap<"embed">{} is both the layer spec placed in a student and the
// source an objective names; nn::output names the student's final output.
#pragma once

#include <string>

#include "b2m/core/error.hpp"
#include "b2m/core/fixed_string.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"

namespace b2m::nn {

/// The identity in forward; in backward it adds the gradient objectives wrote into grad().
/// The input pointer and the input-gradient buffer are nn::layer_base's (its output buffer
/// stays empty: the output is the input itself); init and for_each_param are the base's,
/// doing nothing. `name` is the tap's name, not the base's `name()` for messages: the base's
/// gradient-vs-output check is not used here.
template <real T, fixed_string Name>
class tap_layer : public layer_base<tap_layer<T, Name>, T> {
    using base = layer_base<tap_layer<T, Name>, T>;
    using base::x_, base::gx_;

public:
    static constexpr int rank_out = 0;  ///< 0: the output has its input's rank.
    static constexpr auto name = Name;  ///< The tap's name, as objectives spell it.

    /// Records x and zeroes the tap's gradient for this step.
    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        x_ = &x;
        ensure_shape_like(grad_, x);
        grad_.fill(T(0));
        return x;
    }
    /// Returns gy + grad() (gy of the forward input's shape, b2m::shape_error otherwise; empty
    /// when !need_input_grad).
    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        if (this->skip_input_grad(need_input_grad)) return gx_;
        if (gy.shape() != grad_.shape())
            throw_shape_mismatch("nn::tap<\"" + std::string(Name.view()) + "\"> backward", "gradient", gy.shape(),
                                 "value", grad_.shape());
        ensure_shape_like(gx_, gy);
        for (std::size_t i = 0; i < gy.size(); ++i) gx_.data()[i] = gy.data()[i] + grad_.data()[i];
        return gx_;
    }

    /// The activation seen at this tap in the last forward. Requires a forward first.
    const matrix<T>& value() const { return *x_; }
    /// dL/d(value): objectives add into it between forward and backward.
    matrix<T>& grad() { return grad_; }

private:
    matrix<T> grad_;
};

/// Spec and source nn::tap<"name">{}: placed in a student it is an identity layer whose
/// activation objectives read (tap_layer::value) and write gradients into (tap_layer::grad).
template <fixed_string Name>
struct tap {
    static constexpr auto name = Name; ///< The tap's name.
    static constexpr bool keeps_shape = true;  ///< nn/shape_flow.hpp
    /// The layer object for scalar type T.
    template <real T>
    tap_layer<T, Name> make() const { return {}; }
};

/// Names the student's final output in an objective.
struct output_t {};
inline constexpr output_t output{};

namespace detail {
template <class L>
struct tap_name_of {
    static constexpr bool is_tap = false;
};
template <real T, fixed_string Name>
struct tap_name_of<tap_layer<T, Name>> {
    static constexpr bool is_tap = true;
    static constexpr auto name = Name;
};
} // namespace detail

} // namespace b2m::nn

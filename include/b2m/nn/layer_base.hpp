// b2m/nn/layer_base.hpp - what every layer object shares, written once, so a new layer
// is its maths and nothing else.
//
// A layer object (the contract in nn/layer.hpp) derives from layer_base<Derived, T>:
//
//     template <real T>
//     class scale_layer : public nn::layer_base<scale_layer<T>, T> {
//         using base = nn::layer_base<scale_layer<T>, T>;
//     public:
//         std::string name() const { return "scale"; }
//         const matrix<T>& forward(const matrix<T>& x, const nn::step_context&) {
//             matrix<T>& y = this->begin_forward(x, x.shape(0), x.shape(1));
//             for (std::size_t i = 0; i < x.size(); ++i) y.data()[i] = T(2) * x.data()[i];
//             return y;
//         }
//         const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
//             if (this->skip_input_grad(need_input_grad)) return this->gx_;
//             matrix<T>& gx = this->begin_backward(gy);   // checks gy against the output
//             for (std::size_t i = 0; i < gy.size(); ++i) gx.data()[i] = T(2) * gy.data()[i];
//             return gx;
//         }
//     };
//
// The base owns the output buffer y_, the input-gradient buffer gx_ and the pointer x_ to
// the last forward's input (which must live until backward); it supplies rank_out = 2, an
// init that draws nothing and a for_each_param that visits nothing, each of which the
// derived layer hides by declaring its own. Derived provides `std::string name() const`
// (used in the base's messages). Buffers are resized only when a shape changes, so a
// steady-state step allocates nothing.
#pragma once

#include <cstddef>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::nn {

/// The state and defaults shared by layer objects: output, input gradient, input pointer.
/// Requires: Derived derives from layer_base<Derived, T> and has `std::string name() const`.
template <class Derived, real T>
class layer_base {
public:
    // Layer interface defaults; a derived layer hides any of them by declaring its own.

    /// Logical rank of the output: 2, (batch, features).
    static constexpr int rank_out = 2;
    /// Draws nothing (a layer without parameters).
    void init(rng&) {}
    /// Visits nothing (a layer without parameters).
    template <class F>
    void for_each_param(F&&) {}

protected:
    /// Records x as the input of this forward (x must live until backward) and returns the
    /// output buffer shaped (rows, cols); its contents are unspecified.
    matrix<T>& begin_forward(const matrix<T>& x, std::size_t rows, std::size_t cols) {
        x_ = &x;
        ensure_shape(y_, rows, cols);
        return y_;
    }
    /// When !need_input_grad, empties gx_ (the contract's "no input gradient") and returns
    /// true: the caller returns gx_ after its parameter gradients, if any.
    bool skip_input_grad(bool need_input_grad) {
        if (need_input_grad) return false;
        ensure_shape(gx_, 0, 0);
        return true;
    }
    /// Requires gy shaped like the last output (shape_error "<name> backward: ..." otherwise);
    /// returns the input-gradient buffer shaped like the last input; contents unspecified.
    matrix<T>& begin_backward(const matrix<T>& gy) {
        check_output_grad(gy);
        ensure_shape_like(gx_, *x_);
        return gx_;
    }
    /// begin_backward for a layer whose backward adds its parameter gradients whether or not
    /// the input gradient is asked for: requires gy shaped like the last output (shape_error
    /// "<name> backward: ..." otherwise); then shapes gx_ like the last input when
    /// need_input_grad and empties it otherwise; returns gx_ (contents unspecified).
    matrix<T>& begin_backward(const matrix<T>& gy, bool need_input_grad) {
        check_output_grad(gy);
        if (need_input_grad) ensure_shape_like(gx_, *x_);
        else ensure_shape(gx_, 0, 0);
        return gx_;
    }
    /// Throws shape_error naming the layer when gy's shape is not the last output's.
    void check_output_grad(const matrix<T>& gy) const {
        if (gy.shape() != y_.shape())
            throw_shape_mismatch(self().name() + " backward", "gradient", gy.shape(), "output", y_.shape());
    }
    /// The input of the last forward.
    const matrix<T>& input() const { return *x_; }
    /// The layer this base belongs to.
    const Derived& self() const { return static_cast<const Derived&>(*this); }

    const matrix<T>* x_ = nullptr; ///< The input of the last forward (not owned).
    matrix<T> y_;                  ///< The output of the last forward (owned).
    matrix<T> gx_;                 ///< dL/d(input) of the last backward (owned; empty when not asked for).
};

} // namespace b2m::nn

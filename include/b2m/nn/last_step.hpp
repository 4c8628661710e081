// b2m/nn/last_step.hpp - picks one time step of a sequence batch: (B, T*F) -> (B, F).
//
//   nn::last_step(128)          // h(T-1): the decision head's input after a recurrent layer
//   nn::select_step(128, 0)     // step 0; negative steps count from the end (-1 = last)
//
// With variable lengths, the recurrent layers carry each row's final valid state to the
// last step (see nn/recurrent.hpp), so last_step needs no lengths after them. For other
// inputs, set_lengths(len) makes last_step read step len[b]-1 of row b (len[b] >= 1).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"
#include "b2m/nn/sequence.hpp"

namespace b2m::nn {

/// The layer object of nn::select_step / nn::last_step for scalar type T: no parameters; holds
/// a copy of the lengths in force; its output and input-gradient buffers are nn::layer_base's.
template <real T>
class select_step_layer : public layer_base<select_step_layer<T>, T> {
    using base = layer_base<select_step_layer<T>, T>;
    using base::y_, base::gx_;

public:
    /// Requires features > 0 (b2m::shape_error otherwise).
    select_step_layer(std::size_t features, std::ptrdiff_t step) : F_(features), step_(step) {
        if (features == 0) throw shape_error("nn::select_step: features must be positive");
    }

    /// Row b reads step len[b] - 1 in the following forwards (only for the last step,
    /// step == -1). Checked at forward: len.size() == batch, 1 <= len[b] <= T.
    void set_lengths(std::span<const std::int64_t> len) {
        lengths_.assign(len.begin(), len.end());
        has_lengths_ = true;
    }
    /// Undoes set_lengths: every row reads step `step` again.
    void clear_lengths() { has_lengths_ = lengths_from_batch_ = false; }

    /// @name Layer interface (the layer-object concept in b2m/nn/layer.hpp)
    ///@{

    /// Layer interface: rank_out 2, init and for_each_param nn::layer_base's (nothing to
    /// draw or visit); forward takes x (B, T*F) and returns step `step` of each row (B, F)
    /// (for step -1, step len[b] - 1 when lengths are in force: the batch's
    /// step_context::lengths, else set_lengths); b2m::shape_error when the step is outside
    /// [0, T) or the widths do not fit, b2m::data_error for a length outside [1, T]; backward
    /// scatters gy (B, F) into zeros (B, T*F) (empty when !need_input_grad; b2m::shape_error
    /// when gy is not the output's shape).
    const matrix<T>& forward(const matrix<T>& x, const step_context& ctx) {
        const std::size_t steps = sequence_steps([this] { return name(); }, x, F_), B = x.shape(0);
        if (step_ == -1 && !ctx.lengths.empty()) {  // a batch's lengths (data::batch::lengths)
            lengths_.assign(ctx.lengths.begin(), ctx.lengths.end());
            has_lengths_ = lengths_from_batch_ = true;
        } else if (lengths_from_batch_) {
            has_lengths_ = lengths_from_batch_ = false;
        }
        const std::ptrdiff_t s = step_ < 0 ? std::ptrdiff_t(steps) + step_ : step_;
        if (s < 0 || s >= std::ptrdiff_t(steps))
            throw shape_error(name() + ": step " + std::to_string(step_) + " is outside an input of shape " +
                              shape_string(x.shape()) + " (" + std::to_string(steps) + " steps)");
        if (has_lengths_) {
            if (step_ != -1) throw error(name() + ": set_lengths applies only to the last step (step -1)");
            if (lengths_.size() != B)
                throw shape_error(name() + ": set_lengths gave " + std::to_string(lengths_.size()) +
                                  " lengths but the input has " + std::to_string(B) + " rows");
        }
        this->begin_forward(x, B, F_);
        if (rows_.size() != B) rows_.resize(B);
        steps_ = steps;
        for (std::size_t b = 0; b < B; ++b) {
            std::size_t sb = std::size_t(s);
            if (has_lengths_) {
                if (lengths_[b] < 1 || std::size_t(lengths_[b]) > steps)
                    throw data_error(name() + ": length " + std::to_string(lengths_[b]) + " of row " +
                                     std::to_string(b) + " is outside [1, " + std::to_string(steps) + "]");
                sb = std::size_t(lengths_[b]) - 1;
            }
            rows_[b] = sb;
            std::copy_n(x.data() + (b * steps + sb) * F_, F_, y_.data() + b * F_);
        }
        return y_;
    }
    /// See forward.
    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        if (this->skip_input_grad(need_input_grad)) return gx_;
        this->check_output_grad(gy);
        const std::size_t B = y_.shape(0);
        ensure_shape(gx_, B, steps_ * F_);
        gx_.fill(T(0));
        for (std::size_t b = 0; b < B; ++b)
            std::copy_n(gy.data() + b * F_, F_, gx_.data() + (b * steps_ + rows_[b]) * F_);
        return gx_;
    }
    /// Text naming the layer, "nn::select_step(F, step)", for messages.
    std::string name() const {
        return "nn::select_step(" + std::to_string(F_) + ", " + std::to_string(step_) + ")";
    }
    ///@}

private:
    std::size_t F_;
    std::ptrdiff_t step_;
    std::size_t steps_ = 0;
    std::vector<std::size_t> rows_;
    std::vector<std::int64_t> lengths_;
    bool has_lengths_ = false;
    bool lengths_from_batch_ = false;
};

/// Spec: step `step` (negative: from the end) of a sequence with `features` per step.
struct select_step {
    std::size_t features = 0; ///< F, features per step (> 0).
    std::ptrdiff_t step = -1; ///< The step taken; negative counts from the end (-1 = last).
    /// Step step_ of sequences with features_ per step.
    select_step(std::size_t features_, std::ptrdiff_t step_) : features(features_), step(step_) {}
    /// The layer object for scalar type T.
    template <real T>
    select_step_layer<T> make() const { return select_step_layer<T>(features, step); }
};

/// Spec: the last step of a sequence with `features` per step.
struct last_step : select_step {
    /// The last step (select_step(features_, -1)).
    explicit last_step(std::size_t features_) : select_step(features_, -1) {}
};

} // namespace b2m::nn

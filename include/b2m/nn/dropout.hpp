// b2m/nn/dropout.hpp - inverted dropout: in training, zero each entry with probability p
// and scale the rest by 1/(1-p); in evaluation, the identity.
#pragma once

#include <algorithm>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"

namespace b2m::nn {

/// The layer object of nn::dropout for scalar type T: no parameters; holds and owns its mask;
/// its output and input-gradient buffers are nn::layer_base's.
template <real T>
class dropout_layer : public layer_base<dropout_layer<T>, T> {
    using base = layer_base<dropout_layer<T>, T>;
    using base::y_, base::gx_;

public:
    /// Requires p in [0, 1) (b2m::error otherwise).
    explicit dropout_layer(double p) : p_(p) {
        if (!(p >= 0.0 && p < 1.0)) throw error("nn::dropout: p must be in [0, 1), got " + std::to_string(p));
    }

    /// @name Layer interface (the layer-object concept in b2m/nn/layer.hpp)
    ///@{

    /// Layer interface: rank_out 2 (a spec keeps_shape), init and for_each_param nn::layer_base's
    /// (nothing to draw or visit); forward in training (p > 0) requires c.noise (the trainer
    /// provides it; b2m::error without one), draws a mask from it and returns x * mask, mask
    /// 0 with probability p and 1/(1-p) otherwise; in evaluation it returns x itself; backward
    /// returns gy * mask (b2m::shape_error when gy is not shaped like the output) in training,
    /// gy in evaluation, and an empty matrix when !need_input_grad.
    const matrix<T>& forward(const matrix<T>& x, const step_context& c) {
        training_ = c.training && p_ > 0.0;
        if (!training_) return x;
        if (c.noise == nullptr) throw error("nn::dropout: training step without a random stream");
        ensure_shape_like(mask_, x);
        this->begin_forward(x, x.shape(0), x.shape(1));
        const std::uint64_t counter0 = c.noise->counter;
        c.noise->counter += x.size();
        const T keep = T(1.0 / (1.0 - p_));
        const T* px = x.data();
        T *pm = mask_.data(), *py = y_.data();
        const rng& r = *c.noise;
        parallel_for(x.size(), elementwise_grain, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) {
                pm[i] = r.uniform_at(counter0 + i) < p_ ? T(0) : keep;
                py[i] = px[i] * pm[i];
            }
        });
        return y_;
    }
    /// See forward.
    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        if (this->skip_input_grad(need_input_grad)) return gx_;
        if (!training_) {  // the identity
            ensure_shape_like(gx_, gy);
            std::copy_n(gy.data(), gy.size(), gx_.data());
            return gx_;
        }
        matrix<T>& gx = this->begin_backward(gy);
        for (std::size_t i = 0; i < gy.size(); ++i) gx.data()[i] = gy.data()[i] * mask_.data()[i];
        return gx;
    }
    /// Text naming the layer, for messages.
    std::string name() const { return "nn::dropout"; }
    ///@}

private:
    double p_;
    bool training_ = false;
    matrix<T> mask_;
};

/// Spec: dropout with drop probability p.
struct dropout {
    static constexpr bool keeps_shape = true;  ///< nn/shape_flow.hpp
    double p = 0.5; ///< Drop probability, in [0, 1).
    /// The layer object for scalar type T.
    template <real T>
    dropout_layer<T> make() const { return dropout_layer<T>(p); }
};

} // namespace b2m::nn

// b2m/nn/dropout.hpp - inverted dropout: in training, zero each entry with probability p
// and scale the rest by 1/(1-p); in evaluation, the identity.
#pragma once

#include "b2m/core/error.hpp"
#include "b2m/nn/layer.hpp"

namespace b2m::nn {

/// The layer object of nn::dropout for scalar type T: no parameters; holds and owns its mask,
/// output and input-gradient buffers.
template <real T>
class dropout_layer {
public:
    /// @name Layer interface (the layer-object concept in b2m/nn/layer.hpp)
    ///@{

    /// Layer interface: rank_out 2 (a spec keeps_shape); init does nothing; forward in training
    /// (p > 0) draws a mask from c.noise (b2m::error without one) and returns x * mask, mask
    /// 0 with probability p and 1/(1-p) otherwise; in evaluation it returns x itself; backward
    /// returns gy * mask (gy in evaluation; empty when !need_input_grad); for_each_param
    /// visits nothing.
    static constexpr int rank_out = 2;
    /// Requires p in [0, 1) (b2m::error otherwise).
    explicit dropout_layer(double p) : p_(p) {
        if (!(p >= 0.0 && p < 1.0)) throw error("nn::dropout: p must be in [0, 1), got " + std::to_string(p));
    }
    void init(rng&) {}

    /// Requires c.noise in training mode (the trainer provides it).
    const matrix<T>& forward(const matrix<T>& x, const step_context& c) {
        training_ = c.training && p_ > 0.0;
        if (!training_) return x;
        if (c.noise == nullptr) throw error("nn::dropout: training step without a random stream");
        ensure_shape_like(mask_, x);
        ensure_shape_like(y_, x);
        const std::uint64_t base = c.noise->counter;
        c.noise->counter += x.size();
        const T keep = T(1.0 / (1.0 - p_));
        const T* px = x.data();
        T *pm = mask_.data(), *py = y_.data();
        const rng& r = *c.noise;
        parallel_for(x.size(), 1 << 14, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) {
                pm[i] = r.uniform_at(base + i) < p_ ? T(0) : keep;
                py[i] = px[i] * pm[i];
            }
        });
        return y_;
    }
    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        if (!need_input_grad) {
            ensure_shape(gx_, 0, 0);
            return gx_;
        }
        if (!training_) {
            gx_ = gy;
            return gx_;
        }
        ensure_shape_like(gx_, gy);
        for (std::size_t i = 0; i < gy.size(); ++i) gx_.data()[i] = gy.data()[i] * mask_.data()[i];
        return gx_;
    }
    template <class F>
    void for_each_param(F&&) {}
    ///@}

private:
    double p_;
    bool training_ = false;
    matrix<T> mask_, y_, gx_;
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

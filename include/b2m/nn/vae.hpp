// b2m/nn/vae.hpp - the reparameterised Gaussian sample of a variational autoencoder.
//
// The encoder ends in a layer with 2k outputs read as [mu | logvar] (mean and log-variance
// of q(z|x), k each). nn::reparameterize{k} turns them into the latent code:
//   training:   z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) from the step's random stream
//               (counter-based, so fixed per trainer seed and step)
//   evaluation: z = mu
// A VAE student and its objective (beta weighs the KL term to N(0, I)):
//   auto vae = nn::sequential(nn::dense(D, 128), nn::relu{}, nn::dense(128, 2 * k),
//                             nn::tap<"stats">{}, nn::reparameterize{k},
//                             nn::dense(k, 128), nn::relu{}, nn::dense(128, D), nn::sigmoid{});
//   auto objective = loss::mse(nn::output, data::inputs) + beta * loss::kl_normal(nn::tap<"stats">{});
// (loss/kl_normal.hpp reads mu and logvar from the tap placed before this layer.)
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"
#include "b2m/nn/shape_flow.hpp"

namespace b2m::nn {

/// The layer object of nn::reparameterize for scalar type T: no parameters; holds and owns
/// its noise buffers; its output (B, k) and input-gradient buffers are nn::layer_base's, as
/// are rank_out 2, init and for_each_param (nothing to draw or visit). In training
/// y = mu + exp(logvar/2) eps with eps ~ N(0, 1) from the step's random stream; in
/// evaluation y = mu.
template <real T>
class reparameterize_layer : public layer_base<reparameterize_layer<T>, T> {
    using base = layer_base<reparameterize_layer<T>, T>;
    using base::y_, base::gx_;

public:
    /// Requires latent k > 0 (b2m::shape_error otherwise).
    explicit reparameterize_layer(std::size_t latent) : k_(latent) {
        if (latent == 0) throw shape_error("nn::reparameterize: latent size must be positive");
    }

    /// Requires x of shape (B, 2k) and, in training, c.noise (the trainer provides it).
    /// Draws B*k normals from c.noise (advancing it) in training.
    const matrix<T>& forward(const matrix<T>& x, const step_context& c) {
        if (x.shape(1) != 2 * k_ || x.shape(0) == 0)
            throw shape_error(name() + ": input has shape " + shape_string(x.shape()) + " but the layer expects (batch, " +
                              std::to_string(2 * k_) + ") = [mu | logvar] with " + std::to_string(k_) + " each");
        training_ = c.training;
        if (training_ && c.noise == nullptr) throw error(name() + ": training step without a random stream");
        const std::size_t B = x.shape(0);
        this->begin_forward(x, B, k_);
        if (training_) {
            ensure_shape(eps_, B, k_);
            ensure_shape(sd_, B, k_);
            const std::uint64_t counter0 = c.noise->counter;
            c.noise->counter += B * k_;
            const rng& r = *c.noise;
            parallel_for(B * k_, elementwise_grain, [&](std::size_t b, std::size_t e) {
                for (std::size_t t = b; t < e; ++t) {
                    const std::size_t i = t / k_, j = t % k_;
                    const T mu = x(i, j), lv = x(i, k_ + j);
                    const T eps = T(r.normal_at(counter0 + t));
                    const T sd = std::exp(T(0.5) * lv);
                    eps_.data()[t] = eps;
                    sd_.data()[t] = sd;
                    y_.data()[t] = mu + sd * eps;
                }
            });
        } else {
            for (std::size_t i = 0; i < B; ++i)
                for (std::size_t j = 0; j < k_; ++j) y_(i, j) = x(i, j);
        }
        return y_;
    }

    /// d/dmu = gy; d/dlogvar = gy * eps * exp(logvar/2) / 2 (0 in evaluation). Requires gy
    /// shaped like the output (b2m::shape_error otherwise); empty when !need_input_grad.
    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        if (this->skip_input_grad(need_input_grad)) return gx_;
        this->check_output_grad(gy);
        const std::size_t B = gy.shape(0);
        ensure_shape(gx_, B, 2 * k_);
        for (std::size_t i = 0; i < B; ++i)
            for (std::size_t j = 0; j < k_; ++j) {
                gx_(i, j) = gy(i, j);
                gx_(i, k_ + j) = training_ ? gy(i, j) * eps_(i, j) * sd_(i, j) * T(0.5) : T(0);
            }
        return gx_;
    }

    /// The noise of the last training forward (B, k).
    const matrix<T>& noise() const { return eps_; }
    std::size_t latent() const { return k_; } ///< k
    /// Text naming the layer, for messages.
    std::string name() const { return "nn::reparameterize(" + std::to_string(k_) + ")"; }

private:
    std::size_t k_;
    bool training_ = true;
    matrix<T> eps_, sd_;
};

/// Spec: samples a latent of size `latent` from an input [mu | logvar] of 2*latent columns.
struct reparameterize {
    std::size_t latent = 0; ///< k: inputs 2k wide, outputs k wide.
    /// Inside nn::sequential: rows of 2*latent features in (when the width is known), latent out.
    flow_shape output_flow(const flow_shape& in) const {
        if (in.known() && in.features != 2 * latent)
            throw shape_error("nn::reparameterize(" + std::to_string(latent) + ") needs rows of " +
                              std::to_string(2 * latent) + " = [mu | logvar] features, but the layer before gives " +
                              to_string(in));
        return flow_shape::of(latent);
    }
    /// The layer object for scalar type T.
    template <real T>
    reparameterize_layer<T> make() const { return reparameterize_layer<T>(latent); }
};

} // namespace b2m::nn

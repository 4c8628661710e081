// b2m/nn/batch_norm.hpp - batch normalisation (as PyTorch's BatchNorm1d/2d).
//
//   nn::batch_norm(64)                                          (B, F): per feature
//   nn::batch_norm({.channels = 16, .height = 8, .width = 8})   (B, C*H*W) NCHW: per channel
//   nn::batch_norm()         inside nn::sequential: per channel of the images the layer before
//                            produces, else per feature of its rows (nn/shape_flow.hpp)
//
// Training: y = gamma * (x - mean) / sqrt(var + eps) + beta with the batch's mean and biased
// variance over the batch (and the pixels of each channel), and the running statistics
// move by momentum: running = (1 - momentum) * running + momentum * batch statistic, the
// variance entering unbiased (N/(N-1)), as PyTorch. Evaluation: the running statistics.
// Parameters gamma (1, C) and beta (1, C); the running mean and variance (1, C) are state,
// not parameters: for_each_buffer(f(name, value)) visits them (for checkpoints).
// set_eval(true) keeps evaluation-mode normalisation in training steps (fine-tuning).
// set_reducer(sum) synchronises training statistics over the replicas of a data-parallel
// step (mpi::distributed_options::sync_batch_norm): sum(values, n) must add values[0..n)
// over every replica in place; the batch mean and variance, and the two gradient sums of
// backward, are then those of the whole (global) batch. Without a reducer: this batch only.
#pragma once

#include <array>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/nn/image.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"
#include "b2m/nn/shape_flow.hpp"

namespace b2m::nn {

/// Options of nn::batch_norm (PyTorch's defaults).
struct batch_norm_options {
    double momentum = 0.1; ///< Weight of the batch statistic in the running update, in [0, 1].
    double eps = 1e-5;     ///< Added to the variance (> 0).
};

/// The layer object of nn::batch_norm for scalar type T: holds and owns gamma, beta (1, C),
/// their gradients, the running mean and variance (1, C) and its buffers; the optional
/// reducer (set_reducer) is a copied function.
template <real T>
class batch_norm_layer : public layer_base<batch_norm_layer<T>, T> {
    using base = layer_base<batch_norm_layer<T>, T>;
    using base::y_, base::gx_;

public:
    static constexpr int rank_out = 0;  ///< 0: the output has its input's rank.

    /// Requires channels, spatial > 0 (b2m::shape_error), momentum in [0, 1] and eps > 0
    /// (b2m::error).
    batch_norm_layer(std::size_t channels, std::size_t spatial, const batch_norm_options& o)
        : c_(channels), s_(spatial), o_(o) {
        if (channels == 0 || spatial == 0)
            throw shape_error("nn::batch_norm: channels and pixels per channel must be positive");
        if (!(o.momentum >= 0.0 && o.momentum <= 1.0) || !(o.eps > 0.0))
            throw error("nn::batch_norm: momentum must be in [0, 1] and eps > 0");
        const std::array<std::size_t, 2> sh{1, c_};
        gamma_ = xt::ones<T>(sh);
        beta_ = xt::zeros<T>(sh);
        ggamma_ = xt::zeros<T>(sh);
        gbeta_ = xt::zeros<T>(sh);
        rmean_ = xt::zeros<T>(sh);
        rvar_ = xt::ones<T>(sh);
        rstd_ = xt::zeros<T>(sh);
    }
    /// @name Layer interface (the layer-object concept in b2m/nn/layer.hpp)
    ///@{

    /// Layer interface: init sets gamma 1, beta 0, running mean 0 and variance 1; forward
    /// normalises x (B, C*pixels) as in the header comment (batch statistics in training
    /// unless set_eval, running ones otherwise) and returns y of x's shape; backward takes gy
    /// of that shape, adds dL/dgamma and dL/dbeta (unless frozen) and returns dL/dx (empty when
    /// !need_input_grad); for_each_param visits "gamma" and "beta".
    void init(rng&) {
        gamma_.fill(T(1));
        beta_.fill(T(0));
        rmean_.fill(T(0));
        rvar_.fill(T(1));
    }

    /// Requires x of shape (B, C*pixels); B*pixels >= 2 in training.
    const matrix<T>& forward(const matrix<T>& x, const step_context& c) {
        if (x.shape(1) != c_ * s_ || x.shape(0) == 0)
            throw shape_error(name() + ": input has shape " + shape_string(x.shape()) + " but the layer expects (batch, " +
                              (s_ == 1 ? std::to_string(c_) : std::to_string(c_) + " channels * " + std::to_string(s_) +
                                                                   " pixels = " + std::to_string(c_ * s_)) + ")");
        const std::size_t B = x.shape(0), N = B * s_, row = c_ * s_;
        training_ = c.training && !eval_;
        const bool synced = training_ && bool(reduce_);
        std::size_t n_all = N;
        if (synced) n_all = sync_statistics(x);
        if (training_ && n_all < 2)
            throw shape_error(name() + ": training needs more than one value per channel, input has shape " +
                              shape_string(x.shape()));
        ensure_shape_like(xhat_, x);
        this->begin_forward(x, x.shape(0), x.shape(1));
        parallel_for(c_, items_per_thread(4 * x.shape(0) * s_), [&](std::size_t b, std::size_t e) {
            for (std::size_t ch = b; ch < e; ++ch) {
                T mean, rstd;
                if (synced) {
                    const T m = sync_[ch], v = sync_[c_ + ch];
                    mean = m;
                    rstd = T(1) / std::sqrt(v + T(o_.eps));
                    const T mom = T(o_.momentum);
                    rmean_.data()[ch] = (T(1) - mom) * rmean_.data()[ch] + mom * m;
                    rvar_.data()[ch] = (T(1) - mom) * rvar_.data()[ch] + mom * v * T(n_all) / T(n_all - 1);
                } else if (training_) {
                    T m = 0;
                    for (std::size_t i = 0; i < B; ++i) {
                        const T* p = x.data() + i * row + ch * s_;
                        for (std::size_t q = 0; q < s_; ++q) m += p[q];
                    }
                    m /= T(N);
                    T v = 0;
                    for (std::size_t i = 0; i < B; ++i) {
                        const T* p = x.data() + i * row + ch * s_;
                        for (std::size_t q = 0; q < s_; ++q) v += (p[q] - m) * (p[q] - m);
                    }
                    v /= T(N);
                    mean = m;
                    rstd = T(1) / std::sqrt(v + T(o_.eps));
                    const T mom = T(o_.momentum);
                    rmean_.data()[ch] = (T(1) - mom) * rmean_.data()[ch] + mom * m;
                    rvar_.data()[ch] = (T(1) - mom) * rvar_.data()[ch] + mom * v * T(N) / T(N - 1);
                } else {
                    mean = rmean_.data()[ch];
                    rstd = T(1) / std::sqrt(rvar_.data()[ch] + T(o_.eps));
                }
                rstd_.data()[ch] = rstd;
                const T g = gamma_.data()[ch], bt = beta_.data()[ch];
                for (std::size_t i = 0; i < B; ++i) {
                    const std::size_t off = i * row + ch * s_;
                    for (std::size_t q = 0; q < s_; ++q) {
                        const T h = (x.data()[off + q] - mean) * rstd;
                        xhat_.data()[off + q] = h;
                        y_.data()[off + q] = g * h + bt;
                    }
                }
            }
        });
        return y_;
    }

    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        this->begin_backward(gy, need_input_grad);  // checks gy; gx_ shaped like x, or empty
        const std::size_t B = gy.shape(0), N = B * s_, row = c_ * s_;
        if (training_ && reduce_) return synced_backward(gy, need_input_grad);
        parallel_for(c_, items_per_thread(4 * gy.shape(0) * s_), [&](std::size_t b, std::size_t e) {
            for (std::size_t ch = b; ch < e; ++ch) {
                T sg = 0, sgh = 0;  // sum gy, sum gy * xhat
                for (std::size_t i = 0; i < B; ++i) {
                    const std::size_t off = i * row + ch * s_;
                    for (std::size_t q = 0; q < s_; ++q) {
                        sg += gy.data()[off + q];
                        sgh += gy.data()[off + q] * xhat_.data()[off + q];
                    }
                }
                if (trainable_) {
                    ggamma_.data()[ch] += sgh;
                    gbeta_.data()[ch] += sg;
                }
                if (!need_input_grad) continue;
                const T k = gamma_.data()[ch] * rstd_.data()[ch];
                // training: dx = gamma*rstd * (gy - mean(gy) - xhat * mean(gy*xhat)); eval: gamma*rstd*gy
                const T m1 = training_ ? sg / T(N) : T(0), m2 = training_ ? sgh / T(N) : T(0);
                for (std::size_t i = 0; i < B; ++i) {
                    const std::size_t off = i * row + ch * s_;
                    for (std::size_t q = 0; q < s_; ++q)
                        gx_.data()[off + q] = k * (gy.data()[off + q] - m1 - xhat_.data()[off + q] * m2);
                }
            }
        });
        return gx_;
    }

    template <class F>
    void for_each_param(F&& f) {
        f("gamma", gamma_, ggamma_);
        f("beta", beta_, gbeta_);
    }
    ///@}
    /// Calls f(name, value) for the running statistics (state that is not learned).
    template <class F>
    void for_each_buffer(F&& f) {
        f("running_mean", rmean_);
        f("running_var", rvar_);
    }
    /// on: normalise with the running statistics and leave them unchanged even in training
    /// steps (PyTorch's bn.eval() while fine-tuning); gamma and beta still learn.
    void set_eval(bool on) { eval_ = on; }
    bool eval() const { return eval_; } ///< The last set_eval (false by default).
    /// Synchronised statistics in training (see the file comment); an empty function: off.
    void set_reducer(std::function<void(T*, std::size_t)> sum) { reduce_ = std::move(sum); }
    bool synchronised() const { return bool(reduce_); } ///< A reducer is set.
    /// false: backward adds nothing to dL/dgamma, dL/dbeta (nn::sequential::set_frozen).
    void set_trainable(bool on) { trainable_ = on; }
    matrix<T>& running_mean() { return rmean_; } ///< (1, C), state (not learned).
    matrix<T>& running_var() { return rvar_; }   ///< (1, C) unbiased running variance, state.
    matrix<T>& gamma() { return gamma_; }        ///< Scale (1, C).
    matrix<T>& beta() { return beta_; }          ///< Shift (1, C).
    /// Text naming the layer, for messages.
    std::string name() const {
        return "nn::batch_norm(" + std::to_string(c_) + (s_ == 1 ? "" : " channels of " + std::to_string(s_) + " pixels") +
               ")";
    }

private:
    /// sync_ <- (mean, biased variance) per channel over every replica's rows (two passes,
    /// each followed by one reduction); returns the values per channel over all replicas.
    std::size_t sync_statistics(const matrix<T>& x) {
        const std::size_t B = x.shape(0), row = c_ * s_;
        sync_.assign(2 * c_ + 1, T(0));
        parallel_for(c_, items_per_thread(2 * B * s_), [&](std::size_t b, std::size_t e) {
            for (std::size_t ch = b; ch < e; ++ch) {
                T m = 0;
                for (std::size_t i = 0; i < B; ++i) {
                    const T* p = x.data() + i * row + ch * s_;
                    for (std::size_t q = 0; q < s_; ++q) m += p[q];
                }
                sync_[ch] = m;
            }
        });
        sync_[2 * c_] = T(B * s_);
        std::vector<T> first(sync_.begin(), sync_.begin() + std::ptrdiff_t(c_));
        first.push_back(sync_[2 * c_]);
        reduce_(first.data(), first.size());  // sums and the count over every replica
        const std::size_t n_all = std::size_t(first[c_] + T(0.5));
        for (std::size_t ch = 0; ch < c_; ++ch) sync_[ch] = first[ch] / T(n_all);
        parallel_for(c_, items_per_thread(2 * B * s_), [&](std::size_t b, std::size_t e) {
            for (std::size_t ch = b; ch < e; ++ch) {
                const T m = sync_[ch];
                T v = 0;
                for (std::size_t i = 0; i < B; ++i) {
                    const T* p = x.data() + i * row + ch * s_;
                    for (std::size_t q = 0; q < s_; ++q) v += (p[q] - m) * (p[q] - m);
                }
                sync_[c_ + ch] = v;
            }
        });
        reduce_(sync_.data() + c_, c_);  // squared deviations over every replica
        for (std::size_t ch = 0; ch < c_; ++ch) sync_[c_ + ch] /= T(n_all);
        n_all_ = n_all;
        return n_all;
    }
    /// backward with the gradient sums (sum gy, sum gy * xhat) over every replica; gamma's and
    /// beta's gradients get this replica's share (the data-parallel gradient sum adds the rest).
    const matrix<T>& synced_backward(const matrix<T>& gy, bool need_input_grad) {
        const std::size_t B = gy.shape(0), row = c_ * s_;
        std::vector<T> sums(2 * c_, T(0));
        parallel_for(c_, items_per_thread(2 * B * s_), [&](std::size_t b, std::size_t e) {
            for (std::size_t ch = b; ch < e; ++ch) {
                T sg = 0, sgh = 0;
                for (std::size_t i = 0; i < B; ++i) {
                    const std::size_t off = i * row + ch * s_;
                    for (std::size_t q = 0; q < s_; ++q) {
                        sg += gy.data()[off + q];
                        sgh += gy.data()[off + q] * xhat_.data()[off + q];
                    }
                }
                sums[ch] = sg, sums[c_ + ch] = sgh;
                if (trainable_) {
                    ggamma_.data()[ch] += sgh;
                    gbeta_.data()[ch] += sg;
                }
            }
        });
        if (!need_input_grad) return gx_;
        reduce_(sums.data(), sums.size());
        parallel_for(c_, items_per_thread(2 * B * s_), [&](std::size_t b, std::size_t e) {
            for (std::size_t ch = b; ch < e; ++ch) {
                const T k = gamma_.data()[ch] * rstd_.data()[ch];
                const T m1 = sums[ch] / T(n_all_), m2 = sums[c_ + ch] / T(n_all_);
                for (std::size_t i = 0; i < B; ++i) {
                    const std::size_t off = i * row + ch * s_;
                    for (std::size_t q = 0; q < s_; ++q)
                        gx_.data()[off + q] = k * (gy.data()[off + q] - m1 - xhat_.data()[off + q] * m2);
                }
            }
        });
        return gx_;
    }

    std::size_t c_, s_;
    batch_norm_options o_;
    bool training_ = true, eval_ = false, trainable_ = true;
    matrix<T> gamma_, beta_, ggamma_, gbeta_, rmean_, rvar_, rstd_, xhat_;
    std::function<void(T*, std::size_t)> reduce_;
    std::vector<T> sync_;
    std::size_t n_all_ = 0;
};

/// Spec of a batch normalisation layer.
struct batch_norm {
    std::size_t channels = 0;  ///< C (features for (B, F) rows)
    std::size_t pixels = 1;  ///< H*W per channel (1 for (B, F) features)
    batch_norm_options options{}; ///< Momentum and eps.
    bool shape_left_out = false;  ///< true: filled in by nn::sequential (make() alone throws)

    /// Per feature of (B, features).
    explicit batch_norm(std::size_t features, const batch_norm_options& o = {}) : channels(features), options(o) {}
    /// Per channel of images (B, C*H*W) stored NCHW.
    explicit batch_norm(const image_shape& s, const batch_norm_options& o = {})
        : channels(s.channels), pixels(s.height * s.width), options(o) {}
    /// Shape left out: inside nn::sequential, per channel of the images the layers before
    /// produce, else per feature of their rows (nn/shape_flow.hpp). make() alone throws.
    batch_norm() : batch_norm(inferred) {}
    /// As batch_norm(), with options: nn::batch_norm(nn::inferred, {.momentum = 0.01}).
    explicit batch_norm(inferred_t, const batch_norm_options& o = {}) : options(o), shape_left_out(true) {}

    /// The left-out shape filled in from `in`; a given shape must have in's row width
    /// (and, per channel of images, in's channels and pixels).
    batch_norm with_input(const flow_shape& in) const {
        batch_norm r = *this;
        const bool left_out = shape_left_out;
        r.shape_left_out = false;
        if (left_out && in.has_image()) {
            r.channels = in.image.channels;
            r.pixels = in.image.pixels();
        } else if (left_out && in.known()) {
            r.channels = in.features;
            r.pixels = 1;
        } else if (left_out) {
            throw shape_error("nn::batch_norm left its shape out, but no layer before it gives one (give the features or "
                              "the image shape)");
        } else if ((in.known() && channels * pixels != in.features) ||
                   (in.has_image() && pixels > 1 && (channels != in.image.channels || pixels != in.image.pixels()))) {
            throw shape_error("nn::batch_norm: its shape (" + std::to_string(channels) + " channels x " +
                              std::to_string(pixels) + " pixels) was given explicitly, but the layer before gives " +
                              to_string(in));
        }
        return r;
    }
    /// What flows past this layer: what flows in.
    flow_shape output_flow(const flow_shape& in) const { return in; }
    /// The layer object for scalar type T; throws b2m::shape_error while the shape is left out.
    template <real T>
    batch_norm_layer<T> make() const {
        detail::require_input_given(shape_left_out, "nn::batch_norm");
        return batch_norm_layer<T>(channels, pixels, options);
    }
};

} // namespace b2m::nn

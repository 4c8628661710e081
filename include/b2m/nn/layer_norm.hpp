// b2m/nn/layer_norm.hpp - layer normalisation over the features of each row,
// y = gamma * (x - mean) / sqrt(var + eps) + beta (biased variance, as PyTorch).
#pragma once

#include <cmath>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"

namespace b2m::nn {

/// The layer object of nn::layer_norm for scalar type T: holds and owns gamma, beta (1, F),
/// their gradients and its normalisation buffers; its output and input-gradient buffers are
/// nn::layer_base's.
template <real T>
class layer_norm_layer : public layer_base<layer_norm_layer<T>, T> {
    using base = layer_base<layer_norm_layer<T>, T>;
    using base::y_, base::gx_;

public:
    /// Requires features > 0 (b2m::shape_error otherwise).
    layer_norm_layer(std::size_t features, double eps) : n_(features), eps_(eps) {
        if (features == 0) throw shape_error("nn::layer_norm: features must be positive");
        gamma_ = xt::ones<T>({std::size_t(1), n_});
        beta_ = xt::zeros<T>({std::size_t(1), n_});
        ggamma_ = xt::zeros<T>({std::size_t(1), n_});
        gbeta_ = xt::zeros<T>({std::size_t(1), n_});
    }

    /// @name Layer interface (the layer-object concept in b2m/nn/layer.hpp)
    ///@{

    /// Layer interface: rank_out 2 (nn::layer_base's); init sets gamma 1, beta 0; forward
    /// takes x (B, F) (b2m::shape_error otherwise) and returns y (B, F) normalised per row as
    /// in the header comment; backward takes gy (B, F) (b2m::shape_error when not the output's
    /// shape), adds dL/dgamma and dL/dbeta and returns dL/dx (empty when !need_input_grad);
    /// for_each_param visits "gamma" and "beta".
    void init(rng&) {
        gamma_.fill(T(1));
        beta_.fill(T(0));
    }

    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        if (x.shape(1) != n_) throw shape_error(name() + ": input has shape " + shape_string(x.shape()));
        const std::size_t rows = x.shape(0);
        ensure_shape_like(xhat_, x);
        this->begin_forward(x, rows, n_);
        ensure_shape(rstd_, rows, 1);
        parallel_for(rows, items_per_thread(4 * n_), [&](std::size_t r0, std::size_t r1) {
            for (std::size_t i = r0; i < r1; ++i) {
                const T* xi = x.data() + i * n_;
                T mean = 0, var = 0;
                for (std::size_t j = 0; j < n_; ++j) mean += xi[j];
                mean /= T(n_);
                for (std::size_t j = 0; j < n_; ++j) var += (xi[j] - mean) * (xi[j] - mean);
                const T rstd = T(1) / std::sqrt(var / T(n_) + T(eps_));
                rstd_(i, 0) = rstd;
                for (std::size_t j = 0; j < n_; ++j) {
                    const T h = (xi[j] - mean) * rstd;
                    xhat_(i, j) = h;
                    y_(i, j) = gamma_(0, j) * h + beta_(0, j);
                }
            }
        });
        return y_;
    }
    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        this->check_output_grad(gy);
        const std::size_t rows = gy.shape(0);
        for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t j = 0; j < n_; ++j) {
                ggamma_(0, j) += gy(i, j) * xhat_(i, j);
                gbeta_(0, j) += gy(i, j);
            }
        if (this->skip_input_grad(need_input_grad)) return gx_;
        ensure_shape_like(gx_, gy);  // (B, F), as the input
        // dx = rstd * (dh - mean(dh) - xhat * mean(dh * xhat)), dh = gy * gamma
        parallel_for(rows, row_grain, [&](std::size_t r0, std::size_t r1) {
            for (std::size_t i = r0; i < r1; ++i) {
                T m1 = 0, m2 = 0;
                for (std::size_t j = 0; j < n_; ++j) {
                    const T dh = gy(i, j) * gamma_(0, j);
                    m1 += dh;
                    m2 += dh * xhat_(i, j);
                }
                m1 /= T(n_);
                m2 /= T(n_);
                for (std::size_t j = 0; j < n_; ++j)
                    gx_(i, j) = rstd_(i, 0) * (gy(i, j) * gamma_(0, j) - m1 - xhat_(i, j) * m2);
            }
        });
        return gx_;
    }
    template <class F>
    void for_each_param(F&& f) {
        f("gamma", gamma_, ggamma_);
        f("beta", beta_, gbeta_);
    }
    /// Text naming the layer, "nn::layer_norm(F)", for messages.
    std::string name() const { return "nn::layer_norm(" + std::to_string(n_) + ")"; }
    ///@}

private:
    std::size_t n_;
    double eps_;
    matrix<T> gamma_, beta_, ggamma_, gbeta_, xhat_, rstd_;
};

/// Spec: layer normalisation over `features` columns.
struct layer_norm {
    static constexpr bool keeps_shape = true;  ///< nn/shape_flow.hpp
    std::size_t features = 0; ///< F, columns normalised per row (> 0).
    double eps = 1e-5;        ///< Added to the variance.
    /// The layer object for scalar type T.
    template <real T>
    layer_norm_layer<T> make() const { return layer_norm_layer<T>(features, eps); }
};

} // namespace b2m::nn

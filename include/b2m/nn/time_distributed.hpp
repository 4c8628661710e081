// b2m/nn/time_distributed.hpp - a dense layer applied to every step of a sequence:
// (B, T*in) -> (B, T*out), y(b,t) = x(b,t) W + b. One GEMM over the (B*T, in) view.
//
//   nn::time_distributed(nn::dense(128, 32))    // a latent read-out at every step
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/nn/dense.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/sequence.hpp"

namespace b2m::nn {

template <real T>
class time_distributed_layer {
public:
    static constexpr int rank_out = 3;

    /// Same parameters, names ("weight" (in, out), "bias" (1, out)) and initialisation as nn::dense.
    explicit time_distributed_layer(const nn::dense& d) : in_(d.in), out_(d.out), bias_(d.bias), how_(d.weight_init) {
        if (in_ == 0 || out_ == 0) throw shape_error("nn::time_distributed: in and out features must be positive");
        w_ = xt::zeros<T>({in_, out_});
        gw_ = xt::zeros<T>({in_, out_});
        b_ = xt::zeros<T>({std::size_t(1), out_});
        gb_ = xt::zeros<T>({std::size_t(1), out_});
    }

    void init(rng& r) {
        if (how_ == init::he) r.fill_normal(w_, 0.0, std::sqrt(2.0 / double(in_)));
        else if (how_ == init::xavier) {
            const double a = std::sqrt(6.0 / double(in_ + out_));
            r.fill_uniform(w_, -a, a);
        } else {
            const double a = 1.0 / std::sqrt(double(in_));
            r.fill_uniform(w_, -a, a);
            if (bias_) r.fill_uniform(b_, -a, a);
        }
        if (how_ != init::fan_in_uniform || !bias_) b_.fill(T(0));
    }

    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        const std::size_t steps = sequence_steps([this] { return label(); }, x, in_), rows = x.shape(0) * steps;
        x_ = &x;
        ensure_shape(y_, x.shape(0), steps * out_);
        T beta = T(0);
        if (bias_) {
            for (std::size_t r = 0; r < rows; ++r) std::copy_n(b_.data(), out_, y_.data() + r * out_);
            beta = T(1);
        }
        gemm_raw<T>(false, false, rows, out_, in_, T(1), x.data(), in_, w_.data(), out_, beta, y_.data(), out_);
        return y_;
    }

    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        if (gy.shape() != y_.shape())
            throw_shape_mismatch(label() + " backward", "dL/d(output)", gy.shape(), "the output", y_.shape());
        const std::size_t rows = gy.size() / out_;
        gemm_raw<T>(true, false, in_, out_, rows, T(1), x_->data(), in_, gy.data(), out_, T(1), gw_.data(), out_);
        if (bias_) {
            T* pb = gb_.data();
            const T* pg = gy.data();
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t j = 0; j < out_; ++j) pb[j] += pg[r * out_ + j];
        }
        if (!need_input_grad) {
            ensure_shape(gx_, 0, 0);
            return gx_;
        }
        ensure_shape(gx_, x_->shape(0), x_->shape(1));
        gemm_raw<T>(false, true, rows, in_, out_, T(1), gy.data(), out_, w_.data(), out_, T(0), gx_.data(), in_);
        return gx_;
    }

    template <class F>
    void for_each_param(F&& f) {
        f("weight", w_, gw_);
        if (bias_) f("bias", b_, gb_);
    }
    matrix<T>& weight() { return w_; }
    matrix<T>& bias() { return b_; }

private:
    std::string label() const {
        return "nn::time_distributed(nn::dense(" + std::to_string(in_) + ", " + std::to_string(out_) + "))";
    }
    std::size_t in_, out_;
    bool bias_;
    nn::init how_;
    matrix<T> w_, gw_, b_, gb_, y_, gx_;
    const matrix<T>* x_ = nullptr;
};

/// Spec: `layer` applied to each step of a (B, T*layer.in) sequence.
struct time_distributed {
    nn::dense layer;
    explicit time_distributed(nn::dense d) : layer(d) {}
    template <real T>
    time_distributed_layer<T> make() const { return time_distributed_layer<T>(layer); }
};

} // namespace b2m::nn

// b2m/nn/time_distributed.hpp - a dense layer applied to every step of a sequence:
// (B, T*in) -> (B, T*out), y(b,t) = x(b,t) W + b. One GEMM over the (B*T, in) view.
//
//   nn::time_distributed(nn::dense(128, 32))    // a latent read-out at every step
#pragma once

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
    explicit time_distributed_layer(const nn::dense& d) : dense_(d.make<T>()), in_(d.in), out_(d.out) {}

    void init(rng& r) { dense_.init(r); }

    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        const std::size_t steps = sequence_steps([this] { return label(); }, x, in_);
        x_ = &x;
        ensure_shape(y_, x.shape(0), steps * out_);
        dense_.forward_rows(x.data(), x.shape(0) * steps, y_.data());
        return y_;
    }

    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        if (gy.shape() != y_.shape())
            throw_shape_mismatch(label() + " backward", "dL/d(output)", gy.shape(), "the output", y_.shape());
        const std::size_t rows = gy.size() / out_;
        if (!need_input_grad) {
            ensure_shape(gx_, 0, 0);
            dense_.backward_rows(x_->data(), gy.data(), rows, nullptr);
        } else {
            ensure_shape(gx_, x_->shape(0), x_->shape(1));
            dense_.backward_rows(x_->data(), gy.data(), rows, gx_.data());
        }
        return gx_;
    }

    template <class F>
    void for_each_param(F&& f) { dense_.for_each_param(f); }
    matrix<T>& weight() { return dense_.weight(); }
    matrix<T>& bias() { return dense_.bias(); }

private:
    std::string label() const {
        return "nn::time_distributed(nn::dense(" + std::to_string(in_) + ", " + std::to_string(out_) + "))";
    }
    dense_layer<T> dense_;
    std::size_t in_, out_;
    matrix<T> y_, gx_;
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

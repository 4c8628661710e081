// b2m/nn/dense.hpp - fully connected layer y = x W + b (W: in x out, b: 1 x out).
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "b2m/core/affine.hpp"
#include "b2m/core/error.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"
#include "b2m/nn/shape_flow.hpp"

namespace b2m::nn {

/// Weight initialisation. he: N(0, 2/in) (for ReLU nets); xavier: U(+-sqrt(6/(in+out)));
/// fan_in_uniform: U(+-1/sqrt(in)) (PyTorch's nn.Linear default, also for the bias).
enum class init { he, xavier, fan_in_uniform };

namespace detail {
/// Draws weights w by scheme `how` for the given fan-in and fan-out, and sets the bias b
/// to zero (or, with fan_in_uniform and has_bias, draws it like PyTorch). Shared by every
/// layer with a weight matrix, so all follow one documented convention.
template <real T>
void init_weights(rng& r, matrix<T>& w, matrix<T>& b, double fan_in, double fan_out, nn::init how, bool has_bias) {
    b.fill(T(0));
    if (how == init::he) {
        r.fill_normal(w, 0.0, std::sqrt(2.0 / fan_in));
    } else if (how == init::xavier) {
        const double a = std::sqrt(6.0 / (fan_in + fan_out));
        r.fill_uniform(w, -a, a);
    } else {
        const double a = 1.0 / std::sqrt(fan_in);
        r.fill_uniform(w, -a, a);
        if (has_bias) r.fill_uniform(b, -a, a);
    }
}
} // namespace detail

/// The layer object of nn::dense for scalar type T: holds and owns W (in x out), b (1 x out),
/// their gradients; its output and input-gradient buffers and the pointer to the last forward's
/// input (which must stay alive until backward) are nn::layer_base's.
template <real T>
class dense_layer : public layer_base<dense_layer<T>, T> {
    using base = layer_base<dense_layer<T>, T>;
    using base::x_, base::y_, base::gx_;

public:
    /// Requires in, out > 0 (b2m::shape_error otherwise); parameters are uninitialised until init.
    dense_layer(std::size_t in, std::size_t out, bool bias, nn::init how)
        : in_(in), out_(out), bias_(bias), how_(how) {
        if (in == 0 || out == 0) throw shape_error("nn::dense: in and out features must be positive");
        w_ = matrix<T>::from_shape({in, out});
        gw_ = xt::zeros<T>({in, out});
        b_ = xt::zeros<T>({std::size_t(1), out});
        gb_ = xt::zeros<T>({std::size_t(1), out});
    }

    /// @name Layer interface (the layer-object concept in b2m/nn/layer.hpp)
    ///@{

    /// Layer interface: rank_out 2 (nn::layer_base's); init draws W by the spec's nn::init
    /// (b zero, or drawn with fan_in_uniform); forward takes x (batch x in; b2m::shape_error
    /// naming both shapes otherwise) and returns y = x W + b (batch x out); backward takes gy
    /// (batch x out; b2m::shape_error otherwise), adds x^T gy into dL/dW and the column sums of
    /// gy into dL/db (nothing when frozen) and returns gy W^T (batch x in, or empty when
    /// !need_input_grad).
    void init(rng& r) { detail::init_weights(r, w_, b_, double(in_), double(out_), how_, bias_); }

    /// Layer interface (see above): y = x W + b.
    const matrix<T>& forward(const matrix<T>& x, const step_context&) {
        check_input(x);
        matrix<T>& y = this->begin_forward(x, x.shape(0), out_);
        forward_rows(x.data(), x.shape(0), y.data());
        return y;
    }

    /// Layer interface (see above): adds dL/dW, dL/db; returns dL/dx.
    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        matrix<T>& gx = this->begin_backward(gy, need_input_grad);
        backward_rows(x_->data(), gy.data(), gy.shape(0), need_input_grad ? gx.data() : nullptr);
        return gx_;
    }
    /// Text naming the layer, "nn::dense(in, out)", for messages.
    std::string name() const { return "nn::dense(" + std::to_string(in_) + ", " + std::to_string(out_) + ")"; }
    ///@}

    /// y(rows x out) = x(rows x in) W + b on raw row-major buffers (no checks).
    void forward_rows(const T* x, std::size_t rows, T* y) const {
        affine_forward<T>(x, rows, in_, in_, w_.data(), out_, bias_ ? b_.data() : nullptr, y, out_);
    }

    /// Adds dL/dW and dL/db for the rows x(rows x in) with gradient gy(rows x out); writes
    /// dL/dx into gx (rows x in) unless gx is null.
    /// A frozen layer (set_trainable(false)) adds nothing to dL/dW and dL/db (no GEMM).
    void backward_rows(const T* x, const T* gy, std::size_t rows, T* gx) {
        affine_backward<T>(x, rows, in_, in_, gy, out_, w_.data(), out_, T(1), trainable_ ? gw_.data() : nullptr,
                           bias_ && trainable_ ? gb_.data() : nullptr, gx, in_, false);
    }

    /// This layer and the element-wise activation layer `act` above it in one step (called by
    /// nn::sequential for a dense layer followed by an activation): z = x W + b into this
    /// layer's output and a = f(z) into act's, in the pass that follows the GEMM. Returns a.
    /// Afterwards both layers hold what their own forward would have left.
    template <class Act>
        requires requires(Act& a, const matrix<T>& z) { a.fused_output(z); a.fn(); }
    const matrix<T>& forward_fused(const matrix<T>& x, Act& act, const step_context&) {
        check_input(x);
        this->begin_forward(x, x.shape(0), out_);
        matrix<T>& a = act.fused_output(y_);
        const auto f = act.fn();
        affine_forward<T>(x.data(), x.shape(0), in_, in_, w_.data(), out_, bias_ ? b_.data() : nullptr, y_.data(), out_,
                          a.data(), out_, [f](T v) { return f.value(v); });
        return a;
    }

    /// Backward of forward_fused given gy = dL/da: gz = gy * f'(z, a) (into act's input
    /// gradient) and dL/db in one pass, then the weight and input GEMMs of backward().
    template <class Act>
        requires requires(Act& a, const matrix<T>& g) { a.fused_grad(g); a.fn(); a.fused_input(); a.fused_output(); }
    const matrix<T>& backward_fused(const matrix<T>& gy, Act& act, bool need_input_grad) {
        this->check_output_grad(gy);  // dL/da has the shape of a = f(z), i.e. of z (read below)
        matrix<T>& gz = act.fused_grad(gy);
        const auto f = act.fn();
        const std::size_t rows = gy.shape(0);
        scale_and_column_sums<T>(gy.data(), out_, act.fused_input().data(), out_, act.fused_output().data(), out_,
                                 rows, out_, [f](T z, T a) { return f.grad(z, a); }, gz.data(), out_, T(1),
                                 bias_ && trainable_ ? gb_.data() : nullptr);
        matrix<T>& gx = this->begin_backward(gz, need_input_grad);
        affine_backward<T>(x_->data(), rows, in_, in_, gz.data(), out_, w_.data(), out_, T(1),
                           trainable_ ? gw_.data() : nullptr, nullptr, need_input_grad ? gx.data() : nullptr, in_,
                           false);
        return gx_;
    }

    /// Layer interface: visits ("weight", W, dW) and, with a bias, ("bias", b, db).
    template <class F>
    void for_each_param(F&& f) {
        f("weight", w_, gw_);
        if (bias_) f("bias", b_, gb_);
    }
    /// false: backward computes only dL/dx (used by nn::sequential::set_frozen).
    void set_trainable(bool on) { trainable_ = on; }
    bool trainable() const { return trainable_; } ///< false after set_trainable(false).
    std::size_t in_features() const { return in_; } ///< Input row width `in`.
    std::size_t out_features() const { return out_; } ///< Output row width `out`.
    matrix<T>& weight() { return w_; } ///< W (in x out), y = x W + b.
    matrix<T>& bias() { return b_; } ///< b (1 x out); stays zero and unused without a bias.

private:
    void check_input(const matrix<T>& x) const {
        if (x.shape(1) != in_)
            throw shape_error(name() + ": input has shape " + shape_string(x.shape()) + " but the layer expects (batch, " +
                              std::to_string(in_) + ")");
    }

    std::size_t in_, out_;
    bool bias_;
    bool trainable_ = true;
    nn::init how_;
    matrix<T> w_, gw_, b_, gb_;
};

/// Spec of a dense layer from `in` to `out` features.
struct dense {
    std::size_t in = 0;  ///< Input features (row width of x).
    std::size_t out = 0; ///< Output features.
    bool bias = true;    ///< false: y = x W (no b parameter).
    nn::init weight_init = nn::init::he; ///< How init draws W.
    bool in_inferred = false;  ///< true: `in` is filled in by nn::sequential (make() alone throws)

    /// A dense layer from in_ to out_ features (both > 0, checked by make()).
    dense(std::size_t in_, std::size_t out_, bool bias_ = true, nn::init how = nn::init::he)
        : in(in_), out(out_), bias(bias_), weight_init(how) {}
    /// nn::dense(nn::inferred, out): inside nn::sequential, `in` is the row width of the
    /// layer before (nn/shape_flow.hpp); make() alone throws.
    dense(inferred_t, std::size_t out_, bool bias_ = true, nn::init how = nn::init::he)
        : in(0), out(out_), bias(bias_), weight_init(how), in_inferred(true) {}

    /// `in` filled in from the flow when inferred; a given `in` must equal in's row width.
    dense with_input(const flow_shape& f) const {
        dense r = *this;
        r.in_inferred = false;
        if (in_inferred && !f.known())
            throw shape_error("nn::dense(inferred, " + std::to_string(out) +
                              ") infers its input features, but no layer before it gives a row width");
        if (in_inferred) r.in = f.features;
        else if (f.known() && f.features != in)
            throw shape_error("nn::dense(" + std::to_string(in) + ", " + std::to_string(out) + ") expects rows of " +
                              std::to_string(in) + " features, but the layer before gives " + to_string(f) +
                              (f.has_image() ? " = " + std::to_string(f.features) + " features" : std::string()));
        return r;
    }
    /// What flows past this layer: rows of `out` features.
    flow_shape output_flow(const flow_shape&) const { return flow_shape::of(out); }
    /// The layer object for scalar type T; throws b2m::shape_error when `in` is still inferred.
    template <real T>
    dense_layer<T> make() const {
        detail::require_input_given(in_inferred, "nn::dense(inferred, " + std::to_string(out) + ")");
        return dense_layer<T>(in, out, bias, weight_init);
    }
};

} // namespace b2m::nn

// b2m/loss/linear_head.hpp - the learnable linear maps brain objectives own: projection
// heads (contrastive), latent maps (latent transfer), encoders (encoding alignment), and
// one head per subject when subjects' brain targets differ in width.
//
// A head is y = x W + b (W: in x out, b: 1 x out; the maths is core/affine.hpp's, shared
// with nn::dense), initialised like PyTorch's nn.Linear
// (W, b ~ U(+-1/sqrt(in))) from the rng it is given. Heads are created lazily by their
// term on the first forward (the brain width V is known only from the first batch), so
// every size-dependent buffer is allocated then and never again for the same batch shape.
// Inputs are raw row-major blocks (rows with a leading dimension), so a sequence batch
// (B, T*H) is read in place as (B*T, H) rows.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "b2m/core/affine.hpp"
#include "b2m/core/error.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::loss {

/// A learnable y = x W + b owned by a loss term: holds and owns W (in x out), b (1 x out, or
/// 1 x 0 without a bias) and their gradients. Default-constructed it is empty (no parameters),
/// the state of a lazily created head before its term's first forward.
template <real T>
class linear_head {
public:
    linear_head() = default;
    /// A head from `in` to `out` features. Requires in, out > 0. Parameters are zero until init().
    linear_head(std::size_t in, std::size_t out, bool bias) : in_(in), out_(out), bias_(bias) {
        if (in == 0 || out == 0) throw shape_error("linear_head: in and out features must be positive");
        w_ = xt::zeros<T>({in, out});
        gw_ = xt::zeros<T>({in, out});
        b_ = xt::zeros<T>({std::size_t(1), bias ? out : std::size_t(0)});
        gb_ = xt::zeros<T>({std::size_t(1), bias ? out : std::size_t(0)});
    }
    /// Draws W and b from U(+-1/sqrt(in)) (PyTorch's nn.Linear), deterministic per r.
    void init(rng& r) {
        const double a = 1.0 / std::sqrt(double(in_));
        r.fill_uniform(w_, -a, a);
        if (bias_) r.fill_uniform(b_, -a, a);
    }
    bool empty() const { return in_ == 0; }            ///< Default-constructed: no parameters yet.
    std::size_t in_features() const { return in_; }    ///< in (0 when empty).
    std::size_t out_features() const { return out_; }  ///< out (0 when empty).
    bool has_bias() const { return bias_; }            ///< Whether y includes + b.

    /// y(n x out, row stride ldy) = x(n x in, row stride ldx) W + b.
    void forward(const T* x, std::size_t n, std::size_t ldx, T* y, std::size_t ldy) const {
        affine_forward<T>(x, n, in_, ldx, w_.data(), out_, bias_ ? b_.data() : nullptr, y, ldy);
    }
    /// Given gy = dL/dy for the rows x of the last forward: gW += alpha x^T gy, gb += alpha
    /// colsum(gy), and when gx != nullptr, gx += alpha gy W^T (accumulated, row stride ldgx).
    void backward(const T* x, std::size_t n, std::size_t ldx, const T* gy, std::size_t ldgy, T alpha, T* gx,
                  std::size_t ldgx) {
        affine_backward<T>(x, n, in_, ldx, gy, ldgy, w_.data(), out_, alpha, gw_.data(), bias_ ? gb_.data() : nullptr, gx,
                           ldgx, true);
    }

    /// f(name, value, grad) for W ("<prefix>weight") and b ("<prefix>bias").
    template <class F>
    void for_each_param(F&& f, const std::string& prefix) {
        if (empty()) return;
        // Names built in a reused member buffer: no allocation per optimiser step.
        name_buf_.assign(prefix).append("weight");
        f(name_buf_, w_, gw_);
        if (bias_) {
            name_buf_.assign(prefix).append("bias");
            f(name_buf_, b_, gb_);
        }
    }
    matrix<T>& weight() { return w_; }       ///< W (in x out).
    matrix<T>& bias() { return b_; }         ///< b (1 x out; 1 x 0 without a bias).
    matrix<T>& weight_grad() { return gw_; } ///< dL/dW, accumulated by backward.
    matrix<T>& bias_grad() { return gb_; }   ///< dL/db, accumulated by backward.

private:
    std::size_t in_ = 0, out_ = 0;
    bool bias_ = false;
    matrix<T> w_, gw_, b_, gb_;
    std::string name_buf_;
};

namespace detail {
/// Validates per-trial subject ids against the number of subjects; returns nothing, throws
/// data_error naming the term and the offending trial.
inline void check_subjects(const std::string& term, const xt::xtensor<std::int64_t, 1>& subject, std::size_t rows,
                           std::size_t num_subjects) {
    if (subject.size() != rows)
        throw shape_error(term + ": the term has " + std::to_string(num_subjects) +
                          " subject heads, so batch.subject must hold one id per trial, but it has " +
                          std::to_string(subject.size()) + " entries for " + std::to_string(rows) + " trials");
    for (std::size_t i = 0; i < rows; ++i)
        if (subject(i) < 0 || std::size_t(subject(i)) >= num_subjects)
            throw data_error(term + ": batch.subject[" + std::to_string(i) + "] = " + std::to_string(subject(i)) +
                             " is outside [0, " + std::to_string(num_subjects) + ")");
}
} // namespace detail

/// One linear head per subject, reading a brain matrix padded to the widest subject:
/// trial i of subject s = subject[i] uses columns [0, widths[s]) of its brain row (the rest
/// is padding and is never read). Subjects' trials are gathered into per-subject blocks
/// (buffers sized for the whole batch once), so a step allocates nothing after warm-up.
template <real T>
class subject_heads {
public:
    subject_heads() = default;
    /// One head per subject s from widths[s] to `out` features (each width > 0,
    /// b2m::shape_error otherwise); parameters zero until init.
    subject_heads(const std::vector<std::size_t>& widths, std::size_t out, bool bias) : widths_(widths) {
        for (std::size_t w : widths) heads_.emplace_back(w, out, bias);
        rows_.resize(widths.size());
        gathered_.resize(widths.size());
        outs_.resize(widths.size());
        for (auto& r : rows_) r.reserve(256);
    }
    bool empty() const { return heads_.empty(); }       ///< No subjects (default-constructed).
    std::size_t size() const { return heads_.size(); }  ///< Number of subjects.
    /// The widest subject's width: the brain matrix needs at least this many columns.
    std::size_t max_width() const {
        std::size_t m = 0;
        for (std::size_t w : widths_) m = std::max(m, w);
        return m;
    }
    /// Initialises head s from r.split(s).
    void init(rng& r) {
        for (std::size_t s = 0; s < heads_.size(); ++s) {
            rng rs = r.split(s);
            heads_[s].init(rs);
        }
    }
    /// y(B x out) = per-row head of its subject applied to brain (B x >= max width).
    void forward(const std::string& term, const matrix<T>& brain, const xt::xtensor<std::int64_t, 1>& subject,
                 matrix<T>& y) {
        const std::size_t n = brain.shape(0), ld = brain.shape(1), out = heads_[0].out_features();
        detail::check_subjects(term, subject, n, heads_.size());
        if (ld < max_width())
            throw shape_error(term + ": data::brain has shape " + shape_string(brain.shape()) +
                              " but the widest subject has " + std::to_string(max_width()) + " columns");
        for (auto& r : rows_) r.clear();
        for (std::size_t i = 0; i < n; ++i) rows_[std::size_t(subject(i))].push_back(i);
        ensure_shape(y, n, out);
        for (std::size_t s = 0; s < heads_.size(); ++s) {
            const std::size_t ns = rows_[s].size(), w = widths_[s];
            ensure_shape(gathered_[s], n, w);  // capacity for the whole batch; first ns rows used
            ensure_shape(outs_[s], n, out);
            for (std::size_t k = 0; k < ns; ++k)
                std::copy_n(brain.data() + rows_[s][k] * ld, w, gathered_[s].data() + k * w);
            heads_[s].forward(gathered_[s].data(), ns, w, outs_[s].data(), out);
            for (std::size_t k = 0; k < ns; ++k)
                std::copy_n(outs_[s].data() + k * out, out, y.data() + rows_[s][k] * out);
        }
    }
    /// Given gy (B x out) for the last forward, accumulates alpha * gradients into each head.
    void backward(const matrix<T>& gy, T alpha) {
        const std::size_t out = heads_[0].out_features();
        for (std::size_t s = 0; s < heads_.size(); ++s) {
            const std::size_t ns = rows_[s].size();
            for (std::size_t k = 0; k < ns; ++k)
                std::copy_n(gy.data() + rows_[s][k] * out, out, outs_[s].data() + k * out);
            heads_[s].backward(gathered_[s].data(), ns, widths_[s], outs_[s].data(), out, alpha, nullptr, 0);
        }
    }
    /// f(name, value, grad) for every head's W and b, named "<prefix>subject<s>.weight" / ".bias".
    template <class F>
    void for_each_param(F&& f, const std::string& prefix) {
        for (std::size_t s = 0; s < heads_.size(); ++s)
            heads_[s].for_each_param(f, prefix + "subject" + std::to_string(s) + ".");
    }
    linear_head<T>& head(std::size_t s) { return heads_[s]; } ///< Subject s's head (requires s < size()).

private:
    std::vector<std::size_t> widths_;
    std::vector<linear_head<T>> heads_;
    std::vector<std::vector<std::size_t>> rows_;
    std::vector<matrix<T>> gathered_, outs_;
};

} // namespace b2m::loss

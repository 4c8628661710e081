// b2m/loss/encoding_alignment.hpp - multi-layer encoding alignment (ReAlnet-fMRI, Lu &
// Wang 2025) and brain-aligned fine-tuning (METHODS.md section 4): a brain-encoding head
// over several student taps, trained together with the student.
//
//   auto objective = loss::cross_entropy(nn::output, data::labels)
//                  + 100.0 * loss::encoding_alignment(loss::taps(nn::tap<"l2">{}, nn::tap<"l4">{}),
//                                                     data::brain, {.units = 128});
//
//   e_l = ReLU(h_l A_l + a_l)                per tap l (flattened rows), A_l: -> units
//   p   = [e_1, ..., e_L] C + c              predicted brain response, V outputs
//   L   = MSE(p, b)                                          (mean over B*V entries; mse = true)
//       + 1 - mean_i corr(p_i, b_i) + mean_{i != j} corr(p_i, b_j)   (correlation = true)
// corr is Pearson correlation between two trials' response patterns (across the V
// outputs); a constant pattern (zero variance) correlates 0 with everything; with a batch
// of 1 the i != j mean is empty and counts 0. The correlation term is differentiated as
// written (the published code detaches it: correlation_gradient = false; correlation =
// false drops it).
// beta, the paper's weight, is the term's weight in the objective.
// The temporal-convolution head of Freteault et al. is loss::temporal_encoding.
// The encoders and C are created on the first forward from rng(seed) (split 0..L-1 for
// A_l, split L + s for C_s), initialised like nn.Linear.
// Several subjects (subject_widths, ReAlnet's multi-subject form): shared encoders, one head
// C_s per subject onto its own V_s targets; MSE is the mean over every valid entry, and the
// correlation part's i != j mean runs over pairs of trials of the same subject (trials of
// different subjects have different targets). With correlation_gradient = false the
// correlation part is detached (ReAlnet's published code): its value counts, its gradient
// does not.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <xtensor/xview.hpp>

#include "b2m/core/gemm.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/loss/linear_head.hpp"
#include "b2m/loss/term_base.hpp"
#include "b2m/loss/row_normalize.hpp"

namespace b2m::loss {

/// A list of student sources read together (the taps of encoding_alignment).
template <class... Taps>
struct tap_list {};
template <source... Taps>
tap_list<Taps...> taps(Taps...) { return {}; }

/// Options of loss::encoding_alignment (see the head of this file).
struct encoding_alignment_options {
    std::size_t units = 128;   ///< encoder width per tap
    bool mse = true;           ///< the MSE part
    bool correlation = true;   ///< the correlation part
    bool correlation_gradient = true;  ///< false: the correlation part is detached (counts in the
                                       ///< value, gives no gradient), as ReAlnet's published code
    bool bias = true;          ///< encoders and C have biases
    /// Several subjects / sessions with their own targets: subject s (batch.subject) owns the
    /// first subject_widths[s] columns of its (padded) brain row and its own head C_s; the
    /// encoders are shared. Empty: one subject, every column.
    std::vector<std::size_t> subject_widths{};
    std::uint64_t seed = 0;    ///< the encoders' and heads' initialisation stream (split per layer)
};

/// The term object of loss::encoding_alignment (the contract is at the head of this file).
template <real T, class B, class... Taps>
class encoding_alignment_term : public term_base<encoding_alignment_term<T, B, Taps...>, T, Taps..., B> {
    static constexpr std::size_t L = sizeof...(Taps);
    static_assert(L > 0, "b2m: encoding_alignment needs at least one tap");
    static_assert((source_traits<Taps>::from_student && ...), "b2m: encoding_alignment's taps must be student taps");
    static_assert(!source_traits<B>::from_student, "b2m: encoding_alignment's brain must be a batch field");

public:
    /// Throws b2m::error when units is 0, both parts are off, or a subject width is 0.
    explicit encoding_alignment_term(encoding_alignment_options o) : opt_(std::move(o)) {
        if (opt_.units == 0) throw error("loss::encoding_alignment: units must be positive");
        if (!opt_.mse && !opt_.correlation) throw error("loss::encoding_alignment: both mse and correlation are off");
        for (std::size_t w : opt_.subject_widths)
            if (w == 0) throw error("loss::encoding_alignment: every subject width must be positive");
        const std::size_t S = std::max<std::size_t>(1, opt_.subject_widths.size());
        c_.resize(S);
        blocks_.resize(S);
    }

    /// @name Term maths (the hooks of loss::term_base)
    ///@{

    /// Term maths: the name is "encoding_alignment(<taps...>, <B>)"; the sources are the taps, then
    /// the brain; value(batch, taps..., brain) encodes each tap h_l (B, F_l) to e_l (B, units)
    /// (encoders and heads built on the first call), predicts p (B, V) or per subject (n_s, V_s), and
    /// returns the MSE and/or correlation parts of the head of this file (throws b2m::shape_error on
    /// row or width mismatches); gradient(batch, w, taps..., brain) adds w * dL/dh_l into each tap's
    /// gradient and w * dL/d(parameter) into the encoders and heads (the correlation part only when
    /// correlation_gradient); for_each_param visits "encoder<l>.*" and "head.*" ("head<s>.*" with
    /// several subjects).
    static constexpr std::string_view term_name = "encoding_alignment";

    template <class... Refs>
    T value(const data::batch<T>& batch, const Refs&... sources) {
        const std::array<const source_ref<T>*, L + 1> src{&sources...};
        const source_ref<T>& brain = *src[L];
        const matrix<T>& b = brain.value;
        const std::size_t n = b.shape(0), u = opt_.units, lu = L * u;
        if (n == 0 || b.shape(1) == 0) throw shape_error(this->name() + ": " + brain.name() + " is empty");
        // Encoders, concatenated into E (n x L*units).
        ensure_shape(e_, n, lu);
        for (std::size_t l = 0; l < L; ++l) encode(*src[l], brain, n, l);
        for (std::size_t i = 0; i < n * lu; ++i) e_.data()[i] = std::max(e_.data()[i], T(0));
        assign_rows(b, batch);
        double sq = 0, diag = 0, off = 0;
        valid_ = 0, pairs_ = 0;
        for (std::size_t s = 0; s < blocks_.size(); ++s) {
            block& k = blocks_[s];
            const std::size_t ns = k.rows.size(), w = width(s, b);
            if (ns == 0) continue;
            if (c_[s].empty()) {
                c_[s] = linear_head<T>(lu, w, opt_.bias);
                rng r = rng(opt_.seed).split(L + s);
                c_[s].init(r);
            } else if (c_[s].out_features() != w) {
                throw shape_error(this->name() + ": " + source_traits<B>::name() + " has shape " + shape_string(b.shape()) +
                                  " but the head was built for " + std::to_string(c_[s].out_features()) + " outputs");
            }
            const T* E = gather(k.e, e_.data(), lu, k.rows, n);
            const T* Bs = gather(k.b, b.data(), b.shape(1), k.rows, n, w);
            ensure_shape(k.p, n, w);
            c_[s].forward(E, ns, lu, k.p.data(), w);
            if (opt_.mse)
                for (std::size_t i = 0; i < ns * w; ++i) {
                    const double d = double(k.p.data()[i]) - double(Bs[i]);
                    sq += d * d;
                }
            valid_ += ns * w;
            pairs_ += ns * (ns - 1);
            if (opt_.correlation) {
                ensure_shape(k.pn, n, w);
                ensure_shape(k.bn, n, w);
                ensure_shape(k.r, n, n);
                k.np.resize(n);
                k.nb.resize(n);
                detail::normalize_rows<T>(k.p.data(), ns, w, w, true, T(row_norm_eps), k.pn.data(), k.np.data());
                detail::normalize_rows<T>(Bs, ns, w, w, true, T(row_norm_eps), k.bn.data(), k.nb.data());
                gemm_raw<T>(false, true, ns, ns, w, T(1), k.pn.data(), w, k.bn.data(), w, T(0), k.r.data(), ns);
                for (std::size_t i = 0; i < ns; ++i)
                    for (std::size_t j = 0; j < ns; ++j) (i == j ? diag : off) += double(k.r.data()[i * ns + j]);
            }
        }
        double value = 0;
        if (opt_.mse) value += sq / double(valid_);
        if (opt_.correlation) value += 1.0 - diag / double(n) + (pairs_ > 0 ? off / double(pairs_) : 0.0);
        return T(value);
    }

    template <class... Refs>
    void gradient(const data::batch<T>&, T weight, const Refs&... sources) {
        const std::array<const source_ref<T>*, L + 1> src{&sources...};
        const matrix<T>& b = src[L]->value;
        const std::size_t n = b.shape(0), u = opt_.units, lu = L * u;
        ensure_shape(ge_, n, lu);
        ge_.fill(T(0));
        for (std::size_t s = 0; s < blocks_.size(); ++s) {
            block& k = blocks_[s];
            const std::size_t ns = k.rows.size(), w = width(s, b);
            if (ns == 0) continue;
            const T* Bs = single() ? b.data() : k.b.data();
            ensure_shape(k.gp, n, w);
            if (opt_.mse) {
                const T scale = T(2) * weight / T(valid_);
                for (std::size_t i = 0; i < ns * w; ++i) k.gp.data()[i] = scale * (k.p.data()[i] - Bs[i]);
            } else {
                std::fill_n(k.gp.data(), ns * w, T(0));
            }
            if (opt_.correlation && opt_.correlation_gradient) {
                // dL/dR: -1/n on the diagonal, 1/pairs off it (pairs of trials of one subject).
                for (std::size_t i = 0; i < ns; ++i)
                    for (std::size_t j = 0; j < ns; ++j)
                        k.r.data()[i * ns + j] = i == j ? -weight / T(n) : (pairs_ > 0 ? weight / T(pairs_) : T(0));
                ensure_shape(k.gpn, n, w);
                gemm_raw<T>(false, false, ns, w, ns, T(1), k.r.data(), ns, k.bn.data(), w, T(0), k.gpn.data(), w);
                detail::normalize_rows_backward<T>(k.pn.data(), k.np.data(), k.gpn.data(), ns, w, true, T(row_norm_eps), T(1),
                                                   k.gp.data(), w);
            }
            if (single()) {
                c_[s].backward(e_.data(), ns, lu, k.gp.data(), w, T(1), ge_.data(), lu);
            } else {
                ensure_shape(k.ge, n, lu);
                std::fill_n(k.ge.data(), ns * lu, T(0));
                c_[s].backward(k.e.data(), ns, lu, k.gp.data(), w, T(1), k.ge.data(), lu);
                for (std::size_t i = 0; i < ns; ++i)
                    std::copy_n(k.ge.data() + i * lu, lu, ge_.data() + k.rows[i] * lu);
            }
        }
        for (std::size_t i = 0; i < n * lu; ++i)
            if (e_.data()[i] <= T(0)) ge_.data()[i] = T(0);
        for (std::size_t l = 0; l < L; ++l) encode_backward(*src[l], n, l);
    }
    ///@}

    /// Term interface: visits the encoders' and heads' parameters (see gradient above).
    template <class F>
    void for_each_param(F&& f) {
        for (std::size_t l = 0; l < L; ++l) a_[l].for_each_param(f, "encoder" + std::to_string(l) + ".");
        if (single()) c_[0].for_each_param(f, "head.");
        else
            for (std::size_t s = 0; s < c_.size(); ++s) c_[s].for_each_param(f, "head" + std::to_string(s) + ".");
    }

    /// The encoder A_l of tap l (l < number of taps; empty before the first forward).
    linear_head<T>& encoder(std::size_t l) { return a_[l]; }
    /// The head C (one subject) or C_s.
    linear_head<T>& head(std::size_t s = 0) { return c_[s]; }
    /// The predicted brain response of the last forward for subject s's trials
    /// (rows: that subject's trials in batch order; all trials with one subject), (n_s x V_s).
    matrix<T> prediction(std::size_t s = 0) const {
        const block& k = blocks_[s];
        const std::size_t w = k.p.shape(1);
        return xt::view(k.p, xt::range(0, k.rows.size()), xt::range(0, w));
    }

private:
    struct block {
        std::vector<std::size_t> rows;  ///< trials of this subject in the batch
        matrix<T> e, b, p, pn, bn, r, gp, gpn, ge;  ///< first rows.size() rows used
        std::vector<T> np, nb;
    };
    bool single() const { return opt_.subject_widths.empty(); }
    std::size_t width(std::size_t s, const matrix<T>& b) const { return single() ? b.shape(1) : opt_.subject_widths[s]; }
    /// Splits the batch's trials by subject (all in block 0 with one subject).
    void assign_rows(const matrix<T>& b, const data::batch<T>& batch) {
        const std::size_t n = b.shape(0);
        for (auto& k : blocks_) {
            k.rows.reserve(n);
            k.rows.clear();
        }
        if (single()) {
            for (std::size_t i = 0; i < n; ++i) blocks_[0].rows.push_back(i);
            return;
        }
        detail::check_subjects(this->name(), batch.subject, n, blocks_.size());
        std::size_t widest = 0;
        for (std::size_t w : opt_.subject_widths) widest = std::max(widest, w);
        if (b.shape(1) < widest)
            throw shape_error(this->name() + ": " + source_traits<B>::name() + " has shape " + shape_string(b.shape()) +
                              " but the widest subject has " + std::to_string(widest) + " columns");
        for (std::size_t i = 0; i < n; ++i) blocks_[std::size_t(batch.subject(i))].rows.push_back(i);
    }
    /// With one subject: src itself. Otherwise the block's rows of src (first `cols` columns)
    /// copied into buf (capacity n rows), returned.
    const T* gather(matrix<T>& buf, const T* src, std::size_t ld, const std::vector<std::size_t>& rows, std::size_t n,
                    std::size_t cols = 0) const {
        if (single()) return src;
        if (cols == 0) cols = ld;
        ensure_shape(buf, n, cols);
        for (std::size_t i = 0; i < rows.size(); ++i) std::copy_n(src + rows[i] * ld, cols, buf.data() + i * cols);
        return buf.data();
    }
    void encode(const source_ref<T>& tap, const source_ref<T>& brain, std::size_t n, std::size_t l) {
        const matrix<T>& h = tap.value;
        if (h.shape(0) != n)
            throw_shape_mismatch(this->name() + ": rows (trials) differ", tap.name(), h.shape(), brain.name(),
                                 brain.value.shape());
        if (a_[l].empty()) {
            a_[l] = linear_head<T>(h.shape(1), opt_.units, opt_.bias);
            rng r = rng(opt_.seed).split(l);
            a_[l].init(r);
        } else if (a_[l].in_features() != h.shape(1)) {
            throw shape_error(this->name() + ": " + tap.name() + " has shape " + shape_string(h.shape()) +
                              " but its encoder was built for " + std::to_string(a_[l].in_features()) + " features");
        }
        a_[l].forward(h.data(), n, h.shape(1), e_.data() + l * opt_.units, L * opt_.units);
    }
    void encode_backward(const source_ref<T>& tap, std::size_t n, std::size_t l) {
        const matrix<T>& h = tap.value;
        matrix<T>& gh = *tap.grad;
        a_[l].backward(h.data(), n, h.shape(1), ge_.data() + l * opt_.units, L * opt_.units, T(1), gh.data(),
                       h.shape(1));
    }

    encoding_alignment_options opt_;
    std::array<linear_head<T>, L> a_{};
    std::vector<linear_head<T>> c_;
    std::vector<block> blocks_;
    std::size_t valid_ = 0, pairs_ = 0;
    matrix<T> e_, ge_;
};

/// Encoding alignment over several taps (loss::taps(...)) to the brain field b.
template <class... Taps, source B>
auto encoding_alignment(tap_list<Taps...>, B, encoding_alignment_options options = {}) {
    return make_term_spec<encoding_alignment_term>(source_list<B, Taps...>{}, std::move(options));
}
/// Encoding alignment over one tap.
template <source Tap, source B>
auto encoding_alignment(Tap, B, encoding_alignment_options options = {}) {
    return make_term_spec<encoding_alignment_term>(source_list<B, Tap>{}, std::move(options));
}

} // namespace b2m::loss

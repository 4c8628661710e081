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
// written (the published code detaches it; set correlation = false to drop it).
// beta, the paper's weight, is the term's weight in the objective.
// Not implemented yet: the temporal-convolution head of Freteault et al. (use
// nn::temporal_conv in the student, or a time-delayed brain, for now).
// The encoders and C are created on the first forward from rng(seed) (split 0..L-1 for
// A_l, split L for C), initialised like nn.Linear.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "b2m/core/gemm.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/loss/linear_head.hpp"
#include "b2m/loss/objective.hpp"
#include "b2m/loss/row_normalize.hpp"

namespace b2m::loss {

/// A list of student sources read together (the taps of encoding_alignment).
template <class... Taps>
struct tap_list {};
template <source... Taps>
tap_list<Taps...> taps(Taps...) { return {}; }

struct encoding_alignment_options {
    std::size_t units = 128;   ///< encoder width per tap
    bool mse = true;           ///< the MSE part
    bool correlation = true;   ///< the correlation part (with gradients)
    bool bias = true;          ///< encoders and C have biases
    std::uint64_t seed = 0;
};

template <real T, class B, class... Taps>
class encoding_alignment_term {
    static constexpr std::size_t L = sizeof...(Taps);
    static_assert(L > 0, "b2m: encoding_alignment needs at least one tap");

public:
    explicit encoding_alignment_term(encoding_alignment_options o) : opt_(o) {
        if (opt_.units == 0) throw error("loss::encoding_alignment: units must be positive");
        if (!opt_.mse && !opt_.correlation) throw error("loss::encoding_alignment: both mse and correlation are off");
    }

    std::string name() const {
        std::string s = "encoding_alignment(";
        ((s += source_traits<Taps>::name() + ", "), ...);
        return s + source_traits<B>::name() + ")";
    }

    template <class Student>
    static constexpr void check() {
        (check_source<Student, Taps, 0>(), ...);
        static_assert((source_traits<Taps>::from_student && ...), "b2m: encoding_alignment's taps must be student taps");
        static_assert(!source_traits<B>::from_student, "b2m: encoding_alignment's brain must be a batch field");
    }

    template <class Student>
    T forward(Student& st, const data::batch<T>& batch) {
        const matrix<T>& b = source_traits<B>::value(st, batch);
        const std::size_t n = b.shape(0), v = b.shape(1), u = opt_.units, lu = L * u;
        if (n == 0 || v == 0) throw shape_error(name() + ": " + source_traits<B>::name() + " is empty");
        // Encoders, concatenated into E (n x L*units).
        ensure_shape(e_, n, lu);
        std::size_t l = 0;
        (encode<Taps>(st, batch, n, l++), ...);
        if (c_.empty()) {
            c_ = linear_head<T>(lu, v, opt_.bias);
            rng r = rng(opt_.seed).split(L);
            c_.init(r);
        } else if (c_.out_features() != v) {
            throw shape_error(name() + ": " + source_traits<B>::name() + " has shape " + shape_string(b.shape()) +
                              " but the head was built for " + std::to_string(c_.out_features()) + " outputs");
        }
        for (std::size_t i = 0; i < n * lu; ++i) e_.data()[i] = std::max(e_.data()[i], T(0));
        ensure_shape(p_, n, v);
        c_.forward(e_.data(), n, lu, p_.data(), v);
        T value = 0;
        if (opt_.mse) {
            double total = 0;  // double even for float tensors (long sums drift in float)
            for (std::size_t i = 0; i < n * v; ++i) {
                const double d = double(p_.data()[i]) - double(b.data()[i]);
                total += d * d;
            }
            value += T(total / double(n * v));
        }
        if (opt_.correlation) {
            ensure_shape(pn_, n, v);
            ensure_shape(bn_, n, v);
            ensure_shape(r_, n, n);
            np_.resize(n);
            nb_.resize(n);
            detail::normalize_rows<T>(p_.data(), n, v, v, true, T(1e-12), pn_.data(), np_.data());
            detail::normalize_rows<T>(b.data(), n, v, v, true, T(1e-12), bn_.data(), nb_.data());
            gemm<T>(pn_, bn_, r_, false, true);
            T diag = 0, off = 0;
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t j = 0; j < n; ++j) (i == j ? diag : off) += r_(i, j);
            value += T(1) - diag / T(n) + (n > 1 ? off / T(n * (n - 1)) : T(0));
        }
        return value;
    }

    template <class Student>
    void backward(Student& st, const data::batch<T>& batch, T weight) {
        const matrix<T>& b = source_traits<B>::value(st, batch);
        const std::size_t n = b.shape(0), v = b.shape(1), u = opt_.units, lu = L * u;
        ensure_shape(gp_, n, v);
        if (opt_.mse) {
            const T scale = T(2) * weight / T(n * v);
            for (std::size_t i = 0; i < n * v; ++i) gp_.data()[i] = scale * (p_.data()[i] - b.data()[i]);
        } else {
            gp_.fill(T(0));
        }
        if (opt_.correlation) {
            // dL/dR: -1/n on the diagonal, 1/(n(n-1)) off it.
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t j = 0; j < n; ++j)
                    r_(i, j) = i == j ? -weight / T(n) : (n > 1 ? weight / T(n * (n - 1)) : T(0));
            ensure_shape(gpn_, n, v);
            gemm<T>(r_, bn_, gpn_);
            detail::normalize_rows_backward<T>(pn_.data(), np_.data(), gpn_.data(), n, v, true, T(1e-12), T(1),
                                               gp_.data(), v);
        }
        ensure_shape(ge_, n, lu);
        ge_.fill(T(0));
        c_.backward(e_.data(), n, lu, gp_.data(), v, T(1), ge_.data(), lu);
        for (std::size_t i = 0; i < n * lu; ++i)
            if (e_.data()[i] <= T(0)) ge_.data()[i] = T(0);
        std::size_t l = 0;
        (encode_backward<Taps>(st, batch, n, l++), ...);
    }

    template <class F>
    void for_each_param(F&& f) {
        for (std::size_t l = 0; l < L; ++l) a_[l].for_each_param(f, "encoder" + std::to_string(l) + ".");
        c_.for_each_param(f, "head.");
    }

    linear_head<T>& encoder(std::size_t l) { return a_[l]; }
    linear_head<T>& head() { return c_; }
    /// The predicted brain response p of the last forward (B x V).
    const matrix<T>& prediction() const { return p_; }

private:
    template <class Tap, class Student>
    void encode(Student& st, const data::batch<T>& batch, std::size_t n, std::size_t l) {
        const matrix<T>& h = source_traits<Tap>::value(st, batch);
        if (h.shape(0) != n)
            throw_shape_mismatch(name() + ": rows (trials) differ", source_traits<Tap>::name(), h.shape(),
                                 source_traits<B>::name(), source_traits<B>::value(st, batch).shape());
        if (a_[l].empty()) {
            a_[l] = linear_head<T>(h.shape(1), opt_.units, opt_.bias);
            rng r = rng(opt_.seed).split(l);
            a_[l].init(r);
        } else if (a_[l].in_features() != h.shape(1)) {
            throw shape_error(name() + ": " + source_traits<Tap>::name() + " has shape " + shape_string(h.shape()) +
                              " but its encoder was built for " + std::to_string(a_[l].in_features()) + " features");
        }
        a_[l].forward(h.data(), n, h.shape(1), e_.data() + l * opt_.units, L * opt_.units);
    }
    template <class Tap, class Student>
    void encode_backward(Student& st, const data::batch<T>& batch, std::size_t n, std::size_t l) {
        const matrix<T>& h = source_traits<Tap>::value(st, batch);
        matrix<T>& gh = *source_traits<Tap>::grad(st);
        a_[l].backward(h.data(), n, h.shape(1), ge_.data() + l * opt_.units, L * opt_.units, T(1), gh.data(),
                       h.shape(1));
    }

    encoding_alignment_options opt_;
    std::array<linear_head<T>, L> a_{};
    linear_head<T> c_;
    matrix<T> e_, p_, pn_, bn_, r_, gp_, gpn_, ge_;
    std::vector<T> np_, nb_;
};

template <class B, class... Taps>
struct encoding_alignment_spec : term_spec_tag {
    encoding_alignment_options options;
    template <real T>
    encoding_alignment_term<T, B, Taps...> make() const { return encoding_alignment_term<T, B, Taps...>(options); }
};

/// Encoding alignment over several taps (loss::taps(...)) to the brain field b.
template <class... Taps, source B>
auto encoding_alignment(tap_list<Taps...>, B, encoding_alignment_options options = {}) {
    return encoding_alignment_spec<B, Taps...>{{}, options};
}
/// Encoding alignment over one tap.
template <source Tap, source B>
auto encoding_alignment(Tap, B, encoding_alignment_options options = {}) {
    return encoding_alignment_spec<B, Tap>{{}, options};
}

} // namespace b2m::loss

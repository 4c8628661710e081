// b2m/loss/rdm_target.hpp - match the student's RDM over a batch to a fixed target RDM
// (e.g. the human IT RDM of the 92 Kriegeskorte images), for data that gives RDMs rather
// than responses.
//
//   loss::rdm_target(nn::tap<"embed">{}, rdm_human_it)       // rdm: (S, S), S stimuli
//
// Batch row i shows stimulus batch.stimulus[i] (an index into the target's rows). With
// the student's rows h_i (tap, any logical rank; rows are flattened):
//   D_ij = 1 - corr(h_i, h_j)       (correlation distance, as brain::rdm; or 1 - cos with
//                                    center = false)
//   T_ij = target(stimulus[i], stimulus[j])
//   L = 1 - pearson over the pairs i < j of (D_ij, T_ij)
// Pearson r is invariant to affine changes of either RDM, so only the pattern of the
// target matters (a correlation-distance target and a 1 - r one give the same loss).
// If every row of h is the same (D constant over the batch) r is taken as 0 and there is
// no gradient. Requires: batch.stimulus of the batch's size with entries in [0, S), at
// least 3 trials, and a target sub-RDM that is not constant over the batch's pairs
// (data_error, naming the term). The target must be square and finite (shape_error /
// data_error when the spec is made). No allocation after the first step with a given
// batch shape.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/loss/term_base.hpp"
#include "b2m/loss/row_normalize.hpp"

namespace b2m::loss {

/// Options of loss::rdm_target.
struct rdm_target_options {
    bool center = true;  ///< correlation distance (true) or cosine distance (false)
};

/// The term object of loss::rdm_target (the contract is at the head of this file).
template <real T, class A>
class rdm_target_term : public term_base<rdm_target_term<T, A>, T, A> {
public:
    static_assert(source_traits<A>::from_student, "b2m: rdm_target reads a student source");

    /// Keeps the target RDM (S, S), already checked square and finite by loss::rdm_target, cast to T.
    rdm_target_term(const matrix<double>& target, rdm_target_options o) : target_(xt::cast<T>(target)), opt_(o) {}

    /// @name Term maths (the hooks of loss::term_base)
    ///@{

    /// Term maths: the name is "rdm_target(<A>)"; value(batch, a) returns 1 - pearson(D_ij, T_ij)
    /// over the pairs i < j of the batch's rows of h (n, d) (b2m::data_error for n < 3, a stimulus
    /// index list of the wrong size or out of [0, S), or a constant target sub-RDM);
    /// gradient(batch, w, a) adds w * dL/dh into A's gradient (nothing when the student RDM was
    /// constant).
    static constexpr std::string_view term_name = "rdm_target";

    T value(const data::batch<T>& batch, const source_ref<T>& tap) {
        const matrix<T>& h = tap.value;
        const std::size_t n = h.shape(0), d = h.shape(1), S = target_.shape(0);
        if (n < 3)
            throw data_error(this->name() + ": needs at least 3 trials (got " + std::to_string(n) + "; " +
                             tap.name() + " has shape " + shape_string(h.shape()) + ")");
        if (batch.stimulus.size() != n)
            throw shape_error(this->name() + ": batch.stimulus has " + std::to_string(batch.stimulus.size()) +
                              " entries but " + tap.name() + " has shape " + shape_string(h.shape()) +
                              " (each trial needs the index of its stimulus in the target RDM)");
        for (std::size_t i = 0; i < n; ++i)
            if (batch.stimulus(i) < 0 || std::size_t(batch.stimulus(i)) >= S)
                throw data_error(this->name() + ": batch.stimulus[" + std::to_string(i) + "] = " +
                                 std::to_string(batch.stimulus(i)) + " is outside the target RDM of shape " +
                                 shape_string(target_.shape()));
        ensure_shape(z_, n, d);
        norms_.resize(n);
        detail::normalize_rows<T>(h.data(), n, d, d, opt_.center, T(row_norm_eps), z_.data(), norms_.data());
        gemm<T>(z_, z_, c_, false, true);
        const std::size_t m = n * (n - 1) / 2;
        dc_.resize(m);
        tc_.resize(m);
        double dm = 0, tm = 0;
        for (std::size_t i = 0, k = 0; i < n; ++i)
            for (std::size_t j = i + 1; j < n; ++j, ++k) {
                dc_[k] = T(1) - c_(i, j);
                tc_[k] = target_(std::size_t(batch.stimulus(i)), std::size_t(batch.stimulus(j)));
                dm += double(dc_[k]);
                tm += double(tc_[k]);
            }
        dm /= double(m);
        tm /= double(m);
        double sdd = 0, stt = 0, sdt = 0;
        for (std::size_t k = 0; k < m; ++k) {
            const double a = double(dc_[k]) - dm, b = double(tc_[k]) - tm;
            dc_[k] = T(a);
            tc_[k] = T(b);
            sdd += a * a, stt += b * b, sdt += a * b;
        }
        if (!(stt > 0))
            throw data_error(this->name() + ": the target RDM is constant over this batch's " + std::to_string(m) +
                             " pairs (repeated stimuli?); nothing to match");
        sd_ = std::sqrt(sdd);
        st_ = std::sqrt(stt);
        r_ = sd_ > 1e-12 ? sdt / (sd_ * st_) : 0.0;
        return T(1.0 - r_);
    }

    void gradient(const data::batch<T>&, T weight, const source_ref<T>& tap) {
        const matrix<T>& h = tap.value;
        const std::size_t n = h.shape(0), d = h.shape(1);
        if (!(sd_ > 1e-12)) return;  // constant student RDM: r := 0, no gradient
        // dL/dC_ij = dr/dD_ij (L = 1 - r, D = 1 - C); the mean removal is absorbed by the
        // centred vectors: dr/dD_k = tc_k / (sd st) - r dc_k / sd^2.
        ensure_shape(g_, n, n);
        const double a = 1.0 / (sd_ * st_), b = r_ / (sd_ * sd_);
        for (std::size_t i = 0; i < n; ++i) g_(i, i) = T(0);
        for (std::size_t i = 0, k = 0; i < n; ++i)
            for (std::size_t j = i + 1; j < n; ++j, ++k) {
                const T g = T(double(weight) * (a * double(tc_[k]) - b * double(dc_[k])));
                g_(i, j) = g;
                g_(j, i) = g;
            }
        // C = Z Z^T with each pair counted once: dZ = G Z for the symmetric G.
        ensure_shape(gz_, n, d);
        gemm<T>(g_, z_, gz_);
        detail::normalize_rows_backward<T>(z_.data(), norms_.data(), gz_.data(), n, d, opt_.center, T(row_norm_eps), T(1),
                                           tap.grad->data(), d);
    }
    ///@}

    /// Pearson r between the student's and the target's RDM over the last batch's pairs.
    double last_r() const { return r_; }

private:
    matrix<T> target_;
    rdm_target_options opt_;
    matrix<T> z_, c_, g_, gz_;
    std::vector<T> norms_, dc_, tc_;
    double sd_ = 0, st_ = 0, r_ = 0;
};

/// Spec. Requires target square (S, S) with S >= 3 and finite (shape_error / data_error).
template <source A, class M>
auto rdm_target(A, const M& target, rdm_target_options options = {}) {
    if (target.dimension() != 2 || target.shape(0) != target.shape(1) || target.shape(0) < 3)
        throw shape_error("loss::rdm_target: the target RDM must be square (S, S) with S >= 3, got shape " +
                          shape_string(target.shape()));
    matrix<double> t = xt::cast<double>(target);
    for (std::size_t i = 0; i < t.size(); ++i)
        if (!std::isfinite(t.data()[i]))
            throw data_error("loss::rdm_target: the target RDM of shape " + shape_string(target.shape()) +
                             " holds a non-finite entry at flat index " + std::to_string(i));
    return make_term_spec<rdm_target_term>(source_list<A>{}, std::move(t), options);
}

} // namespace b2m::loss

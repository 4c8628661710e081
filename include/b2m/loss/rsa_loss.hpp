// b2m/loss/rsa_loss.hpp - representational similarity loss (Li et al. 2019): match the
// student's pairwise cosine-similarity matrix to the brain's.
//
//   loss::rsa_loss(nn::tap<"embed">{}, data::brain, {.clamp = 0.999})
//
//   S^a_ij = cos(a_i, a_j),  S^b_ij = cos(b_i, b_j)      (rows L2-normalised, eps 1e-12)
//   L = mean_{i != j} (atanh c(S^a_ij) - atanh c(S^b_ij))^2,   c(s) = clamp(s, -clamp, clamp)
// The diagonal (always 1 = 1) is left out, so L is the mean over the B(B-1) ordered pairs.
// The clamp keeps atanh finite for (near-)parallel rows; its derivative is 0 outside
// [-clamp, clamp] (as torch.clamp). Default 0.999 (atanh = 3.8). Either side may come from
// the student; the gradient flows into every student side. Requires B >= 2 (data_error).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "b2m/core/gemm.hpp"
#include "b2m/loss/term_base.hpp"
#include "b2m/loss/row_normalize.hpp"

namespace b2m::loss {

/// Options of loss::rsa_loss.
struct rsa_loss_options {
    double clamp = 0.999;  ///< |cos| is clamped to this before atanh; in (0, 1)
};

/// The term object of loss::rsa_loss (the contract is at the head of this file).
template <real T, class A, class B>
class rsa_loss_term : public term_base<rsa_loss_term<T, A, B>, T, A, B> {
public:
    static_assert(source_traits<A>::from_student || source_traits<B>::from_student,
                  "b2m: rsa_loss needs at least one side from the student");

    /// Throws b2m::error unless 0 < o.clamp < 1.
    explicit rsa_loss_term(rsa_loss_options o) : opt_(o) {
        if (!(opt_.clamp > 0 && opt_.clamp < 1)) throw error("loss::rsa_loss: clamp must lie in (0, 1)");
    }
    /// @name Term maths (the hooks of loss::term_base)
    ///@{

    /// Term maths: the name is "rsa_loss(<A>, <B>)"; value(batch, a, b) reads a (n, da) and
    /// b (n, db) and returns mean over i != j of (atanh c(S^a_ij) - atanh c(S^b_ij))^2
    /// (b2m::shape_error when the row counts differ, data_error for n < 2); gradient(batch, w, a, b)
    /// adds w * dL/da and w * dL/db into the student sides' gradients.
    static constexpr std::string_view term_name = "rsa_loss";

    T value(const data::batch<T>&, const source_ref<T>& sa, const source_ref<T>& sb) {
        const matrix<T>& a = sa.value;
        const matrix<T>& b = sb.value;
        const std::size_t n = a.shape(0);
        if (b.shape(0) != n)
            throw_shape_mismatch(this->name() + ": rows (trials) differ", sa.name(), a.shape(), sb.name(), b.shape());
        if (n < 2) throw data_error(this->name() + ": needs at least 2 trials (got " + std::to_string(n) + ")");
        side(a, an_, na_, sa_);
        side(b, bn_, nb_, sb_);
        ensure_shape(d_, n, n);
        const T c = T(opt_.clamp);
        T total = 0;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                if (i == j) {
                    d_(i, j) = 0;
                    continue;
                }
                const T d = std::atanh(std::clamp(sa_(i, j), -c, c)) - std::atanh(std::clamp(sb_(i, j), -c, c));
                d_(i, j) = d;
                total += d * d;
            }
        return total / T(n * (n - 1));
    }

    void gradient(const data::batch<T>&, T weight, const source_ref<T>& sa, const source_ref<T>& sb) {
        const std::size_t n = d_.shape(0);
        const T scale = T(2) * weight / T(n * (n - 1));
        if (sa.grad) side_backward(sa.value, *sa.grad, an_, na_, sa_, scale);
        if (sb.grad) side_backward(sb.value, *sb.grad, bn_, nb_, sb_, -scale);
    }
    ///@}

private:
    static void side(const matrix<T>& x, matrix<T>& xn, std::vector<T>& nrm, matrix<T>& s) {
        const std::size_t n = x.shape(0), d = x.shape(1);
        ensure_shape(xn, n, d);
        nrm.resize(n);
        detail::normalize_rows<T>(x.data(), n, d, d, false, T(row_norm_eps), xn.data(), nrm.data());
        gemm<T>(xn, xn, s, false, true);
    }
    /// g += d/dx of scale * sum_{i != j} d_ij atanh(c(S_ij)) for S = xn xn^T.
    void side_backward(const matrix<T>& x, matrix<T>& g, const matrix<T>& xn, const std::vector<T>& nrm,
                       const matrix<T>& s, T scale) {
        const std::size_t n = x.shape(0), d = x.shape(1);
        const T c = T(opt_.clamp);
        ensure_shape(gs_, n, n);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                const T sij = s(i, j);
                gs_(i, j) = (i != j && std::abs(sij) <= c) ? scale * d_(i, j) / (T(1) - sij * sij) : T(0);
            }
        // S symmetric and gs_ symmetric: d(xn) = (G + G^T) xn = 2 G xn.
        ensure_shape(gxn_, n, d);
        gemm<T>(gs_, xn, gxn_, false, false, T(2));
        detail::normalize_rows_backward<T>(xn.data(), nrm.data(), gxn_.data(), n, d, false, T(row_norm_eps), T(1), g.data(), d);
    }

    rsa_loss_options opt_;
    matrix<T> an_, bn_, sa_, sb_, d_, gs_, gxn_;
    std::vector<T> na_, nb_;
};

/// Representational similarity loss between sources a and b (one of them the student's).
template <source A, source B>
auto rsa_loss(A, B, rsa_loss_options options = {}) {
    return make_term_spec<rsa_loss_term>(source_list<A, B>{}, options);
}

} // namespace b2m::loss

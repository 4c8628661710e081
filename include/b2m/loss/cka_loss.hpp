// b2m/loss/cka_loss.hpp - linear CKA alignment loss between a student tap and the brain.
//
//   loss::cka_loss(nn::tap<"it">{}, data::brain)                       L = 1 - CKA
//   loss::cka_loss(nn::tap<"it">{}, data::brain, {.log = true})        L = -log CKA
//
// With X (B x D) and Y (B x V) centred over the batch (column means removed),
// K = X X^T, L = Y Y^T:   CKA = <K, L>_F / (||K||_F ||L||_F)
// (= ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F), Kornblith et al. 2019). Computed through the
// B x B Gram matrices, so V can be large. Requires B >= 2 and both sides varying across the
// batch: a side with zero variance has K = 0 and CKA undefined (data_error naming it).
// Either side may come from the student; gradients flow into every student side.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include "b2m/core/gemm.hpp"
#include "b2m/loss/term_base.hpp"

namespace b2m::loss {

/// Options of loss::cka_loss.
struct cka_loss_options {
    bool log = false;  ///< -log CKA instead of 1 - CKA
};

/// The term object of loss::cka_loss (the contract is at the head of this file).
template <real T, class A, class B>
class cka_loss_term : public term_base<cka_loss_term<T, A, B>, T, A, B> {
public:
    static_assert(source_traits<A>::from_student || source_traits<B>::from_student,
                  "b2m: cka_loss needs at least one side from the student");

    explicit cka_loss_term(cka_loss_options o) : opt_(o) {} ///< Keeps the options.

    /// The term's name: "cka_loss(<A>, <B>)", or "log_cka_loss(<A>, <B>)" with options.log.
    std::string name() const { return this->call_name(opt_.log ? "log_cka_loss" : "cka_loss"); }

    /// @name Term maths (the hooks of loss::term_base)
    ///@{

    /// Term maths: value(batch, a, b) reads a (n, da) and b (n, db) and returns 1 - CKA or -log CKA
    /// (b2m::shape_error when the row counts differ, data_error for n < 2 or a side with zero
    /// variance); gradient(batch, w, a, b) adds w * dL/da and w * dL/db into the student sides'
    /// gradients.
    T value(const data::batch<T>&, const source_ref<T>& sa, const source_ref<T>& sb) {
        const matrix<T>& a = sa.value;
        const matrix<T>& b = sb.value;
        const std::size_t n = a.shape(0);
        if (b.shape(0) != n)
            throw_shape_mismatch(name() + ": rows (trials) differ", sa.name(), a.shape(), sb.name(), b.shape());
        if (n < 2) throw data_error(name() + ": needs at least 2 trials (got " + std::to_string(n) + ")");
        nk_ = gram(a, ac_, k_, sa);
        nl_ = gram(b, bc_, l_, sb);
        T hsic = 0;
        for (std::size_t i = 0; i < n * n; ++i) hsic += k_.data()[i] * l_.data()[i];
        cka_ = hsic / (nk_ * nl_);
        return opt_.log ? -std::log(cka_) : T(1) - cka_;
    }

    void gradient(const data::batch<T>&, T weight, const source_ref<T>& sa, const source_ref<T>& sb) {
        const T dcka = weight * (opt_.log ? -T(1) / cka_ : -T(1));
        // dCKA/dK = L/(|K||L|) - CKA K/|K|^2 ; dCKA/dL symmetric.
        if (sa.grad) side_backward(*sa.grad, ac_, k_, l_, nk_, nl_, dcka);
        if (sb.grad) side_backward(*sb.grad, bc_, l_, k_, nl_, nk_, dcka);
    }
    ///@}

    /// The CKA of the last forward.
    T cka() const { return cka_; }

private:
    /// xc = x centred over rows; g = xc xc^T; returns ||g||_F (> 0, else data_error).
    T gram(const matrix<T>& x, matrix<T>& xc, matrix<T>& g, const source_ref<T>& what) const {
        const std::size_t n = x.shape(0), d = x.shape(1);
        ensure_shape(xc, n, d);
        std::copy_n(x.data(), n * d, xc.data());
        for (std::size_t j = 0; j < d; ++j) {
            T m = 0;
            for (std::size_t i = 0; i < n; ++i) m += xc(i, j);
            m /= T(n);
            for (std::size_t i = 0; i < n; ++i) xc(i, j) -= m;
        }
        gemm<T>(xc, xc, g, false, true);
        T ss = 0;
        for (std::size_t i = 0; i < n * n; ++i) ss += g.data()[i] * g.data()[i];
        if (!(ss > 0))
            throw data_error(name() + ": " + what.name() + " (shape " + shape_string(x.shape()) +
                             ") has zero variance across the batch, so CKA is undefined");
        return std::sqrt(ss);
    }
    void side_backward(matrix<T>& g, const matrix<T>& xc, const matrix<T>& k, const matrix<T>& l, T nk, T nl,
                       T dcka) {
        const std::size_t n = xc.shape(0), d = xc.shape(1);
        ensure_shape(dk_, n, n);
        const T a = dcka / (nk * nl), c = -dcka * cka_ / (nk * nk);
        for (std::size_t i = 0; i < n * n; ++i) dk_.data()[i] = a * l.data()[i] + c * k.data()[i];
        // K = xc xc^T, dK symmetric: d(xc) = 2 dK xc; centring's backward removes column means.
        ensure_shape(gx_, n, d);
        gemm<T>(dk_, xc, gx_, false, false, T(2));
        for (std::size_t j = 0; j < d; ++j) {
            T m = 0;
            for (std::size_t i = 0; i < n; ++i) m += gx_(i, j);
            m /= T(n);
            for (std::size_t i = 0; i < n; ++i) g(i, j) += gx_(i, j) - m;
        }
    }

    cka_loss_options opt_;
    matrix<T> ac_, bc_, k_, l_, dk_, gx_;
    T nk_ = 0, nl_ = 0, cka_ = 0;
};

/// Linear-CKA alignment loss between sources a and b (one of them the student's).
template <source A, source B>
auto cka_loss(A, B, cka_loss_options options = {}) {
    return make_term_spec<cka_loss_term>(source_list<A, B>{}, options);
}

} // namespace b2m::loss

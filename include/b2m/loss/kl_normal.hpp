// b2m/loss/kl_normal.hpp - the VAE's KL divergence of q = N(mu, diag(exp(logvar))) from
// the prior N(0, I), read from a (B, 2k) source holding [mu | logvar] per row (the tap
// placed before nn::reparameterize, see nn/vae.hpp):
//   L = mean over the batch of  sum_j 1/2 (mu_j^2 + exp(logvar_j) - 1 - logvar_j).
// Beta is the term's weight: loss::mse(nn::output, data::inputs) + beta * loss::kl_normal(...).
// Scale note: mse is a mean over the D entries of a row while this is a sum over the k
// latent dimensions, so beta = 2 sigma^2 / D gives the ELBO of a Gaussian decoder with
// variance sigma^2 (divided by D).
#pragma once

#include <cmath>
#include <string>

#include "b2m/loss/objective.hpp"

namespace b2m::loss {

/// The term object of loss::kl_normal(stats).
template <real T, class Stats>
class kl_normal_term {
public:
    /// @name Term interface (the concept at the head of b2m/loss/objective.hpp)
    ///@{

    /// Term interface: name() is "kl_normal(<Stats>)"; check<Student>() requires a student source
    /// of rank 2; forward(student, batch) reads x (B, 2k) = [mu | logvar] and returns
    /// mean_i sum_j (mu_ij^2 + exp(logvar_ij) - 1 - logvar_ij) / 2 (b2m::shape_error unless B, k > 0);
    /// backward is documented below; for_each_param visits nothing.
    std::string name() const { return "kl_normal(" + source_traits<Stats>::name() + ")"; }

    template <class Student>
    static constexpr void check() {
        static_assert(source_traits<Stats>::from_student, "b2m: kl_normal reads [mu | logvar] from the student");
        check_source<Student, Stats, 2>();
    }

    template <class Student>
    T forward(Student& s, const data::batch<T>& b) {
        const matrix<T>& x = source_traits<Stats>::value(s, b);
        const std::size_t n = x.shape(0), w = x.shape(1);
        if (n == 0 || w == 0 || w % 2 != 0)
            throw shape_error(name() + ": source has shape " + shape_string(x.shape()) +
                              " but kl_normal needs (batch, 2k) = [mu | logvar] with batch, k > 0");
        const std::size_t k = w / 2;
        T total = 0;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < k; ++j) {
                const T mu = x(i, j), lv = x(i, k + j);
                total += T(0.5) * (mu * mu + std::exp(lv) - T(1) - lv);
            }
        return total / T(n);
    }

    /// Adds weight/B * (mu, (exp(logvar) - 1)/2) into the source's gradient.
    template <class Student>
    void backward(Student& s, const data::batch<T>& b, T weight) {
        const matrix<T>& x = source_traits<Stats>::value(s, b);
        matrix<T>& g = *source_traits<Stats>::grad(s);
        const std::size_t n = x.shape(0), k = x.shape(1) / 2;
        const T scale = weight / T(n);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < k; ++j) {
                g(i, j) += scale * x(i, j);
                g(i, k + j) += scale * T(0.5) * (std::exp(x(i, k + j)) - T(1));
            }
    }
    template <class F>
    void for_each_param(F&&) {}
    ///@}
};

/// The spec loss::kl_normal(stats) returns.
template <class Stats>
struct kl_normal_spec : term_spec_tag {
    /// The term object for scalar type T.
    template <real T>
    kl_normal_term<T, Stats> make() const { return {}; }
};

/// KL(N(mu, exp(logvar)) || N(0, I)) from a student source holding [mu | logvar].
template <source S>
auto kl_normal(S) { return kl_normal_spec<S>{}; }

} // namespace b2m::loss

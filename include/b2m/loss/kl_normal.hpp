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
#include <string_view>

#include "b2m/loss/term_base.hpp"

namespace b2m::loss {

/// The term object of loss::kl_normal(stats).
template <real T, class Stats>
class kl_normal_term : public term_base<kl_normal_term<T, Stats>, T, Stats> {
public:
    static_assert(source_traits<Stats>::from_student, "b2m: kl_normal reads [mu | logvar] from the student");

    /// @name Term maths (the hooks of loss::term_base)
    ///@{

    /// Term maths: the name is "kl_normal(<Stats>)"; the source has rank 2; value(batch, x) reads
    /// x (B, 2k) = [mu | logvar] and returns mean_i sum_j (mu_ij^2 + exp(logvar_ij) - 1 - logvar_ij) / 2
    /// (b2m::shape_error unless B, k > 0); gradient(batch, w, x) adds w/B * (mu, (exp(logvar) - 1)/2)
    /// into the source's gradient.
    static constexpr std::string_view term_name = "kl_normal";
    static constexpr int source_rank = 2;

    T value(const data::batch<T>&, const source_ref<T>& stats) const {
        const matrix<T>& x = stats.value;
        const std::size_t n = x.shape(0), w = x.shape(1);
        if (n == 0 || w == 0 || w % 2 != 0)
            throw shape_error(this->name() + ": source has shape " + shape_string(x.shape()) +
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

    void gradient(const data::batch<T>&, T weight, const source_ref<T>& stats) const {
        const matrix<T>& x = stats.value;
        matrix<T>& g = *stats.grad;
        const std::size_t n = x.shape(0), k = x.shape(1) / 2;
        const T scale = weight / T(n);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < k; ++j) {
                g(i, j) += scale * x(i, j);
                g(i, k + j) += scale * T(0.5) * (std::exp(x(i, k + j)) - T(1));
            }
    }
    ///@}
};

/// KL(N(mu, exp(logvar)) || N(0, I)) from a student source holding [mu | logvar].
template <source S>
auto kl_normal(S) { return make_term_spec<kl_normal_term>(source_list<S>{}); }

} // namespace b2m::loss

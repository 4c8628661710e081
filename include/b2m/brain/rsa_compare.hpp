// b2m/brain/rsa_compare.hpp - the RDM comparators of rsatoolbox (Schütt et al. 2023),
// on RDM vectors in squareform order (brain/rdm_stack.hpp) with NaN marking missing pairs.
//
//   cosine      cos(a, b)
//   corr        Pearson r (cosine of the mean-removed vectors)
//   spearman    Pearson r of the tie-averaged ranks
//   rho_a       12 sum(ra rb) / (m^3 - m) on mean-removed ranks (Spearman under random tie
//               breaking; Schütt et al. 2023)
//   tau_a       Kendall tau-a (ties count as neither), O(m log m)
//   tau_b       Kendall tau-b (scipy.stats.kendalltau)
//   cosine_cov  whitened cosine: cosine of the double-centred second-moment matrices
//               G = -1/2 H D H (off-diagonal terms weighted sqrt(2)); rsatoolbox's
//               `cosine_cov` with sigma_k = identity (Diedrichsen et al. 2021)
//   corr_cov    whitened Pearson: the same after removing the mean of each RDM vector
//
// Pairs that are NaN in either vector are skipped (rsatoolbox: in any RDM of either set;
// here per compared pair of RDMs). Zero-norm vectors give 0 for cosine/corr-type
// comparators (as rsatoolbox); tau_b of a constant vector is NaN (as scipy).
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "b2m/brain/kendall.hpp"
#include "b2m/brain/rdm_stack.hpp"
#include "b2m/brain/rsa.hpp"
#include "b2m/core/error.hpp"

namespace b2m::brain {

enum class rsa_method { cosine, corr, spearman, rho_a, tau_a, tau_b, cosine_cov, corr_cov };

/// rsatoolbox's name of a method ("cosine", "corr", "spearman", "rho-a", "tau-a", "tau-b",
/// "cosine_cov", "corr_cov").
inline std::string method_name(rsa_method m) {
    switch (m) {
    case rsa_method::cosine: return "cosine";
    case rsa_method::corr: return "corr";
    case rsa_method::spearman: return "spearman";
    case rsa_method::rho_a: return "rho-a";
    case rsa_method::tau_a: return "tau-a";
    case rsa_method::tau_b: return "tau-b";
    case rsa_method::cosine_cov: return "cosine_cov";
    default: return "corr_cov";
    }
}

/// Parses a method name: rsatoolbox's names plus "pearson" (= corr), "kendall" (= tau-a),
/// "rho_a", "tau_a", "tau_b". data_error listing the names otherwise.
inline rsa_method parse_method(const std::string& s) {
    if (s == "cosine") return rsa_method::cosine;
    if (s == "corr" || s == "pearson") return rsa_method::corr;
    if (s == "spearman") return rsa_method::spearman;
    if (s == "rho-a" || s == "rho_a") return rsa_method::rho_a;
    if (s == "tau-a" || s == "tau_a" || s == "kendall") return rsa_method::tau_a;
    if (s == "tau-b" || s == "tau_b") return rsa_method::tau_b;
    if (s == "cosine_cov" || s == "whitened-cosine") return rsa_method::cosine_cov;
    if (s == "corr_cov" || s == "whitened-pearson") return rsa_method::corr_cov;
    throw data_error("unknown RDM comparison '" + s +
                     "' (cosine, corr|pearson, spearman, rho-a, tau-a|kendall, tau-b, cosine_cov, corr_cov)");
}

/// True for the rank-based methods (pooled by rank averaging for noise ceilings).
inline bool is_rank_method(rsa_method m) {
    return m == rsa_method::spearman || m == rsa_method::rho_a || m == rsa_method::tau_a || m == rsa_method::tau_b;
}

namespace detail {

inline double cosine_of(const std::vector<double>& a, const std::vector<double>& b) {
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
    return (aa > 0 && bb > 0) ? ab / std::sqrt(aa) / std::sqrt(bb) : 0.0;
}

inline void remove_mean(std::vector<double>& v) {
    if (v.empty()) return;
    const double m = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
    for (auto& x : v) x -= m;
}

/// Whitening of RDM vectors for cosine_cov / corr_cov: maps the valid pairs of an RDM
/// vector (plus N zero diagonal entries) to the double-centred second-moment matrix's
/// entries, as rsatoolbox's _cov_weighting (sigma_k = None). Built once per NaN mask.
struct whitener {
    std::size_t n = 0;
    std::vector<std::size_t> pi, pj;  ///< valid pairs (i < j), in order
    bool full = true;                 ///< no missing pair: closed-form double centring
    std::vector<double> chol;         ///< Cholesky factor (n x n, lower) of S' W S otherwise

    whitener(std::size_t n_cond, const std::vector<char>& valid) : n(n_cond) {
        for (std::size_t i = 0, p = 0; i < n; ++i)
            for (std::size_t j = i + 1; j < n; ++j, ++p)
                if (valid[p]) pi.push_back(i), pj.push_back(j);
        full = pi.size() == n * (n - 1) / 2;
        if (full) return;
        // A = sum_pairs 1/2 (e_i + e_j)(e_i + e_j)' + I
        std::vector<double> a(n * n, 0.0);
        for (std::size_t k = 0; k < n; ++k) a[k * n + k] = 1.0;
        for (std::size_t p = 0; p < pi.size(); ++p) {
            const std::size_t i = pi[p], j = pj[p];
            a[i * n + i] += 0.5, a[j * n + j] += 0.5, a[i * n + j] += 0.5, a[j * n + i] += 0.5;
        }
        chol = a;
        for (std::size_t j = 0; j < n; ++j) {
            double d = chol[j * n + j];
            for (std::size_t k = 0; k < j; ++k) d -= chol[j * n + k] * chol[j * n + k];
            if (!(d > 0)) throw data_error("whitened comparison: singular pair design (too few valid pairs)");
            d = std::sqrt(d);
            chol[j * n + j] = d;
            for (std::size_t i = j + 1; i < n; ++i) {
                double s = chol[i * n + j];
                for (std::size_t k = 0; k < j; ++k) s -= chol[i * n + k] * chol[j * n + k];
                chol[i * n + j] = s / d;
            }
        }
    }

    /// Whitened vector (valid pairs * sqrt(2), then N diagonal terms) of the valid entries v.
    std::vector<double> apply(const std::vector<double>& v) const {
        const std::size_t m = pi.size();
        std::vector<double> out(m + n, 0.0);
        for (std::size_t p = 0; p < m; ++p) out[p] = -0.5 * v[p];
        if (full) {
            std::vector<double> rm(n, 0.0);
            double tot = 0;
            for (std::size_t p = 0; p < m; ++p) rm[pi[p]] += out[p], rm[pj[p]] += out[p], tot += 2 * out[p];
            for (auto& x : rm) x /= double(n);
            const double mm = tot / double(n * n);
            for (std::size_t p = 0; p < m; ++p) out[p] = out[p] - rm[pi[p]] - rm[pj[p]] + mm;
            for (std::size_t k = 0; k < n; ++k) out[m + k] = -2 * rm[k] + mm;
        } else {
            std::vector<double> c(n, 0.0);  // S' w
            for (std::size_t p = 0; p < m; ++p) c[pi[p]] += out[p], c[pj[p]] += out[p];
            for (std::size_t i = 0; i < n; ++i) {  // solve L L' c = S' w
                double s = c[i];
                for (std::size_t k = 0; k < i; ++k) s -= chol[i * n + k] * c[k];
                c[i] = s / chol[i * n + i];
            }
            for (std::size_t i = n; i-- > 0;) {
                double s = c[i];
                for (std::size_t k = i + 1; k < n; ++k) s -= chol[k * n + i] * c[k];
                c[i] = s / chol[i * n + i];
            }
            for (std::size_t p = 0; p < m; ++p) out[p] -= 0.5 * (c[pi[p]] + c[pj[p]]);
            for (std::size_t k = 0; k < n; ++k) out[m + k] = -c[k];
        }
        const double r2 = std::sqrt(2.0);
        for (std::size_t p = 0; p < m; ++p) out[p] *= r2;
        return out;
    }
};

} // namespace detail

/// Compares two RDM vectors of n_cond conditions (squareform order, NaN = missing) with
/// `method`, skipping pairs missing in either. Requires equal lengths N (N - 1) / 2 and
/// >= 2 valid pairs (3 for the rank methods); shape_error / data_error otherwise.
inline double compare_vectors(const std::vector<double>& a, const std::vector<double>& b, rsa_method method,
                              std::size_t n_cond) {
    if (a.size() != b.size() || a.size() != n_cond * (n_cond - 1) / 2)
        throw shape_error("compare RDM vectors: lengths " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                          " but " + std::to_string(n_cond) + " conditions have " + std::to_string(n_cond * (n_cond - 1) / 2) +
                          " pairs");
    std::vector<char> valid(a.size());
    std::vector<double> va, vb;
    va.reserve(a.size()), vb.reserve(a.size());
    for (std::size_t p = 0; p < a.size(); ++p) {
        valid[p] = !std::isnan(a[p]) && !std::isnan(b[p]);
        if (valid[p]) va.push_back(a[p]), vb.push_back(b[p]);
    }
    if (va.size() < 2)
        throw data_error("compare RDM vectors: " + std::to_string(va.size()) + " pairs without NaN (need >= 2)");
    switch (method) {
    case rsa_method::cosine: return detail::cosine_of(va, vb);
    case rsa_method::corr:
        detail::remove_mean(va), detail::remove_mean(vb);
        return detail::cosine_of(va, vb);
    case rsa_method::spearman: {
        auto ra = rank_average(va), rb = rank_average(vb);
        detail::remove_mean(ra), detail::remove_mean(rb);
        return detail::cosine_of(ra, rb);
    }
    case rsa_method::rho_a: {
        auto ra = rank_average(va), rb = rank_average(vb);
        detail::remove_mean(ra), detail::remove_mean(rb);
        const double m = double(ra.size());
        double s = 0;
        for (std::size_t i = 0; i < ra.size(); ++i) s += ra[i] * rb[i];
        return s / (m * m * m - m) * 12.0;
    }
    case rsa_method::tau_a: return kendall_tau_a_fast(va, vb);
    case rsa_method::tau_b: return kendall_tau_b(va, vb);
    case rsa_method::cosine_cov:
    case rsa_method::corr_cov: {
        if (method == rsa_method::corr_cov) detail::remove_mean(va), detail::remove_mean(vb);
        const detail::whitener w(n_cond, valid);
        return detail::cosine_of(w.apply(va), w.apply(vb));
    }
    }
    return 0;
}

/// All comparisons of the RDMs of a with those of b: (a.n_rdm(), b.n_rdm()).
/// Requires the same number of conditions.
inline matrix<double> compare(const rdm_stack& a, const rdm_stack& b, rsa_method method) {
    if (a.n_cond != b.n_cond)
        throw shape_error("compare: RDMs over " + std::to_string(a.n_cond) + " and " + std::to_string(b.n_cond) + " conditions");
    matrix<double> r = xt::empty<double>({a.n_rdm(), b.n_rdm()});
    std::vector<std::vector<double>> vb(b.n_rdm());
    for (std::size_t j = 0; j < b.n_rdm(); ++j) vb[j] = b.vector(j);
    for (std::size_t i = 0; i < a.n_rdm(); ++i) {
        const auto va = a.vector(i);
        for (std::size_t j = 0; j < b.n_rdm(); ++j) r(i, j) = compare_vectors(va, vb[j], method, a.n_cond);
    }
    return r;
}

/// Mean of compare(a, b, method) over all entries (rsatoolbox's np.mean(compare(...))).
inline double mean_compare(const rdm_stack& a, const rdm_stack& b, rsa_method method) {
    const auto r = compare(a, b, method);
    double s = 0;
    for (double v : r) s += v;
    return s / double(r.size());
}

} // namespace b2m::brain

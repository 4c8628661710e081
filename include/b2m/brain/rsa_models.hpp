// b2m/brain/rsa_models.hpp - RDM models (rsatoolbox's ModelFixed, ModelWeighted,
// ModelSelect) and their fitters.
//
//   fixed     one RDM, no parameters
//   weighted  sum_k theta_k RDM_k with theta >= 0, fitted by non-negative least squares to
//             the pooled data RDM (rsatoolbox's fit_regress_nn: for corr the model
//             vectors are mean-removed; theta is scaled to unit norm)
//   select    the one of K RDMs that compares best with the data (fit_select)
//
//   auto m = brain::rsa_model::weighted("features", stack_of_k_rdms);
//   m.fit(data, brain::rsa_method::corr);          // m.theta: K non-negative weights
//   rdm_stack pred = m.predict();                  // one RDM
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "b2m/brain/rdm_noise_ceiling.hpp"
#include "b2m/brain/rdm_stack.hpp"
#include "b2m/brain/rsa_compare.hpp"
#include "b2m/core/error.hpp"

namespace b2m::brain {

/// Non-negative least squares min ||A x - y||, x >= 0, for A given as K column vectors of
/// length n (active-set method of Lawson & Hanson / Bro & de Jong on A'A, as rsatoolbox's
/// _nn_least_squares; the stopping tolerance is relative to |A'y| so scaled data cannot
/// loop forever). Requires K >= 1, equal lengths.
inline std::vector<double> nn_least_squares(const std::vector<std::vector<double>>& a, const std::vector<double>& y) {
    const std::size_t k = a.size();
    if (k == 0) throw shape_error("nn_least_squares: no regressors");
    for (const auto& col : a)
        if (col.size() != y.size())
            throw shape_error("nn_least_squares: regressor of length " + std::to_string(col.size()) + " but y has " +
                              std::to_string(y.size()));
    std::vector<double> ata(k * k, 0.0), aty(k, 0.0);
    for (std::size_t i = 0; i < k; ++i) {
        for (std::size_t n = 0; n < y.size(); ++n) aty[i] += a[i][n] * y[n];
        for (std::size_t j = 0; j <= i; ++j) {
            double s = 0;
            for (std::size_t n = 0; n < y.size(); ++n) s += a[i][n] * a[j][n];
            ata[i * k + j] = ata[j * k + i] = s;
        }
    }
    double scale = 0;
    for (double v : aty) scale = std::max(scale, std::abs(v));
    for (std::size_t i = 0; i < k; ++i) scale = std::max(scale, ata[i * k + i]);
    const double tol = 1e-12 * std::max(scale, 1e-300);
    std::vector<double> x(k, 0.0);
    std::vector<char> p(k, 0);
    auto solve_p = [&]() {  // unconstrained LS on the passive set (Gaussian elimination)
        std::vector<std::size_t> idx;
        for (std::size_t i = 0; i < k; ++i)
            if (p[i]) idx.push_back(i);
        const std::size_t q = idx.size();
        std::vector<double> m(q * (q + 1));
        for (std::size_t r = 0; r < q; ++r) {
            for (std::size_t c = 0; c < q; ++c) m[r * (q + 1) + c] = ata[idx[r] * k + idx[c]];
            m[r * (q + 1) + q] = aty[idx[r]];
        }
        for (std::size_t c = 0; c < q; ++c) {
            std::size_t piv = c;
            for (std::size_t r = c + 1; r < q; ++r)
                if (std::abs(m[r * (q + 1) + c]) > std::abs(m[piv * (q + 1) + c])) piv = r;
            for (std::size_t j = 0; j <= q; ++j) std::swap(m[c * (q + 1) + j], m[piv * (q + 1) + j]);
            const double d = m[c * (q + 1) + c];
            if (d == 0) throw data_error("nn_least_squares: collinear model RDMs (singular normal equations)");
            for (std::size_t r = 0; r < q; ++r)
                if (r != c) {
                    const double f = m[r * (q + 1) + c] / d;
                    for (std::size_t j = c; j <= q; ++j) m[r * (q + 1) + j] -= f * m[c * (q + 1) + j];
                }
        }
        std::vector<double> s(k, 0.0);
        for (std::size_t r = 0; r < q; ++r) s[idx[r]] = m[r * (q + 1) + q] / m[r * (q + 1) + r];
        return s;
    };
    for (std::size_t iter = 0; iter < 10 * k + 10; ++iter) {
        std::vector<double> w(k);
        for (std::size_t i = 0; i < k; ++i) {
            w[i] = aty[i];
            for (std::size_t j = 0; j < k; ++j) w[i] -= ata[i * k + j] * x[j];
        }
        std::size_t best = k;
        for (std::size_t i = 0; i < k; ++i)
            if (!p[i] && w[i] > tol && (best == k || w[i] > w[best])) best = i;
        if (best == k) break;
        p[best] = 1;
        auto s = solve_p();
        for (std::size_t inner = 0; inner < 10 * k + 10; ++inner) {
            bool neg = false;
            for (std::size_t i = 0; i < k; ++i) neg |= p[i] && s[i] <= 0;
            if (!neg) break;
            double alpha = std::numeric_limits<double>::infinity();
            for (std::size_t i = 0; i < k; ++i)
                if (p[i] && s[i] <= 0) alpha = std::min(alpha, x[i] / (x[i] - s[i]));
            for (std::size_t i = 0; i < k; ++i)
                if (p[i]) x[i] += alpha * (s[i] - x[i]);
            for (std::size_t i = 0; i < k; ++i)
                if (p[i] && x[i] <= tol * 1e-3) p[i] = 0, x[i] = 0;
            s = solve_p();
        }
        for (std::size_t i = 0; i < k; ++i) x[i] = p[i] ? s[i] : 0.0;
    }
    return x;
}

/// How an RSA model predicts an RDM: one fixed RDM, a fitted weighted sum of component RDMs,
/// or the best single component.
enum class model_kind { fixed, weighted, select };

/// An RSA model (rsatoolbox's ModelFixed / ModelWeighted / ModelSelect) over N conditions.
struct rsa_model {
    std::string name;                   ///< the model's label in results and plots
    model_kind kind = model_kind::fixed; ///< fixed, weighted or select
    rdm_stack rdms;             ///< fixed: 1 RDM; weighted / select: the K component RDMs
    std::vector<double> theta;  ///< weighted: K weights (default all 1); select: {index}

    /// A fixed model; requires one to hold exactly 1 RDM (b2m::shape_error).
    static rsa_model fixed(std::string name, rdm_stack one) {
        if (one.n_rdm() != 1)
            throw shape_error("rsa_model::fixed '" + name + "': needs exactly 1 RDM, got " + std::to_string(one.n_rdm()));
        return {std::move(name), model_kind::fixed, std::move(one), {}};
    }
    /// A weighted sum of the K RDMs in parts, weights starting at 1.
    static rsa_model weighted(std::string name, rdm_stack parts) {
        std::vector<double> t(parts.n_rdm(), 1.0);
        return {std::move(name), model_kind::weighted, std::move(parts), std::move(t)};
    }
    /// The best one of the RDMs in parts, starting with the first.
    static rsa_model select(std::string name, rdm_stack parts) {
        return {std::move(name), model_kind::select, std::move(parts), {0.0}};
    }

    /// The number of fitted weights: K for weighted, 0 otherwise.
    std::size_t n_params() const { return kind == model_kind::weighted ? rdms.n_rdm() : 0; }

    /// The predicted RDM (a stack of one) for the current theta.
    rdm_stack predict() const {
        if (kind == model_kind::fixed) return rdms;
        if (kind == model_kind::select) return rdms.subset_rdms({std::size_t(theta.at(0))});
        rdm_stack r = rdms.subset_rdms({0});
        r.rdm_names = {name};
        for (std::size_t p = 0; p < rdms.n_pairs(); ++p) {
            double s = 0;
            for (std::size_t k = 0; k < rdms.n_rdm(); ++k) s += theta[k] * rdms.vectors(k, p);
            r.vectors(0, p) = s;
        }
        return r;
    }

    /// Fits theta to `data` (all its RDMs) under `method`; pattern_idx (optional) restricts the
    /// model to resampled conditions first (as the data already are). Weighted models need
    /// method corr or cosine (rsatoolbox's fit_regress_nn; data_error otherwise).
    void fit(const rdm_stack& data, rsa_method method, const std::vector<std::size_t>& pattern_idx = {}) {
        const rdm_stack parts = pattern_idx.empty() ? rdms : rdms.subsample_patterns(pattern_idx);
        if (parts.n_cond != data.n_cond)
            throw shape_error("rsa_model '" + name + "': model RDMs over " + std::to_string(parts.n_cond) +
                              " conditions but data over " + std::to_string(data.n_cond));
        if (kind == model_kind::fixed) return;
        if (kind == model_kind::select) {
            double best = -std::numeric_limits<double>::infinity();
            for (std::size_t k = 0; k < parts.n_rdm(); ++k) {
                const double v = mean_compare(parts.subset_rdms({k}), data, method);
                if (v > best) best = v, theta = {double(k)};
            }
            return;
        }
        if (method != rsa_method::corr && method != rsa_method::cosine)
            throw data_error("rsa_model '" + name + "': weighted models are fitted for corr or cosine (got " +
                             method_name(method) + ")");
        const rdm_stack pooled = pool_rdms(data, method);
        std::vector<std::size_t> ok;
        for (std::size_t p = 0; p < parts.n_pairs(); ++p) {
            bool good = !std::isnan(pooled.vectors(0, p));
            for (std::size_t k = 0; k < parts.n_rdm(); ++k) good = good && !std::isnan(parts.vectors(k, p));
            if (good) ok.push_back(p);
        }
        std::vector<std::vector<double>> a(parts.n_rdm(), std::vector<double>(ok.size()));
        std::vector<double> y(ok.size());
        for (std::size_t q = 0; q < ok.size(); ++q) {
            y[q] = pooled.vectors(0, ok[q]);
            for (std::size_t k = 0; k < parts.n_rdm(); ++k) a[k][q] = parts.vectors(k, ok[q]);
        }
        if (method == rsa_method::corr)
            for (auto& col : a) detail::remove_mean(col);
        theta = nn_least_squares(a, y);
        double nrm = 0;
        for (double t : theta) nrm += t * t;
        if (nrm > 0)
            for (auto& t : theta) t /= std::sqrt(nrm);
    }
};

} // namespace b2m::brain

// b2m/brain/rsa_inference.hpp - model evaluation with bootstrap over conditions (stimuli),
// over subjects (RDMs) or both, noise ceilings per draw, and rsatoolbox's statistics
// (Schütt et al. 2023; rsatoolbox.inference.eval_bootstrap*, Result, util.inference_util):
//
//   value     mean over subjects of compare(model, subject RDM) on all the data
//   mean      mean over usable bootstrap draws (what rsatoolbox reports and tests)
//   variance  covariance of the draws (ddof 1) times n/(n-1), n = conditions (pattern
//             bootstrap), subjects (RDM bootstrap) or min of both (both); dof = n - 1
//   t interval   mean +- sem * t_{1-a/2}(dof);  percentile interval: np.quantile of the
//             draws framed by -inf and +inf (rsatoolbox's get_ci(test_type='bootstrap'))
//   tests     pairwise: two-sided t on mean differences; vs 0: one-sided t; vs the noise
//             ceiling: two-sided t of mean - mean(lower bound over draws) with the variance
//             of the difference. p-values are raw; correct with fdr_bh() or bonferroni().
//
// A pattern draw with fewer than 3 distinct conditions is unusable (NaN row), as rsatoolbox.
// Fitted models (weighted, select) are evaluated with their current theta; refit per fold
// with crossval().
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include <boost/math/distributions/students_t.hpp>

#include "b2m/brain/rdm_noise_ceiling.hpp"
#include "b2m/brain/rdm_stack.hpp"
#include "b2m/brain/rsa_compare.hpp"
#include "b2m/brain/rsa_models.hpp"
#include "b2m/core/error.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/core/tolerance.hpp"

namespace b2m::brain {

enum class boot_over { patterns, rdms, both };

inline std::string boot_name(boot_over b) {
    return b == boot_over::patterns ? "conditions" : b == boot_over::rdms ? "subjects" : "conditions and subjects";
}

/// Resample indices: per draw, conditions and/or subject RDMs drawn with replacement.
struct resamples {
    ///@{
    /// per draw, the condition indices and the subject-RDM indices drawn; empty when not resampled
    std::vector<std::vector<std::size_t>> patterns, rdms;
    ///@}
    /// The number of draws.
    std::size_t draws() const { return std::max(patterns.size(), rdms.size()); }
};

/// `draws` seeded resamples (rng(seed); the same seed gives the same resamples).
inline resamples draw_resamples(boot_over over, std::size_t n_pattern, std::size_t n_rdm, std::size_t draws,
                                std::uint64_t seed) {
    rng r(seed);
    resamples s;
    for (std::size_t d = 0; d < draws; ++d) {
        if (over != boot_over::rdms) {
            std::vector<std::size_t> p(n_pattern);
            for (auto& v : p) v = r.below(n_pattern);
            s.patterns.push_back(std::move(p));
        }
        if (over != boot_over::patterns) {
            std::vector<std::size_t> q(n_rdm);
            for (auto& v : q) v = r.below(n_rdm);
            s.rdms.push_back(std::move(q));
        }
    }
    return s;
}

/// Student t quantile and CDF (Boost.Math).
inline double t_quantile(double p, double dof) { return boost::math::quantile(boost::math::students_t(dof), p); }
inline double t_cdf(double x, double dof) { return boost::math::cdf(boost::math::students_t(dof), x); }

/// A bootstrap evaluation of RSA models against data RDMs, with the noise ceiling and
/// rsatoolbox's statistics (filled by eval_bootstrap and compute_stats).
struct rsa_eval {
    std::vector<std::string> models;      ///< the models' names, in column order
    rsa_method method = rsa_method::corr; ///< how model and data RDMs were compared
    boot_over over = boot_over::patterns; ///< what the draws resampled (conditions, subjects or both)
    std::vector<double> value;     ///< per model, on all the data
    rdm_ceiling ceiling;           ///< on all the data
    matrix<double> evaluations;    ///< (draws, models); NaN rows: unusable draws
    ///@{
    std::vector<double> nc_lower, nc_upper;  ///< per draw
    ///@}
    /// the number of data RDMs (subjects);
    std::size_t n_rdm = 0, n_pattern = 0; ///< the number of conditions
    double dof = 1; ///< degrees of freedom of t intervals: n - 1 for the n resampled units
    ///@{
    /// statistics (compute_stats) over the usable draws, per model: the mean, its standard
    /// error, the variance (times n / (n - 1)), and the variance of the difference to the
    /// lower noise ceiling
    std::vector<double> mean, sem, model_var, nc_var_lower;
    ///@}
    matrix<double> diff_var;       ///< (models, models) variance of differences
    std::size_t usable = 0;        ///< the number of usable draws (>= 2 after compute_stats)
};

namespace detail {

/// Sample covariance (ddof 1) of the columns of x (rows = observations).
inline matrix<double> covariance(const std::vector<std::vector<double>>& x) {
    const std::size_t n = x.size(), k = n ? x[0].size() : 0;
    matrix<double> c = xt::zeros<double>({k, k});
    if (n < 2) return c * std::numeric_limits<double>::quiet_NaN();
    std::vector<double> m(k, 0.0);
    for (const auto& row : x)
        for (std::size_t j = 0; j < k; ++j) m[j] += row[j] / double(n);
    for (const auto& row : x)
        for (std::size_t i = 0; i < k; ++i)
            for (std::size_t j = 0; j < k; ++j) c(i, j) += (row[i] - m[i]) * (row[j] - m[j]);
    return c / double(n - 1);
}

} // namespace detail

/// rsatoolbox's Result statistics from the draws (fills mean, sem, variances, dof).
inline void compute_stats(rsa_eval& e) {
    const std::size_t nm = e.models.size(), nb = e.evaluations.shape(0);
    const bool nc_included = e.over != boot_over::rdms;  // rsatoolbox's eval_bootstrap_rdm drops it
    std::vector<std::vector<double>> rows;
    for (std::size_t b = 0; b < nb; ++b) {
        if (std::isnan(e.evaluations(b, 0))) continue;
        std::vector<double> r(nm);
        for (std::size_t j = 0; j < nm; ++j) r[j] = e.evaluations(b, j);
        if (nc_included) r.push_back(e.nc_lower[b]), r.push_back(e.nc_upper[b]);
        rows.push_back(std::move(r));
    }
    e.usable = rows.size();
    if (e.usable < 2) throw data_error("rsa bootstrap: " + std::to_string(e.usable) + " usable draws (need >= 2)");
    const auto cov = detail::covariance(rows);
    const std::size_t n = e.over == boot_over::patterns ? e.n_pattern
                          : e.over == boot_over::rdms   ? e.n_rdm
                                                        : std::min(e.n_rdm, e.n_pattern);
    const double corr = double(n) / double(n - 1);
    e.dof = double(n - 1);
    e.mean.assign(nm, 0.0);
    for (const auto& r : rows)
        for (std::size_t j = 0; j < nm; ++j) e.mean[j] += r[j] / double(rows.size());
    e.model_var.resize(nm), e.sem.resize(nm), e.nc_var_lower.resize(nm);
    e.diff_var = xt::zeros<double>({nm, nm});
    for (std::size_t i = 0; i < nm; ++i) {
        e.model_var[i] = cov(i, i) * corr;
        e.sem[i] = std::sqrt(std::max(e.model_var[i], 0.0));
        e.nc_var_lower[i] = nc_included ? (cov(i, i) - 2 * cov(i, nm) + cov(nm, nm)) * corr : e.model_var[i];
        for (std::size_t j = 0; j < nm; ++j) e.diff_var(i, j) = (cov(i, i) + cov(j, j) - 2 * cov(i, j)) * corr;
    }
}

/// Evaluates models on data for the given resamples (patterns and/or rdms non-empty), with
/// a noise ceiling per draw. Requires models over data.n_cond conditions, >= 2 subject RDMs.
inline rsa_eval eval_bootstrap(const std::vector<rsa_model>& models, const rdm_stack& data, rsa_method method,
                               const resamples& rs) {
    if (models.empty()) throw shape_error("eval_bootstrap: no models");
    rsa_eval e;
    e.method = method;
    e.over = rs.patterns.empty() ? boot_over::rdms : rs.rdms.empty() ? boot_over::patterns : boot_over::both;
    e.n_rdm = data.n_rdm(), e.n_pattern = data.n_cond;
    std::vector<rdm_stack> preds;
    for (const auto& m : models) {
        e.models.push_back(m.name);
        preds.push_back(m.predict());
        if (preds.back().n_cond != data.n_cond)
            throw shape_error("eval_bootstrap: model '" + m.name + "' has RDMs over " + std::to_string(preds.back().n_cond) +
                              " conditions but the data over " + std::to_string(data.n_cond));
        e.value.push_back(mean_compare(preds.back(), data, method));
    }
    e.ceiling = rdm_noise_ceiling(data, method);
    const std::size_t nb = rs.draws();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    e.evaluations = xt::empty<double>({nb, models.size()});
    e.nc_lower.assign(nb, nan), e.nc_upper.assign(nb, nan);
    for (std::size_t b = 0; b < nb; ++b) {
        rdm_stack sample = data;
        std::vector<std::size_t> groups;
        if (!rs.rdms.empty()) {
            sample = data.subset_rdms(rs.rdms[b]);
            groups = rs.rdms[b];
        }
        std::vector<std::size_t> pidx;
        if (!rs.patterns.empty()) {
            pidx = rs.patterns[b];
            if (std::set<std::size_t>(pidx.begin(), pidx.end()).size() < 3) {
                for (std::size_t j = 0; j < models.size(); ++j) e.evaluations(b, j) = nan;
                continue;
            }
            sample = sample.subsample_patterns(pidx);
        }
        for (std::size_t j = 0; j < models.size(); ++j)
            e.evaluations(b, j) = mean_compare(pidx.empty() ? preds[j] : preds[j].subsample_patterns(pidx), sample, method);
        if (std::set<std::size_t>(groups.begin(), groups.end()).size() != 1) {
            const auto nc = rdm_noise_ceiling(sample, method, groups);
            e.nc_lower[b] = nc.lower, e.nc_upper[b] = nc.upper;
        }
    }
    compute_stats(e);
    return e;
}

/// Interval at `level` (e.g. 0.95) for model j: t-based around the bootstrap mean.
inline std::pair<double, double> t_interval(const rsa_eval& e, std::size_t j, double level = 0.95) {
    const double t = t_quantile(1 - (1 - level) / 2, e.dof);
    return {e.mean[j] - t * e.sem[j], e.mean[j] + t * e.sem[j]};
}

/// Percentile interval of the usable draws framed by -inf/+inf (rsatoolbox's rule: with
/// B draws the quantile position is p (B + 1) in the framed, sorted list, linear between).
inline std::pair<double, double> percentile_interval(const rsa_eval& e, std::size_t j, double level = 0.95) {
    std::vector<double> v{-std::numeric_limits<double>::infinity()};
    for (std::size_t b = 0; b < e.evaluations.shape(0); ++b)
        if (!std::isnan(e.evaluations(b, 0))) v.push_back(e.evaluations(b, j));
    v.push_back(std::numeric_limits<double>::infinity());
    std::sort(v.begin(), v.end());
    auto q = [&](double p) {
        const double pos = p * double(v.size() - 1);
        const std::size_t lo = std::size_t(std::floor(pos));
        const double f = pos - double(lo);
        if (f == 0 || lo + 1 >= v.size()) return v[lo];
        return v[lo] + f * (v[lo + 1] - v[lo]);
    };
    return {q((1 - level) / 2), q(1 - (1 - level) / 2)};
}

/// Two-sided p-values of the pairwise t-tests (models x models, diagonal 1).
inline matrix<double> p_pairwise(const rsa_eval& e) {
    const std::size_t nm = e.models.size();
    matrix<double> p = xt::ones<double>({nm, nm});
    const double eps = t_test_variance_floor;
    for (std::size_t i = 0; i < nm; ++i)
        for (std::size_t j = 0; j < nm; ++j)
            if (i != j) {
                const double t = (e.mean[i] - e.mean[j]) / std::sqrt(std::max(e.diff_var(i, j), eps));
                p(i, j) = 2 * (1 - t_cdf(std::abs(t), e.dof));
            }
    return p;
}

/// One-sided p-values of mean > 0.
inline std::vector<double> p_zero(const rsa_eval& e) {
    std::vector<double> p;
    const double eps = t_test_variance_floor;
    for (std::size_t j = 0; j < e.models.size(); ++j)
        p.push_back(1 - t_cdf(e.mean[j] / std::sqrt(std::max(e.model_var[j], eps)), e.dof));
    return p;
}

/// Mean lower noise ceiling over usable draws (the value the models are tested against).
inline double mean_lower_ceiling(const rsa_eval& e) {
    double s = 0;
    std::size_t n = 0;
    for (double v : e.nc_lower)
        if (!std::isnan(v)) s += v, ++n;
    return n ? s / double(n) : e.ceiling.lower;
}

/// Two-sided p-values of mean = lower noise ceiling.
inline std::vector<double> p_noise(const rsa_eval& e) {
    std::vector<double> p;
    const double eps = t_test_variance_floor, nc = mean_lower_ceiling(e);
    for (std::size_t j = 0; j < e.models.size(); ++j)
        p.push_back(2 * (1 - t_cdf(std::abs(e.mean[j] - nc) / std::sqrt(std::max(e.nc_var_lower[j], eps)), e.dof)));
    return p;
}

/// Benjamini-Hochberg adjusted p-values (FDR), same order as p.
inline std::vector<double> fdr_bh(const std::vector<double>& p) {
    const std::size_t n = p.size();
    std::vector<std::size_t> o(n);
    std::iota(o.begin(), o.end(), 0);
    std::sort(o.begin(), o.end(), [&](auto a, auto b) { return p[a] < p[b]; });
    std::vector<double> q(n);
    double run = 1;
    for (std::size_t k = n; k-- > 0;) {
        run = std::min(run, p[o[k]] * double(n) / double(k + 1));
        q[o[k]] = run;
    }
    return q;
}

/// Bonferroni adjusted p-values (min(1, p n)).
inline std::vector<double> bonferroni(const std::vector<double>& p) {
    std::vector<double> q;
    for (double v : p) q.push_back(std::min(1.0, v * double(p.size())));
    return q;
}

/// k-fold cross-validation over conditions of fitted models (rsatoolbox's crossval with
/// folds over patterns only): conditions are split into k seeded folds; each model is
/// fitted on all subjects' RDMs restricted to the other folds' conditions and scored on the
/// held-out conditions. The ceiling is the mean over folds of the leave-one-subject-out
/// noise ceiling on the held-out conditions. Requires k >= 2 and >= 3 conditions per fold.
struct rsa_crossval {
    matrix<double> scores;       ///< (folds, models)
    std::vector<double> mean;    ///< per model
    rdm_ceiling ceiling;         ///< mean over folds
};

inline rsa_crossval crossval(std::vector<rsa_model> models, const rdm_stack& data, rsa_method method, std::size_t k,
                             std::uint64_t seed = 0) {
    const std::size_t n = data.n_cond;
    if (k < 2 || n / k < 3)
        throw data_error("crossval: " + std::to_string(k) + " folds of " + std::to_string(n) +
                         " conditions (need k >= 2 and >= 3 conditions per fold)");
    std::vector<std::size_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    rng r(seed);
    for (std::size_t i = n; i-- > 1;) std::swap(perm[i], perm[r.below(i + 1)]);
    rsa_crossval cv;
    cv.scores = xt::empty<double>({k, models.size()});
    cv.mean.assign(models.size(), 0.0);
    for (std::size_t f = 0; f < k; ++f) {
        std::vector<std::size_t> test, train;
        for (std::size_t i = 0; i < n; ++i) (i % k == f ? test : train).push_back(perm[i]);
        const rdm_stack dtrain = data.subsample_patterns(train), dtest = data.subsample_patterns(test);
        for (std::size_t j = 0; j < models.size(); ++j) {
            auto m = models[j];
            m.fit(dtrain, method, train);
            cv.scores(f, j) = mean_compare(m.predict().subsample_patterns(test), dtest, method);
            cv.mean[j] += cv.scores(f, j) / double(k);
        }
        const auto nc = rdm_noise_ceiling(dtest, method);
        cv.ceiling.lower += nc.lower / double(k), cv.ceiling.upper += nc.upper / double(k);
    }
    return cv;
}

} // namespace b2m::brain

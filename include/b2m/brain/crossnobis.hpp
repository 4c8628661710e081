// b2m/brain/crossnobis.hpp - RDMs from trial-wise measurements in rsatoolbox's conventions
// (Walther et al. 2016): trial averaging into conditions, noise covariance / precision from
// residuals with shrinkage, cross-validated Mahalanobis ("crossnobis") and cross-validated
// Euclidean distances, and the non-cross-validated squared Euclidean / Mahalanobis /
// correlation RDMs. Every distance is per channel (divided by the number of channels P).
//
//   auto prec = brain::noise_precision(residuals);                  // once; shrinkage_diag
//   auto rdm  = brain::rdm_crossnobis(trials, conditions, runs, prec);
//
// Conditions are ordered by their label (ascending); the result is an rdm_stack of one RDM
// whose pattern_names are the labels.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "b2m/brain/linalg.hpp"
#include "b2m/brain/rdm_stack.hpp"
#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::brain {

/// Condition means: rows of `trials` (n, P) averaged per label, labels ascending.
/// Requires labels.size() == n (shape_error naming both).
inline matrix<double> average_by_condition(const matrix<double>& trials, const std::vector<std::int64_t>& labels,
                                           std::vector<std::int64_t>* order = nullptr) {
    if (labels.size() != trials.shape(0))
        throw shape_error("average_by_condition: " + std::to_string(labels.size()) + " condition labels but trials have shape " +
                          shape_string(trials.shape()));
    std::map<std::int64_t, std::size_t> index;
    for (auto l : labels) index.emplace(l, 0);
    std::size_t k = 0;
    for (auto& [l, i] : index) i = k++;
    matrix<double> m = xt::zeros<double>({index.size(), trials.shape(1)});
    std::vector<double> count(index.size(), 0.0);
    for (std::size_t r = 0; r < labels.size(); ++r) {
        const std::size_t c = index[labels[r]];
        count[c] += 1;
        for (std::size_t j = 0; j < trials.shape(1); ++j) m(c, j) += trials(r, j);
    }
    for (std::size_t c = 0; c < index.size(); ++c)
        for (std::size_t j = 0; j < trials.shape(1); ++j) m(c, j) /= count[c];
    if (order) {
        order->clear();
        for (auto& [l, i] : index) order->push_back(l);
    }
    return m;
}

enum class noise_estimator { shrinkage_diag, shrinkage_eye, diag, full };

/// Noise covariance (P, P) of residuals (n, P), as rsatoolbox's cov_from_residuals: the
/// residuals are mean-removed; dof defaults to n - 1. shrinkage_diag: Schäfer & Strimmer
/// (2005) towards the diagonal; shrinkage_eye: Ledoit & Wolf (2004) towards a multiple of I.
/// Requires n >= 2, finite values, no constant channel for shrinkage_diag.
inline matrix<double> noise_covariance(const matrix<double>& residuals, noise_estimator how = noise_estimator::shrinkage_diag,
                                       double dof = 0) {
    require_finite("noise_covariance residuals", residuals);
    const std::size_t n = residuals.shape(0), p = residuals.shape(1);
    if (n < 2) throw shape_error("noise_covariance: residuals have shape " + shape_string(residuals.shape()) + " (need >= 2 rows)");
    matrix<double> x = residuals;
    for (std::size_t j = 0; j < p; ++j) {
        double m = 0;
        for (std::size_t i = 0; i < n; ++i) m += x(i, j);
        m /= double(n);
        for (std::size_t i = 0; i < n; ++i) x(i, j) -= m;
    }
    if (dof <= 0) dof = double(n - 1);
    matrix<double> s = xt::zeros<double>({p, p}), s2 = xt::zeros<double>({p, p});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t a = 0; a < p; ++a)
            for (std::size_t b = 0; b < p; ++b) {
                const double v = x(i, a) * x(i, b);
                s(a, b) += v, s2(a, b) += v * v;
            }
    if (how == noise_estimator::full) return s / dof;
    if (how == noise_estimator::diag) {
        matrix<double> d = xt::zeros<double>({p, p});
        for (std::size_t a = 0; a < p; ++a) d(a, a) = s(a, a) / dof;
        return d;
    }
    if (how == noise_estimator::shrinkage_eye) {
        const double nn = double(n);
        matrix<double> sm = s / nn;
        double b2 = 0, m = 0, d2 = 0;
        for (std::size_t a = 0; a < p; ++a) m += sm(a, a);
        m /= double(p);
        for (std::size_t a = 0; a < p; ++a)
            for (std::size_t b = 0; b < p; ++b) {
                b2 += s2(a, b) / nn - sm(a, b) * sm(a, b);
                const double t = sm(a, b) - (a == b ? m : 0.0);
                d2 += t * t;
            }
        b2 /= nn;
        b2 = std::min(d2, b2);
        matrix<double> out = xt::empty<double>({p, p});
        for (std::size_t a = 0; a < p; ++a)
            for (std::size_t b = 0; b < p; ++b)
                out(a, b) = ((a == b ? b2 / d2 * m : 0.0) + (d2 - b2) / d2 * sm(a, b)) * nn / dof;
        return out;
    }
    // shrinkage_diag
    matrix<double> cov = s / dof;
    std::vector<double> var(p), sd(p);
    for (std::size_t a = 0; a < p; ++a) {
        var[a] = cov(a, a), sd[a] = std::sqrt(var[a]);
        if (!(var[a] > 0)) throw data_error("noise_covariance: residual channel " + std::to_string(a) + " is constant");
    }
    double num = 0, den = 0;
    for (std::size_t a = 0; a < p; ++a)
        for (std::size_t b = 0; b < p; ++b) {
            if (a == b) continue;
            const double sm = s(a, b) / sd[a] / sd[b] / double(n - 1);
            const double s2m = s2(a, b) / var[a] / var[b] / double(n - 1);
            num += double(n) / (dof * dof) * (s2m - sm * sm);
            den += sm * sm;
        }
    const double lambda = std::clamp(num / den, 0.0, 1.0);
    for (std::size_t a = 0; a < p; ++a)
        for (std::size_t b = 0; b < p; ++b)
            if (a != b) cov(a, b) *= 1 - lambda;
    return cov;
}

/// The noise precision: inverse of noise_covariance (compute once, pass to every RDM).
inline matrix<double> noise_precision(const matrix<double>& residuals, noise_estimator how = noise_estimator::shrinkage_diag,
                                      double dof = 0) {
    return checked_inverse(noise_covariance(residuals, how, dof), "crossnobis: the noise covariance of the residuals");
}

namespace detail {
inline rdm_stack one_rdm(const matrix<double>& d, const std::vector<std::int64_t>& conds, const std::string& measure) {
    const std::size_t c = d.shape(0);
    matrix<double> v = xt::empty<double>({std::size_t(1), c * (c - 1) / 2});
    for (std::size_t i = 0; i < c; ++i)
        for (std::size_t j = i + 1; j < c; ++j) v(0, pair_index(i, j, c)) = d(i, j);
    rdm_stack r = rdm_stack_from_vectors(v, measure);
    r.measure = measure;
    r.pattern_names.clear();
    for (auto l : conds) r.pattern_names.push_back(std::to_string(l));
    return r;
}

/// (C, C) matrix of (a_i - a_j) M (b_i - b_j)' / P for condition patterns a, b (C, P) and a
/// symmetric weight M (empty = identity).
inline matrix<double> cross_distances(const matrix<double>& a, const matrix<double>& b, const matrix<double>& weight) {
    const std::size_t c = a.shape(0), p = a.shape(1);
    const matrix<double> bw = weight.size() ? matrix<double>(xt::linalg::dot(b, weight)) : b;
    matrix<double> k = xt::linalg::dot(a, xt::transpose(bw));  // k(i, j) = a_i M b_j'
    matrix<double> d = xt::zeros<double>({c, c});
    for (std::size_t i = 0; i < c; ++i)
        for (std::size_t j = 0; j < c; ++j) d(i, j) = (k(i, i) + k(j, j) - k(i, j) - k(j, i)) / double(p);
    return d;
}
} // namespace detail

/// Cross-validated Mahalanobis RDM (rsatoolbox's calc_rdm_crossnobis): for each fold f
/// (label of `folds`), condition means of the other folds' trials (a) against those of fold
/// f (b); the distance (a_i - a_j) Prec (b_i - b_j)' / P averaged over folds. An empty
/// precision gives the cross-validated Euclidean distance. Requires every condition in
/// every fold, >= 2 folds, >= 3 conditions, precision (P, P).
inline rdm_stack rdm_crossnobis(const matrix<double>& trials, const std::vector<std::int64_t>& conds,
                                const std::vector<std::int64_t>& folds, const matrix<double>& precision = {}) {
    const std::size_t n = trials.shape(0), p = trials.shape(1);
    if (conds.size() != n || folds.size() != n)
        throw shape_error("rdm_crossnobis: " + std::to_string(conds.size()) + " condition and " + std::to_string(folds.size()) +
                          " fold labels but trials have shape " + shape_string(trials.shape()));
    if (precision.size() && (precision.shape(0) != p || precision.shape(1) != p))
        throw_shape_mismatch("rdm_crossnobis", "noise precision", precision.shape(), "trials", trials.shape());
    require_finite("rdm_crossnobis trials", trials);
    std::vector<std::int64_t> fold_ids(folds.begin(), folds.end()), cond_ids(conds.begin(), conds.end());
    std::sort(fold_ids.begin(), fold_ids.end());
    fold_ids.erase(std::unique(fold_ids.begin(), fold_ids.end()), fold_ids.end());
    std::sort(cond_ids.begin(), cond_ids.end());
    cond_ids.erase(std::unique(cond_ids.begin(), cond_ids.end()), cond_ids.end());
    if (fold_ids.size() < 2) throw data_error("rdm_crossnobis: cross-validation needs >= 2 folds, got " + std::to_string(fold_ids.size()));
    if (cond_ids.size() < 3) throw data_error("rdm_crossnobis: needs >= 3 conditions, got " + std::to_string(cond_ids.size()));
    const std::size_t c = cond_ids.size();
    matrix<double> acc = xt::zeros<double>({c, c});
    for (auto f : fold_ids) {
        matrix<double> tr = xt::empty<double>({std::size_t(0), p}), te = tr;
        std::vector<std::size_t> rtr, rte;
        for (std::size_t r = 0; r < n; ++r) (folds[r] == f ? rte : rtr).push_back(r);
        auto pick = [&](const std::vector<std::size_t>& rows, std::vector<std::int64_t>& labs) {
            matrix<double> m = xt::empty<double>({rows.size(), p});
            labs.clear();
            for (std::size_t k = 0; k < rows.size(); ++k) {
                for (std::size_t j = 0; j < p; ++j) m(k, j) = trials(rows[k], j);
                labs.push_back(conds[rows[k]]);
            }
            return m;
        };
        std::vector<std::int64_t> ltr, lte, otr, ote;
        const auto atr = average_by_condition(pick(rtr, ltr), ltr, &otr);
        const auto ate = average_by_condition(pick(rte, lte), lte, &ote);
        if (otr != cond_ids || ote != cond_ids)
            throw data_error("rdm_crossnobis: fold " + std::to_string(f) + " lacks some conditions (every condition must be in every fold)");
        acc += detail::cross_distances(atr, ate, precision);
    }
    acc /= double(fold_ids.size());
    return detail::one_rdm(acc, cond_ids, precision.size() ? "crossnobis" : "cross-validated squared euclidean");
}

/// Squared Euclidean RDM per channel of condition means (rsatoolbox's "euclidean"; b2m's
/// brain::rdm(..., euclidean) is the plain, unsquared, unscaled distance); with a precision,
/// the Mahalanobis RDM (rsatoolbox's "mahalanobis").
inline rdm_stack rdm_squared_euclidean(const matrix<double>& trials, const std::vector<std::int64_t>& conds,
                                       const matrix<double>& precision = {}) {
    std::vector<std::int64_t> order;
    const auto m = average_by_condition(trials, conds, &order);
    if (order.size() < 3) throw data_error("rdm_squared_euclidean: needs >= 3 conditions, got " + std::to_string(order.size()));
    return detail::one_rdm(detail::cross_distances(m, m, precision), order, precision.size() ? "mahalanobis" : "squared euclidean");
}

/// Correlation-distance RDM of condition means in rsatoolbox's convention: a constant
/// pattern's distances are NaN (b2m's brain::rdm throws data_error instead).
inline rdm_stack rdm_correlation_nan(const matrix<double>& trials, const std::vector<std::int64_t>& conds) {
    std::vector<std::int64_t> order;
    matrix<double> m = average_by_condition(trials, conds, &order);
    const std::size_t c = m.shape(0), p = m.shape(1);
    if (c < 3) throw data_error("rdm_correlation_nan: needs >= 3 conditions, got " + std::to_string(c));
    for (std::size_t i = 0; i < c; ++i) {
        double mu = 0, q = 0;
        for (std::size_t j = 0; j < p; ++j) mu += m(i, j);
        mu /= double(p);  // sum, then divide (as numpy): a constant row has mean exactly its value
        for (std::size_t j = 0; j < p; ++j) q += (m(i, j) - mu) * (m(i, j) - mu);
        const double s = q > 0 ? 1.0 / std::sqrt(q) : std::numeric_limits<double>::quiet_NaN();
        for (std::size_t j = 0; j < p; ++j) m(i, j) = (m(i, j) - mu) * s;
    }
    matrix<double> d = xt::zeros<double>({c, c});
    for (std::size_t i = 0; i < c; ++i)
        for (std::size_t j = 0; j < c; ++j) {
            double v = 0;
            for (std::size_t k = 0; k < p; ++k) v += m(i, k) * m(j, k);
            d(i, j) = 1 - v;
        }
    return detail::one_rdm(d, order, "correlation");
}

} // namespace b2m::brain

// b2m/brain/rsa.hpp - representational dissimilarity matrices and their comparison.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/brain/kendall.hpp"

namespace b2m::brain {

enum class rdm_metric { correlation, euclidean, cosine };
enum class rdm_compare { spearman, kendall_tau_a, pearson };

/// RDM of patterns (stimuli, features): entry (i, j) is 1 - Pearson r (correlation),
/// ||a_i - a_j|| (euclidean) or 1 - cos (cosine) between rows i and j, as scipy's pdist.
/// Requires >= 2 stimuli, >= 1 feature, finite values, and for correlation (cosine) no
/// constant (all-zero) pattern: its distance to anything is undefined (data_error naming
/// the stimulus; scipy's pdist returns NaN there).
template <real T>
matrix<T> rdm(const matrix<T>& patterns, rdm_metric metric = rdm_metric::correlation) {
    require_finite("rdm patterns", patterns);
    const std::size_t s = patterns.shape(0), f = patterns.shape(1);
    if (s < 2) throw data_error("rdm: need >= 2 stimuli, patterns have shape " + shape_string(patterns.shape()));
    xt::xtensor<double, 2> z = xt::cast<double>(patterns);
    if (metric != rdm_metric::euclidean)
        for (std::size_t i = 0; i < s; ++i) {
            double m = 0, q = 0;
            if (metric == rdm_metric::correlation) {
                for (std::size_t j = 0; j < f; ++j) m += z(i, j);
                m /= double(f);
            }
            for (std::size_t j = 0; j < f; ++j) q += (z(i, j) - m) * (z(i, j) - m);
            if (!(q > 0))
                throw data_error(std::string("rdm: the pattern of stimulus ") + std::to_string(i) + " (of " +
                                 std::to_string(s) + ", " + std::to_string(f) + " features) is " +
                                 (metric == rdm_metric::correlation ? "constant" : "all zero") + ", so its " +
                                 (metric == rdm_metric::correlation ? "correlation" : "cosine") +
                                 " distance is undefined (drop the stimulus or use rdm_metric::euclidean)");
            const double nrm = 1.0 / std::sqrt(q);
            for (std::size_t j = 0; j < f; ++j) z(i, j) = (z(i, j) - m) * nrm;
        }
    matrix<T> d = xt::zeros<T>({s, s});
    for (std::size_t i = 0; i < s; ++i)
        for (std::size_t k = 0; k < i; ++k) {
            double v = 0;
            if (metric == rdm_metric::euclidean) {
                for (std::size_t j = 0; j < f; ++j) v += (z(i, j) - z(k, j)) * (z(i, j) - z(k, j));
                v = std::sqrt(v);
            } else {
                for (std::size_t j = 0; j < f; ++j) v += z(i, j) * z(k, j);
                v = 1.0 - v;
            }
            d(i, k) = d(k, i) = T(v);
        }
    return d;
}

/// The strictly lower triangle of a square RDM, row by row ((1,0), (2,0), (2,1), ...).
/// Requires a square matrix with >= 2 rows (shape_error).
template <real T>
std::vector<double> lower_triangle(const matrix<T>& r) {
    if (r.shape(0) != r.shape(1) || r.shape(0) < 2)
        throw shape_error("lower_triangle: RDM has shape " + shape_string(r.shape()) + " but must be square, >= 2 x 2");
    std::vector<double> v;
    v.reserve(r.shape(0) * (r.shape(0) - 1) / 2);
    for (std::size_t i = 1; i < r.shape(0); ++i)
        for (std::size_t k = 0; k < i; ++k) v.push_back(double(r(i, k)));
    return v;
}

/// Ranks 1..n, ties get the average of the ranks they span (scipy rankdata "average").
inline std::vector<double> rank_average(const std::vector<double>& x) {
    std::vector<std::size_t> o(x.size());
    std::iota(o.begin(), o.end(), 0);
    std::stable_sort(o.begin(), o.end(), [&](auto a, auto b) { return x[a] < x[b]; });
    std::vector<double> r(x.size());
    for (std::size_t i = 0; i < o.size();) {
        std::size_t j = i;
        while (j + 1 < o.size() && x[o[j + 1]] == x[o[i]]) ++j;
        const double avg = 0.5 * double(i + j) + 1.0;
        for (std::size_t k = i; k <= j; ++k) r[o[k]] = avg;
        i = j + 1;
    }
    return r;
}

/// Pearson r of two equally long vectors; NaN (undefined, not 0) if either is constant.
/// Requires size >= 2.
inline double pearson(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size() || a.size() < 2)
        throw shape_error("pearson: vectors of length " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                          " (need equal lengths >= 2)");
    const double n = double(a.size());
    const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n, mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        sab += (a[i] - ma) * (b[i] - mb), saa += (a[i] - ma) * (a[i] - ma), sbb += (b[i] - mb) * (b[i] - mb);
    }
    return (saa > 0 && sbb > 0) ? sab / std::sqrt(saa * sbb) : std::numeric_limits<double>::quiet_NaN();
}

/// Spearman rho: Pearson r of the tie-averaged ranks.
inline double spearman(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return pearson(a, b);  // throws the shape error
    return pearson(rank_average(a), rank_average(b));
}

/// Kendall tau-a: (concordant - discordant) / (m (m - 1) / 2); tied pairs count as neither
/// (the variant rsatoolbox uses for RDMs with ties, e.g. categorical models). O(m log m)
/// (Knight's algorithm, brain/kendall.hpp).
inline double kendall_tau_a(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size() || a.size() < 2)
        throw shape_error("kendall_tau_a: vectors of length " + std::to_string(a.size()) + " and " +
                          std::to_string(b.size()) + " (need equal lengths >= 2)");
    return kendall_tau_a_fast(a, b);
}

namespace detail {
/// data_error unless the lower triangle v of an RDM is finite and not constant (a constant
/// or non-finite RDM has no rank order: any correlation with it is undefined, not 0).
inline void require_usable_rdm(const std::vector<double>& v, const char* name, std::size_t s) {
    std::size_t bad = 0;
    for (double x : v) bad += !std::isfinite(x);
    if (bad)
        throw data_error(std::string("compare_rdms: ") + name + " (" + std::to_string(s) + " x " + std::to_string(s) +
                         ") has " + std::to_string(bad) + " of " + std::to_string(v.size()) +
                         " dissimilarities that are NaN or infinite; the comparison is undefined");
    if (std::all_of(v.begin(), v.end(), [&](double x) { return x == v.front(); }))
        throw data_error(std::string("compare_rdms: ") + name + " (" + std::to_string(s) + " x " + std::to_string(s) +
                         ") is constant (every dissimilarity is " + std::to_string(v.front()) +
                         "); its correlation with another RDM is undefined");
}
} // namespace detail

/// Compares two RDMs on their lower triangles. Requires equal square shapes (shape_error),
/// finite entries and RDMs that are not constant (data_error: the result would be undefined).
template <real T>
double compare_rdms(const matrix<T>& a, const matrix<T>& b, rdm_compare how = rdm_compare::spearman) {
    if (a.shape(0) != b.shape(0) || a.shape(1) != b.shape(1))
        throw_shape_mismatch("compare_rdms: RDM shapes differ", "rdm a", a.shape(), "rdm b", b.shape());
    const auto va = lower_triangle(a), vb = lower_triangle(b);
    detail::require_usable_rdm(va, "rdm a", a.shape(0));
    detail::require_usable_rdm(vb, "rdm b", b.shape(0));
    switch (how) {
    case rdm_compare::kendall_tau_a: return kendall_tau_a(va, vb);
    case rdm_compare::pearson: return pearson(va, vb);
    default: return spearman(va, vb);
    }
}

/// A statistic with its bootstrap distribution and percentile interval.
struct bootstrap_result {
    double value = 0;              ///< on all stimuli
    /// the percentile interval's lower end;
    double low = 0, high = 0;      ///< its upper end
    std::vector<double> samples;   ///< one per bootstrap draw
};

/// Bootstrap over stimuli: each draw resamples the S stimuli with replacement (rng(seed)),
/// takes the sub-RDMs, drops pairs of the same original stimulus (their dissimilarity is the
/// diagonal 0), and compares. Returns the percentile interval at `level` (e.g. 0.95).
/// Draws whose sub-RDM is constant (an undefined correlation) are left out of the interval.
/// Requires what compare_rdms requires.
template <real T>
bootstrap_result bootstrap_compare(const matrix<T>& a, const matrix<T>& b, rdm_compare how, std::size_t draws = 1000,
                                   std::uint64_t seed = 0, double level = 0.95) {
    bootstrap_result res;
    res.value = compare_rdms(a, b, how);
    const std::size_t s = a.shape(0);
    rng r(seed);
    std::vector<std::size_t> pick(s);
    std::vector<double> va, vb;
    for (std::size_t d = 0; d < draws; ++d) {
        for (auto& p : pick) p = r.below(s);
        va.clear(), vb.clear();
        for (std::size_t i = 1; i < s; ++i)
            for (std::size_t k = 0; k < i; ++k)
                if (pick[i] != pick[k]) va.push_back(double(a(pick[i], pick[k]))), vb.push_back(double(b(pick[i], pick[k])));
        if (va.size() < 2) continue;
        const double v = how == rdm_compare::kendall_tau_a ? kendall_tau_a(va, vb)
                         : how == rdm_compare::pearson   ? pearson(va, vb)
                                                         : spearman(va, vb);
        if (std::isfinite(v)) res.samples.push_back(v);
    }
    if (res.samples.empty()) throw data_error("bootstrap_compare: no usable bootstrap draws for RDMs of shape " + shape_string(a.shape()));
    std::vector<double> sorted = res.samples;
    std::sort(sorted.begin(), sorted.end());
    auto q = [&](double p) {
        const double pos = p * double(sorted.size() - 1);
        const std::size_t lo = std::size_t(std::floor(pos)), hi = std::min(lo + 1, sorted.size() - 1);
        return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
    };
    res.low = q((1 - level) / 2), res.high = q(1 - (1 - level) / 2);
    return res;
}

} // namespace b2m::brain

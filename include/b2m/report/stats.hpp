// b2m/report/stats.hpp - summaries over seeds: means with 95% confidence intervals,
// paired differences and effect sizes (the brain-taught vs baseline comparison).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

#include <boost/math/distributions/students_t.hpp>

namespace b2m::report {

/// Quantile p of Student's t with df degrees of freedom (Boost.Math, header-only).
/// requires 0 < p < 1; ensures NaN for df == 0 (no interval from one value).
inline double t_quantile(double p, std::size_t df) {
    if (df == 0) return std::numeric_limits<double>::quiet_NaN();
    return boost::math::quantile(boost::math::students_t_distribution<double>(double(df)), p);
}

/// Two-sided 95% critical value: the 97.5% quantile of Student's t with df degrees of
/// freedom (NaN for df == 0).
inline double t_quantile_975(std::size_t df) { return t_quantile(0.975, df); }

/// Mean of n values with the half-width of its 95% t interval (NaN for n < 2), and the
/// sample standard deviation. Non-finite values (e.g. "never reached") are counted in
/// `missing` and left out.
/// lower_limit / upper_limit: the range the quantity can take (e.g. [0, 1] for an
/// accuracy); low() and high() are clipped to it, so no interval reads "accuracy 1.238".
struct summary {
    double mean = std::numeric_limits<double>::quiet_NaN(); ///< mean of the finite values (NaN when none)
    double sd = std::numeric_limits<double>::quiet_NaN();   ///< sample standard deviation (NaN for n < 2)
    double ci95 = std::numeric_limits<double>::quiet_NaN(); ///< half-width of the 95% t interval (NaN for n < 2)
    /// the number of finite values used;
    std::size_t n = 0, missing = 0; ///< the number of non-finite values left out
    double lower_limit = -std::numeric_limits<double>::infinity(); ///< the smallest value the quantity can take
    double upper_limit = std::numeric_limits<double>::infinity();  ///< the largest value the quantity can take
    double low() const { return std::max(mean - ci95, lower_limit); }  ///< mean - ci95, clipped to lower_limit
    double high() const { return std::min(mean + ci95, upper_limit); } ///< mean + ci95, clipped to upper_limit
};

inline summary summarize(std::span<const double> values) {
    summary s;
    std::vector<double> v;
    for (double x : values) (std::isfinite(x) ? v.push_back(x) : void(++s.missing));
    s.n = v.size();
    if (v.empty()) return s;
    double m = 0;
    for (double x : v) m += x;
    m /= double(v.size());
    // Equal values have sd exactly 0 (the rounded mean would leave ~1e-17 behind).
    const bool all_equal = std::all_of(v.begin(), v.end(), [&](double x) { return x == v.front(); });
    if (all_equal) m = v.front();
    s.mean = m;
    if (v.size() < 2) return s;
    double ss = 0;
    if (!all_equal)
        for (double x : v) ss += (x - m) * (x - m);
    s.sd = std::sqrt(ss / double(v.size() - 1));
    s.ci95 = t_quantile_975(v.size() - 1) * s.sd / std::sqrt(double(v.size()));
    return s;
}

/// summarize() for a quantity confined to [lo, hi] (accuracy: [0, 1]; a difference of
/// accuracies: [-1, 1]): the interval is clipped to that range.
inline summary summarize_within(std::span<const double> values, double lo, double hi) {
    summary s = summarize(values);
    s.lower_limit = lo, s.upper_limit = hi;
    return s;
}

/// Paired comparison of a treatment with a baseline over the same seeds:
/// difference = treatment - baseline per seed, summarised with its 95% CI, and the
/// standardised effect size d_z = mean(diff) / sd(diff). Requires equal lengths; pairs
/// with a non-finite member are left out (counted in difference.missing). When every
/// difference is the same (sd 0, or rounding noise: sd <= 1e-9 |mean|), d_z is undefined:
/// effect_size is NaN and constant_difference is true (it used to print -5.3e14).
struct paired_comparison {
    summary difference; ///< treatment - baseline per seed, summarised (missing: pairs left out)
    double effect_size = std::numeric_limits<double>::quiet_NaN(); ///< d_z = mean / sd of the differences (NaN: undefined)
    bool constant_difference = false; ///< every difference is the same, so d_z is undefined
};

inline paired_comparison compare_paired(std::span<const double> treatment, std::span<const double> baseline) {
    std::vector<double> d;
    const std::size_t n = std::min(treatment.size(), baseline.size());
    paired_comparison c;
    std::size_t missing = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double x = treatment[i] - baseline[i];
        (std::isfinite(x) ? d.push_back(x) : void(++missing));
    }
    c.difference = summarize(d);
    c.difference.missing = missing;
    c.constant_difference = c.difference.n >= 2 && !(c.difference.sd > 1e-9 * std::abs(c.difference.mean));
    if (c.difference.n >= 2 && !c.constant_difference) c.effect_size = c.difference.mean / c.difference.sd;
    return c;
}

/// Paired comparison when the pairs come in clusters that are not independent (e.g. the
/// seeds of one recording session share its data and split): the paired differences are
/// averaged within each cluster and the t interval is taken over the cluster means, so
/// df = clusters - 1 (a pooled t over session x seed pairs would treat them as
/// independent). cluster[i] labels pair i; pairs with a non-finite member are left out
/// (difference.missing counts them); difference.n is the number of clusters used.
inline paired_comparison compare_paired_clustered(std::span<const double> treatment, std::span<const double> baseline,
                                                  std::span<const std::size_t> cluster) {
    const std::size_t n = std::min({treatment.size(), baseline.size(), cluster.size()});
    std::size_t k = 0, missing = 0;
    for (std::size_t i = 0; i < n; ++i) k = std::max(k, cluster[i] + 1);
    std::vector<double> sum(k, 0.0), cnt(k, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        const double x = treatment[i] - baseline[i];
        if (!std::isfinite(x)) {
            ++missing;
            continue;
        }
        sum[cluster[i]] += x, cnt[cluster[i]] += 1;
    }
    std::vector<double> means;
    for (std::size_t c = 0; c < k; ++c)
        if (cnt[c] > 0) means.push_back(sum[c] / cnt[c]);
    paired_comparison p = compare_paired(means, std::vector<double>(means.size(), 0.0));
    p.difference.missing = missing;
    return p;
}

/// First epoch (1-based) at which curve[e-1] >= target; +infinity if never.
inline double epochs_to_target(std::span<const double> curve, double target) {
    for (std::size_t e = 0; e < curve.size(); ++e)
        if (curve[e] >= target) return double(e + 1);
    return std::numeric_limits<double>::infinity();
}

} // namespace b2m::report

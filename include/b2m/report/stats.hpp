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
struct summary {
    double mean = std::numeric_limits<double>::quiet_NaN();
    double sd = std::numeric_limits<double>::quiet_NaN();
    double ci95 = std::numeric_limits<double>::quiet_NaN();
    std::size_t n = 0, missing = 0;
    double low() const { return mean - ci95; }
    double high() const { return mean + ci95; }
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
    s.mean = m;
    if (v.size() < 2) return s;
    double ss = 0;
    for (double x : v) ss += (x - m) * (x - m);
    s.sd = std::sqrt(ss / double(v.size() - 1));
    s.ci95 = t_quantile_975(v.size() - 1) * s.sd / std::sqrt(double(v.size()));
    return s;
}

/// Paired comparison of a treatment with a baseline over the same seeds:
/// difference = treatment - baseline per seed, summarised with its 95% CI, and the
/// standardised effect size d_z = mean(diff) / sd(diff). Requires equal lengths; pairs
/// with a non-finite member are left out (counted in difference.missing).
struct paired_comparison {
    summary difference;
    double effect_size = std::numeric_limits<double>::quiet_NaN();
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
    if (c.difference.n >= 2 && c.difference.sd > 0) c.effect_size = c.difference.mean / c.difference.sd;
    return c;
}

/// First epoch (1-based) at which curve[e-1] >= target; +infinity if never.
inline double epochs_to_target(std::span<const double> curve, double target) {
    for (std::size_t e = 0; e < curve.size(); ++e)
        if (curve[e] >= target) return double(e + 1);
    return std::numeric_limits<double>::infinity();
}

} // namespace b2m::report

// b2m/report/censored.hpp - summaries of "epochs until a target" when some runs never get
// there (right-censored at the run length): the Kaplan-Meier median with its counts, and
// the log-rank test between two conditions.
//
// Dropping the runs that never reach the target from a mean makes a condition with many
// failures look fast ("19.3 epochs (15 never)" against "27.0 (9 never)"), and counting
// them as run length + 1 invents a value. Kaplan-Meier uses every run: a run that never
// reached the target is known only to need more than the run length.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

namespace b2m::report {

/// Kaplan-Meier summary of event times; a non-finite time is a run censored after the
/// last epoch (it never reached the target). median: the smallest time t with estimated
/// S(t) = P(T > t) <= 0.5; NaN when fewer than half the runs are known to have reached
/// it ("not reached"). Ensures n == events + censored.
struct km_summary {
    ///@{
    /// the runs (n), those with a finite time (events) and the censored ones (censored)
    std::size_t n = 0, events = 0, censored = 0;
    ///@}
    double median = std::numeric_limits<double>::quiet_NaN(); ///< Kaplan-Meier median time (NaN: not reached)
};

inline km_summary kaplan_meier(std::span<const double> times) {
    km_summary k;
    std::vector<double> ev;
    for (double t : times) (std::isfinite(t) ? ev.push_back(t) : void(++k.censored));
    k.events = ev.size();
    k.n = times.size();
    std::sort(ev.begin(), ev.end());
    double s = 1.0;
    std::size_t at_risk = k.n;  // censored runs outlast every event time
    for (std::size_t i = 0; i < ev.size();) {
        std::size_t j = i;
        while (j < ev.size() && ev[j] == ev[i]) ++j;
        const std::size_t d = j - i;
        s *= 1.0 - double(d) / double(at_risk);
        at_risk -= d;
        if (s <= 0.5 + 1e-12) {
            k.median = ev[i];
            break;
        }
        i = j;
    }
    return k;
}

/// Two-sample log-rank test of event times a and b (non-finite: censored after the last
/// epoch). chi2 with 1 degree of freedom and its p value; NaN when no event occurred.
/// Ignores any pairing of runs (seeds): conservative for paired designs.
struct logrank_result {
    double chi2 = std::numeric_limits<double>::quiet_NaN(); ///< the log-rank statistic (1 degree of freedom)
    double p = std::numeric_limits<double>::quiet_NaN();    ///< its p value
    /// events in a,
    double observed_a = 0, expected_a = 0;  ///< and expected under no difference
};

namespace detail {
/// Adds one stratum's (observed - expected) and variance terms of the log-rank statistic.
inline void logrank_terms(std::span<const double> a, std::span<const double> b, logrank_result& r, double& var,
                          bool& any_event) {
    std::vector<double> times;
    for (double t : a)
        if (std::isfinite(t)) times.push_back(t);
    for (double t : b)
        if (std::isfinite(t)) times.push_back(t);
    std::sort(times.begin(), times.end());
    times.erase(std::unique(times.begin(), times.end()), times.end());
    any_event = any_event || !times.empty();
    auto count = [](std::span<const double> v, auto pred) {
        std::size_t c = 0;
        for (double t : v) c += pred(t);
        return c;
    };
    for (double t : times) {
        const double n1 = double(count(a, [&](double x) { return !(x < t); }));  // at risk (censored: always)
        const double n2 = double(count(b, [&](double x) { return !(x < t); }));
        const double d1 = double(count(a, [&](double x) { return x == t; }));
        const double d2 = double(count(b, [&](double x) { return x == t; }));
        const double n = n1 + n2, d = d1 + d2;
        r.observed_a += d1;
        r.expected_a += d * n1 / n;
        if (n > 1) var += n1 * n2 * d * (n - d) / (n * n * (n - 1));
    }
}
inline void logrank_finish(logrank_result& r, double var, bool any_event) {
    if (!any_event || !(var > 0)) return;
    const double z = r.observed_a - r.expected_a;
    r.chi2 = z * z / var;
    r.p = std::erfc(std::sqrt(r.chi2 / 2));
}
} // namespace detail

/// Stratified log-rank (e.g. strata = recording sessions, whose runs share data): the
/// per-stratum (observed - expected) and variances are summed, so runs are compared only
/// with runs of their own stratum. a[k], b[k]: the two conditions' times in stratum k.
inline logrank_result logrank_stratified(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
    logrank_result r;
    double var = 0;
    bool any = false;
    for (std::size_t k = 0; k < std::min(a.size(), b.size()); ++k) detail::logrank_terms(a[k], b[k], r, var, any);
    detail::logrank_finish(r, var, any);
    return r;
}

inline logrank_result logrank(std::span<const double> a, std::span<const double> b) {
    logrank_result r;
    double var = 0;
    bool any = false;
    detail::logrank_terms(a, b, r, var, any);
    detail::logrank_finish(r, var, any);
    return r;
}

} // namespace b2m::report

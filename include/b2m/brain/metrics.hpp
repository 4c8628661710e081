// b2m/brain/metrics.hpp - per-target Pearson r and R^2, split-half noise ceilings.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::brain {

namespace detail {
template <real T>
void require_same_shape(const char* what, const matrix<T>& a, const matrix<T>& b) {
    if (a.shape(0) != b.shape(0) || a.shape(1) != b.shape(1))
        throw_shape_mismatch(what, "y_true", a.shape(), "y_pred", b.shape());
    if (a.shape(0) < 2) throw data_error(std::string(what) + ": need at least 2 rows, got shape " + shape_string(a.shape()));
}
} // namespace detail

/// Pearson correlation of each column of a with the same column of b (double accumulation).
/// A column with zero variance in either matrix gets r = NaN: the correlation is undefined
/// (it used to be 0, which reads as a result); median() skips it, and count_undefined()
/// counts such columns so a caller can warn. Requires equal shapes with >= 2 rows.
template <real T>
vector<T> pearson_columns(const matrix<T>& a, const matrix<T>& b) {
    detail::require_same_shape("pearson_columns", a, b);
    const std::size_t n = a.shape(0), c = a.shape(1);
    vector<T> r = vector<T>::from_shape({c});
    parallel_for(c, row_grain, [&](std::size_t c0, std::size_t c1) {
        for (std::size_t j = c0; j < c1; ++j) {
            double ma = 0, mb = 0;
            for (std::size_t i = 0; i < n; ++i) ma += double(a(i, j)), mb += double(b(i, j));
            ma /= double(n), mb /= double(n);
            double sab = 0, saa = 0, sbb = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const double x = double(a(i, j)) - ma, y = double(b(i, j)) - mb;
                sab += x * y, saa += x * x, sbb += y * y;
            }
            r(j) = (saa > 0 && sbb > 0) ? T(sab / std::sqrt(saa * sbb)) : std::numeric_limits<T>::quiet_NaN();
        }
    });
    return r;
}

/// How many entries of v are NaN (e.g. the undefined correlations of constant columns).
template <real T>
std::size_t count_undefined(const vector<T>& v) {
    std::size_t n = 0;
    for (auto a : v) n += std::isnan(double(a));
    return n;
}

/// Coefficient of determination per column, 1 - SSE / SST, like sklearn's
/// r2_score(multioutput="raw_values"): a constant true column scores 1 if predicted
/// exactly, else 0. Requires equal shapes with >= 2 rows.
template <real T>
vector<T> r2_columns(const matrix<T>& y_true, const matrix<T>& y_pred) {
    detail::require_same_shape("r2_columns", y_true, y_pred);
    const std::size_t n = y_true.shape(0), c = y_true.shape(1);
    vector<T> r = vector<T>::from_shape({c});
    parallel_for(c, row_grain, [&](std::size_t c0, std::size_t c1) {
        for (std::size_t j = c0; j < c1; ++j) {
            double m = 0;
            for (std::size_t i = 0; i < n; ++i) m += double(y_true(i, j));
            m /= double(n);
            double sse = 0, sst = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const double e = double(y_true(i, j)) - double(y_pred(i, j)), d = double(y_true(i, j)) - m;
                sse += e * e, sst += d * d;
            }
            r(j) = sst > 0 ? T(1.0 - sse / sst) : T(sse == 0 ? 1 : 0);
        }
    });
    return r;
}

/// Median of the finite entries of v (NaN if none).
template <real T>
double median(const vector<T>& v) {
    std::vector<double> x;
    for (auto a : v)
        if (std::isfinite(double(a))) x.push_back(double(a));
    if (x.empty()) return std::numeric_limits<double>::quiet_NaN();
    std::sort(x.begin(), x.end());
    const std::size_t m = x.size() / 2;
    return x.size() % 2 ? x[m] : 0.5 * (x[m - 1] + x[m]);
}

/// Split-half reliability of the repeat-averaged response, per target.
template <real T>
struct noise_ceiling_result {
    vector<T> split_half_r;   ///< mean over splits of r(half A mean, half B mean)
    vector<T> reliability;    ///< Spearman-Brown corrected: 2 r / (1 + r)
    vector<T> r_ceiling;      ///< ceiling for Pearson r of a model: sqrt(max(reliability, 0))
};

/// Noise ceiling from repeated presentations. responses: (trials, targets); ids: stimulus
/// of each trial. For each of `splits` random splits (rng(seed)), every stimulus's trials
/// are shuffled and halved (odd counts: the extra trial goes to half A), the halves are
/// averaged, and each target's Pearson r across stimuli between half A and half B is taken;
/// r is averaged over splits and Spearman-Brown corrected. Requires ids.size() == trials and
/// at least 3 stimuli with >= 2 trials (stimuli with one trial are ignored) (data_error).
template <real T>
noise_ceiling_result<T> noise_ceiling(const matrix<T>& responses, const std::vector<std::int64_t>& ids,
                                      std::size_t splits = 20, std::uint64_t seed = 0) {
    require_finite("noise_ceiling responses", responses);
    if (ids.size() != responses.shape(0))
        throw shape_error("noise_ceiling: " + std::to_string(ids.size()) + " stimulus ids but responses have shape " +
                          shape_string(responses.shape()));
    std::unordered_map<std::int64_t, std::size_t> row;
    std::vector<std::vector<std::size_t>> groups;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        auto [it, fresh] = row.emplace(ids[i], groups.size());
        if (fresh) groups.emplace_back();
        groups[it->second].push_back(i);
    }
    std::erase_if(groups, [](const auto& g) { return g.size() < 2; });
    if (groups.size() < 3)
        throw data_error("noise_ceiling: need >= 3 stimuli with >= 2 repeats, found " + std::to_string(groups.size()) +
                         " in responses of shape " + shape_string(responses.shape()));
    const std::size_t s = groups.size(), c = responses.shape(1);
    matrix<T> ha = matrix<T>::from_shape({s, c}), hb = matrix<T>::from_shape({s, c});
    std::vector<double> acc(c, 0.0);
    rng r(seed);
    for (std::size_t sp = 0; sp < std::max<std::size_t>(splits, 1); ++sp) {
        for (std::size_t k = 0; k < s; ++k) {
            auto g = groups[k];
            r.shuffle(g);
            const std::size_t na = (g.size() + 1) / 2;
            for (std::size_t j = 0; j < c; ++j) {
                double a = 0, b = 0;
                for (std::size_t q = 0; q < g.size(); ++q) (q < na ? a : b) += double(responses(g[q], j));
                ha(k, j) = T(a / double(na));
                hb(k, j) = T(b / double(g.size() - na));
            }
        }
        const auto rr = pearson_columns(ha, hb);
        for (std::size_t j = 0; j < c; ++j) acc[j] += double(rr(j));
    }
    noise_ceiling_result<T> out;
    out.split_half_r = vector<T>::from_shape({c});
    out.reliability = vector<T>::from_shape({c});
    out.r_ceiling = vector<T>::from_shape({c});
    for (std::size_t j = 0; j < c; ++j) {
        const double rh = acc[j] / double(std::max<std::size_t>(splits, 1));
        const double sb = (1.0 + rh) != 0 ? 2.0 * rh / (1.0 + rh) : 0.0;
        out.split_half_r(j) = T(rh);
        out.reliability(j) = T(sb);
        out.r_ceiling(j) = T(std::sqrt(std::max(sb, 0.0)));
    }
    return out;
}

/// score / ceiling per target; NaN where ceiling <= min_ceiling (unreliable targets).
/// Use r_ceiling for Pearson r scores and reliability for R^2 scores.
template <real T>
vector<T> normalise_by_ceiling(const vector<T>& score, const vector<T>& ceiling, double min_ceiling = 1e-3) {
    if (score.size() != ceiling.size())
        throw shape_error("normalise_by_ceiling: score has shape " + shape_string(score.shape()) +
                          " but ceiling has shape " + shape_string(ceiling.shape()));
    vector<T> out = vector<T>::from_shape({score.size()});
    for (std::size_t j = 0; j < score.size(); ++j)
        out(j) = double(ceiling(j)) > min_ceiling ? T(score(j) / ceiling(j)) : std::numeric_limits<T>::quiet_NaN();
    return out;
}

} // namespace b2m::brain

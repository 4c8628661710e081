// b2m/brain/kendall.hpp - Kendall's tau-a and tau-b in O(m log m) (Knight 1966).
//
// Sort the pairs by (a, b), then count the discordant pairs as the exchanges a merge sort
// needs to order b; ties in a, in b and in both come from runs of equal values. Then
//   C - D = n0 - t_a - t_b + t_ab - 2 D,   n0 = m (m - 1) / 2,
//   tau_a = (C - D) / n0,   tau_b = (C - D) / sqrt((n0 - t_a) (n0 - t_b))
// (tied pairs count as neither concordant nor discordant, as scipy.stats.kendalltau and
// rsatoolbox's tau-a do).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "b2m/core/error.hpp"

namespace b2m::brain {

/// Counts of a pair of equally long vectors: n0 pairs, discordant pairs, pairs tied in a,
/// in b and in both.
struct kendall_counts {
    ///@{
    /// the counts named in the comment above (n0 = n (n - 1) / 2, all pairs)
    std::int64_t n0 = 0, discordant = 0, tied_a = 0, tied_b = 0, tied_both = 0;
    ///@}
    /// Concordant minus discordant pairs (the numerator of Kendall's tau).
    std::int64_t c_minus_d() const { return n0 - tied_a - tied_b + tied_both - 2 * discordant; }
};

/// Knight's counts. Requires equal lengths >= 2 and no NaN (shape_error / data_error).
/// O(m log m) time, O(m) memory.
inline kendall_counts kendall_count(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size() || a.size() < 2)
        throw shape_error("kendall: vectors of length " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                          " (need equal lengths >= 2)");
    const std::size_t m = a.size();
    for (std::size_t i = 0; i < m; ++i)
        if (std::isnan(a[i]) || std::isnan(b[i]))
            throw data_error("kendall: NaN at index " + std::to_string(i) + " (drop NaN pairs first)");
    std::vector<std::uint32_t> o(m);
    std::iota(o.begin(), o.end(), 0u);
    std::sort(o.begin(), o.end(), [&](auto x, auto y) { return a[x] < a[y] || (a[x] == a[y] && b[x] < b[y]); });
    kendall_counts c;
    c.n0 = std::int64_t(m) * std::int64_t(m - 1) / 2;
    auto runs = [&](auto same) {
        std::int64_t t = 0, run = 1;
        for (std::size_t i = 1; i < m; ++i) {
            if (same(o[i - 1], o[i])) ++run;
            else t += run * (run - 1) / 2, run = 1;
        }
        return t + run * (run - 1) / 2;
    };
    c.tied_a = runs([&](auto x, auto y) { return a[x] == a[y]; });
    c.tied_both = runs([&](auto x, auto y) { return a[x] == a[y] && b[x] == b[y]; });
    // Bottom-up merge sort of b in this order, counting strict inversions.
    std::vector<double> v(m), w(m);
    for (std::size_t i = 0; i < m; ++i) v[i] = b[o[i]];
    std::int64_t swaps = 0;
    for (std::size_t width = 1; width < m; width *= 2) {
        for (std::size_t lo = 0; lo < m; lo += 2 * width) {
            const std::size_t mid = std::min(lo + width, m), hi = std::min(lo + 2 * width, m);
            std::size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                if (v[j] < v[i]) w[k++] = v[j++], swaps += std::int64_t(mid - i);
                else w[k++] = v[i++];
            }
            while (i < mid) w[k++] = v[i++];
            while (j < hi) w[k++] = v[j++];
        }
        v.swap(w);
    }
    c.discordant = swaps;
    // v is now b sorted: ties in b.
    std::int64_t run = 1;
    for (std::size_t i = 1; i < m; ++i) {
        if (v[i] == v[i - 1]) ++run;
        else c.tied_b += run * (run - 1) / 2, run = 1;
    }
    c.tied_b += run * (run - 1) / 2;
    return c;
}

/// Kendall tau-a = (C - D) / (m (m - 1) / 2), clipped to [-1, 1]. O(m log m).
inline double kendall_tau_a_fast(const std::vector<double>& a, const std::vector<double>& b) {
    const auto c = kendall_count(a, b);
    return std::clamp(double(c.c_minus_d()) / double(c.n0), -1.0, 1.0);
}

/// Kendall tau-b (scipy.stats.kendalltau's default); NaN when either vector is constant.
inline double kendall_tau_b(const std::vector<double>& a, const std::vector<double>& b) {
    const auto c = kendall_count(a, b);
    const double den = std::sqrt(double(c.n0 - c.tied_a) * double(c.n0 - c.tied_b));
    if (den == 0) return std::numeric_limits<double>::quiet_NaN();
    return std::clamp(double(c.c_minus_d()) / den, -1.0, 1.0);
}

} // namespace b2m::brain

// b2m/brain/stimulus_ids.hpp - which rows of a stimulus array show the same stimulus,
// decided from the stimuli themselves (their values, e.g. pixels), never from file or
// folder names: a folder named after one recording session may hold another one.
//
//   identical_row_ids(x)       rows with bit-identical values share one stimulus id
//                              (the index of the first such row): repeats of an image
//   near_copies(a, b, max_mad) pairs (i, j) with mean |a_i - b_j| < max_mad: the same image
//                              re-encoded, e.g. in another session (leakage across sets)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::brain {

/// Stimulus id of each row of `stimuli` (n, d): a row whose values equal, bit for bit,
/// those of an earlier row gets that earlier row's index (the first occurrence); any other
/// row gets its own index. So ids are row indices, repeats share one, and a set without
/// repeats gets 0..n-1. Expected O(n d): rows are hashed, equal hashes compared exactly.
/// Requires finite values (data_error naming the row otherwise: NaN != NaN would make a
/// row differ from itself).
template <real T>
std::vector<std::int64_t> identical_row_ids(const matrix<T>& stimuli) {
    const std::size_t n = stimuli.shape(0), d = stimuli.shape(1);
    const T* p = stimuli.data();
    std::vector<std::int64_t> ids(n);
    std::unordered_multimap<std::uint64_t, std::size_t> seen;
    seen.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const T* r = p + i * d;
        std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the values (with -0 folded to +0)
        for (std::size_t j = 0; j < d; ++j) {
            if (!std::isfinite(r[j]))
                throw data_error("identical_row_ids: row " + std::to_string(i) + " of stimuli of shape " +
                                 shape_string(stimuli.shape()) + " holds a non-finite value");
            const T v = r[j] == T(0) ? T(0) : r[j];
            unsigned char b[sizeof(T)];
            std::memcpy(b, &v, sizeof(T));
            for (unsigned char c : b) h = (h ^ c) * 1099511628211ull;
        }
        ids[i] = std::int64_t(i);
        const auto [lo, hi] = seen.equal_range(h);
        for (auto it = lo; it != hi; ++it)
            if (std::equal(r, r + d, p + it->second * d)) {
                ids[i] = ids[it->second];
                break;
            }
        if (ids[i] == std::int64_t(i)) seen.emplace(h, i);
    }
    return ids;
}

/// Pairs (i, j) of a row i of `a` (n, d) and a row j of `b` (m, d) whose mean absolute
/// difference over the d values is below `max_mad` (in the units of the values), sorted by
/// i then j. Exact: the mean absolute difference of block sums (48 blocks of consecutive
/// values) never exceeds that of the values, so pairs whose block sums already differ by
/// max_mad or more are skipped without losing any. Requires equal column counts
/// (shape_error naming both shapes) and max_mad > 0.
template <real T>
std::vector<std::pair<std::size_t, std::size_t>> near_copies(const matrix<T>& a, const matrix<T>& b, double max_mad) {
    if (a.shape(1) != b.shape(1))
        throw shape_error("near_copies: stimuli of shapes " + shape_string(a.shape()) + " and " + shape_string(b.shape()) +
                          " have different numbers of values per row");
    if (!(max_mad > 0)) throw data_error("near_copies: max_mad must be > 0, got " + std::to_string(max_mad));
    const std::size_t n = a.shape(0), m = b.shape(0), d = a.shape(1);
    std::vector<std::pair<std::size_t, std::size_t>> out;
    if (d == 0) return out;
    const std::size_t K = std::min<std::size_t>(48, d);
    auto block_sums = [&](const matrix<T>& x) {
        std::vector<double> s(x.shape(0) * K, 0.0);
        for (std::size_t i = 0; i < x.shape(0); ++i)
            for (std::size_t j = 0; j < d; ++j) s[i * K + j * K / d] += double(x.data()[i * d + j]);
        return s;
    };
    const auto sa = block_sums(a), sb = block_sums(b);
    const double limit = max_mad * double(d);  // on sums of absolute differences
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < m; ++j) {
            double lb = 0;
            for (std::size_t k = 0; k < K && lb < limit; ++k) lb += std::abs(sa[i * K + k] - sb[j * K + k]);
            if (lb >= limit * (1 + 1e-12)) continue;  // margin for rounding of the block sums
            const T *ra = a.data() + i * d, *rb = b.data() + j * d;
            double s = 0;
            for (std::size_t k = 0; k < d && s < limit; ++k) s += std::abs(double(ra[k]) - double(rb[k]));
            if (s < limit) out.emplace_back(i, j);
        }
    return out;
}

} // namespace b2m::brain

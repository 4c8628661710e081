// b2m/brain/variance_partition.hpp - which feature space explains what: the product-measure
// split of a joint model's R^2 (himalaya's r2_score_split) and the classic set-theoretic
// (Venn) partition of shared and unique variance from nested models.
//
// r2_score_split(y, parts): y zero-mean over samples (e.g. y minus its training mean), parts
// the per-space predictions of ONE joint model (e.g. banded_ridge_cv::predict_split), whose
// sum is the joint prediction. Space k gets
//   R2_k = sum_i (2 y_i p_ki - p_ki * sum_l p_li) / sum_i y_i^2      (include_correlation)
//   R2_k = sum_i (2 y_i p_ki - p_ki^2) / sum_i y_i^2                 (otherwise)
// With correlations included the R2_k sum to the joint 1 - SSE / sum y^2. A part can be
// negative (a space whose prediction is anti-aligned with the residual of the others).
//
// set_theoretic_partition(r2): the R^2 of a separately fitted model for every non-empty
// subset S of K spaces (row S - 1, S a bit mask), held-out. Region M (row M - 1) is the
// variance explained by exactly the spaces of M (inside all of them, outside the others):
//   region(M) = sum_{0 != S subset of M} (-1)^(|S|+1) R2(S | ~M) - R2(~M),   R2(empty) = 0.
// For two spaces: unique A = R2(AB) - R2(B), unique B = R2(AB) - R2(A),
// shared = R2(A) + R2(B) - R2(AB).
// Known pitfalls (stated, not fixed): (1) the regions are differences of noisy held-out
// estimates and are often negative, which no variance can be; a negative "shared" region
// means the spaces are complementary (suppression), not that they share a negative amount;
// (2) each subset model is regularised separately, so the joint model may be under- or
// over-regularised relative to the smaller ones, biasing unique variance (banded ridge
// reduces but does not remove this); (3) 2^K - 1 models are needed and the error of a region
// grows with the number of terms; (4) "shared" variance says the spaces predict the same
// part of the response, not that they encode the same thing (correlated stimuli features
// produce shared variance without any common representation); (5) everything is relative
// to the noise ceiling: regions are not corrected for measurement noise.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::brain {

/// himalaya's r2_score_split (see the file comment): (spaces, targets). Requires parts
/// non-empty and each of y's shape (shape_error naming the part otherwise), y finite.
/// A target with sum y^2 = 0 gets NaN.
template <real T>
xt::xtensor<double, 2> r2_score_split(const matrix<T>& y, const std::vector<matrix<T>>& parts,
                                      bool include_correlation = true) {
    if (parts.empty()) throw data_error("r2_score_split: no per-space predictions given");
    const std::size_t n = y.shape(0), t = y.shape(1), k = parts.size();
    for (std::size_t q = 0; q < k; ++q)
        if (parts[q].shape(0) != n || parts[q].shape(1) != t)
            throw_shape_mismatch("r2_score_split: a prediction does not match y", "prediction " + std::to_string(q),
                                 parts[q].shape(), "y", y.shape());
    require_finite("r2_score_split y", y);
    xt::xtensor<double, 2> out = xt::zeros<double>({k, t});
    for (std::size_t j = 0; j < t; ++j) {
        double sst = 0;
        for (std::size_t i = 0; i < n; ++i) sst += double(y(i, j)) * double(y(i, j));
        for (std::size_t q = 0; q < k; ++q) {
            double s = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const double pq = double(parts[q](i, j));
                double other = pq;
                if (include_correlation) {
                    other = 0;
                    for (std::size_t l = 0; l < k; ++l) other += double(parts[l](i, j));
                }
                s += 2 * double(y(i, j)) * pq - pq * other;
            }
            out(q, j) = sst > 0 ? s / sst : std::nan("");
        }
    }
    return out;
}

/// The Venn regions (2^K - 1, targets) from the R^2 of every non-empty subset model
/// (2^K - 1, targets); row m - 1 is bit mask m in both. Requires 1 <= K <= 16 and
/// 2^K - 1 rows (shape_error otherwise). See the file comment for the formula and pitfalls.
inline xt::xtensor<double, 2> set_theoretic_partition(const xt::xtensor<double, 2>& r2_subsets, std::size_t spaces) {
    if (spaces < 1 || spaces > 16) throw data_error("set_theoretic_partition: " + std::to_string(spaces) + " spaces (need 1..16)");
    const std::size_t full = (std::size_t(1) << spaces) - 1, t = r2_subsets.shape(1);
    if (r2_subsets.shape(0) != full)
        throw shape_error("set_theoretic_partition: r2 of subsets has shape " + shape_string(r2_subsets.shape()) +
                          " but " + std::to_string(spaces) + " spaces need " + std::to_string(full) + " rows");
    auto f = [&](std::size_t mask, std::size_t j) { return mask == 0 ? 0.0 : r2_subsets(mask - 1, j); };
    xt::xtensor<double, 2> out = xt::zeros<double>({full, t});
    for (std::size_t m = 1; m <= full; ++m) {
        const std::size_t rest = full & ~m;
        for (std::size_t j = 0; j < t; ++j) {
            double v = -f(rest, j);
            for (std::size_t s = m; s > 0; s = (s - 1) & m) {  // non-empty subsets of m
                const int bits = __builtin_popcountll(s);
                v += (bits % 2 == 1 ? 1.0 : -1.0) * f(s | rest, j);
            }
            out(m - 1, j) = v;
        }
    }
    return out;
}

} // namespace b2m::brain

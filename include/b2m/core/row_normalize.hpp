// b2m/core/row_normalize.hpp - row-wise L2 normalisation and centring, with their
// backward passes: the one implementation behind ad::l2_normalize and the brain objectives
// (cosine similarity, correlation).
//
// l2:        y_i = x_i / ||x_i||                       (torch.nn.functional.normalize; see below)
// centered:  c_i = x_i - mean(x_i),  y_i = c_i / ||c_i||   (Pearson correlation rows)
// A row whose norm is at most eps has no direction: it maps to the zero row (so a constant
// row correlates 0 with everything) and passes NO gradient back. (torch divides such a row
// by eps instead, whose derivative 1/eps = 1e12 is what a dead ReLU tap produced.) Above
// eps the backward pass is the exact derivative. Ensures: row i's gradient has norm at most
// 2 |alpha| ||gy_i|| / ||x_i|| (centred: of c_i) above eps, and is exactly 0 at or below eps.
// Rows are read with a leading dimension (ld) so blocks can be used in place.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "b2m/core/parallel.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m {

/// The norm at or below which a row has no direction (PyTorch's F.normalize default eps).
inline constexpr double row_norm_eps = 1e-12;

namespace detail {

/// y (n x d, contiguous) = normalised rows of x (n x d, row stride ldx), the zero row where
/// ||x_i|| <= eps; norms[i] = max(||.||, eps).
template <real T>
void normalize_rows(const T* x, std::size_t n, std::size_t d, std::size_t ldx, bool center, T eps, T* y, T* norms) {
    parallel_for(n, items_per_thread(3 * d), [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            const T* xi = x + i * ldx;
            T* yi = y + i * d;
            T mean = 0;
            if (center) {
                for (std::size_t j = 0; j < d; ++j) mean += xi[j];
                mean /= T(d);
            }
            T ss = 0;
            for (std::size_t j = 0; j < d; ++j) {
                const T c = xi[j] - mean;
                yi[j] = c;
                ss += c * c;
            }
            const T len = std::sqrt(ss);
            const T nrm = len > eps ? len : eps;
            norms[i] = nrm;
            const T inv = len > eps ? T(1) / nrm : T(0);  // <= eps: the zero row
            for (std::size_t j = 0; j < d; ++j) yi[j] *= inv;
        }
    });
}

/// gx (row stride ldgx) += alpha * d/dx of sum(gy . y) for y = normalize_rows(x); y and
/// norms from the forward, gy (n x d contiguous). eps as in the forward.
template <real T>
void normalize_rows_backward(const T* y, const T* norms, const T* gy, std::size_t n, std::size_t d, bool center,
                             T eps, T alpha, T* gx, std::size_t ldgx) {
    parallel_for(n, row_grain, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            const T* yi = y + i * d;
            const T* gi = gy + i * d;
            T* oi = gx + i * ldgx;
            const T nrm = norms[i];
            // At or below eps the forward is the constant zero row: no gradient.
            if (!(nrm > eps)) continue;
            T dot = 0;
            for (std::size_t j = 0; j < d; ++j) dot += yi[j] * gi[j];
            const T inv = alpha / nrm;
            if (!center) {
                for (std::size_t j = 0; j < d; ++j) oi[j] += inv * (gi[j] - yi[j] * dot);
            } else {
                T mean = 0;
                for (std::size_t j = 0; j < d; ++j) mean += gi[j] - yi[j] * dot;
                mean /= T(d);
                for (std::size_t j = 0; j < d; ++j) oi[j] += inv * (gi[j] - yi[j] * dot - mean);
            }
        }
    });
}

} // namespace detail
} // namespace b2m

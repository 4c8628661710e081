// b2m/loss/row_normalize.hpp - row-wise L2 normalisation and centring, with their
// backward passes, shared by the brain objectives (cosine similarity, correlation).
//
// l2:        y_i = x_i / max(||x_i||, eps)                     (torch.nn.functional.normalize)
// centered:  c_i = x_i - mean(x_i),  y_i = c_i / max(||c_i||, eps)   (Pearson correlation rows)
// A row whose norm is below eps is divided by eps (so a zero row maps to zero, and a
// constant row correlates 0 with everything); the backward pass is the exact derivative
// of that definition. Rows are read with a leading dimension (ld) so blocks can be used in place.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "b2m/core/parallel.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::loss::detail {

/// y (n x d, contiguous) = normalised rows of x (n x d, row stride ldx); norms[i] = max(||.||, eps).
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
            const T nrm = std::max(std::sqrt(ss), eps);
            norms[i] = nrm;
            const T inv = T(1) / nrm;
            for (std::size_t j = 0; j < d; ++j) yi[j] *= inv;
        }
    });
}

/// gx (row stride ldgx) += alpha * d/dx of sum(gy . y) for y = normalize_rows(x); y and
/// norms from the forward, gy (n x d contiguous). eps as in the forward.
template <real T>
void normalize_rows_backward(const T* y, const T* norms, const T* gy, std::size_t n, std::size_t d, bool center,
                             T eps, T alpha, T* gx, std::size_t ldgx) {
    parallel_for(n, 64, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            const T* yi = y + i * d;
            const T* gi = gy + i * d;
            T* oi = gx + i * ldgx;
            const T nrm = norms[i];
            // Below eps the forward is c / eps (a constant divisor): no projection term.
            T dot = 0;
            if (nrm > eps)
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

} // namespace b2m::loss::detail

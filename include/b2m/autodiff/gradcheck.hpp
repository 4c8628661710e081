// b2m/autodiff/gradcheck.hpp - finite-difference checks of analytic gradients.
//
// Use double precision. numeric_gradient perturbs x in place (restoring it) and returns
// the central-difference gradient of loss(); relative_error compares two gradients.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "b2m/core/tensor.hpp"

namespace b2m::ad {

/// Central differences d loss / d x, step h. Requires loss() to depend on x's current
/// values only through x; x is restored bit for bit.
template <class Loss>
matrix<double> numeric_gradient(Loss&& loss, matrix<double>& x, double h = 1e-6) {
    matrix<double> g = matrix<double>::from_shape(x.shape());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double keep = x.data()[i];
        x.data()[i] = keep + h;
        const double up = loss();
        x.data()[i] = keep - h;
        const double down = loss();
        x.data()[i] = keep;
        g.data()[i] = (up - down) / (2 * h);
    }
    return g;
}

/// ||a - b|| / max(||a||, ||b||, tiny): 0 for equal gradients. Both must share a shape.
inline double relative_error(const matrix<double>& a, const matrix<double>& b) {
    if (a.shape() != b.shape()) return INFINITY;
    double d = 0, na = 0, nb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        d += (a.data()[i] - b.data()[i]) * (a.data()[i] - b.data()[i]);
        na += a.data()[i] * a.data()[i];
        nb += b.data()[i] * b.data()[i];
    }
    return std::sqrt(d) / std::max({std::sqrt(na), std::sqrt(nb), 1e-300});
}

/// Frobenius norm (to assert a checked gradient is not trivially zero).
inline double norm(const matrix<double>& a) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a.data()[i] * a.data()[i];
    return std::sqrt(s);
}

} // namespace b2m::ad

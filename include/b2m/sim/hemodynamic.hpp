// b2m/sim/hemodynamic.hpp - a canonical hemodynamic response function and its causal
// convolution along time, to turn simulated neural activity into BOLD-like time series.
#pragma once

#include <cmath>
#include <cstddef>

#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::sim {

/// SPM's canonical double-gamma HRF sampled every `tr` seconds over `length` seconds:
/// h(t) = t^5 e^-t / 5! - t^15 e^-t / (6 * 15!), peak ~5 s, undershoot ~15 s, normalised to
/// sum 1. Requires tr > 0 and length >= tr.
inline vector<double> canonical_hrf(double tr, double length = 32.0) {
    if (!(tr > 0) || !(length >= tr)) throw error("sim::canonical_hrf: need tr > 0 and length >= tr");
    const std::size_t n = std::size_t(length / tr) + 1;
    vector<double> h = vector<double>::from_shape({n});
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double t = double(i) * tr;
        h(i) = std::pow(t, 5) * std::exp(-t) / std::tgamma(6.0) - std::pow(t, 15) * std::exp(-t) / (6.0 * std::tgamma(16.0));
        sum += h(i);
    }
    for (std::size_t i = 0; i < n; ++i) h(i) /= sum;
    return h;
}

/// y(t, v) = sum_{s <= t} h(t - s) x(s, v): causal convolution of every column of x
/// (rows = time points) with the kernel h.
inline matrix<double> convolve_time(const matrix<double>& x, const vector<double>& h) {
    const std::size_t t = x.shape(0), v = x.shape(1);
    matrix<double> y = xt::zeros<double>({t, v});
    for (std::size_t i = 0; i < t; ++i)
        for (std::size_t k = 0; k < h.size() && k <= i; ++k)
            for (std::size_t j = 0; j < v; ++j) y(i, j) += h(k) * x(i - k, j);
    return y;
}

} // namespace b2m::sim

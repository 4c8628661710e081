// b2m/brain/delays.hpp - stacked time delays (hemodynamic lag) for encoding models.
#pragma once

#include <string>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::brain {

/// For a time series x (time, features) returns (time, features * delays.size()) whose
/// block k holds x shifted by delays[k] samples: out(t, k*F + f) = x(t - delays[k], f), zero
/// where t - delays[k] is outside [0, time). Positive delays look into the past (the
/// response at t depends on the stimulus at t - d), as in voxel-wise fMRI modelling.
/// Requires at least one delay (data_error).
template <real T>
matrix<T> stack_delays(const matrix<T>& x, const std::vector<int>& delays) {
    if (delays.empty()) throw data_error("stack_delays: no delays given for input of shape " + shape_string(x.shape()));
    const std::size_t n = x.shape(0), f = x.shape(1), k = delays.size();
    matrix<T> out = xt::zeros<T>({n, f * k});
    for (std::size_t d = 0; d < k; ++d)
        for (std::size_t t = 0; t < n; ++t) {
            const long src = long(t) - long(delays[d]);
            if (src < 0 || src >= long(n)) continue;
            for (std::size_t j = 0; j < f; ++j) out(t, d * f + j) = x(std::size_t(src), j);
        }
    return out;
}

} // namespace b2m::brain

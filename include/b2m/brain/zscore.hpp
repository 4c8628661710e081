// b2m/brain/zscore.hpp - z-scoring with statistics from training data only.
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::brain {

/// Column-wise standardisation (x - mean) / std, std with ddof = 0 like sklearn's
/// StandardScaler; a constant column gets scale 1 (it maps to ~0), and so does a column
/// whose spread is rounding noise relative to its magnitude (std <= n * eps(T) * |mean|,
/// sklearn's test): dividing that noise by itself would blow it up to unit variance. fit() on the training rows
/// only, then transform() any rows, so no test statistics leak into training.
template <real T>
struct zscore {
    ///@{
    /// per column: the training mean and the divisor (the standard deviation, or 1, see above)
    vector<T> mean, scale;
    ///@}

    /// Requires x non-empty and finite (else data_error naming "zscore input").
    zscore& fit(const matrix<T>& x) {
        require_finite("zscore input", x);
        const std::size_t n = x.shape(0), c = x.shape(1);
        std::vector<double> m(c, 0.0), v(c, 0.0);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < c; ++j) m[j] += double(x(i, j));
        for (auto& a : m) a /= double(n);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < c; ++j) {
                const double d = double(x(i, j)) - m[j];
                v[j] += d * d;
            }
        mean = vector<T>::from_shape({c});
        scale = vector<T>::from_shape({c});
        for (std::size_t j = 0; j < c; ++j) {
            mean(j) = T(m[j]);
            const double s = std::sqrt(v[j] / double(n));
            const double noise = double(n) * double(std::numeric_limits<T>::epsilon()) * std::abs(m[j]);
            scale(j) = s > noise && s > 0 ? T(s) : T(1);
        }
        return *this;
    }

    /// Standardises x in place. Requires fit() first and the same column count (shape_error).
    void transform_inplace(matrix<T>& x) const {
        if (x.shape(1) != mean.size())
            throw shape_error("zscore.transform: input has shape " + shape_string(x.shape()) + " but the scaler was fit on " +
                              std::to_string(mean.size()) + " columns");
        for (std::size_t i = 0; i < x.shape(0); ++i)
            for (std::size_t j = 0; j < x.shape(1); ++j) x(i, j) = (x(i, j) - mean(j)) / scale(j);
    }
    /// A copy of x transformed (see transform_inplace).
    matrix<T> transform(const matrix<T>& x) const {
        matrix<T> y = x;
        transform_inplace(y);
        return y;
    }
};

} // namespace b2m::brain

// b2m/brain/pca.hpp - principal component analysis through xt::linalg::svd.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

#include "b2m/brain/linalg.hpp"

#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::brain {

/// PCA fitted on training rows: components (k, features) are the top right singular
/// vectors of the centred data, each signed so that its largest-|.| loading is positive
/// (sklearn >= 1.5's svd_flip(u_based_decision=False); tests/fixtures/make_loss_fixtures.py
/// applies the same rule and test_reliability checks the two agree, signs included);
/// explained_variance = s^2 / (n - 1). Ties in |loading| go to the first feature.
template <real T>
struct pca {
    matrix<T> components;        ///< (k, features)
    vector<T> mean;              ///< (features)
    vector<T> explained_variance;  ///< (k)

    /// Requires x finite with at least 2 rows and 1 <= k <= min(rows, features) (data_error).
    pca& fit(const matrix<T>& x, std::size_t k) {
        require_finite("pca input", x);
        const std::size_t n = x.shape(0), f = x.shape(1);
        if (n < 2 || k < 1 || k > std::min(n, f))
            throw data_error("pca: " + std::to_string(k) + " components requested for input of shape " +
                             shape_string(x.shape()) + " (need 1 <= k <= min(rows, columns), rows >= 2)");
        xt::xtensor<double, 2> xc = xt::cast<double>(x);
        mean = vector<T>::from_shape({f});
        for (std::size_t j = 0; j < f; ++j) {
            double m = 0;
            for (std::size_t i = 0; i < n; ++i) m += xc(i, j);
            m /= double(n);
            mean(j) = T(m);
            for (std::size_t i = 0; i < n; ++i) xc(i, j) -= m;
        }
        xt::xtensor<double, 2> u, vt;
        xt::xtensor<double, 1> s;
        try {
            std::tie(u, s, vt) = xt::linalg::svd(xc, false);
        } catch (const std::runtime_error& e) {  // LAPACK's bare "did not converge"
            throw data_error("pca: LAPACK's SVD (dgesdd) of the centred " + std::to_string(n) + " x " + std::to_string(f) +
                             " data failed (" + e.what() + "); the data are badly scaled or overflow: rescale them (e.g. z-score)");
        }
        components = matrix<T>::from_shape({k, f});
        explained_variance = vector<T>::from_shape({k});
        for (std::size_t c = 0; c < k; ++c) {
            std::size_t arg = 0;  // sign: the largest-|.| loading of the component is positive
            for (std::size_t j = 1; j < f; ++j)
                if (std::abs(vt(c, j)) > std::abs(vt(c, arg))) arg = j;
            const double sign = vt(c, arg) < 0 ? -1.0 : 1.0;
            for (std::size_t j = 0; j < f; ++j) components(c, j) = T(sign * vt(c, j));
            explained_variance(c) = T(s(c) * s(c) / double(n - 1));
        }
        return *this;
    }

    /// (x - mean) components^T, shape (rows, k). Requires matching feature count (shape_error).
    matrix<T> transform(const matrix<T>& x) const {
        if (x.shape(1) != mean.size())
            throw shape_error("pca.transform: input has shape " + shape_string(x.shape()) + " but components have shape " +
                              shape_string(components.shape()));
        matrix<T> xc = x;
        for (std::size_t i = 0; i < xc.shape(0); ++i)
            for (std::size_t j = 0; j < xc.shape(1); ++j) xc(i, j) -= mean(j);
        matrix<T> out;
        gemm<T>(xc, components, out, false, true, T(1), T(0), "pca input", "pca components");
        return out;
    }
};

} // namespace b2m::brain

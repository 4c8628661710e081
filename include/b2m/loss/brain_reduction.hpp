// b2m/loss/brain_reduction.hpp - the fixed reduction P of latent transfer (METHODS.md
// section 2): z = P(b) = (b - mean) M + offset, a linear map from V brain columns to K
// latent features, fitted once on training brain data and applied to every batch.
//
//   auto P = loss::brain_reduction::pca(train_brain, 32);          // top 32 principal components
//   auto P = loss::brain_reduction::ridge(train_brain, task_y, 1.0); // brain -> task variables
// PCA reuses brain::pca (signs as sklearn's svd_flip). Ridge solves
//   M = (Bc^T Bc + alpha I)^{-1} Bc^T (Y - mean(Y)),  offset = mean(Y)
// with Bc the centred training brain (so z is the ridge prediction of the task variables).
// Both are fitted in double. Time series: fit on rows of (samples, V), i.e. each time step
// of each trial as a row; the latent term applies P to every time step.
#pragma once

#include <cstddef>
#include <string>

#include "b2m/brain/linalg.hpp"
#include "b2m/brain/pca.hpp"
#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::loss {

/// The fixed linear map z = (b - mean) map + offset from V brain columns to K latent features.
struct brain_reduction {
    matrix<double> mean;    ///< (1, V)
    matrix<double> map;     ///< (V, K)
    matrix<double> offset;  ///< (1, K)

    std::size_t in_features() const { return map.shape(0); }  ///< V, the brain columns read.
    std::size_t out_features() const { return map.shape(1); } ///< K, the latent features made.
    bool empty() const { return map.size() == 0; }           ///< True for a default-constructed (unfitted) reduction.

    /// From explicit parts. Requires mean (1, V), map (V, K), offset (1, K) (shape_error).
    static brain_reduction linear(matrix<double> mean, matrix<double> map, matrix<double> offset) {
        if (mean.shape(0) != 1 || mean.shape(1) != map.shape(0))
            throw_shape_mismatch("brain_reduction", "mean", mean.shape(), "map", map.shape());
        if (offset.shape(0) != 1 || offset.shape(1) != map.shape(1))
            throw_shape_mismatch("brain_reduction", "offset", offset.shape(), "map", map.shape());
        return {std::move(mean), std::move(map), std::move(offset)};
    }

    /// PCA onto the top k components of the training brain (rows = samples).
    static brain_reduction pca(const matrix<double>& train_brain, std::size_t k) {
        brain::pca<double> p;
        p.fit(train_brain, k);
        return from_pca(p);
    }
    /// The reduction of a fitted PCA: mean its mean, map its components transposed (V, K), offset 0.
    template <real U>
    static brain_reduction from_pca(const brain::pca<U>& p) {
        const std::size_t v = p.components.shape(1), k = p.components.shape(0);
        brain_reduction r;
        r.mean = matrix<double>::from_shape({1, v});
        r.map = matrix<double>::from_shape({v, k});
        r.offset = xt::zeros<double>({std::size_t(1), k});
        for (std::size_t j = 0; j < v; ++j) {
            r.mean(0, j) = double(p.mean(j));
            for (std::size_t c = 0; c < k; ++c) r.map(j, c) = double(p.components(c, j));
        }
        return r;
    }

    /// Ridge regression of task variables y (N, K) on the training brain (N, V), penalty alpha >= 0.
    static brain_reduction ridge(const matrix<double>& train_brain, const matrix<double>& y, double alpha) {
        require_finite("brain_reduction::ridge brain", train_brain);
        require_finite("brain_reduction::ridge task variables", y);
        if (y.shape(0) != train_brain.shape(0))
            throw_shape_mismatch("brain_reduction::ridge: rows differ", "brain", train_brain.shape(), "task variables",
                                 y.shape());
        if (!(alpha >= 0)) throw data_error("brain_reduction::ridge: alpha must be >= 0");
        const std::size_t n = train_brain.shape(0), v = train_brain.shape(1), k = y.shape(1);
        brain_reduction r;
        r.mean = matrix<double>::from_shape({1, v});
        r.offset = matrix<double>::from_shape({1, k});
        matrix<double> bc = train_brain, yc = y;
        for (std::size_t j = 0; j < v; ++j) {
            double m = 0;
            for (std::size_t i = 0; i < n; ++i) m += bc(i, j);
            r.mean(0, j) = m / double(n);
            for (std::size_t i = 0; i < n; ++i) bc(i, j) -= r.mean(0, j);
        }
        for (std::size_t j = 0; j < k; ++j) {
            double m = 0;
            for (std::size_t i = 0; i < n; ++i) m += yc(i, j);
            r.offset(0, j) = m / double(n);
            for (std::size_t i = 0; i < n; ++i) yc(i, j) -= r.offset(0, j);
        }
        matrix<double> gram, rhs;
        gemm<double>(bc, bc, gram, true, false);
        for (std::size_t j = 0; j < v; ++j) gram(j, j) += alpha;
        gemm<double>(bc, yc, rhs, true, false);
        r.map = brain::checked_solve(gram, rhs, "brain reduction: the ridge map's regularised Gram matrix");
        return r;
    }

    /// The map in scalar type T: M (V, K) and shift = offset - mean M (1, K), so that
    /// z = b M + shift.
    template <real T>
    void cast(matrix<T>& m, matrix<T>& shift) const {
        m = xt::cast<T>(map);
        shift = matrix<T>::from_shape({1, out_features()});
        for (std::size_t c = 0; c < out_features(); ++c) {
            double s = offset(0, c);
            for (std::size_t j = 0; j < in_features(); ++j) s -= mean(0, j) * map(j, c);
            shift(0, c) = T(s);
        }
    }

    /// z (rows x K) = P(b) for the rows of a (rows x V) matrix.
    matrix<double> transform(const matrix<double>& b) const {
        if (b.shape(1) != in_features())
            throw shape_error("brain_reduction.transform: input has shape " + shape_string(b.shape()) +
                              " but the reduction reads " + std::to_string(in_features()) + " columns");
        matrix<double> m, shift, z = matrix<double>::from_shape({b.shape(0), out_features()});
        cast<double>(m, shift);
        for (std::size_t i = 0; i < z.shape(0); ++i)
            for (std::size_t c = 0; c < z.shape(1); ++c) z(i, c) = shift(0, c);
        gemm<double>(b, m, z, false, false, 1.0, 1.0);
        return z;
    }
};

} // namespace b2m::loss

// b2m/brain/cka.hpp - linear centred kernel alignment (Kornblith et al. 2019).
#pragma once

#include <cmath>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::brain {

/// Linear CKA between representations x (n, p) and y (n, q) of the same n stimuli:
///   ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F), columns centred.
/// In [0, 1]; invariant to rotation and isotropic scaling. Uses the feature-space form
/// (GEMMs of size p x q) or the n x n Gram form when n is smaller. Requires equal row
/// counts >= 2 (shape_error), finite values and non-constant x and y (data_error).
template <real T>
double linear_cka(const matrix<T>& x, const matrix<T>& y) {
    if (x.shape(0) != y.shape(0)) throw_shape_mismatch("linear_cka: stimulus counts differ", "x", x.shape(), "y", y.shape());
    if (x.shape(0) < 2) throw shape_error("linear_cka: need >= 2 stimuli, x has shape " + shape_string(x.shape()));
    require_finite("linear_cka x", x);
    require_finite("linear_cka y", y);
    auto centre = [](const matrix<T>& m) {
        matrix<double> c = xt::cast<double>(m);
        for (std::size_t j = 0; j < c.shape(1); ++j) {
            double s = 0;
            for (std::size_t i = 0; i < c.shape(0); ++i) s += c(i, j);
            s /= double(c.shape(0));
            for (std::size_t i = 0; i < c.shape(0); ++i) c(i, j) -= s;
        }
        return c;
    };
    const matrix<double> xc = centre(x), yc = centre(y);
    auto fro2 = [](const matrix<double>& m) {
        double s = 0;
        for (double v : m) s += v * v;
        return s;
    };
    const std::size_t n = x.shape(0), p = x.shape(1), q = y.shape(1);
    double hsic_xy, hsic_xx, hsic_yy;
    matrix<double> t;
    if (n < std::max(p, q)) {  // Gram form: <Kx, Ky>_F with K = Xc Xc^T
        matrix<double> kx, ky;
        gemm<double>(xc, xc, kx, false, true);
        gemm<double>(yc, yc, ky, false, true);
        hsic_xy = 0;
        for (std::size_t i = 0; i < kx.size(); ++i) hsic_xy += kx.data()[i] * ky.data()[i];
        hsic_xx = fro2(kx), hsic_yy = fro2(ky);
    } else {
        gemm<double>(yc, xc, t, true, false);
        hsic_xy = fro2(t);
        gemm<double>(xc, xc, t, true, false);
        hsic_xx = fro2(t);
        gemm<double>(yc, yc, t, true, false);
        hsic_yy = fro2(t);
    }
    if (!(hsic_xx > 0) || !(hsic_yy > 0))
        throw data_error("linear_cka: x " + shape_string(x.shape()) + " or y " + shape_string(y.shape()) + " is constant");
    return hsic_xy / std::sqrt(hsic_xx * hsic_yy);
}

} // namespace b2m::brain

// b2m/brain/ridge.hpp - multi-target ridge regression with a per-target alpha from a grid.
//
// Model: y_t = x w_t + b_t, w_t = argmin ||y_t - X w - b||^2 + alpha_t ||w||^2 (the
// intercept unpenalised, handled like scikit-learn's fit_intercept=True by centring X and Y
// with the training means).
//
// How (one decomposition, then GEMMs over blocks of targets):
//   Xc = U diag(s) V^T from eigh of the smaller Gram matrix (Xc^T Xc or Xc Xc^T), in double,
//   through xt::linalg::eigh; components with s^2 <= 1e-10 * max s^2 are dropped (rank cut,
//   like lstsq's rcond). Per block of targets: Z = U^T Yc (one GEMM), then per alpha
//     coefficients   W = V diag(s / (s^2 + a)) Z
//     exact LOO      e_i = r_i / (1 - h_i(a)),  r = Yc - U diag(s^2/(s^2+a)) Z,
//                    h_i(a) = 1/n + sum_j U_ij^2 s_j^2 / (s_j^2 + a)
//   (identical to scikit-learn's RidgeCV "GCV" path, which is exact leave-one-out): one
//   (samples x block x rank) GEMM per alpha, r made in place from the previous alpha's, and
//   k-fold CV as one decomposition per fold and a GEMM per alpha for the held-out rows.
//   LOO with an alpha per target is one pass: a block's errors, alphas, coefficients and
//   held-out scores all come from its one Z (Y is read once).
// Memory: targets go through in blocks (block_targets, default ~32 MB of (samples x block)
// per work buffer), so besides the inputs and the (features x targets) coefficients the
// workspace is a few (samples x block) buffers, whatever the number of targets;
// fit_pearson with keep_coef = false keeps no coefficients either (it predicts the held-out
// rows through (X_test - mean) V, made once).
// Threads: BLAS threads the GEMMs; the element-wise passes (gather, centring, the LOO and
// CV error sums) run over column ranges with parallel_for; BLAS is never called inside an
// OpenMP region.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "b2m/brain/linalg.hpp"

#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/core/small_gemm.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/core/tolerance.hpp"

namespace b2m::brain {

namespace detail {

/// Xc = U diag(s) V^T of the (optionally centred) design, rank-truncated.
template <real T>
struct ridge_spectrum {
    xt::xtensor<double, 2> u;     // (n, r)
    matrix<T> u_t;                // u as T, for the GEMMs with the targets
    matrix<T> v_t;                // (p, r)
    std::vector<double> s2;       // (r), descending
    std::vector<double> x_mean;   // (p), zeros without intercept
    std::size_t n = 0, p = 0;
    std::size_t rank() const { return s2.size(); }
};

template <real T>
ridge_spectrum<T> ridge_decompose(const matrix<T>& x, bool center) {
    ridge_spectrum<T> sp;
    const std::size_t n = x.shape(0), p = x.shape(1);
    sp.n = n, sp.p = p;
    xt::xtensor<double, 2> xc = xt::cast<double>(x);
    sp.x_mean.assign(p, 0.0);
    if (center) {
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < p; ++j) sp.x_mean[j] += xc(i, j);
        for (auto& m : sp.x_mean) m /= double(n);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < p; ++j) xc(i, j) -= sp.x_mean[j];
    }
    const bool primal = n >= p;  // eigh of the smaller Gram matrix
    const std::size_t m = primal ? p : n;
    xt::xtensor<double, 2> g = xt::zeros<double>({m, m});
    if (primal) syrk_raw<double>(true, p, n, 1.0, xc.data(), p, 0.0, g.data(), p);  // Xc^T Xc
    else syrk_raw<double>(false, n, p, 1.0, xc.data(), p, 0.0, g.data(), n);       // Xc Xc^T
    // LAPACK on an overflowing Gram matrix fails with a bare "did not converge": name the
    // cause and the remedy instead.
    double xmax = 0;
    for (double v : xc) xmax = std::max(xmax, std::abs(v));
    char xmax_text[32];
    std::snprintf(xmax_text, sizeof xmax_text, "%.3g", xmax);
    for (double v : g)
        if (!std::isfinite(v))
            throw data_error("ridge: the features' Gram matrix (" + std::to_string(m) + " x " + std::to_string(m) +
                             ") overflows: the largest |feature| (after centring) is " + std::string(xmax_text) +
                             "; rescale the features (e.g. z-score them) before fitting");
    const auto [w, vecs] = checked_eigh(g, "ridge: the features' Gram matrix");  // ascending, column-major vectors
    double wmax = 0;
    for (std::size_t k = 0; k < m; ++k) wmax = std::max(wmax, w(k));
    std::vector<std::size_t> keep;
    for (std::size_t k = m; k-- > 0;)
        if (w(k) > spectrum_rank_cut * wmax && w(k) > 0) keep.push_back(k);
    const std::size_t r = keep.size();
    sp.s2.resize(r);
    xt::xtensor<double, 2> e = xt::zeros<double>({m, std::max<std::size_t>(r, 1)});
    for (std::size_t c = 0; c < r; ++c) {
        sp.s2[c] = w(keep[c]);
        for (std::size_t i = 0; i < m; ++i) e(i, c) = vecs(i, keep[c]);
    }
    xt::xtensor<double, 2> other = xt::zeros<double>({primal ? n : p, std::max<std::size_t>(r, 1)});
    if (r > 0) {
        if (primal) gemm_raw<double>(false, false, n, r, p, 1.0, xc.data(), p, e.data(), r, 0.0, other.data(), r);
        else gemm_raw<double>(true, false, p, r, n, 1.0, xc.data(), p, e.data(), r, 0.0, other.data(), r);
        for (std::size_t i = 0; i < other.shape(0); ++i)
            for (std::size_t c = 0; c < r; ++c) other(i, c) /= std::sqrt(sp.s2[c]);
    }
    xt::xtensor<double, 2> vd = primal ? std::move(e) : std::move(other);
    sp.u = primal ? std::move(other) : std::move(e);
    sp.u_t = matrix<T>::from_shape({n, r});
    sp.v_t = matrix<T>::from_shape({p, r});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t c = 0; c < r; ++c) sp.u_t(i, c) = T(sp.u(i, c));
    for (std::size_t i = 0; i < p; ++i)
        for (std::size_t c = 0; c < r; ++c) sp.v_t(i, c) = T(vd(i, c));
    return sp;
}

/// Copies columns [c0, c0 + b) of y (rows listed in `rows`, or all rows) into out (rows x b),
/// subtracting the column means of those rows when center; the means go to mean[0..b).
template <real T>
void gather_block(const matrix<T>& y, const std::vector<std::size_t>* rows, std::size_t c0, std::size_t b, bool center,
                  matrix<T>& out, std::vector<double>& mean) {
    const std::size_t n = rows ? rows->size() : y.shape(0), t = y.shape(1);
    ensure_shape(out, n, b);
    mean.assign(b, 0.0);
    parallel_for(n, copy_row_grain, [&](std::size_t i0, std::size_t i1) {
        for (std::size_t i = i0; i < i1; ++i) {
            const std::size_t src = rows ? (*rows)[i] : i;
            std::memcpy(out.data() + i * b, y.data() + src * t + c0, b * sizeof(T));
        }
    });
    if (!center) return;
    parallel_for(b, column_block_grain, [&](std::size_t j0, std::size_t j1) {
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = j0; j < j1; ++j) mean[j] += double(out(i, j));
        for (std::size_t j = j0; j < j1; ++j) mean[j] /= double(n);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = j0; j < j1; ++j) out(i, j) = T(double(out(i, j)) - mean[j]);
    });
}

/// acc[j] += sum_i w[i] e(i, j)^2 over n rows of `cols` columns (row stride ld), in double;
/// inlined into simd_dispatch's ISA-specific callers.
template <real T>
[[gnu::always_inline]] inline void loo_error_rows(std::size_t n, std::size_t cols, const double* w, const T* e,
                                                  std::size_t ld, double* acc) {
    for (std::size_t i = 0; i < n; ++i) {
        const double wi = w[i];
        const T* pe = e + i * ld;
#pragma omp simd
        for (std::size_t j = 0; j < cols; ++j) {
            const double v = double(pe[j]);
            acc[j] += wi * v * v;
        }
    }
}

inline std::size_t ridge_block(std::size_t requested, std::size_t n, std::size_t t, std::size_t elem) {
    const std::size_t b = requested ? requested : std::max<std::size_t>(64, (std::size_t(32) << 20) / (std::max<std::size_t>(n, 1) * elem));
    return std::max<std::size_t>(1, std::min(b, t));
}

template <real T>
void ridge_check_xy(const matrix<T>& x, const matrix<T>& y, const char* who) {
    require_finite(std::string(who) + " X", x);
    require_finite(std::string(who) + " Y", y);
    if (x.shape(0) != y.shape(0)) throw_shape_mismatch(std::string(who) + ": sample counts differ", "X", x.shape(), "Y", y.shape());
    if (x.shape(0) < 2) throw data_error(std::string(who) + ": need at least 2 samples, X has shape " + shape_string(x.shape()));
}

inline void ridge_check_alphas(const std::vector<double>& a, const char* who) {
    if (a.empty()) throw data_error(std::string(who) + ": the alpha grid is empty");
    for (double v : a)
        if (!(v > 0) || !std::isfinite(v))
            throw data_error(std::string(who) + ": alpha " + std::to_string(v) + " is not a positive finite number");
}

/// zs(k, j) = Z(k, j) s_k / (s_k^2 + alphas[c0 + j]) for the block's b columns (Z = U^T Yc,
/// r x b): the block's coefficients are V zs.
template <real T>
void ridge_scale_block(const ridge_spectrum<T>& sp, const matrix<T>& z, const std::vector<double>& alphas,
                       std::size_t c0, matrix<T>& zs) {
    const std::size_t r = sp.rank(), b = z.shape(1);
    ensure_shape(zs, r, b);
    parallel_for(r, spectral_row_grain, [&](std::size_t k0, std::size_t k1) {
        for (std::size_t k = k0; k < k1; ++k)
            for (std::size_t j = 0; j < b; ++j)
                zs(k, j) = T(double(z(k, j)) * std::sqrt(sp.s2[k]) / (sp.s2[k] + alphas[c0 + j]));
    });
}

/// coef(:, j) = V diag(s / (s^2 + alphas[c0 + j])) Z(:, j) for the block's b columns, written
/// at `coef` with row stride ldc, and intercept[j], from the block's Z = U^T Yc (r x b) and
/// its target means.
template <real T>
void ridge_solve_block(const ridge_spectrum<T>& sp, const matrix<T>& z, const std::vector<double>& alphas,
                       std::size_t c0, const std::vector<double>& y_mean, bool center, matrix<T>& zs, T* coef,
                       std::size_t ldc, T* intercept) {
    const std::size_t r = sp.rank(), b = z.shape(1), p = sp.p;
    ridge_scale_block(sp, z, alphas, c0, zs);
    if (r > 0) gemm_raw<T>(false, false, p, b, r, T(1), sp.v_t.data(), r, zs.data(), b, T(0), coef, ldc);
    else
        for (std::size_t i = 0; i < p; ++i) std::fill_n(coef + i * ldc, b, T(0));
    // intercept[j] = y_mean[j] - x_mean . coef(:, j), summed over the rows of coef in order
    // (row by row: coef's rows are contiguous, its columns are ldc apart).
    std::vector<double> v(b, 0.0);
    if (center) {
        std::copy_n(y_mean.data(), b, v.data());
        for (std::size_t i = 0; i < p; ++i) {
            const double xm = sp.x_mean[i];
            const T* row = coef + i * ldc;
            for (std::size_t j = 0; j < b; ++j) v[j] -= xm * double(row[j]);
        }
    }
    for (std::size_t j = 0; j < b; ++j) intercept[j] = T(v[j]);
}

/// Pearson r of columns [c0, c0 + b) of y against pred (rows x b, row stride b), in double;
/// 0 where either side is constant.
template <real T>
void pearson_block(const matrix<T>& pred, const matrix<T>& y, std::size_t c0, double* r_out) {
    const std::size_t n = y.shape(0), t = y.shape(1), b = pred.shape(1);
    parallel_for(b, column_block_grain, [&](std::size_t j0, std::size_t j1) {
        const std::size_t w = j1 - j0;
        std::vector<double> sp(w), sy(w), spp(w), syy(w), spy(w);
        for (std::size_t i = 0; i < n; ++i) {
            const T* pi = pred.data() + i * b + j0;
            const T* yi = y.data() + i * t + c0 + j0;
            for (std::size_t j = 0; j < w; ++j) {
                const double a = pi[j], v = yi[j];
                sp[j] += a, sy[j] += v, spp[j] += a * a, syy[j] += v * v, spy[j] += a * v;
            }
        }
        for (std::size_t j = 0; j < w; ++j) {
            const double c = spy[j] - sp[j] * sy[j] / double(n), vp = spp[j] - sp[j] * sp[j] / double(n),
                         vy = syy[j] - sy[j] * sy[j] / double(n);
            r_out[j0 + j] = vp > 0 && vy > 0 ? c / std::sqrt(vp * vy) : 0.0;
        }
    });
}

/// A held-out set scored while fitting (ridge_cv::fit_pearson): Pearson r per target.
template <real T>
struct ridge_heldout {
    const matrix<T>* x = nullptr;
    const matrix<T>* y = nullptr;
    std::vector<double>* r = nullptr;
};

/// Index of the smallest of cv_error(:, j); ties go to the first. The per-target rule of
/// ridge_choose_alphas. Requires cv_error.shape(0) >= 1.
inline std::size_t ridge_best_alpha(const xt::xtensor<double, 2>& cv_error, std::size_t j) {
    std::size_t best = 0;
    for (std::size_t a = 1; a < cv_error.shape(0); ++a)
        if (cv_error(a, j) < cv_error(best, j)) best = a;
    return best;
}

/// The alpha of each target from the CV errors (alphas x targets): the smallest error per
/// target, or with per_target = false the alpha of the smallest summed error for all.
/// Ties go to the first alpha listed. Requires cv_error.shape(0) == alphas.size() >= 1.
inline std::vector<double> ridge_choose_alphas(const xt::xtensor<double, 2>& cv_error, const std::vector<double>& alphas,
                                               bool per_target) {
    const std::size_t na = alphas.size(), t = cv_error.shape(1);
    std::vector<double> chosen(t, alphas[0]);
    if (per_target) {
        for (std::size_t j = 0; j < t; ++j) chosen[j] = alphas[ridge_best_alpha(cv_error, j)];
        return chosen;
    }
    std::size_t best = 0;
    double best_sum = std::numeric_limits<double>::infinity();
    for (std::size_t a = 0; a < na; ++a) {
        double s = 0;
        for (std::size_t j = 0; j < t; ++j) s += cv_error(a, j);
        if (s < best_sum) best_sum = s, best = a;
    }
    chosen.assign(t, alphas[best]);
    return chosen;
}

} // namespace detail

/// Options of brain::ridge.
struct ridge_options {
    bool fit_intercept = true;      ///< Centre X and Y and fit an intercept (scikit-learn's fit_intercept).
    std::size_t block_targets = 0;  ///< Targets solved per block; 0 = automatic (~32 MB per (samples x block) buffer).
};

/// Linear model shared by ridge and ridge_cv: predict / score like scikit-learn.
template <real T>
struct linear_model {
    matrix<T> coef;      ///< (features, targets) (scikit-learn's coef_ transposed); empty until fit.
    vector<T> intercept; ///< (targets); zero without fit_intercept.

    /// X coef + intercept, shape (rows, targets). Requires a fitted model and X with
    /// `features` columns (shape_error naming X and coef).
    matrix<T> predict(const matrix<T>& x) const {
        if (coef.size() == 0) throw data_error("ridge.predict: the model is not fitted (or was fitted by fit_pearson with keep_coef = false)");
        if (x.shape(1) != coef.shape(0)) throw_shape_mismatch("ridge.predict: feature counts differ", "X", x.shape(), "coef", coef.shape());
        matrix<T> out;
        gemm<T>(x, coef, out, false, false, T(1), T(0), "X", "coef");
        const std::size_t t = coef.shape(1);
        parallel_for(out.shape(0), row_grain, [&](std::size_t i0, std::size_t i1) {
            for (std::size_t i = i0; i < i1; ++i)
                for (std::size_t j = 0; j < t; ++j) out(i, j) += intercept(j);
        });
        return out;
    }
    /// R^2 of each target on (X, Y) (sklearn r2_score raw_values convention).
    vector<T> score_per_target(const matrix<T>& x, const matrix<T>& y) const {
        const matrix<T> p = predict(x);
        if (y.shape(0) != p.shape(0) || y.shape(1) != p.shape(1))
            throw_shape_mismatch("ridge.score: Y does not match the prediction", "Y", y.shape(), "prediction", p.shape());
        vector<T> r = vector<T>::from_shape({y.shape(1)});
        const std::size_t n = y.shape(0);
        for (std::size_t j = 0; j < y.shape(1); ++j) {
            double m = 0, sse = 0, sst = 0;
            for (std::size_t i = 0; i < n; ++i) m += double(y(i, j));
            m /= double(n);
            for (std::size_t i = 0; i < n; ++i) {
                const double e = double(y(i, j)) - double(p(i, j)), d = double(y(i, j)) - m;
                sse += e * e, sst += d * d;
            }
            r(j) = sst > 0 ? T(1 - sse / sst) : T(sse == 0 ? 1 : 0);
        }
        return r;
    }
    /// Mean R^2 over targets (scikit-learn's score, multioutput="uniform_average").
    double score(const matrix<T>& x, const matrix<T>& y) const {
        const auto r = score_per_target(x, y);
        double s = 0;
        for (auto v : r) s += double(v);
        return s / double(r.size());
    }
};

/// Ridge with a fixed alpha (one for all targets, or one per target).
template <real T>
struct ridge : linear_model<T> {
    double alpha = 1.0;       ///< Penalty used by fit(x, y); must be > 0.
    ridge_options options{};  ///< Intercept and blocking options.

    ridge() = default;
    /// A ridge with penalty a (> 0, checked at fit) and options o.
    explicit ridge(double a, ridge_options o = {}) : alpha(a), options(o) {}

    /// Fits all targets with `alpha`. Requires X (n, p) and Y (n, t) finite, n >= 2.
    ridge& fit(const matrix<T>& x, const matrix<T>& y) {
        return fit(x, y, std::vector<double>(y.shape(1), alpha));
    }
    /// Fits target j with alphas[j]. Requires alphas.size() == targets, all > 0.
    ridge& fit(const matrix<T>& x, const matrix<T>& y, const std::vector<double>& alphas) {
        detail::ridge_check_xy(x, y, "ridge.fit");
        detail::ridge_check_alphas(alphas, "ridge.fit");
        if (alphas.size() != y.shape(1))
            throw shape_error("ridge.fit: " + std::to_string(alphas.size()) + " alphas for Y of shape " + shape_string(y.shape()));
        const auto sp = detail::ridge_decompose(x, options.fit_intercept);
        fit_from_spectrum(sp, y, alphas, options, *this);
        return *this;
    }

    /// Buffers of solve_block, reused from block to block.
    struct block_workspace {
        matrix<T> zs;              ///< The block's scaled solution in the spectral basis (rank, block).
        matrix<T> pred;            ///< The block's held-out prediction (test rows, block).
        matrix<T> coefb;           ///< keep_coef = false with no held-out set: the block's coefficients
        matrix<T> a_te;            ///< keep_coef = false: (X_test - x_mean) V, (test rows, rank), made once
        std::vector<double> xv;    ///< keep_coef = false: V^T x_mean, (rank), made once
        bool projected = false;    ///< a_te / xv made
    };

    /// Coefficients for every target of y from a decomposition of X (used by ridge_cv too).
    /// With a held-out set, each block of coefficients also predicts its rows and scores
    /// them (Pearson r per target); keep_coef = false then never stores the (features x
    /// targets) coefficients whole (model.coef stays empty), so memory stays a few blocks.
    static void fit_from_spectrum(const detail::ridge_spectrum<T>& sp, const matrix<T>& y, const std::vector<double>& alphas,
                                  const ridge_options& o, linear_model<T>& model,
                                  const detail::ridge_heldout<T>& test = {}, bool keep_coef = true) {
        const std::size_t n = sp.n, t = y.shape(1), r = sp.rank(), p = sp.p;
        model.coef = keep_coef ? matrix<T>::from_shape({p, t}) : matrix<T>::from_shape({0, 0});
        model.intercept = vector<T>::from_shape({t});
        const std::size_t bs = detail::ridge_block(o.block_targets, n, t, sizeof(T));
        matrix<T> yb, z;
        block_workspace ws;
        std::vector<double> mean;
        if (test.r) test.r->assign(t, 0.0);
        for (std::size_t c0 = 0; c0 < t; c0 += bs) {
            const std::size_t b = std::min(bs, t - c0);
            detail::gather_block(y, nullptr, c0, b, o.fit_intercept, yb, mean);
            ensure_shape(z, r, b);
            if (r > 0) gemm_raw<T>(true, false, r, b, n, T(1), sp.u_t.data(), r, yb.data(), b, T(0), z.data(), b);
            solve_block(sp, z, alphas, c0, mean, o.fit_intercept, model, test, keep_coef, ws);
        }
    }

    /// Targets [c0, c0 + b) from the block's Z = U^T Yc (rank x b) and target means, with
    /// alphas[c0 + j]: intercepts, coefficients into model.coef (sized (p, t) by the caller)
    /// when keep_coef, and with a held-out set the Pearson r of its predictions into
    /// test.r[c0 + j]. keep_coef = false predicts through (X_test - x_mean) V (made once, test
    /// rows x rank) and never forms the block's coefficients when there is a held-out set.
    static void solve_block(const detail::ridge_spectrum<T>& sp, const matrix<T>& z, const std::vector<double>& alphas,
                            std::size_t c0, const std::vector<double>& mean, bool center, linear_model<T>& model,
                            const detail::ridge_heldout<T>& test, bool keep_coef, block_workspace& ws) {
        const std::size_t r = sp.rank(), b = z.shape(1), p = sp.p, t = model.intercept.size();
        if (keep_coef || !test.r) {
            if (!keep_coef) ensure_shape(ws.coefb, p, b);
            T* cdst = keep_coef ? model.coef.data() + c0 : ws.coefb.data();
            const std::size_t ldc = keep_coef ? t : b;
            detail::ridge_solve_block(sp, z, alphas, c0, mean, center, ws.zs, cdst, ldc, model.intercept.data() + c0);
            if (test.r) {
                const std::size_t nte = test.x->shape(0);
                ensure_shape(ws.pred, nte, b);
                for (std::size_t i = 0; i < nte; ++i) std::copy_n(model.intercept.data() + c0, b, ws.pred.data() + i * b);
                gemm_raw<T>(false, false, nte, b, p, T(1), test.x->data(), p, cdst, ldc, T(1), ws.pred.data(), b);
                detail::pearson_block(ws.pred, *test.y, c0, test.r->data() + c0);
            }
            return;
        }
        // Scores only: prediction = (X_test - x_mean) V zs + y_mean, intercept = y_mean - (V^T x_mean) . zs.
        const std::size_t nte = test.x->shape(0);
        if (!ws.projected) {
            matrix<T> xc = matrix<T>::from_shape({nte, p});
            for (std::size_t i = 0; i < nte; ++i)
                for (std::size_t j = 0; j < p; ++j) xc(i, j) = T(double((*test.x)(i, j)) - sp.x_mean[j]);
            ws.a_te = xt::zeros<T>({nte, std::max<std::size_t>(r, 1)});
            if (r > 0) gemm_raw<T>(false, false, nte, r, p, T(1), xc.data(), p, sp.v_t.data(), r, T(0), ws.a_te.data(), r);
            ws.xv.assign(r, 0.0);
            for (std::size_t i = 0; i < p; ++i)
                for (std::size_t k = 0; k < r; ++k) ws.xv[k] += sp.x_mean[i] * double(sp.v_t(i, k));
            ws.projected = true;
        }
        detail::ridge_scale_block(sp, z, alphas, c0, ws.zs);
        std::vector<double> icpt(b, 0.0);
        if (center) {
            std::copy_n(mean.data(), b, icpt.data());
            for (std::size_t k = 0; k < r; ++k)
                for (std::size_t j = 0; j < b; ++j) icpt[j] -= ws.xv[k] * double(ws.zs(k, j));
        }
        for (std::size_t j = 0; j < b; ++j) model.intercept(c0 + j) = T(icpt[j]);
        ensure_shape(ws.pred, nte, b);
        for (std::size_t i = 0; i < nte; ++i)
            for (std::size_t j = 0; j < b; ++j) ws.pred(i, j) = center ? T(mean[j]) : T(0);
        if (r > 0) gemm_raw<T>(false, false, nte, b, r, T(1), ws.a_te.data(), r, ws.zs.data(), b, T(1), ws.pred.data(), b);
        detail::pearson_block(ws.pred, *test.y, c0, test.r->data() + c0);
    }
};

enum class cv_method { leave_one_out, kfold };

/// Options of brain::ridge_cv.
struct ridge_cv_options {
    std::vector<double> alphas = {0.1, 1.0, 10.0}; ///< The grid (each > 0).
    cv_method method = cv_method::leave_one_out;   ///< Exact leave-one-out or k-fold.
    std::size_t folds = 5;                 ///< kfold: contiguous folds like sklearn KFold(folds)
    std::vector<std::size_t> fold_of_row{};  ///< kfold: explicit fold per sample (e.g. group_folds); overrides `folds`
    bool alpha_per_target = true;          ///< false: one alpha minimising the summed error
    bool fit_intercept = true;             ///< As ridge_options::fit_intercept.
    std::size_t block_targets = 0;         ///< As ridge_options::block_targets (0 = automatic).
    bool keep_coef = true;                 ///< fit_pearson: false = never store coef whole
};

/// Ridge whose alpha is chosen per target from a grid by exact leave-one-out (equal to
/// sklearn RidgeCV(alphas, alpha_per_target=True)) or by k-fold CV (the alpha with the least
/// squared error summed over all held-out samples; ties go to the earlier alpha).
template <real T>
struct ridge_cv : linear_model<T> {
    ridge_cv_options options{};   ///< Grid, CV method and blocking.
    std::vector<double> alpha;    ///< Chosen alpha per target (after fit).
    xt::xtensor<double, 2> cv_error;  ///< (alphas, targets): mean squared held-out / LOO error

    ridge_cv() = default;
    /// A ridge_cv with options o (checked at fit).
    explicit ridge_cv(ridge_cv_options o) : options(std::move(o)) {}

    /// Requires X (n, p), Y (n, t) finite with n >= 2 (kfold: 2 <= folds <= n, or
    /// fold_of_row of size n with every fold non-empty and not all rows).
    ridge_cv& fit(const matrix<T>& x, const matrix<T>& y) { return fit_impl(x, y, {}); }

    /// fit(x, y), then the Pearson r of every target between X_test coef + intercept and
    /// Y_test, computed block by block while fitting (the test prediction is never whole;
    /// with options.keep_coef = false neither are the coefficients: peak memory is the
    /// inputs plus a few (samples x block) buffers). Requires X_test (m, p), Y_test (m, t).
    std::vector<double> fit_pearson(const matrix<T>& x, const matrix<T>& y, const matrix<T>& x_test,
                                    const matrix<T>& y_test) {
        if (x_test.shape(1) != x.shape(1))
            throw_shape_mismatch("ridge_cv.fit_pearson: feature counts differ", "X", x.shape(), "X_test", x_test.shape());
        if (y_test.shape(1) != y.shape(1) || y_test.shape(0) != x_test.shape(0))
            throw_shape_mismatch("ridge_cv.fit_pearson: Y_test does not match X_test rows and Y targets", "Y_test",
                                 y_test.shape(), "X_test", x_test.shape());
        std::vector<double> r;
        fit_impl(x, y, {&x_test, &y_test, &r});
        return r;
    }

private:
    ridge_cv& fit_impl(const matrix<T>& x, const matrix<T>& y, const detail::ridge_heldout<T>& test) {
        detail::ridge_check_xy(x, y, "ridge_cv.fit");
        detail::ridge_check_alphas(options.alphas, "ridge_cv.fit");
        const std::size_t na = options.alphas.size(), t = y.shape(1);
        cv_error = xt::zeros<double>({na, t});
        const auto sp = detail::ridge_decompose(x, options.fit_intercept);
        const bool keep = options.keep_coef || test.r == nullptr;
        if (options.method == cv_method::leave_one_out && options.alpha_per_target) {
            loo_fit_one_pass(sp, y, test, keep);
            return *this;
        }
        if (options.method == cv_method::leave_one_out) loo_errors(sp, y);
        else kfold_errors(x, y);
        alpha = detail::ridge_choose_alphas(cv_error, options.alphas, options.alpha_per_target);
        ridge<T>::fit_from_spectrum(sp, y, alpha, {options.fit_intercept, options.block_targets}, *this, test, keep);
        return *this;
    }

    /// Leverage weights w(a, i) = 1 / (1 - h_i(a))^2, shared by all targets.
    xt::xtensor<double, 2> loo_weights(const detail::ridge_spectrum<T>& sp) const {
        const std::size_t n = sp.n, r = sp.rank(), na = options.alphas.size();
        xt::xtensor<double, 2> w = xt::zeros<double>({na, n});
        xt::xtensor<double, 2> f = xt::zeros<double>({na, std::max<std::size_t>(r, 1)});  // s^2 / (s^2 + a)
        for (std::size_t a = 0; a < na; ++a)
            for (std::size_t k = 0; k < r; ++k) f(a, k) = sp.s2[k] / (sp.s2[k] + options.alphas[a]);
        parallel_for(n, row_grain, [&](std::size_t i0, std::size_t i1) {
            for (std::size_t a = 0; a < na; ++a)
                for (std::size_t i = i0; i < i1; ++i) {
                    double h = options.fit_intercept ? 1.0 / double(n) : 0.0;
                    for (std::size_t k = 0; k < r; ++k) h += sp.u(i, k) * sp.u(i, k) * f(a, k);
                    const double d = 1.0 - h;
                    w(a, i) = d > loo_leverage_floor ? 1.0 / (d * d) : loo_weight_cap;
                }
        });
        return w;
    }

    /// cv_error(a, c0 + j) for the block's targets, from the centred block yb (n x b) and
    /// z = U^T yb (r x b). The LOO residual e(a) = Yc - U diag(s^2 / (s^2 + a)) Z is made in
    /// place of yb (which is left holding e(a) of the last alpha), one GEMM per alpha: the
    /// first e(a_0) = Yc - U D_0 Z, then e(a_k) = e(a_{k-1}) + U (D_{k-1} - D_k) Z, so the
    /// rounding of the large part common to all alphas (Yc minus its projection) is common
    /// too and near-tied alphas are ranked like scikit-learn's double computation.
    /// cv_error = mean_i w_i(a) e_ij^2 in double.
    void loo_block(const detail::ridge_spectrum<T>& sp, const xt::xtensor<double, 2>& w, matrix<T>& yb,
                   const matrix<T>& z, std::size_t c0, matrix<T>& ze) {
        const std::size_t n = sp.n, r = sp.rank(), b = yb.shape(1), na = options.alphas.size();
        ensure_shape(ze, r, b);
        for (std::size_t a = 0; a < na; ++a) {
            const double al = options.alphas[a], prev = a > 0 ? options.alphas[a - 1] : 0.0;
            parallel_for(r, spectral_row_grain, [&](std::size_t k0, std::size_t k1) {
                for (std::size_t k = k0; k < k1; ++k) {
                    const double s2 = sp.s2[k];
                    // D_0 = s2 / (s2 + a_0); D_{k-1} - D_k = s2 (a_k - a_{k-1}) / ((s2 + a_{k-1}) (s2 + a_k))
                    const T f = T(a == 0 ? s2 / (s2 + al) : s2 * (al - prev) / ((s2 + prev) * (s2 + al)));
                    for (std::size_t j = 0; j < b; ++j) ze(k, j) = z(k, j) * f;
                }
            });
            if (r > 0)
                gemm_raw<T>(false, false, n, b, r, T(a == 0 ? -1 : 1), sp.u_t.data(), r, ze.data(), b, T(1), yb.data(), b);
            // vectorised at the CPU's width
            const double* wa = &w(a, 0);
            parallel_for(b, column_block_grain, [&](std::size_t j0, std::size_t j1) {
                std::vector<double> acc(j1 - j0, 0.0);
                simd_dispatch([&](auto) B2M_SIMD_INLINE {
                    detail::loo_error_rows(n, j1 - j0, wa, yb.data() + j0, b, acc.data());
                });
                for (std::size_t j = j0; j < j1; ++j) cv_error(a, c0 + j) = acc[j - j0] / double(n);
            });
        }
    }

    /// LOO errors of every target (the alphas are chosen after, from all of them).
    void loo_errors(const detail::ridge_spectrum<T>& sp, const matrix<T>& y) {
        const auto w = loo_weights(sp);
        matrix<T> ze;
        for_each_target_block(sp, y, [&](std::size_t c0, std::size_t, matrix<T>& yb, const matrix<T>& z,
                                         const std::vector<double>&) { loo_block(sp, w, yb, z, c0, ze); });
    }

    /// Calls f(c0, b, yb, z, mean) for each block of b targets from c0: yb the block of Y
    /// (centred with its training means `mean` when fitting an intercept; f may overwrite
    /// it), z = U^T yb (r x b).
    /// Blocks are sized by options.block_targets; the buffers are reused across blocks.
    template <class F>
    void for_each_target_block(const detail::ridge_spectrum<T>& sp, const matrix<T>& y, F&& f) const {
        const std::size_t n = sp.n, r = sp.rank(), t = y.shape(1);
        const std::size_t bs = detail::ridge_block(options.block_targets, n, t, sizeof(T));
        matrix<T> yb, z;
        std::vector<double> mean;
        for (std::size_t c0 = 0; c0 < t; c0 += bs) {
            const std::size_t b = std::min(bs, t - c0);
            detail::gather_block(y, nullptr, c0, b, options.fit_intercept, yb, mean);
            ensure_shape(z, r, b);
            if (r > 0) gemm_raw<T>(true, false, r, b, n, T(1), sp.u_t.data(), r, yb.data(), b, T(0), z.data(), b);
            f(c0, b, yb, z, mean);
        }
    }

    /// One pass over the targets for LOO with an alpha per target: each block's LOO errors,
    /// its alphas, coefficients and held-out scores from one Z = U^T Yc (the same numbers as
    /// loo_errors followed by ridge::fit_from_spectrum, with Y read and Z formed once).
    void loo_fit_one_pass(const detail::ridge_spectrum<T>& sp, const matrix<T>& y, const detail::ridge_heldout<T>& test,
                          bool keep_coef) {
        const std::size_t t = y.shape(1), p = sp.p;
        const auto w = loo_weights(sp);
        this->coef = keep_coef ? matrix<T>::from_shape({p, t}) : matrix<T>::from_shape({0, 0});
        this->intercept = vector<T>::from_shape({t});
        alpha.assign(t, options.alphas[0]);
        if (test.r) test.r->assign(t, 0.0);
        matrix<T> ze;
        typename ridge<T>::block_workspace ws;
        for_each_target_block(sp, y, [&](std::size_t c0, std::size_t b, matrix<T>& yb, const matrix<T>& z,
                                         const std::vector<double>& mean) {
            loo_block(sp, w, yb, z, c0, ze);
            for (std::size_t j = c0; j < c0 + b; ++j) alpha[j] = options.alphas[detail::ridge_best_alpha(cv_error, j)];
            ridge<T>::solve_block(sp, z, alpha, c0, mean, options.fit_intercept, *this, test, keep_coef, ws);
        });
    }

    void kfold_errors(const matrix<T>& x, const matrix<T>& y) {
        const std::size_t n = x.shape(0), p = x.shape(1), t = y.shape(1), na = options.alphas.size();
        std::vector<std::size_t> fold = options.fold_of_row;
        std::size_t k = 0;
        if (fold.empty()) {
            k = options.folds;
            if (k < 2 || k > n)
                throw data_error("ridge_cv.fit: " + std::to_string(k) + " folds for " + std::to_string(n) + " samples");
            fold.resize(n);
            // sklearn KFold: the first n % k folds hold n / k + 1 contiguous samples.
            std::size_t i = 0;
            for (std::size_t f = 0; f < k; ++f)
                for (std::size_t c = 0; c < n / k + (f < n % k ? 1 : 0); ++c) fold[i++] = f;
        } else {
            if (fold.size() != n)
                throw shape_error("ridge_cv.fit: fold_of_row has " + std::to_string(fold.size()) + " entries but X has shape " +
                                  shape_string(x.shape()));
            for (auto f : fold) k = std::max(k, f + 1);
        }
        for (std::size_t f = 0; f < k; ++f) {
            std::vector<std::size_t> tr, te;
            for (std::size_t i = 0; i < n; ++i) (fold[i] == f ? te : tr).push_back(i);
            if (te.empty()) continue;
            if (tr.size() < 2)
                throw data_error("ridge_cv.fit: fold " + std::to_string(f) + " leaves " + std::to_string(tr.size()) +
                                 " training samples (need >= 2)");
            matrix<T> xtr = matrix<T>::from_shape({tr.size(), p}), xte = matrix<T>::from_shape({te.size(), p});
            for (std::size_t i = 0; i < tr.size(); ++i) std::copy_n(x.data() + tr[i] * p, p, xtr.data() + i * p);
            for (std::size_t i = 0; i < te.size(); ++i)
                for (std::size_t j = 0; j < p; ++j) xte(i, j) = T(double(x(te[i], j)));
            const auto sp = detail::ridge_decompose(xtr, options.fit_intercept);
            const std::size_t r = sp.rank(), nte = te.size(), ntr = tr.size();
            for (std::size_t i = 0; i < nte; ++i)
                for (std::size_t j = 0; j < p; ++j) xte(i, j) = T(double(xte(i, j)) - sp.x_mean[j]);
            matrix<T> a_te = xt::zeros<T>({nte, std::max<std::size_t>(r, 1)});  // (Xte - mean) V
            if (r > 0) gemm_raw<T>(false, false, nte, r, p, T(1), xte.data(), p, sp.v_t.data(), r, T(0), a_te.data(), r);
            const std::size_t bs = detail::ridge_block(options.block_targets, n, t, sizeof(T));
            matrix<T> ytr, yte, z, zs, pred;
            std::vector<double> mean, unused;
            for (std::size_t c0 = 0; c0 < t; c0 += bs) {
                const std::size_t b = std::min(bs, t - c0);
                detail::gather_block(y, &tr, c0, b, options.fit_intercept, ytr, mean);
                detail::gather_block(y, &te, c0, b, false, yte, unused);
                ensure_shape(z, r, b);
                ensure_shape(zs, r, b);
                ensure_shape(pred, nte, b);
                if (r > 0) gemm_raw<T>(true, false, r, b, ntr, T(1), sp.u_t.data(), r, ytr.data(), b, T(0), z.data(), b);
                for (std::size_t a = 0; a < na; ++a) {
                    const double al = options.alphas[a];
                    for (std::size_t q = 0; q < r; ++q) {
                        const T fac = T(std::sqrt(sp.s2[q]) / (sp.s2[q] + al));
                        for (std::size_t j = 0; j < b; ++j) zs(q, j) = z(q, j) * fac;
                    }
                    if (r > 0) gemm_raw<T>(false, false, nte, b, r, T(1), a_te.data(), r, zs.data(), b, T(0), pred.data(), b);
                    else pred.fill(T(0));
                    parallel_for(b, column_block_grain, [&](std::size_t j0, std::size_t j1) {
                        for (std::size_t j = j0; j < j1; ++j) {
                            double s = 0;
                            for (std::size_t i = 0; i < nte; ++i) {
                                const double e = double(yte(i, j)) - mean[j] - double(pred(i, j));
                                s += e * e;
                            }
                            cv_error(a, c0 + j) += s / double(n);
                        }
                    });
                }
            }
        }
    }
};

} // namespace b2m::brain

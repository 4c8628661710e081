// b2m/brain/kernel_ridge.hpp - kernel ridge (the dual solve, for n < p) and multiple-kernel
// ridge (one kernel per feature space, space weights and alpha per target), as himalaya's
// KernelRidge / KernelRidgeCV / MultipleKernelRidgeCV (solver random_search).
//
// Kernels (himalaya's / scikit-learn's definitions; gamma = 0 means 1 / n_features):
//   linear  K(x, z) = <x, z>
//   poly    K(x, z) = (gamma <x, z> + coef0)^degree
//   rbf     K(x, z) = exp(-gamma ||x - z||^2)
//   precomputed: the caller passes K (train x train) and K (test x train).
// Fit: dual = (K + alpha I)^-1 Y through eigh(K) = Q diag(l) Q^T (double), so any number of
// alphas (one per target) costs one decomposition; with fit_intercept the kernel is centred
// like himalaya's KernelCenterer (train column means, test row means) and Y by its mean.
// Prediction: K(test, train) dual (+ mean of Y).
// Multiple-kernel CV: K = sum_k gamma_k K_k per candidate; per fold one eigh of the training
// block, then per target block one GEMM for Z = Q^T Ytr and one for the held-out predictions
// of every alpha; scores and the selection rule are those of banded_ridge_cv (himalaya's:
// -MSE averaged over folds + 1e-10 log alpha, a later candidate wins only by > eps).
// Negative eigenvalues (indefinite kernels, rounding): in CV an alpha below twice |l_min|
// scores -1e5 (never chosen, as himalaya); in the refit negative eigenvalues are set to 0.
// Memory: the kernels, n x n each, are held in full (this is the n < p regime).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "b2m/brain/banded_ridge.hpp"
#include "b2m/brain/linalg.hpp"
#include "b2m/brain/ridge.hpp"

#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/core/tolerance.hpp"

namespace b2m::brain {

/// The kernel of kernel ridge: a b^T, (gamma a b^T + coef0)^degree, exp(-gamma |a - b|^2), or given by the caller.
enum class kernel_kind { linear, poly, rbf, precomputed };

/// A kernel and its parameters (sklearn's names and defaults, gamma 0 meaning 1 / n_features).
struct kernel_spec {
    kernel_kind kind = kernel_kind::linear; ///< which kernel
    double degree = 3;   ///< poly
    double gamma = 0;    ///< poly, rbf; 0 = 1 / n_features
    double coef0 = 1;    ///< poly
};

/// K(a, b), (rows of a, rows of b). Requires equal feature counts (shape_error) and a
/// non-precomputed kind (data_error).
template <real T>
matrix<T> kernel_matrix(const matrix<T>& a, const matrix<T>& b, const kernel_spec& k) {
    if (a.shape(1) != b.shape(1)) throw_shape_mismatch("kernel_matrix: feature counts differ", "A", a.shape(), "B", b.shape());
    if (k.kind == kernel_kind::precomputed) throw data_error("kernel_matrix: a precomputed kernel cannot be computed from features");
    const std::size_t m = a.shape(0), n = b.shape(0), p = a.shape(1);
    matrix<T> out = matrix<T>::from_shape({m, n});
    if (m == 0 || n == 0) return out;
    gemm_raw<T>(false, true, m, n, p, T(1), a.data(), p, b.data(), p, T(0), out.data(), n);
    const double g = k.gamma > 0 ? k.gamma : 1.0 / double(std::max<std::size_t>(p, 1));
    if (k.kind == kernel_kind::poly) {
        for (std::size_t i = 0; i < out.size(); ++i) out.data()[i] = T(std::pow(g * double(out.data()[i]) + k.coef0, k.degree));
    } else if (k.kind == kernel_kind::rbf) {
        std::vector<double> na(m, 0.0), nb(n, 0.0);
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t q = 0; q < p; ++q) na[i] += double(a(i, q)) * double(a(i, q));
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t q = 0; q < p; ++q) nb[i] += double(b(i, q)) * double(b(i, q));
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                const double d2 = std::max(0.0, na[i] + nb[j] - 2.0 * double(out(i, j)));
                out(i, j) = T(std::exp(-g * d2));
            }
    }
    return out;
}

namespace detail {

/// Kernel centring statistics of a training kernel (himalaya's KernelCenterer).
struct kernel_centering {
    std::vector<double> col_mean;  ///< mean over rows of each training column
    double all_mean = 0;
    template <real T>
    void fit(const matrix<T>& k) {
        const std::size_t n = k.shape(0);
        col_mean.assign(k.shape(1), 0.0);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < k.shape(1); ++j) col_mean[j] += double(k(i, j));
        all_mean = 0;
        for (auto& v : col_mean) all_mean += (v /= double(n));
        all_mean /= double(std::max<std::size_t>(col_mean.size(), 1));
    }
    /// K(i, j) - col_mean(j) - mean_j K(i, :) + all_mean, in double.
    template <real T>
    xt::xtensor<double, 2> apply(const matrix<T>& k) const {
        const std::size_t m = k.shape(0), n = k.shape(1);
        xt::xtensor<double, 2> out({m, n});
        for (std::size_t i = 0; i < m; ++i) {
            double rm = 0;
            for (std::size_t j = 0; j < n; ++j) rm += double(k(i, j));
            rm /= double(n);
            for (std::size_t j = 0; j < n; ++j) out(i, j) = double(k(i, j)) - col_mean[j] - rm + all_mean;
        }
        return out;
    }
};

template <real T>
matrix<T> sub_kernel(const matrix<T>& k, const std::vector<std::size_t>& r, const std::vector<std::size_t>& c) {
    matrix<T> out = matrix<T>::from_shape({r.size(), c.size()});
    for (std::size_t i = 0; i < r.size(); ++i)
        for (std::size_t j = 0; j < c.size(); ++j) out(i, j) = k(r[i], c[j]);
    return out;
}

template <real T>
matrix<T> weighted_sum(const std::vector<matrix<T>>& ks, const std::vector<double>& g) {
    matrix<T> k = xt::zeros<T>(ks[0].shape());
    for (std::size_t q = 0; q < ks.size(); ++q)
        if (g[q] != 0)
            for (std::size_t i = 0; i < k.size(); ++i) k.data()[i] += T(g[q] * double(ks[q].data()[i]));
    return k;
}

/// dual (n, t) = (K + alpha_j I)^-1 Y(:, j) through eigh of the (double) kernel; negative
/// eigenvalues clipped to 0.
template <real T>
matrix<T> dual_solve(const xt::xtensor<double, 2>& kd, const matrix<T>& y, const std::vector<double>& alphas) {
    const std::size_t n = kd.shape(0), t = y.shape(1);
    auto [w, qc] = checked_eigh(kd, "kernel ridge: the training kernel matrix");
    const xt::xtensor<double, 2> q = qc;  // eigh's eigenvectors are column-major; the GEMMs want row-major
    xt::xtensor<double, 2> qy = xt::zeros<double>({n, t});
    xt::xtensor<double, 2> yd = xt::cast<double>(y);
    gemm_raw<double>(true, false, n, t, n, 1.0, q.data(), n, yd.data(), t, 0.0, qy.data(), t);
    for (std::size_t k = 0; k < n; ++k)
        for (std::size_t j = 0; j < t; ++j) qy(k, j) /= std::max(w(k), 0.0) + alphas[j];
    xt::xtensor<double, 2> d = xt::zeros<double>({n, t});
    gemm_raw<double>(false, false, n, t, n, 1.0, q.data(), n, qy.data(), t, 0.0, d.data(), t);
    return xt::cast<T>(d);
}

} // namespace detail

/// Kernel ridge with a fixed alpha (one, or one per target).
template <real T>
struct kernel_ridge {
    double alpha = 1.0;          ///< the ridge penalty (> 0)
    kernel_spec kernel{};        ///< the kernel (precomputed: fit and predict take kernel matrices)
    bool fit_intercept = false;  ///< himalaya's default
    matrix<T> x_train;           ///< features (not for precomputed)
    matrix<T> dual_coef;         ///< (n, targets)
    vector<T> y_mean;            ///< (targets), zeros without intercept
    detail::kernel_centering centering; ///< the training kernel's means, to centre test kernels (fit_intercept)

    kernel_ridge() = default;
    /// Unfitted, with penalty a, kernel k and fit_intercept = intercept.
    kernel_ridge(double a, kernel_spec k, bool intercept = false) : alpha(a), kernel(k), fit_intercept(intercept) {}

    /// Requires X (n, p), Y (n, t) finite, n >= 1, alpha > 0, a non-precomputed kernel.
    kernel_ridge& fit(const matrix<T>& x, const matrix<T>& y) {
        x_train = x;
        return fit_kernel(kernel_matrix(x, x, kernel), y);
    }
    /// Fit from a precomputed (n, n) training kernel.
    kernel_ridge& fit_kernel(const matrix<T>& k, const matrix<T>& y) {
        if (k.shape(0) != k.shape(1)) throw shape_error("kernel_ridge.fit: the training kernel has shape " + shape_string(k.shape()) + " (must be square)");
        if (k.shape(0) != y.shape(0)) throw_shape_mismatch("kernel_ridge.fit: sample counts differ", "K", k.shape(), "Y", y.shape());
        require_finite("kernel_ridge.fit K", k);
        require_finite("kernel_ridge.fit Y", y);
        detail::ridge_check_alphas({alpha}, "kernel_ridge.fit");
        const std::size_t n = y.shape(0), t = y.shape(1);
        y_mean = xt::zeros<T>({t});
        matrix<T> yc = y;
        xt::xtensor<double, 2> kd;
        if (fit_intercept) {
            centering.fit(k);
            kd = centering.apply(k);
            for (std::size_t j = 0; j < t; ++j) {
                double m = 0;
                for (std::size_t i = 0; i < n; ++i) m += double(y(i, j));
                y_mean(j) = T(m / double(n));
                for (std::size_t i = 0; i < n; ++i) yc(i, j) = T(double(y(i, j)) - m / double(n));
            }
        } else {
            kd = xt::cast<double>(k);
        }
        dual_coef = detail::dual_solve(kd, yc, std::vector<double>(t, alpha));
        return *this;
    }
    /// K(x, x_train) dual + mean. Requires a model fitted on features.
    matrix<T> predict(const matrix<T>& x) const {
        if (x_train.size() == 0) throw data_error("kernel_ridge.predict: the model is not fitted on features");
        return predict_kernel(kernel_matrix(x, x_train, kernel));
    }
    /// From a precomputed (rows, n_train) kernel.
    matrix<T> predict_kernel(const matrix<T>& k) const {
        if (dual_coef.size() == 0) throw data_error("kernel_ridge.predict: the model is not fitted");
        if (k.shape(1) != dual_coef.shape(0))
            throw_shape_mismatch("kernel_ridge.predict: the test kernel does not match the training samples", "K", k.shape(),
                                 "dual_coef", dual_coef.shape());
        const xt::xtensor<double, 2> kd = fit_intercept ? centering.apply(k) : xt::xtensor<double, 2>(xt::cast<double>(k));
        const std::size_t m = k.shape(0), n = k.shape(1), t = dual_coef.shape(1);
        xt::xtensor<double, 2> dd = xt::cast<double>(dual_coef), out = xt::zeros<double>({m, t});
        gemm_raw<double>(false, false, m, t, n, 1.0, kd.data(), n, dd.data(), t, 0.0, out.data(), t);
        matrix<T> o = matrix<T>::from_shape({m, t});
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < t; ++j) o(i, j) = T(out(i, j) + double(y_mean(j)));
        return o;
    }
};

/// Multiple-kernel ridge: per target, space weights gamma (a candidate) and alpha by k-fold CV.
/// With one kernel and the candidate {1} this is kernel ridge with a per-target CV alpha.
template <real T>
struct multiple_kernel_ridge_cv {
    banded_ridge_options options{};  ///< alphas, candidates / n_iter / concentration / seed, folds, fit_intercept, block_targets
    std::vector<std::vector<double>> candidates; ///< the space-weight candidates searched (each n_kernels weights)
    std::vector<std::size_t> best_candidate;     ///< (targets): index of each target's chosen candidate
    std::vector<double> best_alpha;              ///< (targets): each target's chosen alpha
    xt::xtensor<double, 2> cv_scores;  ///< (candidates, targets)
    matrix<T> dual_coef;               ///< (n_train, targets) for K = sum_k gamma_k K_k of the target's candidate
    vector<T> y_mean;                  ///< (targets): training target means (zeros without intercept)
    std::vector<detail::kernel_centering> centering;  ///< per used candidate (fit_intercept)
    std::size_t n_kernels = 0;         ///< the number of kernels (feature spaces) fitted with

    multiple_kernel_ridge_cv() = default;
    explicit multiple_kernel_ridge_cv(banded_ridge_options o) : options(std::move(o)) {} ///< Unfitted, with options o.

    /// gamma_{k,t} of each target's chosen candidate, (n_kernels, targets).
    xt::xtensor<double, 2> space_weights() const {
        xt::xtensor<double, 2> g = xt::zeros<double>({n_kernels, best_alpha.size()});
        for (std::size_t j = 0; j < best_alpha.size(); ++j)
            for (std::size_t k = 0; k < n_kernels; ++k) g(k, j) = candidates[best_candidate[j]][k];
        return g;
    }

    /// ks: the training kernels (n, n) of each space; y (n, t). Requires >= 1 kernel, all
    /// square of size n, finite; candidates as in banded_ridge_cv.
    multiple_kernel_ridge_cv& fit(const std::vector<matrix<T>>& ks, const matrix<T>& y) {
        const char* who = "multiple_kernel_ridge_cv.fit";
        if (ks.empty()) throw data_error(std::string(who) + ": no kernels given");
        const std::size_t n = y.shape(0), t = y.shape(1), na = options.alphas.size();
        for (std::size_t q = 0; q < ks.size(); ++q) {
            if (ks[q].shape(0) != n || ks[q].shape(1) != n)
                throw_shape_mismatch(std::string(who) + ": kernel " + std::to_string(q) + " is not (samples, samples)",
                                     "K", ks[q].shape(), "Y", y.shape());
            require_finite(std::string(who) + " kernel " + std::to_string(q), ks[q]);
        }
        require_finite(std::string(who) + " Y", y);
        detail::ridge_check_alphas(options.alphas, who);
        n_kernels = ks.size();
        candidates = options.candidates.empty()
                         ? dirichlet_candidates(options.n_iter, n_kernels, options.concentration, options.seed)
                         : options.candidates;
        for (std::size_t c = 0; c < candidates.size(); ++c)
            if (candidates[c].size() != n_kernels)
                throw shape_error(std::string(who) + ": candidate " + std::to_string(c) + " has " +
                                  std::to_string(candidates[c].size()) + " weights for " + std::to_string(n_kernels) + " kernels");
        std::size_t nf = 0;
        const auto fold = detail::kfold_assignment(n, options.folds, options.fold_of_row, who, nf);
        std::vector<std::vector<std::size_t>> tr(nf), te(nf);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t f = 0; f < nf; ++f) (fold[i] == f ? te[f] : tr[f]).push_back(i);
        const std::size_t nc = candidates.size();
        cv_scores = xt::zeros<double>({nc, t});
        best_candidate.assign(t, 0);
        best_alpha.assign(t, 1.0);
        std::vector<double> best_score(t, -std::numeric_limits<double>::infinity());
        const double eps = std::numeric_limits<T>::epsilon();
        xt::xtensor<double, 2> sc({na, t});
        const std::size_t bs = options.block_targets ? std::min(options.block_targets, t) : t;
        matrix<T> qt, a_te, ytr, yte, z, zs, pred;
        std::vector<double> mean, unused;
        for (std::size_t c = 0; c < nc; ++c) {
            const matrix<T> kc = detail::weighted_sum(ks, candidates[c]);
            sc.fill(0.0);
            for (std::size_t f = 0; f < nf; ++f) {
                const std::size_t ntr = tr[f].size(), nte = te[f].size();
                const matrix<T> ktr = detail::sub_kernel(kc, tr[f], tr[f]), kte = detail::sub_kernel(kc, te[f], tr[f]);
                xt::xtensor<double, 2> ktr_d, kte_d;
                if (options.fit_intercept) {
                    detail::kernel_centering cen;
                    cen.fit(ktr);
                    ktr_d = cen.apply(ktr);
                    kte_d = cen.apply(kte);
                } else {
                    ktr_d = xt::cast<double>(ktr);
                    kte_d = xt::cast<double>(kte);
                }
                auto [w, qc] = checked_eigh(ktr_d, "kernel ridge: a fold's training kernel matrix");  // ascending; column-major
                const xt::xtensor<double, 2> q = qc;
                xt::xtensor<double, 2> aq = xt::zeros<double>({nte, ntr});
                gemm_raw<double>(false, false, nte, ntr, ntr, 1.0, kte_d.data(), ntr, q.data(), ntr, 0.0, aq.data(), ntr);
                qt = xt::cast<T>(q);
                a_te = xt::cast<T>(aq);
                std::vector<bool> bad(na, false);
                if (w(0) < 0)
                    for (std::size_t a = 0; a < na; ++a) bad[a] = options.alphas[a] < -2.0 * w(0);
                for (std::size_t c0 = 0; c0 < t; c0 += bs) {
                    const std::size_t b = std::min(bs, t - c0), wd = b * na;
                    detail::gather_block(y, &tr[f], c0, b, options.fit_intercept, ytr, mean);
                    detail::gather_block(y, &te[f], c0, b, false, yte, unused);
                    if (!options.fit_intercept) mean.assign(b, 0.0);
                    ensure_shape(z, ntr, b);
                    ensure_shape(zs, ntr, wd);
                    ensure_shape(pred, nte, wd);
                    gemm_raw<T>(true, false, ntr, b, ntr, T(1), qt.data(), ntr, ytr.data(), b, T(0), z.data(), b);
                    for (std::size_t k = 0; k < ntr; ++k)
                        for (std::size_t a = 0; a < na; ++a) {
                            const double fa = 1.0 / (w(k) + options.alphas[a]);
                            for (std::size_t j = 0; j < b; ++j) zs(k, a * b + j) = T(double(z(k, j)) * fa);
                        }
                    gemm_raw<T>(false, false, nte, wd, ntr, T(1), a_te.data(), ntr, zs.data(), wd, T(0), pred.data(), wd);
                    std::vector<double> acc(wd, 0.0);  // row by row: contiguous reads
                    for (std::size_t i = 0; i < nte; ++i)
                        for (std::size_t a = 0; a < na; ++a)
                            for (std::size_t j = 0; j < b; ++j) {
                                const double e = double(yte(i, j)) - mean[j] - double(pred(i, a * b + j));
                                acc[a * b + j] += e * e;
                            }
                    for (std::size_t a = 0; a < na; ++a)
                        for (std::size_t j = 0; j < b; ++j)
                            sc(a, c0 + j) += (bad[a] ? -1e5 : -acc[a * b + j] / double(nte)) / double(nf);
                }
            }
            for (std::size_t j = 0; j < t; ++j) {
                std::size_t ba = 0;
                double bsc = sc(0, j) + alpha_tiebreak_slope * std::log(options.alphas[0]);
                for (std::size_t a = 1; a < na; ++a) {
                    const double v = sc(a, j) + alpha_tiebreak_slope * std::log(options.alphas[a]);
                    if (v > bsc) bsc = v, ba = a;
                }
                cv_scores(c, j) = bsc;
                if (bsc > best_score[j] + eps) best_score[j] = bsc, best_candidate[j] = c, best_alpha[j] = options.alphas[ba];
            }
        }
        // Refit per used candidate on all samples.
        dual_coef = xt::zeros<T>({n, t});
        y_mean = xt::zeros<T>({t});
        centering.assign(nc, {});
        for (std::size_t c = 0; c < nc; ++c) {
            std::vector<std::size_t> cols;
            for (std::size_t j = 0; j < t; ++j)
                if (best_candidate[j] == c) cols.push_back(j);
            if (cols.empty()) continue;
            const matrix<T> kc = detail::weighted_sum(ks, candidates[c]);
            xt::xtensor<double, 2> kd;
            if (options.fit_intercept) {
                centering[c].fit(kc);
                kd = centering[c].apply(kc);
            } else {
                kd = xt::cast<double>(kc);
            }
            matrix<T> yc = matrix<T>::from_shape({n, cols.size()});
            std::vector<double> al(cols.size());
            for (std::size_t q = 0; q < cols.size(); ++q) {
                al[q] = best_alpha[cols[q]];
                double m = 0;
                if (options.fit_intercept) {
                    for (std::size_t i = 0; i < n; ++i) m += double(y(i, cols[q]));
                    m /= double(n);
                }
                y_mean(cols[q]) = T(m);
                for (std::size_t i = 0; i < n; ++i) yc(i, q) = T(double(y(i, cols[q])) - m);
            }
            const matrix<T> d = detail::dual_solve(kd, yc, al);
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t q = 0; q < cols.size(); ++q) dual_coef(i, cols[q]) = d(i, q);
        }
        return *this;
    }

    /// Predictions from the test kernels (rows, n_train), one per space; with split, the
    /// per-space parts gamma_k K_k dual (centred kernels with fit_intercept; mean not added).
    matrix<T> predict(const std::vector<matrix<T>>& ks_test) const { return predict_impl(ks_test, nullptr); }
    /// The per-space parts of predict (n_kernels matrices (rows, targets)), see predict.
    std::vector<matrix<T>> predict_split(const std::vector<matrix<T>>& ks_test) const {
        std::vector<matrix<T>> parts;
        predict_impl(ks_test, &parts);
        return parts;
    }

private:
    matrix<T> predict_impl(const std::vector<matrix<T>>& ks_test, std::vector<matrix<T>>* parts) const {
        if (dual_coef.size() == 0) throw data_error("multiple_kernel_ridge_cv.predict: the model is not fitted");
        if (ks_test.size() != n_kernels)
            throw shape_error("multiple_kernel_ridge_cv.predict: " + std::to_string(ks_test.size()) + " test kernels for a model of " +
                              std::to_string(n_kernels));
        const std::size_t n = dual_coef.shape(0), t = dual_coef.shape(1), m = ks_test[0].shape(0);
        for (const auto& k : ks_test)
            if (k.shape(0) != m || k.shape(1) != n)
                throw_shape_mismatch("multiple_kernel_ridge_cv.predict: a test kernel is not (rows, training samples)", "K", k.shape(),
                                     "dual_coef", dual_coef.shape());
        if (parts && options.fit_intercept)
            throw data_error("multiple_kernel_ridge_cv.predict_split: split predictions need fit_intercept = false "
                             "(as in himalaya): centre the kernels and the targets beforehand");
        matrix<T> out = xt::zeros<T>({m, t});
        if (parts) parts->assign(n_kernels, xt::zeros<T>({m, t}));
        for (std::size_t c = 0; c < candidates.size(); ++c) {
            std::vector<std::size_t> cols;
            for (std::size_t j = 0; j < t; ++j)
                if (best_candidate[j] == c) cols.push_back(j);
            if (cols.empty()) continue;
            xt::xtensor<double, 2> dd({n, cols.size()});
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t q = 0; q < cols.size(); ++q) dd(i, q) = double(dual_coef(i, cols[q]));
            const matrix<T> kc = detail::weighted_sum(ks_test, candidates[c]);
            for (std::size_t part = 0; part <= (parts ? n_kernels : 0); ++part) {
                const bool whole = part == 0;
                matrix<T> k = whole ? kc : detail::weighted_sum(ks_test, unit(part - 1, candidates[c][part - 1]));
                xt::xtensor<double, 2> kd;
                if (options.fit_intercept) {
                    kd = centering[c].apply(k);
                } else {
                    kd = xt::cast<double>(k);
                }
                xt::xtensor<double, 2> o = xt::zeros<double>({m, cols.size()});
                gemm_raw<double>(false, false, m, cols.size(), n, 1.0, kd.data(), n, dd.data(), cols.size(), 0.0, o.data(), cols.size());
                for (std::size_t i = 0; i < m; ++i)
                    for (std::size_t q = 0; q < cols.size(); ++q) {
                        if (whole) out(i, cols[q]) = T(o(i, q) + double(y_mean(cols[q])));
                        else (*parts)[part - 1](i, cols[q]) = T(o(i, q));
                    }
            }
        }
        return out;
    }
    std::vector<double> unit(std::size_t k, double g) const {
        std::vector<double> u(n_kernels, 0.0);
        u[k] = g;
        return u;
    }
};

} // namespace b2m::brain

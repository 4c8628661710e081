// b2m/brain/banded_ridge.hpp - banded ridge: one regularisation per feature space per target.
//
// Model (Nunez-Elizalde, Huth & Gallant 2019; himalaya's BandedRidgeCV, solver random_search):
//   y_t = sum_k X_k w_{k,t} + b_t,
//   w_t = argmin ||y_t - sum_k X_k w_k - b||^2 + sum_k (alpha_t / gamma_{k,t}) ||w_k||^2,
// with the space weights gamma_t on the simplex (one candidate of a list) and alpha_t from a
// grid, both chosen per target by k-fold cross-validation. himalaya reports
// deltas = log(gamma / alpha); `deltas()` gives the same (spaces, targets) array.
//
// Search (as himalaya): candidates are a fixed list (`candidates`, to match a reference run
// exactly) or `n_iter` Dirichlet draws cycling through `concentration` (seeded; the first
// candidate is the equal weighting 1/K). For each candidate the CV score of every alpha is
// -mean squared held-out error averaged over folds, plus 1e-10 log(alpha) (ties go to the
// larger alpha); a target takes a later candidate only if its best score beats the current
// best by more than the machine epsilon of T. This reproduces himalaya's selection.
//
// Cost: per fold the training Gram matrix Xtr^T Xtr (p x p) is computed once and reused by
// every candidate: a candidate only rescales it (D G D, D = sqrt(gamma) per feature), takes
// its eigendecomposition D G D = V S V^T (p^3, independent of the targets), and then per
// block of targets one GEMM Z = (Xtr D V)^T Ytr and one GEMM giving the held-out predictions
// for all alphas at once, Xte D V diag(1/(s+alpha)) Z. So the cost is
// candidates x folds x (p^3 + n p t + n_te p t alphas): targets enter only through GEMMs.
// The refit on all samples decomposes once per candidate chosen by at least one target.
//
// Requires n >= p within each training fold for the primal form to be efficient (it stays
// correct for p > n: components below 1e-10 of the largest eigenvalue are dropped, like an
// rcond); for n << p use multiple_kernel_ridge_cv (b2m/brain/kernel_ridge.hpp).
// Threads: BLAS threads the GEMMs; element-wise passes use parallel_for outside BLAS calls.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "b2m/brain/linalg.hpp"
#include "b2m/brain/ridge.hpp"

#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/core/tolerance.hpp"

namespace b2m::brain {

namespace detail {

/// log of a Gamma(shape, 1) draw (Marsaglia-Tsang; shape < 1 through Gamma(shape + 1) u^(1/shape),
/// kept in logs so tiny concentrations do not underflow).
inline double log_gamma_draw(rng& r, double shape) {
    double boost = 0.0;
    if (shape < 1.0) {
        boost = std::log(1.0 - r.uniform()) / shape;  // log(u^(1/shape)), u in (0, 1]
        shape += 1.0;
    }
    const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = r.normal();
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        const double u = 1.0 - r.uniform();
        if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return std::log(d * v) + boost;
    }
}

/// sklearn KFold(k) folds (contiguous; the first n % k folds one larger), or the explicit ones.
inline std::vector<std::size_t> kfold_assignment(std::size_t n, std::size_t k, const std::vector<std::size_t>& given,
                                                 const char* who, std::size_t& n_folds) {
    std::vector<std::size_t> fold = given;
    n_folds = 0;
    if (fold.empty()) {
        if (k < 2 || k > n)
            throw data_error(std::string(who) + ": " + std::to_string(k) + " folds for " + std::to_string(n) + " samples");
        fold.resize(n);
        std::size_t i = 0;
        for (std::size_t f = 0; f < k; ++f)
            for (std::size_t c = 0; c < n / k + (f < n % k ? 1 : 0); ++c) fold[i++] = f;
        n_folds = k;
    } else {
        if (fold.size() != n)
            throw shape_error(std::string(who) + ": fold_of_row has " + std::to_string(fold.size()) + " entries for " +
                              std::to_string(n) + " samples");
        for (auto f : fold) n_folds = std::max(n_folds, f + 1);
    }
    for (std::size_t f = 0; f < n_folds; ++f) {
        const auto c = std::size_t(std::count(fold.begin(), fold.end(), f));
        if (c == 0) throw data_error(std::string(who) + ": fold " + std::to_string(f) + " is empty");
        if (n - c < 2)
            throw data_error(std::string(who) + ": fold " + std::to_string(f) + " leaves " + std::to_string(n - c) +
                             " training samples (need >= 2)");
    }
    return fold;
}

} // namespace detail

/// `n` space-weight vectors on the simplex of `spaces` dimensions, as himalaya's
/// generate_dirichlet_samples: Dirichlet(c, ..., c) draws alternating over `concentration`
/// (c = +inf gives equal weights), seeded; the first is then set to 1/spaces (as
/// solve_group_ridge_random_search does). Not bit-identical to numpy's generator: pass a
/// fixed list to banded_ridge_options::candidates to reproduce a himalaya run exactly.
/// Requires n >= 1, spaces >= 1, a non-empty list of positive concentrations.
inline std::vector<std::vector<double>> dirichlet_candidates(std::size_t n, std::size_t spaces,
                                                             const std::vector<double>& concentration,
                                                             std::uint64_t seed) {
    if (n == 0 || spaces == 0) throw data_error("dirichlet_candidates: need n >= 1 and spaces >= 1");
    if (concentration.empty()) throw data_error("dirichlet_candidates: no concentration given");
    for (double c : concentration)
        if (!(c > 0)) throw data_error("dirichlet_candidates: concentration " + std::to_string(c) + " is not positive");
    rng r(seed);
    std::vector<std::vector<double>> out(n, std::vector<double>(spaces, 1.0 / double(spaces)));
    for (std::size_t i = 1; i < n; ++i) {
        const double c = concentration[i % concentration.size()];
        if (std::isinf(c)) continue;
        std::vector<double> lg(spaces);
        for (auto& v : lg) v = detail::log_gamma_draw(r, c);
        const double mx = *std::max_element(lg.begin(), lg.end());
        double s = 0;
        for (auto& v : lg) s += (v = std::exp(v - mx));
        for (auto& v : lg) v /= s;
        out[i] = lg;
    }
    return out;
}

/// Options of banded_ridge_cv and multiple_kernel_ridge_cv.
struct banded_ridge_options {
    std::vector<double> alphas = {1e-2, 1e-1, 1, 10, 100, 1e3, 1e4, 1e5}; ///< the ridge penalties tried per candidate (> 0)
    std::vector<std::vector<double>> candidates{};  ///< fixed space weights (one row per candidate); empty = random search
    std::size_t n_iter = 20;                        ///< random search: number of candidates
    std::vector<double> concentration = {0.1, 1.0};  ///< random search: Dirichlet concentrations, cycled
    std::uint64_t seed = 0;                         ///< random search seed
    std::size_t folds = 5;                          ///< contiguous folds like sklearn KFold(folds)
    std::vector<std::size_t> fold_of_row{};         ///< explicit fold per sample (e.g. group_folds); overrides folds
    bool fit_intercept = true;                      ///< centre features and targets (else no intercept)
    std::size_t block_targets = 0;                  ///< 0 = automatic
};

/// Banded ridge with per-target space weights and alpha chosen by CV (see the file comment).
template <real T>
struct banded_ridge_cv {
    banded_ridge_options options{};               ///< as given to the constructor
    std::vector<std::size_t> space_sizes;          ///< features per space
    std::vector<std::vector<double>> candidates;  ///< the candidates searched
    std::vector<std::size_t> best_candidate;      ///< (targets)
    std::vector<double> best_alpha;               ///< (targets)
    xt::xtensor<double, 2> cv_scores;             ///< (candidates, targets): best-alpha CV score (-MSE + 1e-10 log alpha)
    matrix<T> coef;                               ///< (sum of space sizes, targets), on the unscaled features
    vector<T> intercept;                          ///< (targets)
    std::vector<double> x_mean;                   ///< training feature means (zeros without intercept)

    banded_ridge_cv() = default;
    explicit banded_ridge_cv(banded_ridge_options o) : options(std::move(o)) {} ///< Unfitted, with options o.

    std::size_t spaces() const { return space_sizes.size(); } ///< The number of feature spaces (0 before fit).
    std::size_t targets() const { return best_alpha.size(); } ///< The number of targets (0 before fit).
    /// gamma_{k,t} of the chosen candidate, (spaces, targets).
    xt::xtensor<double, 2> space_weights() const {
        xt::xtensor<double, 2> g = xt::zeros<double>({spaces(), targets()});
        for (std::size_t j = 0; j < targets(); ++j)
            for (std::size_t k = 0; k < spaces(); ++k) g(k, j) = candidates[best_candidate[j]][k];
        return g;
    }
    /// himalaya's deltas_: log(gamma / alpha), (spaces, targets).
    xt::xtensor<double, 2> deltas() const {
        auto g = space_weights();
        for (std::size_t j = 0; j < targets(); ++j)
            for (std::size_t k = 0; k < spaces(); ++k) g(k, j) = std::log(g(k, j) / best_alpha[j]);
        return g;
    }

    /// Fits on the spaces xs (each (n, p_k)) and targets y (n, t). Requires at least one
    /// space, equal row counts, finite values, n >= 2, positive alphas, candidates of
    /// `spaces` non-negative weights with a positive sum (else data_error / shape_error).
    banded_ridge_cv& fit(const std::vector<matrix<T>>& xs, const matrix<T>& y) {
        const char* who = "banded_ridge_cv.fit";
        const matrix<T> x = concat(xs, who);
        space_sizes.clear();
        for (const auto& xk : xs) space_sizes.push_back(xk.shape(1));
        detail::ridge_check_xy(x, y, who);
        detail::ridge_check_alphas(options.alphas, who);
        const std::size_t n = x.shape(0), p = x.shape(1), t = y.shape(1), ns = xs.size(), na = options.alphas.size();
        candidates = options.candidates.empty()
                         ? dirichlet_candidates(options.n_iter, ns, options.concentration, options.seed)
                         : options.candidates;
        for (std::size_t c = 0; c < candidates.size(); ++c) {
            if (candidates[c].size() != ns)
                throw shape_error(std::string(who) + ": candidate " + std::to_string(c) + " has " +
                                  std::to_string(candidates[c].size()) + " weights for " + std::to_string(ns) + " spaces");
            double s = 0;
            for (double g : candidates[c]) {
                if (!(g >= 0) || !std::isfinite(g))
                    throw data_error(std::string(who) + ": candidate " + std::to_string(c) + " has weight " +
                                     std::to_string(g) + " (weights must be finite and >= 0)");
                s += g;
            }
            if (!(s > 0)) throw data_error(std::string(who) + ": candidate " + std::to_string(c) + " has all weights 0");
        }
        std::size_t nf = 0;
        const auto fold = detail::kfold_assignment(n, options.folds, options.fold_of_row, who, nf);
        std::vector<std::vector<std::size_t>> tr(nf), te(nf);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t f = 0; f < nf; ++f) (fold[i] == f ? te[f] : tr[f]).push_back(i);

        // Per fold, once: centred training / held-out features and the training Gram matrix.
        std::vector<matrix<T>> xtr(nf), xte(nf);
        std::vector<xt::xtensor<double, 2>> gram(nf);
        for (std::size_t f = 0; f < nf; ++f) {
            centred_rows(x, tr[f], te[f], xtr[f], xte[f]);
            xt::xtensor<double, 2> xd = xt::cast<double>(xtr[f]);
            gram[f] = xt::zeros<double>({p, p});
            gemm_raw<double>(true, false, p, p, tr[f].size(), 1.0, xd.data(), p, xd.data(), p, 0.0, gram[f].data(), p);
        }

        const std::size_t nc = candidates.size();
        cv_scores = xt::zeros<double>({nc, t});
        best_candidate.assign(t, 0);
        best_alpha.assign(t, 1.0);
        std::vector<double> best_score(t, -std::numeric_limits<double>::infinity());
        const double eps = std::numeric_limits<T>::epsilon();
        xt::xtensor<double, 2> sc({na, t});
        std::vector<double> slope(na);
        for (std::size_t a = 0; a < na; ++a) slope[a] = alpha_tiebreak_slope * std::log(options.alphas[a]);
        std::size_t max_te = 0;
        for (std::size_t f = 0; f < nf; ++f) max_te = std::max(max_te, te[f].size());
        // Target block: the stacked predictions (n_te x alphas x block) stay near 64 MB.
        const std::size_t bs = options.block_targets
                                   ? std::min(options.block_targets, t)
                                   : std::max<std::size_t>(1, std::min(t, (std::size_t(64) << 20) /
                                                                              (sizeof(T) * std::max<std::size_t>(1, max_te * na + n))));
        matrix<T> dv, btr, ate, ytr, yte, z, zs, pred;
        std::vector<double> mean, unused;
        for (std::size_t c = 0; c < nc; ++c) {
            const std::vector<double> d = feature_scales(candidates[c]);
            sc.fill(0.0);
            for (std::size_t f = 0; f < nf; ++f) {
                const std::size_t ntr = tr[f].size(), nte = te[f].size();
                std::vector<double> s2;
                scaled_eigenvectors(gram[f], d, dv, s2);
                const std::size_t r = s2.size();
                ensure_shape(btr, ntr, std::max<std::size_t>(r, 1));
                ensure_shape(ate, nte, std::max<std::size_t>(r, 1));
                if (r > 0) {
                    gemm_raw<T>(false, false, ntr, r, p, T(1), xtr[f].data(), p, dv.data(), r, T(0), btr.data(), r);
                    gemm_raw<T>(false, false, nte, r, p, T(1), xte[f].data(), p, dv.data(), r, T(0), ate.data(), r);
                }
                for (std::size_t c0 = 0; c0 < t; c0 += bs) {
                    const std::size_t b = std::min(bs, t - c0), w = b * na;
                    detail::gather_block(y, &tr[f], c0, b, options.fit_intercept, ytr, mean);
                    detail::gather_block(y, &te[f], c0, b, false, yte, unused);
                    if (!options.fit_intercept) mean.assign(b, 0.0);
                    ensure_shape(z, r, b);
                    ensure_shape(zs, r, w);
                    ensure_shape(pred, nte, w);
                    if (r > 0) gemm_raw<T>(true, false, r, b, ntr, T(1), btr.data(), r, ytr.data(), b, T(0), z.data(), b);
                    parallel_for(r, spectral_row_grain, [&](std::size_t k0, std::size_t k1) {
                        for (std::size_t k = k0; k < k1; ++k)
                            for (std::size_t a = 0; a < na; ++a) {
                                const double fa = 1.0 / (s2[k] + options.alphas[a]);
                                T* dst = zs.data() + k * w + a * b;
                                const T* src = z.data() + k * b;
                                for (std::size_t j = 0; j < b; ++j) dst[j] = T(double(src[j]) * fa);
                            }
                    });
                    if (r > 0) gemm_raw<T>(false, false, nte, w, r, T(1), ate.data(), r, zs.data(), w, T(0), pred.data(), w);
                    else pred.fill(T(0));
                    // held-out squared errors, row by row (contiguous) over column ranges
                    parallel_for(b, row_grain, [&](std::size_t j0, std::size_t j1) {
                        std::vector<double> acc((j1 - j0) * na, 0.0);
                        for (std::size_t i = 0; i < nte; ++i) {
                            const T* py = yte.data() + i * b;
                            for (std::size_t a = 0; a < na; ++a) {
                                const T* pp = pred.data() + i * w + a * b;
                                double* ac = acc.data() + a * (j1 - j0) - j0;
                                for (std::size_t j = j0; j < j1; ++j) {
                                    const double e = double(py[j]) - mean[j] - double(pp[j]);
                                    ac[j] += e * e;
                                }
                            }
                        }
                        for (std::size_t a = 0; a < na; ++a)
                            for (std::size_t j = j0; j < j1; ++j)
                                sc(a, c0 + j) += -acc[a * (j1 - j0) + j - j0] / double(nte) / double(nf);
                    });
                }
            }
            for (std::size_t j = 0; j < t; ++j) {
                std::size_t ba = 0;
                double bsc = sc(0, j) + slope[0];
                for (std::size_t a = 1; a < na; ++a)
                    if (sc(a, j) + slope[a] > bsc) bsc = sc(a, j) + slope[a], ba = a;
                cv_scores(c, j) = bsc;
                if (bsc > best_score[j] + eps) best_score[j] = bsc, best_candidate[j] = c, best_alpha[j] = options.alphas[ba];
            }
        }
        refit(x, y);
        return *this;
    }

    /// sum_k X_k w_k + b, (rows, targets). Requires a fitted model and spaces of the fitted sizes.
    matrix<T> predict(const std::vector<matrix<T>>& xs) const {
        const matrix<T> x = concat(xs, "banded_ridge_cv.predict");
        check_fitted(xs, x, "banded_ridge_cv.predict");
        matrix<T> out;
        gemm<T>(x, coef, out, false, false, T(1), T(0), "X", "coef");
        for (std::size_t i = 0; i < out.shape(0); ++i)
            for (std::size_t j = 0; j < out.shape(1); ++j) out(i, j) += intercept(j);
        return out;
    }

    /// Per-space predictions (X_k - mean_k) w_k, one (rows, targets) matrix per space; their
    /// sum is predict(xs) minus the training mean of y (the intercept folds the feature means
    /// in, so each part is centred on the training features). For r2_score_split pass
    /// y - (training mean of y); that split sums to 1 - SSE / sum (y - train mean)^2.
    std::vector<matrix<T>> predict_split(const std::vector<matrix<T>>& xs) const {
        const matrix<T> x = concat(xs, "banded_ridge_cv.predict_split");
        check_fitted(xs, x, "banded_ridge_cv.predict_split");
        std::vector<matrix<T>> out;
        std::size_t off = 0;
        const std::size_t t = coef.shape(1), rows = x.shape(0);
        for (std::size_t k = 0; k < spaces(); ++k) {
            const std::size_t pk = space_sizes[k];
            matrix<T> xc = matrix<T>::from_shape({rows, pk});
            for (std::size_t i = 0; i < rows; ++i)
                for (std::size_t q = 0; q < pk; ++q) xc(i, q) = T(double(x(i, off + q)) - x_mean[off + q]);
            matrix<T> part = xt::zeros<T>({rows, t});
            if (pk > 0) gemm_raw<T>(false, false, rows, t, pk, T(1), xc.data(), pk, coef.data() + off * t, t, T(0), part.data(), t);
            out.push_back(std::move(part));
            off += pk;
        }
        return out;
    }

private:
    /// The spaces side by side; requires >= 1 space and equal row counts.
    static matrix<T> concat(const std::vector<matrix<T>>& xs, const char* who) {
        if (xs.empty()) throw data_error(std::string(who) + ": no feature spaces given");
        std::size_t p = 0;
        const std::size_t n = xs[0].shape(0);
        for (std::size_t k = 0; k < xs.size(); ++k) {
            if (xs[k].shape(0) != n)
                throw_shape_mismatch(std::string(who) + ": sample counts of the spaces differ", "space 0", xs[0].shape(),
                                     "space " + std::to_string(k), xs[k].shape());
            p += xs[k].shape(1);
        }
        matrix<T> x = matrix<T>::from_shape({n, p});
        std::size_t off = 0;
        for (const auto& xk : xs) {
            const std::size_t pk = xk.shape(1);
            for (std::size_t i = 0; i < n; ++i) std::copy_n(xk.data() + i * pk, pk, x.data() + i * p + off);
            off += pk;
        }
        return x;
    }

    void check_fitted(const std::vector<matrix<T>>& xs, const matrix<T>& x, const char* who) const {
        if (coef.size() == 0) throw data_error(std::string(who) + ": the model is not fitted");
        if (xs.size() != space_sizes.size())
            throw shape_error(std::string(who) + ": " + std::to_string(xs.size()) + " spaces given, the model has " +
                              std::to_string(space_sizes.size()));
        for (std::size_t k = 0; k < xs.size(); ++k)
            if (xs[k].shape(1) != space_sizes[k])
                throw shape_error(std::string(who) + ": space " + std::to_string(k) + " has shape " +
                                  shape_string(xs[k].shape()) + " but the model was fitted with " +
                                  std::to_string(space_sizes[k]) + " features");
        if (x.shape(1) != coef.shape(0)) throw_shape_mismatch(std::string(who) + ": feature counts differ", "X", x.shape(), "coef", coef.shape());
    }

    std::vector<double> feature_scales(const std::vector<double>& gamma) const {
        std::vector<double> d;
        for (std::size_t k = 0; k < space_sizes.size(); ++k) d.insert(d.end(), space_sizes[k], std::sqrt(gamma[k]));
        return d;
    }

    void centred_rows(const matrix<T>& x, const std::vector<std::size_t>& tr, const std::vector<std::size_t>& te,
                      matrix<T>& xtr, matrix<T>& xte) const {
        const std::size_t p = x.shape(1);
        std::vector<double> m(p, 0.0);
        if (options.fit_intercept) {
            for (auto i : tr)
                for (std::size_t j = 0; j < p; ++j) m[j] += double(x(i, j));
            for (auto& v : m) v /= double(tr.size());
        }
        xtr = matrix<T>::from_shape({tr.size(), p});
        xte = matrix<T>::from_shape({te.size(), p});
        for (std::size_t r = 0; r < tr.size(); ++r)
            for (std::size_t j = 0; j < p; ++j) xtr(r, j) = T(double(x(tr[r], j)) - m[j]);
        for (std::size_t r = 0; r < te.size(); ++r)
            for (std::size_t j = 0; j < p; ++j) xte(r, j) = T(double(x(te[r], j)) - m[j]);
    }

    /// eigh(D G D) = V diag(s2) V^T, rank-cut; dv = D V (p x r) as T, s2 descending.
    static void scaled_eigenvectors(const xt::xtensor<double, 2>& g, const std::vector<double>& d, matrix<T>& dv,
                                    std::vector<double>& s2) {
        const std::size_t p = g.shape(0);
        xt::xtensor<double, 2> m({p, p});
        for (std::size_t i = 0; i < p; ++i)
            for (std::size_t j = 0; j < p; ++j) m(i, j) = g(i, j) * d[i] * d[j];
        auto [w, vecs] = checked_eigh(m, "banded ridge: the band-scaled features' Gram matrix");
        double wmax = 0;
        for (std::size_t k = 0; k < p; ++k) wmax = std::max(wmax, w(k));
        s2.clear();
        std::vector<std::size_t> keep;
        for (std::size_t k = p; k-- > 0;)
            if (w(k) > spectrum_rank_cut * wmax && w(k) > 0) keep.push_back(k), s2.push_back(w(k));
        const std::size_t r = keep.size();
        dv = matrix<T>::from_shape({p, std::max<std::size_t>(r, 1)});
        for (std::size_t i = 0; i < p; ++i)
            for (std::size_t c = 0; c < r; ++c) dv(i, c) = T(d[i] * vecs(i, keep[c]));
    }

    /// Coefficients on all samples: per used candidate, ridge on the scaled features with
    /// each target's alpha; coefficients rescaled to the unscaled features.
    void refit(const matrix<T>& x, const matrix<T>& y) {
        const std::size_t n = x.shape(0), p = x.shape(1), t = y.shape(1);
        coef = xt::zeros<T>({p, t});
        intercept = xt::zeros<T>({t});
        x_mean.assign(p, 0.0);
        if (options.fit_intercept) {
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t j = 0; j < p; ++j) x_mean[j] += double(x(i, j));
            for (auto& v : x_mean) v /= double(n);
        }
        for (std::size_t c = 0; c < candidates.size(); ++c) {
            std::vector<std::size_t> cols;
            for (std::size_t j = 0; j < t; ++j)
                if (best_candidate[j] == c) cols.push_back(j);
            if (cols.empty()) continue;
            const auto d = feature_scales(candidates[c]);
            matrix<T> xs = matrix<T>::from_shape({n, p});
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t j = 0; j < p; ++j) xs(i, j) = T(double(x(i, j)) * d[j]);
            matrix<T> yc = matrix<T>::from_shape({n, cols.size()});
            std::vector<double> al(cols.size());
            for (std::size_t q = 0; q < cols.size(); ++q) al[q] = best_alpha[cols[q]];
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t q = 0; q < cols.size(); ++q) yc(i, q) = y(i, cols[q]);
            const auto sp = detail::ridge_decompose(xs, options.fit_intercept);
            linear_model<T> lm;
            ridge<T>::fit_from_spectrum(sp, yc, al, {options.fit_intercept, options.block_targets}, lm);
            for (std::size_t q = 0; q < cols.size(); ++q) {
                for (std::size_t j = 0; j < p; ++j) coef(j, cols[q]) = T(double(lm.coef(j, q)) * d[j]);
                intercept(cols[q]) = lm.intercept(q);
            }
        }
    }
};

} // namespace b2m::brain

// b2m/mpi/ridge_rows.hpp - brain::ridge_cv over MPI ranks split by samples (rows), for
// data sets with many samples: each rank holds a block of the rows of X and Y.
//
//   mpi::communicator world;
//   mpi::row_sharded_ridge_cv<float> m({.alphas = grid});   // leave-one-out or k-fold
//   m.fit(world, x_rows, y_rows);     // rank k: its rows (rows of ranks 0..k-1 come first)
//   m.alpha, m.cv_error, m.coef, m.intercept   // every target, identical on every rank
//   auto r = brain::pearson_columns(y_test, m.predict(x_test));
//
// How (the result is brain::ridge_cv's on all rows stacked in rank order):
//   1. column sums of X and Y, then Xc^T Xc (p x p, double) are summed over ranks
//      (Xc, Yc centred with the global means);
//   2. rank 0 decomposes the summed Gram matrix once (eigh, the same rank cut as ridge_cv:
//      s^2 <= 1e-10 max s^2 dropped) and broadcasts V and s^2;
//   3. leave-one-out: each rank forms its rows of U = Xc V diag(1/s); per block of targets
//      Z = U^T Yc is summed over ranks (the allreduce of X^T Y, in the eigenbasis: r x b);
//      each rank computes its rows' exact LOO residuals e_i = r_i / (1 - h_i(a)) from the
//      shared V, s, Z (h_i from its own rows of U) and the per-alpha error sums of its rows;
//      k-fold: per fold, the held-out rows' Gram matrix and X^T Y are summed over ranks,
//      the training part is the total minus the held-out part (with the mean correction),
//      the fold's owner rank (fold % ranks) decomposes it and broadcasts, and each rank
//      predicts its own held-out rows;
//   4. the per-alpha error sums (alphas x targets) are summed on rank 0 and broadcast, so
//      every rank picks the same alpha per target (or one shared alpha);
//   5. coefficients W = V diag(s / (s^2 + a)) Z: each rank a block of targets, then
//      all-gathered.
// Exactness: every quantity is the one-process one; only the order of floating-point sums
// differs (per-rank partial sums), so alphas agree with brain::ridge_cv except at exact
// ties (errors equal to rounding) and held-out r agrees to ~1e-7 in float (tests/mpi).
// Communication per fit: p^2 + p + t doubles, (r x t) values of Z, alphas x t doubles, the
// coefficients (p x t); k-fold adds folds x (p^2 + p x t) doubles. The decomposition (eigh
// of p x p) is the only serial step. Suited to n >= p (the Gram matrix is p x p).
// Errors: checks run inside mpi::agree (any rank's bad block stops every rank with the
// same error). Collective: every rank calls fit with the same options and the same p, t.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "b2m/brain/linalg.hpp"
#include "b2m/brain/ridge.hpp"
#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/core/tolerance.hpp"
#include "b2m/mpi/comm.hpp"

namespace b2m::mpi {

namespace detail {

/// Sum over ranks, the result computed on rank 0 and broadcast, so it is bit-identical on
/// every rank (an allreduce may round differently on different ranks).
template <class T>
void sum_everywhere(const communicator& c, T* data, std::size_t n) {
    if (c.size() == 1 || n == 0) return;
    b2m::mpi::detail::check_count(n, "mpi::sum_everywhere");
    if (c.root()) MPI_Reduce(MPI_IN_PLACE, data, int(n), datatype<T>(), MPI_SUM, 0, c.get());
    else MPI_Reduce(data, nullptr, int(n), datatype<T>(), MPI_SUM, 0, c.get());
    MPI_Bcast(data, int(n), datatype<T>(), 0, c.get());
}

/// The kept eigenpairs of a Gram matrix: v (p, r) row-major, s2 descending.
struct gram_spectrum {
    std::vector<double> v, s2;
    std::size_t p = 0;
    std::size_t rank() const { return s2.size(); }
};

/// Rank `owner` decomposes g (p x p; only its copy is read) with the rank cut of
/// brain::ridge_cv and broadcasts the result. Collective; an eigh failure is thrown on every rank.
inline gram_spectrum decompose_gram(const communicator& c, const xt::xtensor<double, 2>& g, std::size_t p, int owner) {
    gram_spectrum sp;
    sp.p = p;
    std::uint64_t r = 0;
    agree(c, [&] {
        if (c.rank() != owner) return;
        for (double v : g)
            if (!std::isfinite(v))
                throw data_error("mpi::row_sharded_ridge_cv: the features' Gram matrix (" + std::to_string(p) + " x " +
                                 std::to_string(p) + ") overflows; rescale the features (e.g. z-score them)");
        const auto [w, vecs] = brain::checked_eigh(g, "mpi::row_sharded_ridge_cv: the features' Gram matrix");
        double wmax = 0;
        for (std::size_t k = 0; k < p; ++k) wmax = std::max(wmax, w(k));
        std::vector<std::size_t> keep;
        for (std::size_t k = p; k-- > 0;)
            if (w(k) > spectrum_rank_cut * wmax && w(k) > 0) keep.push_back(k);
        r = keep.size();
        sp.s2.resize(r);
        sp.v.assign(p * r, 0.0);
        for (std::size_t q = 0; q < r; ++q) {
            sp.s2[q] = w(keep[q]);
            for (std::size_t i = 0; i < p; ++i) sp.v[i * r + q] = vecs(i, keep[q]);
        }
    });
    if (c.size() > 1) {
        broadcast(c, &r, 1, owner);
        sp.s2.resize(r);
        sp.v.resize(p * r);
        broadcast(c, sp.s2.data(), r, owner);
        broadcast(c, sp.v.data(), p * r, owner);
    }
    return sp;
}

/// out (rows, cols) = a (rows, k) * b (k, cols), double, row-major.
inline void dgemm_nn(std::size_t rows, std::size_t cols, std::size_t k, const double* a, const double* b, double* out,
                     double beta = 0.0) {
    if (rows == 0 || cols == 0) return;
    if (k == 0) {
        if (beta == 0.0) std::fill_n(out, rows * cols, 0.0);
        return;
    }
    gemm_raw<double>(false, false, rows, cols, k, 1.0, a, k, b, cols, beta, out, cols);
}
/// out (rows, cols) = a^T b with a (k, rows), b (k, cols), double, row-major.
inline void dgemm_tn(std::size_t rows, std::size_t cols, std::size_t k, const double* a, const double* b, double* out) {
    if (rows == 0 || cols == 0) return;
    if (k == 0) {
        std::fill_n(out, rows * cols, 0.0);
        return;
    }
    gemm_raw<double>(true, false, rows, cols, k, 1.0, a, rows, b, cols, 0.0, out, cols);
}

} // namespace detail

/// brain::ridge_cv on rows split over the ranks; the fitted model (coef, intercept,
/// predict of brain::linear_model) is identical on every rank (see the head of this file).
template <real T>
struct row_sharded_ridge_cv : brain::linear_model<T> {
    brain::ridge_cv_options options{}; ///< as brain::ridge_cv's; must be the same on every rank
    std::vector<double> alpha;        ///< chosen alpha per target (every rank)
    xt::xtensor<double, 2> cv_error;  ///< (alphas, targets): mean squared LOO / held-out error
    std::size_t total_rows = 0;       ///< samples over all ranks
    std::size_t first_row = 0;        ///< this rank's first row in the stacked data
    std::size_t kept = 0;             ///< components kept by the rank cut
    double eigh_seconds = 0;          ///< wall time of the serial step (eigh on rank 0 + broadcast)

    row_sharded_ridge_cv() = default;
    explicit row_sharded_ridge_cv(brain::ridge_cv_options o) : options(std::move(o)) {} ///< Unfitted, with options o.

    /// Fits on the rows of every rank stacked in rank order: x (n_k, p), y (n_k, t) on rank
    /// k (n_k may be 0). options.fold_of_row, when given, has one entry per stacked row.
    /// Collective. Requires the same p, t and options on every rank, all values finite and
    /// >= 2 rows in all (k-fold: as brain::ridge_cv).
    row_sharded_ridge_cv& fit(const communicator& c, const matrix<T>& x, const matrix<T>& y) {
        const std::size_t nk = x.shape(0), p = x.shape(1), t = y.shape(1), na = options.alphas.size();
        const bool center = options.fit_intercept;
        agree(c, [&] {
            brain::detail::ridge_check_alphas(options.alphas, "mpi::row_sharded_ridge_cv");
            if (x.shape(0) != y.shape(0))
                throw_shape_mismatch("mpi::row_sharded_ridge_cv: rank " + std::to_string(c.rank()) +
                                         " holds different numbers of rows of X and Y",
                                     "X", x.shape(), "Y", y.shape());
            if (x.size()) require_finite("mpi::row_sharded_ridge_cv X (rank " + std::to_string(c.rank()) + ")", x);
            if (y.size()) require_finite("mpi::row_sharded_ridge_cv Y (rank " + std::to_string(c.rank()) + ")", y);
        });
        {  // the same p and t everywhere
            const std::uint64_t pt[2] = {p, t};
            std::uint64_t lo[2], hi[2];
            MPI_Allreduce(pt, lo, 2, MPI_UINT64_T, MPI_MIN, c.get());
            MPI_Allreduce(pt, hi, 2, MPI_UINT64_T, MPI_MAX, c.get());
            if (lo[0] != hi[0] || lo[1] != hi[1])
                throw shape_error("mpi::row_sharded_ridge_cv: ranks hold different numbers of features (" +
                                  std::to_string(lo[0]) + " to " + std::to_string(hi[0]) + ") or targets (" +
                                  std::to_string(lo[1]) + " to " + std::to_string(hi[1]) + ")");
        }
        const std::vector<std::uint64_t> counts = allgather(c, std::vector<std::uint64_t>{nk});
        total_rows = 0, first_row = 0;
        for (int k = 0; k < c.size(); ++k) {
            if (k < c.rank()) first_row += counts[std::size_t(k)];
            total_rows += counts[std::size_t(k)];
        }
        const std::size_t n = total_rows;
        if (n < 2)
            throw data_error("mpi::row_sharded_ridge_cv: need at least 2 samples over all ranks, got " + std::to_string(n));

        // 1. global means, centred rows (double), the summed Gram matrix
        std::vector<double> x_mean(p, 0.0), y_mean(t, 0.0);
        if (center) {
            for (std::size_t i = 0; i < nk; ++i)
                for (std::size_t j = 0; j < p; ++j) x_mean[j] += double(x(i, j));
            for (std::size_t i = 0; i < nk; ++i)
                for (std::size_t j = 0; j < t; ++j) y_mean[j] += double(y(i, j));
            detail::sum_everywhere(c, x_mean.data(), p);
            detail::sum_everywhere(c, y_mean.data(), t);
            for (auto& m : x_mean) m /= double(n);
            for (auto& m : y_mean) m /= double(n);
        }
        xc_ = xt::xtensor<double, 2>::from_shape({nk, p});
        for (std::size_t i = 0; i < nk; ++i)
            for (std::size_t j = 0; j < p; ++j) xc_(i, j) = double(x(i, j)) - x_mean[j];
        xt::xtensor<double, 2> g = xt::zeros<double>({p, p});
        detail::dgemm_tn(p, p, nk, xc_.data(), xc_.data(), g.data());
        detail::sum_everywhere(c, g.data(), p * p);  // (rank 0 decomposes it; the others' copy is unused)

        // 2. one decomposition, broadcast
        const auto e0 = std::chrono::steady_clock::now();
        sp_ = detail::decompose_gram(c, g, p, 0);
        eigh_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
        const std::size_t r = sp_.rank();
        kept = r;
        z_ = matrix<T>::from_shape({r, t});
        cv_error = xt::zeros<double>({na, t});

        // 3. the CV errors of this rank's rows
        if (options.method == brain::cv_method::leave_one_out) loo(c, y, y_mean);
        else kfold(c, g, y, y_mean);
        detail::sum_everywhere(c, cv_error.data(), na * t);

        // 4. alphas, the same on every rank
        alpha = brain::detail::ridge_choose_alphas(cv_error, options.alphas, options.alpha_per_target);

        // 5. coefficients of this rank's block of targets, all-gathered (as (t, p) rows)
        const range mine = shard(t, c);
        const std::size_t tb = mine.size();
        matrix<T> coef_t = matrix<T>::from_shape({tb, p});  // (targets, p)
        if (tb > 0 && r > 0) {
            matrix<T> v_t = matrix<T>::from_shape({p, r}), zs = matrix<T>::from_shape({r, tb});
            for (std::size_t i = 0; i < p * r; ++i) v_t.data()[i] = T(sp_.v[i]);
            for (std::size_t q = 0; q < r; ++q)
                for (std::size_t jj = 0; jj < tb; ++jj) {
                    const std::size_t j = mine.begin + jj;
                    zs(q, jj) = T(double(z_(q, j)) * std::sqrt(sp_.s2[q]) / (sp_.s2[q] + alpha[j]));
                }
            // coef_t = zs^T V^T: (tb, p), one GEMM
            gemm_raw<T>(true, true, tb, p, r, T(1), zs.data(), tb, v_t.data(), r, T(0), coef_t.data(), p);
        } else {
            coef_t.fill(T(0));
        }
        matrix<T> all_t;
        std::vector<int> cnt, dsp;
        allgather_rows(c, coef_t, all_t, cnt, dsp);
        this->coef = matrix<T>::from_shape({p, t});
        for (std::size_t j = 0; j < t; ++j)
            for (std::size_t i = 0; i < p; ++i) this->coef(i, j) = all_t(j, i);
        this->intercept = vector<T>::from_shape({t});
        for (std::size_t j = 0; j < t; ++j) {
            double v = center ? y_mean[j] : 0.0;
            if (center)
                for (std::size_t i = 0; i < p; ++i) v -= x_mean[i] * double(this->coef(i, j));
            this->intercept(j) = T(v);
        }
        xc_ = {};
        return *this;
    }

private:
    /// Columns [c0, c0 + b) of this rank's rows of y minus the global means, as T (nk, b).
    void centred_block(const matrix<T>& y, std::size_t c0, std::size_t b, const std::vector<double>& y_mean,
                       matrix<T>& out) const {
        const std::size_t nk = y.shape(0);
        ensure_shape(out, nk, b);
        for (std::size_t i = 0; i < nk; ++i)
            for (std::size_t j = 0; j < b; ++j) out(i, j) = T(double(y(i, c0 + j)) - y_mean[c0 + j]);
    }

    void loo(const communicator& c, const matrix<T>& y, const std::vector<double>& y_mean) {
        const std::size_t nk = y.shape(0), t = y.shape(1), p = sp_.p, r = sp_.rank(), na = options.alphas.size();
        const std::size_t n = total_rows;
        // this rank's rows of U = Xc V diag(1/s)
        xt::xtensor<double, 2> u = xt::zeros<double>({nk, std::max<std::size_t>(r, 1)});
        if (r > 0) detail::dgemm_nn(nk, r, p, xc_.data(), sp_.v.data(), u.data());
        matrix<T> u_t = matrix<T>::from_shape({nk, r});
        for (std::size_t i = 0; i < nk; ++i)
            for (std::size_t q = 0; q < r; ++q) {
                u(i, q) /= std::sqrt(sp_.s2[q]);
                u_t(i, q) = T(u(i, q));
            }
        // leverage weights of this rank's rows: 1 / (1 - h_i(a))^2
        xt::xtensor<double, 2> w = xt::zeros<double>({na, nk});
        for (std::size_t a = 0; a < na; ++a)
            for (std::size_t i = 0; i < nk; ++i) {
                double h = options.fit_intercept ? 1.0 / double(n) : 0.0;
                for (std::size_t q = 0; q < r; ++q) h += u(i, q) * u(i, q) * sp_.s2[q] / (sp_.s2[q] + options.alphas[a]);
                const double d = 1.0 - h;
                w(a, i) = d > loo_leverage_floor ? 1.0 / (d * d) : loo_weight_cap;
            }
        const std::size_t bs = brain::detail::ridge_block(options.block_targets, std::max<std::size_t>(nk, 1), t, sizeof(T));
        matrix<T> yb, z, ze, gres;
        for (std::size_t c0 = 0; c0 < t; c0 += bs) {
            const std::size_t b = std::min(bs, t - c0);
            centred_block(y, c0, b, y_mean, yb);
            ensure_shape(z, r, b);
            ensure_shape(ze, r, b);
            ensure_shape(gres, nk, b);
            z.fill(T(0));
            if (r > 0 && nk > 0) gemm_raw<T>(true, false, r, b, nk, T(1), u_t.data(), r, yb.data(), b, T(0), z.data(), b);
            detail::sum_everywhere(c, z.data(), r * b);  // Z = U^T Yc over all rows
            for (std::size_t q = 0; q < r; ++q) std::copy_n(z.data() + q * b, b, z_.data() + q * t + c0);
            if (nk == 0) continue;
            // yb <- Yc - U Z (this rank's rows): the part no alpha fits
            if (r > 0) gemm_raw<T>(false, false, nk, b, r, T(-1), u_t.data(), r, z.data(), b, T(1), yb.data(), b);
            for (std::size_t a = 0; a < na; ++a) {
                const double al = options.alphas[a];
                for (std::size_t q = 0; q < r; ++q) {
                    const T f = T(al / (sp_.s2[q] + al));
                    for (std::size_t j = 0; j < b; ++j) ze(q, j) = z(q, j) * f;
                }
                if (r > 0) gemm_raw<T>(false, false, nk, b, r, T(1), u_t.data(), r, ze.data(), b, T(0), gres.data(), b);
                else gres.fill(T(0));
                std::vector<double> acc(b, 0.0);
                for (std::size_t i = 0; i < nk; ++i) {
                    const double wi = w(a, i);
                    const T* pr = yb.data() + i * b;
                    const T* pg = gres.data() + i * b;
                    for (std::size_t j = 0; j < b; ++j) {
                        const double e = double(pr[j]) + double(pg[j]);
                        acc[j] += wi * e * e;
                    }
                }
                for (std::size_t j = 0; j < b; ++j) cv_error(a, c0 + j) = acc[j] / double(n);
            }
        }
    }

    void kfold(const communicator& c, const xt::xtensor<double, 2>& g_all, const matrix<T>& y,
               const std::vector<double>& y_mean) {
        const std::size_t nk = y.shape(0), t = y.shape(1), p = sp_.p, r = sp_.rank(), na = options.alphas.size();
        const std::size_t n = total_rows;
        const bool center = options.fit_intercept;
        // the fold of every stacked row (as brain::ridge_cv: sklearn KFold, or fold_of_row)
        std::vector<std::size_t> fold = options.fold_of_row;
        std::size_t k = 0;
        if (fold.empty()) {
            k = options.folds;
            if (k < 2 || k > n)
                throw data_error("mpi::row_sharded_ridge_cv: " + std::to_string(k) + " folds for " + std::to_string(n) +
                                 " samples");
            fold.resize(n);
            std::size_t i = 0;
            for (std::size_t f = 0; f < k; ++f)
                for (std::size_t q = 0; q < n / k + (f < n % k ? 1 : 0); ++q) fold[i++] = f;
        } else {
            if (fold.size() != n)
                throw shape_error("mpi::row_sharded_ridge_cv: fold_of_row has " + std::to_string(fold.size()) +
                                  " entries for " + std::to_string(n) + " rows over all ranks");
            for (auto f : fold) k = std::max(k, f + 1);
        }
        std::vector<std::size_t> fold_rows(k, 0);
        for (auto f : fold) ++fold_rows[f];
        // The full Gram matrix on every rank (rank 0's sum, broadcast), for G_train = G - G_test.
        xt::xtensor<double, 2> g = g_all;
        if (c.size() > 1) broadcast(c, g.data(), p * p, 0);
        std::vector<double> sx_all(p, 0.0);  // column sums of the centred X (zero up to rounding)
        for (std::size_t i = 0; i < nk; ++i)
            for (std::size_t j = 0; j < p; ++j) sx_all[j] += xc_(i, j);
        detail::sum_everywhere(c, sx_all.data(), p);

        struct fold_part {
            std::vector<std::size_t> rows;  // this rank's held-out rows (local indices)
            std::vector<double> dx;         // training mean of the centred X
            detail::gram_spectrum sp;
            xt::xtensor<double, 2> a_te;    // (rows, r_f): (Xc_te - dx) V_f
            std::size_t m_tr = 0;
        };
        std::vector<fold_part> parts(k);
        for (std::size_t f = 0; f < k; ++f) {
            auto& fp = parts[f];
            for (std::size_t i = 0; i < nk; ++i)
                if (fold[first_row + i] == f) fp.rows.push_back(i);
            if (fold_rows[f] == 0) continue;
            fp.m_tr = n - fold_rows[f];
            if (fp.m_tr < 2)
                throw data_error("mpi::row_sharded_ridge_cv: fold " + std::to_string(f) + " leaves " +
                                 std::to_string(fp.m_tr) + " training samples (need >= 2)");
            const std::size_t nte = fp.rows.size();
            xt::xtensor<double, 2> xte = xt::zeros<double>({nte, p});
            for (std::size_t i = 0; i < nte; ++i) std::copy_n(xc_.data() + fp.rows[i] * p, p, xte.data() + i * p);
            xt::xtensor<double, 2> gte = xt::zeros<double>({p, p});
            detail::dgemm_tn(p, p, nte, xte.data(), xte.data(), gte.data());
            std::vector<double> ste(p, 0.0);
            for (std::size_t i = 0; i < nte; ++i)
                for (std::size_t j = 0; j < p; ++j) ste[j] += xte(i, j);
            detail::sum_everywhere(c, gte.data(), p * p);
            detail::sum_everywhere(c, ste.data(), p);
            fp.dx.assign(p, 0.0);
            if (center)
                for (std::size_t j = 0; j < p; ++j) fp.dx[j] = (sx_all[j] - ste[j]) / double(fp.m_tr);
            // G_train = sum over training rows of (x - mean_train)(x - mean_train)^T
            xt::xtensor<double, 2> gtr = xt::zeros<double>({p, p});
            for (std::size_t i = 0; i < p; ++i)
                for (std::size_t j = 0; j < p; ++j)
                    gtr(i, j) = g(i, j) - gte(i, j) - double(fp.m_tr) * fp.dx[i] * fp.dx[j];
            fp.sp = detail::decompose_gram(c, gtr, p, int(f % std::size_t(c.size())));
            const std::size_t rf = fp.sp.rank();
            for (std::size_t i = 0; i < nte; ++i)
                for (std::size_t j = 0; j < p; ++j) xte(i, j) -= fp.dx[j];
            fp.a_te = xt::zeros<double>({nte, std::max<std::size_t>(rf, 1)});
            if (rf > 0) detail::dgemm_nn(nte, rf, p, xte.data(), fp.sp.v.data(), fp.a_te.data());
        }

        // per block of targets: C = Xc^T Yc summed over ranks (double), the held-out parts per fold
        const std::size_t bs = brain::detail::ridge_block(options.block_targets, std::max<std::size_t>(nk, 1) * 2, t, sizeof(T));
        xt::xtensor<double, 2> yb, call, cte, q, pred;
        for (std::size_t c0 = 0; c0 < t; c0 += bs) {
            const std::size_t b = std::min(bs, t - c0);
            yb = xt::xtensor<double, 2>::from_shape({nk, b});
            for (std::size_t i = 0; i < nk; ++i)
                for (std::size_t j = 0; j < b; ++j) yb(i, j) = double(y(i, c0 + j)) - y_mean[c0 + j];
            call = xt::zeros<double>({p, b});
            detail::dgemm_tn(p, b, nk, xc_.data(), yb.data(), call.data());
            detail::sum_everywhere(c, call.data(), p * b);
            std::vector<double> sy_all(b, 0.0);
            for (std::size_t i = 0; i < nk; ++i)
                for (std::size_t j = 0; j < b; ++j) sy_all[j] += yb(i, j);
            detail::sum_everywhere(c, sy_all.data(), b);
            // Z of the full fit: diag(1/s) V^T C
            {
                xt::xtensor<double, 2> zfull = xt::zeros<double>({std::max<std::size_t>(r, 1), b});
                if (r > 0) detail::dgemm_tn(r, b, p, sp_.v.data(), call.data(), zfull.data());
                for (std::size_t qq = 0; qq < r; ++qq)
                    for (std::size_t j = 0; j < b; ++j) z_(qq, c0 + j) = T(zfull(qq, j) / std::sqrt(sp_.s2[qq]));
            }
            for (std::size_t f = 0; f < k; ++f) {
                auto& fp = parts[f];
                if (fold_rows[f] == 0) continue;
                const std::size_t nte = fp.rows.size(), rf = fp.sp.rank();
                xt::xtensor<double, 2> xte = xt::zeros<double>({nte, p}), yte = xt::zeros<double>({nte, b});
                for (std::size_t i = 0; i < nte; ++i) {
                    std::copy_n(xc_.data() + fp.rows[i] * p, p, xte.data() + i * p);
                    std::copy_n(yb.data() + fp.rows[i] * b, b, yte.data() + i * b);
                }
                cte = xt::zeros<double>({p, b});
                detail::dgemm_tn(p, b, nte, xte.data(), yte.data(), cte.data());
                std::vector<double> sy_te(b, 0.0);
                for (std::size_t i = 0; i < nte; ++i)
                    for (std::size_t j = 0; j < b; ++j) sy_te[j] += yte(i, j);
                detail::sum_everywhere(c, cte.data(), p * b);
                detail::sum_everywhere(c, sy_te.data(), b);
                std::vector<double> dy(b, 0.0);
                if (center)
                    for (std::size_t j = 0; j < b; ++j) dy[j] = (sy_all[j] - sy_te[j]) / double(fp.m_tr);
                // C_train = sum over training rows of (x - mean_train)(y - mean_train)^T
                for (std::size_t i = 0; i < p; ++i)
                    for (std::size_t j = 0; j < b; ++j)
                        cte(i, j) = call(i, j) - cte(i, j) - double(fp.m_tr) * fp.dx[i] * dy[j];
                if (nte == 0) continue;
                q = xt::zeros<double>({std::max<std::size_t>(rf, 1), b});  // V_f^T C_train
                if (rf > 0) detail::dgemm_tn(rf, b, p, fp.sp.v.data(), cte.data(), q.data());
                xt::xtensor<double, 2> qa = xt::zeros<double>({std::max<std::size_t>(rf, 1), b});
                pred = xt::zeros<double>({nte, b});
                for (std::size_t a = 0; a < na; ++a) {
                    const double al = options.alphas[a];
                    for (std::size_t qq = 0; qq < rf; ++qq)
                        for (std::size_t j = 0; j < b; ++j) qa(qq, j) = q(qq, j) / (fp.sp.s2[qq] + al);
                    if (rf > 0) detail::dgemm_nn(nte, b, rf, fp.a_te.data(), qa.data(), pred.data());
                    for (std::size_t j = 0; j < b; ++j) {
                        double s = 0;
                        for (std::size_t i = 0; i < nte; ++i) {
                            const double e = yte(i, j) - dy[j] - pred(i, j);
                            s += e * e;
                        }
                        cv_error(a, c0 + j) += s / double(n);
                    }
                }
            }
        }
    }

    detail::gram_spectrum sp_;
    xt::xtensor<double, 2> xc_;  ///< this rank's centred rows (during fit)
    matrix<T> z_;                ///< (r, t): U^T Yc over all rows
};

} // namespace b2m::mpi

// b2m/mpi/ridge.hpp - brain::ridge_cv over MPI ranks, split by targets.
//
//   mpi::communicator world;
//   mpi::sharded_ridge_cv<float> model({.alphas = grid});
//   model.fit(world, x, y);                      // X (n, p) and Y (n, t) on every rank, or
//   model.fit_block(world, x, y_block, t);       // each rank only its block of Y's columns
//   auto r_local = brain::pearson_columns(y_test_block, model.local.predict(x_test));
//   model.write_npy(world, "r.npy", r_local);   // rank 0 writes the (t,) vector atomically
//
// How: X is replicated; rank k owns the contiguous block of targets mpi::shard(t, world)
// (sizes differ by at most one) and fits brain::ridge_cv on those columns alone. A target's
// alpha and coefficients depend only on X and its own column, so every rank computes
// exactly what one process computes for those targets: the alphas are the same and the
// scores agree to rounding (BLAS may block a narrower GEMM differently). With
// alpha_per_target = false the summed CV error per alpha is added up over ranks
// (one allreduce of |alphas| doubles) and every rank refits its block with the chosen alpha.
// Each rank decomposes X itself (cheap next to the targets: O(n p min(n, p)) once, against
// O(n r t |alphas|) for the targets), so the only communication is gathering results.
// Errors: checking and fitting run inside mpi::agree, so bad data in any rank's block stops
// every rank with the same agreed_error (message naming the problem) instead of a hang.
// Output: write_npy gathers on rank 0 and writes with brain::save_npy (temporary file, then
// rename), so no partial file is ever visible; a failed write is reported on every rank.
#pragma once

#include <string>
#include <vector>

#include "b2m/brain/npy.hpp"
#include "b2m/brain/ridge.hpp"
#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/mpi/comm.hpp"

namespace b2m::mpi {

/// brain::ridge_cv split over the ranks by targets (the contract is at the head of this file).
template <real T>
struct sharded_ridge_cv {
    brain::ridge_cv_options options{}; ///< as brain::ridge_cv's; must be the same on every rank
    range targets{};               ///< this rank's block of [0, total_targets)
    std::size_t total_targets = 0; ///< t, the targets over all ranks (set by fit)
    brain::ridge_cv<T> local;      ///< the fitted model of this rank's targets (empty block: unfitted)

    sharded_ridge_cv() = default;
    explicit sharded_ridge_cv(brain::ridge_cv_options o) : options(std::move(o)) {} ///< Unfitted, with options o.

    /// Fits this rank's block of the targets of y (n, t), present in full on every rank.
    /// Collective. Requires the same x, y and options on every rank.
    sharded_ridge_cv& fit(const communicator& c, const matrix<T>& x, const matrix<T>& y) {
        matrix<T> yb;
        agree(c, [&] {
            const range rg = shard(y.shape(1), c);
            yb = matrix<T>::from_shape({y.shape(0), rg.size()});
            for (std::size_t i = 0; i < y.shape(0); ++i)
                std::copy_n(y.data() + i * y.shape(1) + rg.begin, rg.size(), yb.data() + i * rg.size());
        });
        return fit_block(c, x, yb, y.shape(1));
    }

    /// Fits from this rank's own columns y_block = Y(:, shard(t, c)) of a Y with t targets.
    /// Collective. Requires x identical on every rank and y_block of shape (n, shard size).
    sharded_ridge_cv& fit_block(const communicator& c, const matrix<T>& x, const matrix<T>& y_block, std::size_t t) {
        total_targets = t;
        targets = shard(t, c);
        agree(c, [&] {
            if (y_block.shape(1) != targets.size() || y_block.shape(0) != x.shape(0))
                throw shape_error("mpi::sharded_ridge_cv: rank " + std::to_string(c.rank()) + " holds Y block of shape " +
                                  shape_string(y_block.shape()) + " but its block of " + std::to_string(t) +
                                  " targets needs (" + std::to_string(x.shape(0)) + ", " +
                                  std::to_string(targets.size()) + ") (X has shape " + shape_string(x.shape()) + ")");
            local = brain::ridge_cv<T>(options);
            if (targets.size() > 0) local.fit(x, y_block);
        });
        if (!options.alpha_per_target) choose_shared_alpha(c, x, y_block);
        return *this;
    }

    /// The chosen alpha of every target, in target order, on every rank. Collective.
    std::vector<double> all_alphas(const communicator& c) const { return allgather(c, local.alpha); }

    /// Concatenates per-target values of this rank's block into the (t,) vector on rank 0
    /// (empty elsewhere). Collective.
    template <class V>
    std::vector<double> gather_targets(const communicator& c, const V& local_values) const {
        std::vector<double> v(local_values.begin(), local_values.end());
        return gather_to_root(c, v);
    }

    /// Gathers per-target values on rank 0 and writes them there as a (t,) float64 .npy,
    /// atomically (temporary file + rename). Collective; an error on rank 0 (e.g. the
    /// directory is missing) is thrown on every rank as agreed_error.
    template <class V>
    void write_npy(const communicator& c, const std::string& path, const V& local_values) const {
        const std::vector<double> all = gather_targets(c, local_values);
        agree(c, [&] {
            if (!c.root()) return;
            if (all.size() != total_targets)
                throw shape_error("mpi::sharded_ridge_cv::write_npy: gathered " + std::to_string(all.size()) +
                                  " values for " + std::to_string(total_targets) + " targets");
            vector<double> out = vector<double>::from_shape({all.size()});
            std::copy(all.begin(), all.end(), out.begin());
            brain::save_npy(path, out);
        });
    }

private:
    void choose_shared_alpha(const communicator& c, const matrix<T>& x, const matrix<T>& y_block) {
        const std::size_t na = options.alphas.size();
        std::vector<double> sums(na, 0.0);
        if (targets.size() > 0)
            for (std::size_t a = 0; a < na; ++a)
                for (std::size_t j = 0; j < targets.size(); ++j) sums[a] += local.cv_error(a, j);
        allreduce_sum(c, sums.data(), na);
        std::size_t best = 0;
        for (std::size_t a = 1; a < na; ++a)
            if (sums[a] < sums[best]) best = a;
        agree(c, [&] {
            if (targets.size() == 0) return;
            brain::ridge<T> refit(options.alphas[best], {options.fit_intercept, options.block_targets});
            refit.fit(x, y_block);
            local.coef = std::move(refit.coef);
            local.intercept = std::move(refit.intercept);
            local.alpha.assign(targets.size(), options.alphas[best]);
        });
    }
};

} // namespace b2m::mpi

// b2m/mpi/fit.hpp - train::fit over MPI ranks (data-parallel), and callbacks that act on
// rank 0 only.
//
//   mpi::environment env(argc, argv);
//   mpi::communicator world;
//   auto trainer = train::make_trainer(student, objective, optim::adam({.lr = 1e-3}), {.seed = 7});
//   auto report = mpi::fit(world, trainer, train_set, &val_set,
//                          {.epochs = 30, .batch_size = 256, .shuffle_seed = 7,
//                           .checkpoint_path = "run.ckpt", .resume = true},
//                          {}, mpi::on_root(world, train::progress{}),
//                          mpi::on_root(world, train::csv_log{"run.csv"}),
//                          train::early_stopping{.patience = 5});
//
// It is train::fit itself, run on an mpi::distributed_trainer: every rank holds the whole
// data set (read from a shared file system), draws the same seeded batch plan, and
// computes its block of each global batch (mpi/data_parallel.hpp says how the result
// equals one process on the same global batches). batch_size is the GLOBAL batch size.
// Checkpoints: rank 0 writes them atomically; they hold no rank-specific state, so a run
// resumes with any number of ranks (the file must be readable by every rank).
// Callbacks run on every rank with identical records; wrap those that only write output
// (progress, csv_log) in on_root so one rank writes. A callback that decides (early
// stopping, schedules) must run on every rank.
// requires: every rank calls fit with the same data, options and trainer (same seed); the
//           data are checked to be identical on every rank (a 64-bit hash of each field)
//           and a difference throws agreed_error on every rank.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "b2m/data/batch.hpp"
#include "b2m/mpi/comm.hpp"
#include "b2m/mpi/data_parallel.hpp"
#include "b2m/train/fit.hpp"

namespace b2m::mpi {

/// Forwards a callback's hooks on rank 0 only (on other ranks on_epoch_end returns true).
/// For callbacks that write output; state in checkpoints is still saved (from rank 0).
template <class C>
struct root_only {
    C inner;            ///< the wrapped callback
    bool active = true; ///< whether this rank forwards the hooks (true on rank 0 via on_root)

    /// @name Callback hooks (the concept at the head of b2m/train/callback.hpp)
    ///@{

    /// Callback hooks: each exists when C has it; on_fit_begin, on_step and on_epoch_end call
    /// inner's when active (on_epoch_end returns true otherwise); serialize always forwards, so
    /// inner's state is in the checkpoint on every rank.
    void on_fit_begin(const train::fit_state& s)
        requires requires(C& c, const train::fit_state& st) { c.on_fit_begin(st); }
    {
        if (active) inner.on_fit_begin(s);
    }
    void on_step(const train::fit_state& s, std::size_t step, std::size_t steps, double loss)
        requires requires(C& c, const train::fit_state& st, std::size_t i, double l) { c.on_step(st, i, i, l); }
    {
        if (active) inner.on_step(s, step, steps, loss);
    }
    bool on_epoch_end(const train::fit_state& s, const train::epoch_record& r)
        requires requires(C& c, const train::fit_state& st, const train::epoch_record& er) { c.on_epoch_end(st, er); }
    {
        return active ? bool(inner.on_epoch_end(s, r)) : true;
    }
    template <class Archive>
    void serialize(Archive& ar)
        requires requires(C& c, Archive& a) { c.serialize(a); }
    {
        inner.serialize(ar);
    }
    ///@}
};
/// cb wrapped to act on rank 0 of c only.
template <class C>
root_only<std::remove_cvref_t<C>> on_root(const communicator& c, C&& cb) {
    return {std::forward<C>(cb), c.root()};
}

namespace detail {
inline void fnv1a(std::uint64_t& h, const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
}
template <real T>
std::uint64_t batch_hash(const data::batch<T>& d) {
    std::uint64_t h = 1469598103934665603ull;
    auto add = [&](const auto& m) {
        const std::uint64_t n = m.size();
        fnv1a(h, &n, sizeof n);
        if (n) fnv1a(h, m.data(), n * sizeof(*m.data()));
    };
    add(d.x), add(d.labels), add(d.targets), add(d.brain), add(d.stimulus);
    return h;
}
} // namespace detail

/// Throws data_error on every rank unless d is bit-identical on every rank. Collective.
template <real T>
void require_same_data(const communicator& c, const data::batch<T>& d, const std::string& what) {
    const std::uint64_t h = detail::batch_hash(d);
    std::uint64_t lo = h, hi = h;
    MPI_Allreduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, c.get());
    MPI_Allreduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, c.get());
    if (lo != hi)  // the same on every rank: all throw
        throw data_error("mpi::fit: the " + what +
                         " differ between ranks (every rank must load the same data set, in the same order)");
}

/// Data-parallel train::fit (see the header comment). validation may be null.
template <class Trainer, real T, class... Callbacks>
train::fit_report fit(const communicator& c, Trainer& trainer, const data::batch<T>& data,
                      std::type_identity_t<const data::batch<T>*> validation, const train::fit_options& options,
                      distributed_options dopt = {}, Callbacks&&... callbacks) {
    require_same_data(c, data, "training data");
    const int has_val = validation != nullptr;
    if (allreduce_max(c, has_val) != allreduce_max(c, -has_val) * -1)  // max != min: all throw
        throw data_error("mpi::fit: validation data given on some ranks only");
    if (validation) require_same_data(c, *validation, "validation data");
    distributed_trainer<Trainer> dp(c, trainer, dopt);
    return train::fit(dp, data, validation, options, std::forward<Callbacks>(callbacks)...);
}

} // namespace b2m::mpi

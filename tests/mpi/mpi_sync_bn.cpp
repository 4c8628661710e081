// tests/mpi/mpi_sync_bn.cpp - synchronised batch norm in data-parallel training
// (mpi::distributed_options::sync_batch_norm), run with mpiexec -n 1, 2 and 3: a student
// with batch_norm layers (per feature, and per channel of 2 x 3 x 3 images) trained 12 steps
// with mpi::fit must equal train::fit in one process on the same global batches within 1e-5
// (parameters and running statistics), identically on every rank. The default (per-rank
// statistics) must differ from one process with more than one rank, so the comparison
// can tell the two apart.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "b2m/core/rng.hpp"
#include "b2m/loss.hpp"
#include "b2m/mpi/comm.hpp"
#include "b2m/mpi/fit.hpp"
#include "b2m/nn.hpp"
#include "b2m/optim/optimizer.hpp"
#include "b2m/train.hpp"

#include "mpi_check.hpp"

using namespace b2m;

namespace {

data::batch<float> make_data(std::size_t n, std::uint64_t seed) {
    rng r(seed);
    data::batch<float> d;
    d.x = matrix<float>::from_shape({n, 18});
    d.labels = index_vector::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t c = r.below(3);
        d.labels(i) = c;
        for (std::size_t j = 0; j < 18; ++j) d.x(i, j) = float(2.0 * r.normal() + 1.5 + (j % 3 == c ? 1.0 : 0.0));
    }
    return d;
}

// (B, 18) = 2 channels of 3 x 3 pixels -> per-channel batch norm -> dense -> per-feature batch
// norm. A nonlinearity separates every bias from the next batch norm: a bias feeding batch
// norm directly has zero gradient, and Adam would turn its rounding noise into full steps.
auto student() {
    return nn::sequential(nn::batch_norm(nn::image_shape{.channels = 2, .height = 3, .width = 3}), nn::relu{},
                          nn::dense(18, 12), nn::relu{}, nn::batch_norm(12), nn::dense(12, 3));
}

/// Parameters and buffers (running statistics) as one list of values.
template <class Tr>
std::vector<float> state(Tr& t) {
    std::vector<float> out;
    t.for_each_param([&](const std::string&, matrix<float>& v, matrix<float>&) { out.insert(out.end(), v.begin(), v.end()); });
    t.student().for_each_buffer([&](const std::string&, matrix<float>& v) { out.insert(out.end(), v.begin(), v.end()); });
    return out;
}
double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return 1e30;
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - double(b[i])));
    return m;
}
bool same_on_all_ranks(const mpi::communicator& c, const std::vector<float>& v) {
    std::uint64_t h = 1469598103934665603ull;
    mpi::detail::fnv1a(h, v.data(), v.size() * sizeof(float));
    std::uint64_t lo = h, hi = h;
    MPI_Allreduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, c.get());
    MPI_Allreduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, c.get());
    return lo == hi;
}

} // namespace

int main(int argc, char** argv) {
    mpi::environment env(argc, argv);
    mpi::communicator world;
    const auto data = make_data(96, 5), val = make_data(30, 6);
    // 96 trials in global batches of 24 (3 ranks: 8 rows each; 2 ranks: 12): 4 steps per epoch
    const train::fit_options o{.epochs = 3, .batch_size = 24, .shuffle_seed = 3};
    const auto objective = loss::cross_entropy(nn::output, data::labels);

    auto ref = train::make_trainer(student(), objective, optim::adam({.lr = 2e-2}), {.seed = 7});
    const auto ref_report = train::fit(ref, data, &val, o);
    const auto s_ref = state(ref);

    auto synced = train::make_trainer(student(), objective, optim::adam({.lr = 2e-2}), {.seed = 7});
    const auto report = mpi::fit(world, synced, data, &val, o, {.sync_batch_norm = true});
    const auto s_sync = state(synced);
    const double d = max_diff(s_ref, s_sync);
    MPI_CHECK_MSG(d <= 1e-5, "sync batch norm: max |state - one process| = " + std::to_string(d));
    MPI_CHECK_MSG(same_on_all_ranks(world, s_sync), "sync batch norm: the state differs between ranks");
    const double dl = std::abs(report.epochs.back().train_total - ref_report.epochs.back().train_total);
    MPI_CHECK_MSG(dl <= 1e-5, "sync batch norm: training loss differs by " + std::to_string(dl));
    const double dv = std::abs(report.epochs.back().val_total - ref_report.epochs.back().val_total);
    MPI_CHECK_MSG(dv <= 1e-5, "sync batch norm: held-out loss differs by " + std::to_string(dv));
    // the reducers are removed with the distributed trainer: a one-process step works afterwards
    synced.step(data::batch<float>(val));

    // training moved the state, and per-rank statistics (the default) differ from one process
    auto fresh = train::make_trainer(student(), objective, optim::adam({.lr = 2e-2}), {.seed = 7});
    fresh.evaluate(data::batch<float>(data));
    MPI_CHECK_MSG(max_diff(state(fresh), s_ref) > 1e-2, "training did not change the state");
    auto local = train::make_trainer(student(), objective, optim::adam({.lr = 2e-2}), {.seed = 7});
    mpi::fit(world, local, data, &val, o);
    const double d_local = max_diff(s_ref, state(local));
    if (world.size() > 1)
        MPI_CHECK_MSG(d_local > 1e-4, "per-rank statistics should differ from one process, differ by " + std::to_string(d_local));
    else
        MPI_CHECK_MSG(d_local == 0, "one rank: per-rank statistics are one process's");
    if (world.root())
        std::printf("sync batch norm, %d ranks: max |state - one process| %.2g (per-rank statistics: %.2g)\n", world.size(),
                    d, d_local);
    return mpi_check::finish("mpi_sync_bn");
}

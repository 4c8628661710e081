// tests/mpi/mpi_abort.cpp - a rank that throws in the middle of data-parallel training,
// while the other ranks wait in the next collective, must stop the whole job (no hang):
// mpi::abort_on_error prints the error once, from the failing rank, and calls MPI_Abort.
// ctest passes when that line appears (and fails on a hang through its timeout, or when the
// job ends without the line).
#include <cstdio>
#include <stdexcept>

#include "b2m/core/rng.hpp"
#include "b2m/data/batch_ops.hpp"
#include "b2m/loss.hpp"
#include "b2m/mpi/comm.hpp"
#include "b2m/mpi/fit.hpp"
#include "b2m/nn.hpp"
#include "b2m/optim/optimizer.hpp"
#include "b2m/train.hpp"

using namespace b2m;

struct fail_on_rank {
    int rank, fail_rank;
    bool on_epoch_end(const train::fit_state&, const train::epoch_record& r) {
        if (rank == fail_rank && r.epoch == 2) throw std::runtime_error("injected failure in a callback");
        return true;
    }
};

int main(int argc, char** argv) {
    mpi::environment env(argc, argv);
    mpi::communicator world;
    rng r(1);
    data::batch<float> d;
    d.x = matrix<float>::from_shape({64, 6});
    d.brain = matrix<float>::from_shape({64, 5});
    d.labels = index_vector::from_shape({64});
    for (auto& v : d.x) v = float(r.normal());
    for (auto& v : d.brain) v = float(r.normal());
    for (std::size_t i = 0; i < 64; ++i) d.labels(i) = i % 2;
    auto t = train::make_trainer(nn::sequential(nn::dense(6, 8), nn::relu{}, nn::tap<"h">{}, nn::dense(8, 2)),
                                 loss::cross_entropy(nn::output, data::labels) +
                                     0.5 * loss::contrastive(nn::tap<"h">{}, data::brain, {.dim = 4}),
                                 optim::adam({}), {.seed = 1});
    const int fail_rank = world.size() - 1;
    return mpi::abort_on_error(world, "mpi_abort: ", [&] {
        mpi::fit(world, t, d, nullptr, {.epochs = 50, .batch_size = 16}, {}, fail_on_rank{world.rank(), fail_rank});
        std::printf("mpi_abort: training finished on rank %d (the injected failure did not stop the job)\n",
                    world.rank());
        return world.size() == 1 ? 0 : 1;
    });
}

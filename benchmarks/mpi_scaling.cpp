// mpi_scaling: scale-out measurements for docs/scaling.md (issue 15). Run under mpiexec with
// 1 and 2 ranks, one thread each (OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1):
//   mpiexec -n 2 benchmarks/mpi_scaling [--targets=20000] [--samples=4000] [--features=1024]
//                                      [--batch=256] [--steps=30] [--only=ridge|mlp]
// Prints RESULT lines (rank 0), each with the CPU seconds summed over the ranks and the
// load average when the measurement began (the machine may be shared):
//   ridge: seconds of mpi::sharded_ridge_cv (split by targets; exact LOO, 7 alphas, float32)
//          on all targets, and the seconds of the part every rank repeats (the decomposition
//          of X: a fit with one target per rank);
//   ridge_rows: seconds of mpi::row_sharded_ridge_cv (split by samples: each rank 1/P of the
//          rows of X and Y; the same LOO fit), bytes each rank contributes to the sums
//          (Gram, Z, CV errors) and the coefficient all-gather;
//   mlp:   steps/s of data-parallel B2M-MLP steps (global batch --batch, contrastive
//          InfoNCE + cross-entropy, Adam), the bytes each rank sends per step (gradient
//          allreduce + all-gathers of the sources the objective reads) and the measured time
//          of one allreduce of the gradient buffer; the seconds of the objective alone on
//          the whole batch (computed redundantly on every rank).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>

#include "b2m/brain/ridge.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/loss/contrastive.hpp"
#include "b2m/loss/cross_entropy.hpp"
#include "b2m/mpi/comm.hpp"
#include "b2m/mpi/data_parallel.hpp"
#include "b2m/mpi/ridge.hpp"
#include "b2m/mpi/ridge_rows.hpp"
#include "b2m/nn/activation.hpp"
#include "b2m/nn/dense.hpp"
#include "b2m/nn/sequential.hpp"
#include "b2m/nn/tap.hpp"
#include "b2m/optim/optimizer.hpp"
#include "b2m/train/trainer.hpp"

using namespace b2m;

namespace {
long arg(int argc, char** argv, const std::string& key, long fallback) {
    const std::string p = "--" + key + "=";
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]).rfind(p, 0) == 0) return std::atol(argv[i] + p.size());
    return fallback;
}
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
/// CPU seconds of this process so far.
double cpu() { return double(std::clock()) / CLOCKS_PER_SEC; }
/// CPU seconds summed over the ranks.
double cpu_all(const mpi::communicator& c, double since) {
    double v = cpu() - since;
    mpi::allreduce_sum(c, &v, 1);
    return v;
}
/// The largest CPU seconds of one rank.
double cpu_max(const mpi::communicator& c, double since) { return mpi::allreduce_max(c, cpu() - since); }
/// The 1-minute load average (the machine's, not only this job's).
double load1() {
    std::ifstream f("/proc/loadavg");
    double l = -1;
    f >> l;
    return l;
}
std::string text_arg(int argc, char** argv, const std::string& key) {
    const std::string p = "--" + key + "=";
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]).rfind(p, 0) == 0) return argv[i] + p.size();
    return "";
}
} // namespace

int main(int argc, char** argv) {
    mpi::environment env(argc, argv);
    mpi::communicator world;
    set_num_threads(1);
    const std::size_t t = std::size_t(arg(argc, argv, "targets", 20000));
    const std::size_t n = std::size_t(arg(argc, argv, "samples", 4000)), p = std::size_t(arg(argc, argv, "features", 1024));
    const std::size_t batch = std::size_t(arg(argc, argv, "batch", 256));
    const long steps = arg(argc, argv, "steps", 30);
    const int P = world.size();
    const bool root = world.root();
    const std::string only = text_arg(argc, argv, "only");

    // ---- ridge: every rank builds the same X and its own block of Y's columns
    if (only.empty() || only == "ridge") {
        rng r(1);
        matrix<float> x = matrix<float>::from_shape({n, p});
        for (auto& v : x) v = float(r.normal());
        const auto rg = mpi::shard(t, world);
        matrix<float> yb = matrix<float>::from_shape({n, rg.size()});
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < rg.size(); ++j) {
                const rng cell = rng(2).split(rg.begin + j);
                yb(i, j) = float(0.1 * double(x(i, (rg.begin + j) % p)) + cell.normal_at(i));
            }
        const brain::ridge_cv_options o{.alphas = {1e-2, 1e-1, 1, 10, 100, 1e3, 1e4}};
        // the part each rank repeats: decomposing X (a fit with one target per rank)
        matrix<float> y1 = matrix<float>::from_shape({n, std::size_t(P)});
        for (std::size_t i = 0; i < n; ++i)
            for (int k = 0; k < P; ++k) y1(i, std::size_t(k)) = yb(i, 0);
        world.barrier();
        double t0 = now();
        mpi::sharded_ridge_cv<float>(o).fit(world, x, y1);
        world.barrier();
        const double decomp = now() - t0;
        world.barrier();
        double l0 = load1();
        t0 = now();
        double c0 = cpu();
        {
            mpi::sharded_ridge_cv<float> m(o);
            m.fit_block(world, x, yb, t);
            const auto alphas = m.all_alphas(world);
        }
        world.barrier();
        const double secs = now() - t0;
        double cmax = cpu_max(world, c0);
        double cpus = cpu_all(world, c0);
        if (root)
            std::printf("RESULT ridge ranks=%d targets=%zu samples=%zu features=%zu seconds=%.3f repeated_seconds=%.3f "
                        "cpu_seconds=%.3f cpu_max_rank=%.3f load=%.2f\n",
                        P, t, n, p, secs, decomp, cpus, cmax, l0);
        yb = matrix<float>();
        // split by samples: rank k holds rows shard(n) of X and of Y (all targets)
        const auto rr = mpi::shard(n, world);
        matrix<float> xr = matrix<float>::from_shape({rr.size(), p}), yr = matrix<float>::from_shape({rr.size(), t});
        std::copy_n(x.data() + rr.begin * p, rr.size() * p, xr.data());
        for (std::size_t i = 0; i < rr.size(); ++i)
            for (std::size_t j = 0; j < t; ++j) {
                const rng cell = rng(2).split(j);
                yr(i, j) = float(0.1 * double(x(rr.begin + i, j % p)) + cell.normal_at(rr.begin + i));
            }
        x = matrix<float>();
        world.barrier();
        l0 = load1();
        t0 = now();
        c0 = cpu();
        std::size_t kept = 0;
        double eigh = 0;
        {
            mpi::row_sharded_ridge_cv<float> m(o);
            m.fit(world, xr, yr);
            kept = m.kept;
            eigh = m.eigh_seconds;
        }
        world.barrier();
        const double rsecs = now() - t0;
        cmax = cpu_max(world, c0);
        cpus = cpu_all(world, c0);
        // bytes each rank sends into the sums: Gram (p^2 doubles), means, Z (kept x t floats),
        // CV errors (7 x t doubles); and the all-gathered coefficients (p x t floats)
        const double sum_bytes = double(p * p + p + t) * 8 + double(kept * t) * 4 + 7.0 * double(t) * 8;
        const double gather_bytes = double(p * t) * 4;
        if (root)
            std::printf("RESULT ridge_rows ranks=%d targets=%zu samples=%zu features=%zu seconds=%.3f cpu_seconds=%.3f "
                        "cpu_max_rank=%.3f load=%.2f sum_bytes=%.0f gather_bytes=%.0f serial_seconds=%.3f\n",
                        P, t, n, p, rsecs, cpus, cmax, l0, sum_bytes, gather_bytes, eigh);
    }

    // ---- B2M-MLP, data-parallel
    if (only.empty() || only == "mlp") {
        rng r(3);
        data::batch<float> b;
        b.x = matrix<float>::from_shape({batch, 784});
        b.brain = matrix<float>::from_shape({batch, 2000});
        b.labels = index_vector::from_shape({batch});
        for (auto& v : b.x) v = float(r.normal());
        for (auto& v : b.brain) v = float(r.normal());
        for (std::size_t i = 0; i < batch; ++i) b.labels(i) = r.below(10);
        auto objective = loss::cross_entropy(nn::output, data::labels) +
                         0.5 * loss::contrastive(nn::tap<"h">{}, data::brain, {.tau = 0.1, .dim = 128});
        auto make = [&] {
            return train::make_trainer(nn::sequential(nn::dense(784, 512), nn::relu{}, nn::dense(512, 256), nn::relu{},
                                                      nn::tap<"h">{}, nn::dense(256, 10)),
                                       objective, optim::adam({.lr = 1e-3}), {.seed = 1});
        };
        auto tr = make();
        mpi::distributed_trainer dp(world, tr);
        for (int s = 0; s < 5; ++s) dp.step(b);
        world.barrier();
        const double l0 = load1();
        double t0 = now();
        const double c0 = cpu();
        for (long s = 0; s < steps; ++s) dp.step(b);
        world.barrier();
        const double per_step = (now() - t0) / double(steps);
        const double cpus = cpu_all(world, c0);
        // bytes per rank per step: allreduce of the gradients + all-gathers of tap and output
        const std::size_t grad_bytes = dp.allreduce_bytes();
        const std::size_t gather_bytes = batch * (256 + 10) * sizeof(float);
        // one allreduce of the gradient buffer, measured
        std::vector<float> buf(std::max<std::size_t>(grad_bytes / sizeof(float), 1), 1.0f);
        world.barrier();
        t0 = now();
        const int reps = 20;
        for (int k = 0; k < reps; ++k) mpi::allreduce_sum(world, buf.data(), buf.size());
        world.barrier();
        const double allreduce = (now() - t0) / reps;
        // the objective alone on the whole batch (what every rank repeats)
        auto one = make();
        one.step(b);
        one.student().forward(b.x, nn::step_context{.training = true, .noise = nullptr});
        t0 = now();
        for (long s = 0; s < steps; ++s) {
            one.objective().forward(one.student(), b);
            one.objective().backward(one.student(), b);
        }
        const double objective_secs = (now() - t0) / double(steps);
        if (root)
            std::printf("RESULT mlp ranks=%d batch=%zu steps_per_s=%.3f grad_bytes=%zu gather_bytes=%zu "
                        "allreduce_seconds=%.6f objective_seconds=%.6f cpu_seconds_per_step=%.4f load=%.2f\n",
                        P, batch, 1.0 / per_step, grad_bytes, gather_bytes, allreduce, objective_secs,
                        cpus / double(steps), l0);
    }
    return 0;
}

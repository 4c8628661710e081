// B2M-GRU (../shared/BENCHMARKS.md): latent transfer into a recurrent decision student.
// 64 sequences x 50 steps x 8 inputs; GRU hidden 128; decision head Dense(128, 2) on the
// last step (cross-entropy); latent head Dense(128, 32) at every step regressed (MSE) onto
// a 32-d brain latent trajectory (64 x 50 x 32). Loss CE + 1.0 * MSE; Adam lr 1e-3.
// Prints key=value: steps_per_s, peak_rss_mb, allocs_per_step, loss_first, loss_last.
//   b2m_gru --data=DIR [--threads=2] [--warmup=20] [--seconds=2] [--steps=1000] [--batch=64]
#include "bench_common.hpp"

#include <b2m/brain/npy.hpp>
#include <b2m/core/parallel.hpp>
#include <b2m/core/thread_env.hpp>
#include <b2m/loss/cross_entropy.hpp>
#include <b2m/loss/latent.hpp>
#include <b2m/nn/dense.hpp>
#include <b2m/nn/last_step.hpp>
#include <b2m/nn/recurrent.hpp>
#include <b2m/nn/sequential.hpp>
#include <b2m/nn/tap.hpp>
#include <b2m/optim/optimizer.hpp>
#include <b2m/train/trainer.hpp>

using namespace b2m;

int main(int argc, char** argv) {
    apply_thread_env_defaults(argv);  // b2m's defaults (passive OpenMP waiting), as a user's program gets them
    const std::string dir = bench::arg(argc, argv, "data", ".");
    const int threads = int(bench::arg_int(argc, argv, "threads", 2));
    const long warmup = bench::arg_int(argc, argv, "warmup", 20), max_steps = bench::arg_int(argc, argv, "steps", 1000);
    const double min_seconds = std::stod(bench::arg(argc, argv, "seconds", "2"));
    set_num_threads(threads);

    constexpr std::size_t T = 50, F = 8, H = 128, K = 32;
    const auto x = brain::load_npy<float, 2>(dir + "/gru_x.npy");         // (64, T*F)
    const auto z = brain::load_npy<float, 2>(dir + "/gru_latent.npy");    // (64, T*K)
    const auto labels = brain::load_npy<double, 1>(dir + "/gru_labels.npy");
    // --batch (scaling curves): batch row i is sequence i mod 64.
    const std::size_t B = std::size_t(bench::arg_int(argc, argv, "batch", long(x.shape(0)))), n0 = x.shape(0);
    train::batch<float> b;
    b.x = matrix<float>::from_shape({B, x.shape(1)});
    b.targets = matrix<float>::from_shape({B, z.shape(1)});
    b.labels = index_vector::from_shape({B});
    for (std::size_t i = 0; i < B; ++i) {
        std::copy_n(x.data() + (i % n0) * x.shape(1), x.shape(1), b.x.data() + i * x.shape(1));
        std::copy_n(z.data() + (i % n0) * z.shape(1), z.shape(1), b.targets.data() + i * z.shape(1));
        b.labels(i) = std::int64_t(labels(i % n0));
    }

    auto student = nn::sequential(nn::gru(F, H), nn::tap<"states">{}, nn::last_step(H),
                                  nn::dense(H, 2, true, nn::init::fan_in_uniform));
    auto objective = loss::cross_entropy(nn::output, data::labels) +
                     1.0 * loss::latent(nn::tap<"states">{}, data::targets, {.kind = loss::latent_loss::mse, .steps = T});
    auto trainer = train::make_trainer(student, objective, optim::adam({.lr = 1e-3}), {.seed = 1});
    static_assert(K == 32);

    double loss_first = 0, loss_last = 0;
    for (long s = 0; s < warmup; ++s) loss_first = trainer.step(b).total;
    const long allocs_before = bench::allocations.load();
    const double t0 = bench::now();
    long steps = 0;  // timed steps: at least 10 and min_seconds, at most max_steps
    double dt = 0;
    for (long s = 0; s < max_steps && (s < 10 || dt < min_seconds); ++s, ++steps) {
        loss_last = trainer.step(b).total;
        dt = bench::now() - t0;
    }
    const long allocs = bench::allocations.load() - allocs_before;
    std::printf("steps_per_s=%.4f\npeak_rss_mb=%.1f\nallocs_per_step=%.3f\nloss_first=%.5f\nloss_last=%.5f\n",
                double(steps) / dt, bench::peak_rss_mb(), double(allocs) / double(steps), loss_first, loss_last);
    return 0;
}

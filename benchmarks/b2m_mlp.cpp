// B2M-MLP (../shared/BENCHMARKS.md): contrastive brain transfer with a dense student.
// Student 784 -> 512 -> 256 (ReLU) -> h, task head 256 -> 10; objective cross-entropy +
// 0.5 * symmetric InfoNCE between L2-normalised projections (student head 256 -> 128,
// brain head 2000 -> 128), tau = 0.1; Adam lr 1e-3; batches of 256 in order.
// Prints key=value: steps_per_s, peak_rss_mb, allocs_per_step, loss_first, loss_last.
//   b2m_mlp --data=DIR [--threads=2] [--warmup=20] [--seconds=2] [--steps=1000] [--batch=256]
#include "bench_common.hpp"

#include <b2m/brain/npy.hpp>
#include <b2m/core/parallel.hpp>
#include <b2m/core/thread_env.hpp>
#include <b2m/loss/contrastive.hpp>
#include <b2m/loss/cross_entropy.hpp>
#include <b2m/nn/activation.hpp>
#include <b2m/nn/dense.hpp>
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

    const auto x = brain::load_npy<float, 2>(dir + "/mlp_x.npy");
    const auto brain_resp = brain::load_npy<float, 2>(dir + "/mlp_brain.npy");
    const auto labels = brain::load_npy<double, 1>(dir + "/mlp_labels.npy");
    const std::size_t n = x.shape(0), batch = std::size_t(bench::arg_int(argc, argv, "batch", 256)), nb = n / batch;
    if (nb == 0) {
        std::fprintf(stderr, "b2m_mlp: --batch=%zu exceeds the %zu stimuli\n", batch, n);
        return 2;
    }

    // The batches, cut once (batches in order; the step reads them in place).
    std::vector<train::batch<float>> batches(nb);
    for (std::size_t k = 0; k < nb; ++k) {
        auto& b = batches[k];
        b.x = matrix<float>::from_shape({batch, x.shape(1)});
        b.brain = matrix<float>::from_shape({batch, brain_resp.shape(1)});
        b.labels = index_vector::from_shape({batch});
        std::copy_n(x.data() + k * batch * x.shape(1), batch * x.shape(1), b.x.data());
        std::copy_n(brain_resp.data() + k * batch * brain_resp.shape(1), batch * brain_resp.shape(1), b.brain.data());
        for (std::size_t i = 0; i < batch; ++i) b.labels(i) = std::int64_t(labels(k * batch + i));
    }

    auto student = nn::sequential(nn::dense(784, 512, true, nn::init::fan_in_uniform), nn::relu{},
                                  nn::dense(512, 256, true, nn::init::fan_in_uniform), nn::relu{}, nn::tap<"h">{},
                                  nn::dense(256, 10, true, nn::init::fan_in_uniform));
    auto objective = loss::cross_entropy(nn::output, data::labels) +
                     0.5 * loss::contrastive(nn::tap<"h">{}, data::brain, {.tau = 0.1, .dim = 128});
    auto trainer = train::make_trainer(student, objective, optim::adam({.lr = 1e-3}), {.seed = 1});

    double loss_first = 0, loss_last = 0;
    for (long s = 0; s < warmup; ++s) loss_first = trainer.step(batches[std::size_t(s) % nb]).total;
    const long allocs_before = bench::allocations.load();
    const double t0 = bench::now();
    long steps = 0;  // timed steps: at least 10 and min_seconds, at most max_steps
    double dt = 0;
    for (long s = 0; s < max_steps && (s < 10 || dt < min_seconds); ++s, ++steps) {
        loss_last = trainer.step(batches[std::size_t(warmup + s) % nb]).total;
        dt = bench::now() - t0;
    }
    const long allocs = bench::allocations.load() - allocs_before;
    std::printf("steps_per_s=%.4f\npeak_rss_mb=%.1f\nallocs_per_step=%.3f\nloss_first=%.5f\nloss_last=%.5f\n",
                double(steps) / dt, bench::peak_rss_mb(), double(allocs) / double(steps), loss_first, loss_last);
    return 0;
}

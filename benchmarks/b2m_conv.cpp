// B2M-Conv (../shared/BENCHMARKS.md): multi-layer encoding alignment of a CORnet-Z-sized
// conv student. 64 x 64 x 3 images; four blocks conv -> ReLU -> max-pool 2x2 (stride 2):
// V1 conv 3->64 kernel 7 stride 2 padding 3, V2 64->128, V4 128->256, IT 256->512 (kernel 3,
// padding 1); global average pool; Dense(512, 100). Taps after the V2, V4 and IT blocks.
// Objective: cross-entropy + 1.0 * encoding alignment over the three taps onto 100 brain
// targets (128 units per tap, MSE + correlation terms, METHODS.md section 4); Adam lr 1e-3;
// batches of 64 in order.
// Prints key=value: steps_per_s, peak_rss_mb, allocs_per_step, loss_first, loss_last.
//   b2m_conv --data=DIR [--threads=2] [--warmup=5] [--seconds=2] [--steps=1000] [--batch=64]
//            [--min-steps=5] [--im2col-budget=N (entries per conv layer; default the library's)]
//            [--backend=im2col|auto|dnnl (default im2col, nn::conv2d's default: no allocation per
//             step; auto: conv_backend::automatic, oneDNN per layer where it measured faster;
//             dnnl: oneDNN for every layer; both opt-in and need a build with b2m::dnnl)]
#include "bench_common.hpp"

#include <b2m/brain/npy.hpp>
#include <b2m/core/parallel.hpp>
#include <b2m/core/thread_env.hpp>
#include <b2m/loss/cross_entropy.hpp>
#include <b2m/loss/encoding_alignment.hpp>
#include <b2m/nn/activation.hpp>
#include <b2m/nn/conv2d.hpp>
#include <b2m/nn/dense.hpp>
#include <b2m/nn/flatten.hpp>
#include <b2m/nn/pool.hpp>
#include <b2m/nn/sequential.hpp>
#include <b2m/nn/tap.hpp>
#include <b2m/optim/optimizer.hpp>
#include <b2m/train/trainer.hpp>

using namespace b2m;

int main(int argc, char** argv) {
    apply_thread_env_defaults(argv);  // b2m's defaults (passive OpenMP waiting), as a user's program gets them
    const std::string dir = bench::arg(argc, argv, "data", ".");
    const int threads = int(bench::arg_int(argc, argv, "threads", 2));
    const long warmup = bench::arg_int(argc, argv, "warmup", 5), max_steps = bench::arg_int(argc, argv, "steps", 1000);
    const long min_steps = bench::arg_int(argc, argv, "min-steps", 5);
    const double min_seconds = std::stod(bench::arg(argc, argv, "seconds", "2"));
    const std::size_t batch = std::size_t(bench::arg_int(argc, argv, "batch", 64));
    set_num_threads(threads);

    const auto x = brain::load_npy<float, 2>(dir + "/conv_x.npy");          // (N, 3*64*64)
    const auto brain_resp = brain::load_npy<float, 2>(dir + "/conv_brain.npy");  // (N, 100)
    const auto labels = brain::load_npy<double, 1>(dir + "/conv_labels.npy");
    const std::size_t n = x.shape(0), nb = n / batch;
    if (nb == 0 || x.shape(1) != 3 * 64 * 64) {
        std::fprintf(stderr, "b2m_conv: conv_x.npy must be (N >= batch, 12288), got (%zu, %zu)\n", n, x.shape(1));
        return 2;
    }

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

    const nn::image_shape in{3, 64, 64};
    const nn::conv2d c1({.out_channels = 64, .kernel = 7, .stride = 2, .padding = 3}, in);
    const nn::max_pool2d p1({.kernel = 2}, c1.output_shape());
    const nn::conv2d c2({.out_channels = 128, .kernel = 3, .stride = 1, .padding = 1}, p1.output_shape());
    const nn::max_pool2d p2({.kernel = 2}, c2.output_shape());
    const nn::conv2d c3({.out_channels = 256, .kernel = 3, .stride = 1, .padding = 1}, p2.output_shape());
    const nn::max_pool2d p3({.kernel = 2}, c3.output_shape());
    const nn::conv2d c4({.out_channels = 512, .kernel = 3, .stride = 1, .padding = 1}, p3.output_shape());
    const nn::max_pool2d p4({.kernel = 2}, c4.output_shape());
    auto student = nn::sequential(c1, nn::relu{}, p1,                        //
                                  c2, nn::relu{}, p2, nn::tap<"V2">{},       //
                                  c3, nn::relu{}, p3, nn::tap<"V4">{},       //
                                  c4, nn::relu{}, p4, nn::tap<"IT">{},       //
                                  nn::global_avg_pool(p4.output_shape()), nn::flatten{},
                                  nn::dense(512, 100, true, nn::init::fan_in_uniform));
    auto objective = loss::cross_entropy(nn::output, data::labels) +
                     1.0 * loss::encoding_alignment(loss::taps(nn::tap<"V2">{}, nn::tap<"V4">{}, nn::tap<"IT">{}),
                                                    data::brain, {.units = 128});
    auto trainer = train::make_trainer(student, objective, optim::adam({.lr = 1e-3}), {.seed = 1});
    if (const long budget = bench::arg_int(argc, argv, "im2col-budget", 0); budget > 0) {  // experiments
        auto& st = trainer.student();
        st.layer<0>().set_im2col_budget(std::size_t(budget));
        st.layer<3>().set_im2col_budget(std::size_t(budget));
        st.layer<7>().set_im2col_budget(std::size_t(budget));
        st.layer<11>().set_im2col_budget(std::size_t(budget));
    }
    const std::string backend = bench::arg(argc, argv, "backend", "im2col");
    if (backend != "auto" && backend != "dnnl" && backend != "im2col") {
        std::fprintf(stderr, "b2m_conv: --backend must be im2col, auto or dnnl, got '%s'\n", backend.c_str());
        return 2;
    }
    std::string on_dnnl;  // the conv layers that run on oneDNN
    {
        const auto b = backend == "dnnl" ? nn::conv_backend::dnnl
                       : backend == "im2col" ? nn::conv_backend::im2col : nn::conv_backend::automatic;
        auto& st = trainer.student();
        try {
            st.layer<0>().set_backend(b);
            st.layer<3>().set_backend(b);
            st.layer<7>().set_backend(b);
            st.layer<11>().set_backend(b);
        } catch (const error& e) {  // --backend=dnnl in a build without b2m::dnnl
            std::fprintf(stderr, "b2m_conv: %s\n", e.what());
            return 2;
        }
        const bool on[] = {st.layer<0>().uses_dnnl(), st.layer<3>().uses_dnnl(), st.layer<7>().uses_dnnl(),
                           st.layer<11>().uses_dnnl()};
        const char* names[] = {"V1", "V2", "V4", "IT"};
        for (int i = 0; i < 4; ++i)
            if (on[i]) on_dnnl += std::string(on_dnnl.empty() ? "" : "+") + names[i];
        if (on_dnnl.empty()) on_dnnl = "none";
    }

    double loss_first = 0, loss_last = 0;
    for (long s = 0; s < warmup; ++s) loss_first = trainer.step(batches[std::size_t(s) % nb]).total;
    const long allocs_before = bench::allocations.load();
    const double t0 = bench::now();
    long steps = 0;  // timed steps: at least min_steps and min_seconds, at most max_steps
    double dt = 0;
    for (long s = 0; s < max_steps && (s < min_steps || dt < min_seconds); ++s, ++steps) {
        loss_last = trainer.step(batches[std::size_t(warmup + s) % nb]).total;
        dt = bench::now() - t0;
    }
    const long allocs = bench::allocations.load() - allocs_before;
    std::printf("backend=%s\nconv_on_dnnl=%s\n", backend.c_str(), on_dnnl.c_str());
    std::printf("steps_per_s=%.4f\npeak_rss_mb=%.1f\nallocs_per_step=%.3f\nloss_first=%.5f\nloss_last=%.5f\n",
                double(steps) / dt, bench::peak_rss_mb(), double(allocs) / double(steps), loss_first, loss_last);
    return 0;
}

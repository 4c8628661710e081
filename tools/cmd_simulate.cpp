// tools/cmd_simulate.cpp - `b2m simulate`: a simulated subject's data as .npy files, to try
// the other commands without recordings.
#include <cstdio>
#include <filesystem>

#include "cli.hpp"

#include "b2m/brain/npy.hpp"
#include "b2m/sim/subject.hpp"

namespace b2m::cli {

namespace {

const command_spec& simulate_spec() {
    static const command_spec spec{
        "simulate",
        "Write stimuli, task labels and a simulated subject's brain responses as .npy files.",
        "[options] --out DIR",
        {},
        {{"trials", "N", "number of stimuli (default 1096)"},
         {"features", "F", "stimulus features (default 64)"},
         {"latent", "K", "dimension of the hidden latent the subject encodes (default 4)"},
         {"classes", "C", "task classes, read out from the latent (default 4)"},
         {"voxels", "V", "brain targets (default 100)"},
         {"noise", "X", "response noise sd relative to the signal sd (default 0.3)"},
         {"task-share", "X", "how much of the task the latent carries, in [0, 1] (default 1)"},
         {"seed", "S", "seed of the world (default 11); the draws use seed 5"},
         {"out", "DIR", "output folder (required): stimuli.npy, labels.npy, brain.npy"}},
        "The world (sim::latent_world): stimuli x ~ N(0, I_F); a hidden latent z = x M (K dims);\n"
        "the class is a linear read-out of z. The subject (sim::subject): V targets, a noisy\n"
        "nonlinear map of z. Writes DIR/stimuli.npy (N, F) float32, DIR/labels.npy (N,) int64 and\n"
        "DIR/brain.npy (N, V) float32. With the defaults and 'b2m compare --held-out 1000' this\n"
        "is the setting of the demo (96 training, 1000 held-out stimuli).",
        "  b2m simulate --out sim --trials 500 --voxels 50"};
    return spec;
}

} // namespace

int run_simulate(const std::vector<std::string>& args) {
    const auto& spec = simulate_spec();
    const auto parsed = parse_command(spec, args);
    if (!parsed) return 0;  // --help printed
    const parsed_args& a = *parsed;
    const std::string out = a.required("out");
    const std::size_t n = a.count("trials", 1096, 2, 10000000);
    sim::world_options w;
    w.features = a.count("features", 64, 2, 1000000);
    w.latent_dim = a.count("latent", 4, 1, w.features - 1);
    w.classes = a.count("classes", 4, 2, 10000);
    w.task_share = a.real_number("task-share", 1.0, 0.0, 1.0);
    w.seed = a.seed("seed", 11);
    sim::subject_options so;
    so.voxels = a.count("voxels", 100, 1, 10000000);
    so.noise = a.real_number("noise", 0.3, 0.0, 1e3);

    make_output_dir(out);
    sim::latent_world world(w);
    sim::subject subject(world, so);
    rng r(5);
    const matrix<double> x = world.stimuli(n, r);
    const auto rec = subject.record(x, 1, r);
    const index_vector y = world.labels(x);
    const auto path = [&](const char* f) { return (std::filesystem::path(out) / f).string(); };
    brain::save_npy(path("stimuli.npy"), matrix<float>(xt::cast<float>(x)));
    brain::save_npy(path("labels.npy"), y);
    brain::save_npy(path("brain.npy"), matrix<float>(xt::cast<float>(rec.brain)));
    std::printf("wrote %s (%zu, %zu), %s (%zu,), %s (%zu, %zu)\n", path("stimuli.npy").c_str(), n, w.features,
                path("labels.npy").c_str(), n, path("brain.npy").c_str(), rec.brain.shape(0), rec.brain.shape(1));
    return 0;
}

} // namespace b2m::cli

// tools/cmd_features.cpp - `b2m features`: a tap's activations for every stimulus, as a
// float32 .npy that `b2m encode` / `b2m rsa` read.
#include <cstdio>

#include "arch.hpp"
#include "cli.hpp"

#include "b2m/brain/npy.hpp"

namespace b2m::cli {

namespace {

const command_spec& features_spec() {
    static const command_spec spec = [] {
        command_spec s{"features",
                       "Write a student's activations at one tap for every stimulus (float32 .npy, one row per stimulus).",
                       "--arch NAME --weights W.npz --stimuli X.npy --tap NAME --out F.npy [options]",
                       {},
                       model_options(),
                       "Taps: mlp, mlp-small: hidden; conv: conv1, conv2, hidden; gru: sequence (T*64 per row),\n"
                       "hidden. 'output' gives the logits. Sequence and image taps are flattened per stimulus\n"
                       "(C*H*W in NCHW order, T*H time-major). The file is written atomically; progress goes to\n"
                       "stderr. The result feeds `b2m encode F.npy responses.npy` and `b2m rsa F.npy ...`.",
                       "  b2m features --arch conv --weights run1/student.npz --stimuli images.npy --tap conv2 --out conv2.npy\n"
                       "  b2m encode conv2.npy responses.npy --folds 5 --out r.npy"};
        s.options.push_back({"tap", "NAME", "the tap to read (default: hidden)"});
        s.options.push_back({"out", "F.npy", "output file (required)"});
        return s;
    }();
    return spec;
}

} // namespace

int run_features(const std::vector<std::string>& args) {
    const auto& spec = features_spec();
    const auto parsed = parse_command(spec, args);
    if (!parsed) return 0;  // --help printed
    const parsed_args& a = *parsed;
    const std::string out = a.required("out");
    const std::string tap = a.text("tap", "hidden");
    require_output_parent(out, "--out");
    opened_model m = open_model(a);
    bool known = tap == "output";
    for (const auto& t : m.model->taps()) known = known || t == tap;
    if (!known) {
        std::string list;
        for (const auto& t : m.model->taps()) list += t + ", ";
        throw usage_error("option --tap: the " + arch_name(m.arch) + " student has no tap '" + tap + "' (its taps: " + list + "output)");
    }
    const matrix<float> f = batched_run(*m.model, m.in, tap, m.batch, m.progress);
    brain::save_npy(out, f);
    if (m.progress) std::printf("wrote %s: %zu stimuli x %zu features (tap %s of %s)\n", out.c_str(), f.shape(0), f.shape(1),
                                tap.c_str(), m.model->layers().c_str());
    return 0;
}

} // namespace b2m::cli

// tools/cmd_predict.cpp - `b2m predict`: a trained student's outputs for new stimuli.
#include <cstdio>

#include "arch.hpp"
#include "cli.hpp"

#include "b2m/brain/npy.hpp"

namespace b2m::cli {

namespace {

const command_spec& predict_spec() {
    static const command_spec spec = [] {
        command_spec s{"predict",
                       "Write a student's outputs (logits) and predicted classes for every stimulus.",
                       "--arch NAME --weights W.npz --stimuli X.npy --out P.npy [--labels y.npy] [options]",
                       {},
                       model_options(),
                       "Writes P.npy (float32 logits, (N, classes)) and, with --classes-out, the predicted class\n"
                       "of each stimulus (int64, (N,)). With --labels, prints the accuracy.",
                       "  b2m predict --arch mlp-small --weights run1/student.npz --stimuli X_test.npy --out logits.npy \\\n"
                       "              --classes-out predicted.npy --labels y_test.npy"};
        s.options.push_back({"out", "P.npy", "logits output file (required)"});
        s.options.push_back({"classes-out", "Y.npy", "predicted class per stimulus (int64)"});
        s.options.push_back({"labels", "y.npy", "true classes: print the accuracy"});
        return s;
    }();
    return spec;
}

} // namespace

int run_predict(const std::vector<std::string>& args) {
    const auto& spec = predict_spec();
    const auto parsed = parse_command(spec, args);
    if (!parsed) return 0;  // --help printed
    const parsed_args& a = *parsed;
    const std::string out = a.required("out");
    const std::string classes_out = a.text("classes-out", "");
    require_output_parent(out, "--out");
    if (!classes_out.empty()) require_output_parent(classes_out, "--classes-out");
    opened_model m = open_model(a);
    index_vector labels;
    if (a.has("labels")) {
        std::size_t c = m.classes;
        labels = load_labels(a.required("labels"), "--labels", c);
        require_same_trials("--stimuli", m.stimuli, m.in.rows(), "--labels", a.required("labels"), labels.size());
    }
    const matrix<float> y = batched_run(*m.model, m.in, "output", m.batch, m.progress);
    xt::xtensor<std::int64_t, 1> pred = xt::zeros<std::int64_t>({y.shape(0)});
    std::size_t correct = 0;
    for (std::size_t i = 0; i < y.shape(0); ++i) {
        std::size_t best = 0;
        for (std::size_t j = 1; j < y.shape(1); ++j)
            if (y(i, j) > y(i, best)) best = j;
        pred(i) = std::int64_t(best);
        if (labels.size() && std::int64_t(labels(i)) == pred(i)) ++correct;
    }
    brain::save_npy(out, y);
    if (!classes_out.empty()) brain::save_npy(classes_out, pred);
    std::printf("wrote %s (%zu stimuli x %zu outputs)%s%s\n", out.c_str(), y.shape(0), y.shape(1),
                classes_out.empty() ? "" : " and ", classes_out.c_str());
    if (labels.size()) std::printf("accuracy %.4f (%zu of %zu)\n", double(correct) / double(y.shape(0)), correct, y.shape(0));
    return 0;
}

} // namespace b2m::cli

// tools/cmd_encode.cpp - `b2m encode`: ridge encoding model with a cross-validated alpha per
// target, scored by the held-out Pearson r of every target.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cli.hpp"

#include "b2m/brain/metrics.hpp"
#include "b2m/brain/npy.hpp"
#include "b2m/brain/ridge.hpp"

namespace b2m::cli {

namespace {

const command_spec& encode_spec() {
    static const command_spec spec{
        "encode",
        "Fit a ridge encoding model from features to responses (alpha chosen per target by\n"
        "cross-validation on the training samples) and report each target's Pearson r on\n"
        "held-out samples.",
        "FEATURES.npy RESPONSES.npy [options]",
        {"FEATURES.npy", "RESPONSES.npy"},
        {{"alphas", "A,B,..", "ridge penalties to choose from (default 0.01,0.1,1,10,100,1e3,1e4,1e5,1e6)"},
         {"folds", "K", "choose alpha by K-fold CV on the training samples"},
         {"loo", "", "choose alpha by exact leave-one-out CV (the default)"},
         {"test-fraction", "F", "fraction of samples held out for scoring (default 0.2)"},
         {"seed", "S", "seed of the held-out split (default 0)"},
         {"out", "r.npy", "write the held-out r of every target as a float64 vector"},
         threads_option},
        "FEATURES is (samples, features), e.g. a model layer's activations to each stimulus;\n"
        "RESPONSES is (samples, targets) (voxels, channels, neurons) or (samples,) for one target;\n"
        "both have one row per sample in the same order. Each target's model has an unpenalised\n"
        "intercept. Prints the median and mean held-out r over targets.",
        "  b2m encode layer3.npy v4_responses.npy --folds 5 --test-fraction 0.25 --out r.npy"};
    return spec;
}

matrix<double> rows_of(const matrix<double>& m, const std::vector<std::size_t>& idx) {
    matrix<double> out = matrix<double>::from_shape({idx.size(), m.shape(1)});
    for (std::size_t i = 0; i < idx.size(); ++i) std::copy_n(m.data() + idx[i] * m.shape(1), m.shape(1), out.data() + i * m.shape(1));
    return out;
}

} // namespace

int run_encode(const std::vector<std::string>& args) {
    const auto& spec = encode_spec();
    const parsed_args a = parse_args(spec, args);
    if (a.help) {
        std::fputs(help_text(spec).c_str(), stdout);
        return 0;
    }
    apply_threads(a);
    if (a.has("folds") && a.flag("loo")) throw usage_error("give either --folds K or --loo, not both");
    brain::ridge_cv_options o;
    o.alphas = a.number_list("alphas", {1e-2, 1e-1, 1, 10, 100, 1e3, 1e4, 1e5, 1e6});
    o.method = a.has("folds") ? brain::cv_method::kfold : brain::cv_method::leave_one_out;
    o.folds = a.count("folds", 5, 2, 1000000);
    const double test_fraction = a.real_number("test-fraction", 0.2, 0.01, 0.9);
    const std::uint64_t seed = a.seed("seed", 0);
    const std::string out = a.text("out", "");

    const std::string fx = a.positional[0], fy = a.positional[1];
    const matrix<double> x = load_matrix(fx, "features", false);
    const matrix<double> y = load_matrix(fy, "responses", true);
    require_same_trials("features", fx, x.shape(0), "responses", fy, y.shape(0));
    const split sp = split_trials(x.shape(0), test_fraction, seed, "--test-fraction");
    if (sp.held_out.size() < 3)
        throw usage_error("--test-fraction " + json_object::number(test_fraction) + " holds out " +
                          std::to_string(sp.held_out.size()) + " of " + std::to_string(x.shape(0)) +
                          " samples; a held-out correlation needs at least 3");
    if (o.method == brain::cv_method::kfold && o.folds > sp.train.size())
        throw usage_error("--folds " + std::to_string(o.folds) + " exceeds the " + std::to_string(sp.train.size()) +
                          " training samples");

    const matrix<double> xtr = rows_of(x, sp.train), ytr = rows_of(y, sp.train);
    const matrix<double> xte = rows_of(x, sp.held_out), yte = rows_of(y, sp.held_out);
    brain::ridge_cv<double> model(o);
    model.fit(xtr, ytr);
    const auto r = brain::pearson_columns(yte, model.predict(xte));

    const std::size_t t = r.size();
    double mean = 0, lo = r(0), hi = r(0);
    std::size_t positive = 0;
    for (std::size_t j = 0; j < t; ++j) {
        mean += double(r(j));
        lo = std::min(lo, double(r(j)));
        hi = std::max(hi, double(r(j)));
        positive += r(j) > 0;
    }
    mean /= double(t);
    std::vector<double> al(model.alpha.begin(), model.alpha.end());
    std::sort(al.begin(), al.end());
    std::printf("b2m encode: %zu samples (%zu training, %zu held out), %zu features, %zu targets\n", x.shape(0),
                sp.train.size(), sp.held_out.size(), x.shape(1), t);
    std::printf("alpha per target by %s on the training samples from %zu values; median chosen alpha %g\n",
                o.method == brain::cv_method::kfold ? (std::to_string(o.folds) + "-fold CV").c_str() : "leave-one-out CV",
                o.alphas.size(), al[al.size() / 2]);
    std::printf("held-out Pearson r: median %.4f, mean %.4f, min %.4f, max %.4f; %zu of %zu targets r > 0\n",
                brain::median(r), mean, lo, hi, positive, t);
    if (!out.empty()) {
        try {
            brain::save_npy(out, r);
        } catch (const b2m::error& e) {
            throw io_error(std::string("--out ") + e.what());
        }
        std::printf("wrote %s: held-out r per target, shape (%zu,)\n", out.c_str(), t);
    }
    return 0;
}

} // namespace b2m::cli

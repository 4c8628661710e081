// tools/cmd_rsa.cpp - `b2m rsa`: representational similarity of two representations (or
// RDMs) of the same stimuli, with a bootstrap interval over stimuli.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cli.hpp"

#include "b2m/brain/rsa.hpp"

namespace b2m::cli {

namespace {

const command_spec& rsa_spec() {
    static const command_spec spec{
        "rsa",
        "Compare two representations of the same stimuli by their representational\n"
        "dissimilarity matrices (RDMs), with a 95% bootstrap interval over stimuli.",
        "A.npy B.npy [options]",
        {"A.npy", "B.npy"},
        {{"metric", "NAME", "dissimilarity of two stimuli's patterns: correlation | euclidean | cosine (default correlation)"},
         {"compare", "NAME", "comparison of the two RDMs: spearman | kendall | pearson (default spearman; kendall is tau-a)"},
         {"bootstrap", "N", "bootstrap draws over stimuli (default 1000; 0: no interval)"},
         {"seed", "S", "seed of the bootstrap (default 0)"},
         {"rdm", "", "both files are RDMs (square, symmetric, zero diagonal)"},
         {"patterns", "", "both files are representations (stimuli, features); no RDM detection"}},
        "A and B have one row per stimulus, in the same order: either a representation\n"
        "(stimuli, features) - a model layer, voxels, neurons; higher ranks are flattened - or\n"
        "an RDM (stimuli, stimuli). A square, symmetric, non-negative matrix with a zero diagonal\n"
        "is taken as an RDM unless --patterns is given. The RDMs are compared on their lower\n"
        "triangles; each bootstrap draw resamples stimuli with replacement and drops pairs of\n"
        "the same stimulus.",
        "  b2m rsa model_layer.npy it_responses.npy --metric correlation --compare spearman --bootstrap 2000"};
    return spec;
}

bool looks_like_rdm(const matrix<double>& m) {
    const std::size_t n = m.shape(0);
    if (n != m.shape(1) || n < 2) return false;
    double scale = 0;
    for (double v : m) scale = std::max(scale, std::abs(v));
    if (scale == 0) return false;
    const double tol = 1e-6 * scale;
    for (std::size_t i = 0; i < n; ++i) {
        if (std::abs(m(i, i)) > tol) return false;
        for (std::size_t j = 0; j < i; ++j)
            if (std::abs(m(i, j) - m(j, i)) > tol || m(i, j) < -tol) return false;
    }
    return true;
}

void require_rdm(const matrix<double>& m, const std::string& path) {
    const std::size_t n = m.shape(0);
    if (n != m.shape(1))
        throw input_error(path + ": --rdm given but the array has shape " + shape_string(m.shape()) + ", not square");
    double scale = 0;
    for (double v : m) scale = std::max(scale, std::abs(v));
    const double tol = 1e-6 * std::max(scale, 1e-300);
    for (std::size_t i = 0; i < n; ++i) {
        if (std::abs(m(i, i)) > tol)
            throw input_error(path + ": --rdm given but diagonal entry " + std::to_string(i) + " is " +
                              json_object::number(m(i, i)) + ", not 0");
        for (std::size_t j = 0; j < i; ++j)
            if (std::abs(m(i, j) - m(j, i)) > tol)
                throw input_error(path + ": --rdm given but the matrix is not symmetric (entries (" + std::to_string(i) +
                                  ", " + std::to_string(j) + ") and (" + std::to_string(j) + ", " + std::to_string(i) +
                                  ") differ)");
    }
}

} // namespace

int run_rsa(const std::vector<std::string>& args) {
    const auto& spec = rsa_spec();
    const parsed_args a = parse_args(spec, args);
    if (a.help) {
        std::fputs(help_text(spec).c_str(), stdout);
        return 0;
    }
    if (a.flag("rdm") && a.flag("patterns")) throw usage_error("give either --rdm or --patterns, not both");
    const std::string metric_name = a.choice("metric", "correlation", {"correlation", "euclidean", "cosine"});
    const std::string compare_name = a.choice("compare", "spearman", {"spearman", "kendall", "pearson"});
    const std::size_t draws = a.count("bootstrap", 1000, 0, 1000000);
    const std::uint64_t seed = a.seed("seed", 0);
    const auto metric = metric_name == "euclidean" ? brain::rdm_metric::euclidean
                        : metric_name == "cosine"  ? brain::rdm_metric::cosine
                                                   : brain::rdm_metric::correlation;
    const auto how = compare_name == "kendall"   ? brain::rdm_compare::kendall_tau_a
                     : compare_name == "pearson" ? brain::rdm_compare::pearson
                                                 : brain::rdm_compare::spearman;

    const std::string fa = a.positional[0], fb = a.positional[1];
    matrix<double> ma = load_matrix(fa, "", false), mb = load_matrix(fb, "", false);
    require_same_trials("", fa, ma.shape(0), "", fb, mb.shape(0));
    if (ma.shape(0) < 3) throw input_error(fa + ": has " + std::to_string(ma.shape(0)) + " stimuli (rows); RSA needs at least 3");
    auto prepare = [&](matrix<double>& m, const std::string& path) {
        bool is_rdm = false;
        if (a.flag("rdm")) {
            require_rdm(m, path);
            is_rdm = true;
        } else if (!a.flag("patterns")) {
            is_rdm = looks_like_rdm(m);
        }
        if (is_rdm) {
            std::printf("%s: RDM given directly (%zu x %zu)\n", path.c_str(), m.shape(0), m.shape(1));
            return;
        }
        std::printf("%s: representation (%zu stimuli x %zu features) -> %s RDM\n", path.c_str(), m.shape(0), m.shape(1),
                    metric_name.c_str());
        try {
            m = brain::rdm(m, metric);
        } catch (const b2m::error& e) {
            throw input_error(path + ": " + e.what());
        }
    };
    prepare(ma, fa);
    prepare(mb, fb);
    const std::string label = compare_name == "kendall" ? "kendall tau-a" : compare_name;
    if (draws == 0) {
        std::printf("%s(RDM A, RDM B) = %.4f over %zu stimulus pairs\n", label.c_str(), brain::compare_rdms(ma, mb, how),
                    ma.shape(0) * (ma.shape(0) - 1) / 2);
        return 0;
    }
    const auto res = brain::bootstrap_compare(ma, mb, how, draws, seed, 0.95);
    std::printf("%s(RDM A, RDM B) = %.4f over %zu stimulus pairs\n", label.c_str(), res.value, ma.shape(0) * (ma.shape(0) - 1) / 2);
    std::printf("95%% bootstrap CI over stimuli: [%.4f, %.4f] (%zu of %zu draws usable, seed %llu)\n", res.low, res.high,
                res.samples.size(), draws, static_cast<unsigned long long>(seed));
    return 0;
}

} // namespace b2m::cli

// tools/cmd_rsa.cpp - `b2m rsa`: representational similarity of two representations (or
// RDMs) of the same stimuli, with a bootstrap interval over stimuli.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>

#include "cli.hpp"

#include "b2m/brain/rsa.hpp"
#include "b2m/brain/crossnobis.hpp"
#include "b2m/brain/rdm_stack.hpp"
#include "b2m/core/tolerance.hpp"
#include "b2m/brain/rsa_compare.hpp"

#include <nlohmann/json.hpp>

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
         {"bootstrap", "N", "bootstrap draws over stimuli (default " + std::to_string(defaults::bootstrap) + "; 0: no interval)"},
         seed_option("seed of the bootstrap"),
         {"rdm", "", "both files are RDMs (square, symmetric, zero diagonal)"},
         {"patterns", "", "both files are representations (stimuli, features); no RDM detection"},
         {"convention", "NAME", "b2m (default) | rsatoolbox: RDMs of representations as rsatoolbox computes them "
                                "(euclidean squared and divided by the features; a constant pattern's correlation "
                                "distances NaN, their pairs skipped)"},
         {"out", "FILE.json", "write the result and every bootstrap sample as JSON"}},
        "A and B have one row per stimulus, in the same order: either a representation\n"
        "(stimuli, features) - a model layer, voxels, neurons; higher ranks are flattened - or\n"
        "an RDM (stimuli, stimuli). A square, symmetric, non-negative matrix with a zero diagonal\n"
        "is taken as an RDM unless --patterns is given. The RDMs are compared on their lower\n"
        "triangles; each bootstrap draw resamples stimuli with replacement and drops pairs of\n"
        "the same stimulus. Model comparison with a stack of subject RDMs, noise ceiling and\n"
        "pairwise tests: `b2m rsa --data SUBJECTS.npy --models ...` (see `b2m rsa --data x --help`).",
        "  b2m rsa model_layer.npy it_responses.npy --metric correlation --compare spearman --bootstrap 2000"};
    return spec;
}

bool looks_like_rdm(const matrix<double>& m) {
    const std::size_t n = m.shape(0);
    if (n != m.shape(1) || n < 2) return false;
    double scale = 0;
    for (double v : m) scale = std::max(scale, std::abs(v));
    if (scale == 0) return false;
    const double tol = rdm_symmetry_rtol * scale;
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
    const double tol = rdm_symmetry_rtol * std::max(scale, 1e-300);
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

/// Writes the two-RDM result and its bootstrap samples as JSON (atomically).
void write_pair_result(const std::string& out, const std::string& fa, const std::string& fb, const std::string& label,
                       const std::string& convention, double value, std::size_t pairs, const brain::bootstrap_result* res,
                       std::size_t draws, std::uint64_t seed) {
    auto num = [](double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr); };
    nlohmann::ordered_json j;
    j["a"] = fa, j["b"] = fb, j["comparison"] = label, j["convention"] = convention;
    j["value"] = num(value), j["pairs"] = pairs;
    if (res) {
        nlohmann::ordered_json s = nlohmann::ordered_json::array();
        for (double v : res->samples) s.push_back(num(v));
        j["bootstrap"] = {{"over", "stimuli"}, {"draws", draws}, {"usable", res->samples.size()}, {"seed", seed}, {"level", defaults::level},
                          {"interval", "percentile (linear interpolation between order statistics)"},
                          {"low", num(res->low)}, {"high", num(res->high)}, {"samples", s}};
    }
    write_text_atomically(out, j.dump(2) + "\n");
    std::printf("wrote %s\n", out.c_str());
}

/// The two-RDM comparison in rsatoolbox's convention: NaN pairs (e.g. a constant pattern's
/// correlation distances) are skipped; bootstrap draws as bootstrap_compare (same rng), with
/// same-stimulus pairs dropped (NaN).
int rsa_pair_rsatoolbox(const matrix<double>& ma, const matrix<double>& mb, const std::string& fa, const std::string& fb,
                        const std::string& compare_name, std::size_t draws, std::uint64_t seed, const std::string& out) {
    auto stack = [](const matrix<double>& m, const std::string& path) {
        tensor<double, 3> t = xt::empty<double>({std::size_t(1), m.shape(0), m.shape(1)});
        std::copy(m.begin(), m.end(), t.begin());
        try {
            return brain::rdm_stack_from_matrices(t, path);
        } catch (const b2m::error& e) {
            throw input_error(e.what());
        }
    };
    const auto sa = stack(ma, fa), sb = stack(mb, fb);
    const auto method = compare_name == "kendall" ? brain::rsa_method::tau_a : compare_name == "pearson" ? brain::rsa_method::corr
                                                                                                      : brain::rsa_method::spearman;
    const std::string label = brain::method_name(method);
    double value = 0;
    try {
        value = brain::compare_vectors(sa.vector(0), sb.vector(0), method, sa.n_cond);
    } catch (const b2m::error& e) {
        throw input_error(fa + " vs " + fb + ": " + e.what());
    }
    std::size_t valid = 0;
    for (std::size_t p = 0; p < sa.n_pairs(); ++p) valid += !std::isnan(sa.vectors(0, p)) && !std::isnan(sb.vectors(0, p));
    std::printf("%s(RDM A, RDM B) = %.4f over %zu stimulus pairs (rsatoolbox convention; %zu NaN pairs skipped)\n", label.c_str(),
                value, valid, sa.n_pairs() - valid);
    if (draws == 0) {
        if (!out.empty()) write_pair_result(out, fa, fb, label, "rsatoolbox", value, valid, nullptr, draws, seed);
        return 0;
    }
    brain::bootstrap_result res;
    res.value = value;
    rng r(seed);
    std::vector<std::size_t> pick(sa.n_cond);
    for (std::size_t d = 0; d < draws; ++d) {
        for (auto& p : pick) p = r.below(sa.n_cond);
        const auto ba = sa.subsample_patterns(pick), bb = sb.subsample_patterns(pick);
        try {
            const double v = brain::compare_vectors(ba.vector(0), bb.vector(0), method, ba.n_cond);
            if (std::isfinite(v)) res.samples.push_back(v);
        } catch (const b2m::data_error&) {  // fewer than 2 usable pairs in this draw
        }
    }
    if (res.samples.size() < 2) throw input_error(fa + " vs " + fb + ": fewer than 2 usable bootstrap draws");
    std::vector<double> s = res.samples;
    std::sort(s.begin(), s.end());
    auto q = [&](double p) {
        const double pos = p * double(s.size() - 1);
        const std::size_t lo = std::size_t(std::floor(pos)), hi = std::min(lo + 1, s.size() - 1);
        return s[lo] + (pos - double(lo)) * (s[hi] - s[lo]);
    };
    res.low = q(0.025), res.high = q(0.975);
    std::printf("95%% bootstrap CI over stimuli: [%.4f, %.4f] (%zu of %zu draws usable, seed %llu)\n", res.low, res.high,
                res.samples.size(), draws, static_cast<unsigned long long>(seed));
    if (!out.empty()) write_pair_result(out, fa, fb, label, "rsatoolbox", value, valid, &res, draws, seed);
    return 0;
}

} // namespace

int run_rsa(const std::vector<std::string>& args) {
    for (const auto& s : args)  // the stack mode (tools/cmd_rsa_stack.cpp)
        if (s == "--data" || s.rfind("--data=", 0) == 0 || s == "--models" || s.rfind("--models=", 0) == 0) return run_rsa_stack(args);
    const auto& spec = rsa_spec();
    const auto parsed = parse_command(spec, args);
    if (!parsed) return 0;  // --help printed
    const parsed_args& a = *parsed;
    if (a.flag("rdm") && a.flag("patterns")) throw usage_error("give either --rdm or --patterns, not both");
    const std::string metric_name = a.choice("metric", "correlation", {"correlation", "euclidean", "cosine"});
    const std::string compare_name = a.choice("compare", "spearman", {"spearman", "kendall", "pearson"});
    const std::size_t draws = a.count("bootstrap", defaults::bootstrap, 0, 1000000);
    const std::uint64_t seed = a.seed("seed", defaults::seed);
    const bool rsa_convention = a.choice("convention", "b2m", {"b2m", "rsatoolbox"}) == "rsatoolbox";
    const std::string out = a.text("out", "");
    if (!out.empty()) {  // checked before any work
        if (out.size() < 5 || out.substr(out.size() - 5) != ".json") throw usage_error("--out " + out + ": must end in .json");
        const auto parent = std::filesystem::absolute(out).parent_path();
        if (!std::filesystem::is_directory(parent)) throw input_error("--out " + out + ": folder " + parent.string() + " does not exist");
    }
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
            if (rsa_convention && metric != brain::rdm_metric::cosine) {  // rsatoolbox's calc_rdm
                std::vector<std::int64_t> ids(m.shape(0));
                for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int64_t(i);
                const auto r = metric == brain::rdm_metric::euclidean ? brain::rdm_squared_euclidean(m, ids)
                                                                     : brain::rdm_correlation_nan(m, ids);
                m = r.square(0);
            } else {
                m = brain::rdm(m, metric);
            }
        } catch (const b2m::error& e) {
            throw input_error(path + ": " + e.what());
        }
    };
    prepare(ma, fa);
    prepare(mb, fb);
    if (rsa_convention) return rsa_pair_rsatoolbox(ma, mb, fa, fb, compare_name, draws, seed, out);
    const std::string label = compare_name == "kendall" ? "kendall tau-a" : compare_name;
    // A constant RDM (e.g. every pattern equally far apart) has no rank order: an error
    // naming the file, never a correlation of 0 that reads as a result.
    try {
        (void)brain::compare_rdms(ma, mb, how);
    } catch (const b2m::data_error& e) {
        std::string w = e.what();
        for (const auto& [from, to] : {std::pair<std::string, std::string>{"rdm a", "RDM A (" + fa + ")"},
                                       std::pair<std::string, std::string>{"rdm b", "RDM B (" + fb + ")"}})
            if (const auto k = w.find(from); k != std::string::npos) w.replace(k, from.size(), to);
        throw input_error(w);
    }
    if (draws == 0) {
        const double v = brain::compare_rdms(ma, mb, how);
        std::printf("%s(RDM A, RDM B) = %.4f over %zu stimulus pairs\n", label.c_str(), v, ma.shape(0) * (ma.shape(0) - 1) / 2);
        if (!out.empty()) write_pair_result(out, fa, fb, label, "b2m", v, ma.shape(0) * (ma.shape(0) - 1) / 2, nullptr, draws, seed);
        return 0;
    }
    const auto res = brain::bootstrap_compare(ma, mb, how, draws, seed, defaults::level);
    std::printf("%s(RDM A, RDM B) = %.4f over %zu stimulus pairs\n", label.c_str(), res.value, ma.shape(0) * (ma.shape(0) - 1) / 2);
    std::printf("95%% bootstrap CI over stimuli: [%.4f, %.4f] (%zu of %zu draws usable, seed %llu)\n", res.low, res.high,
                res.samples.size(), draws, static_cast<unsigned long long>(seed));
    if (!out.empty()) write_pair_result(out, fa, fb, label, "b2m", res.value, ma.shape(0) * (ma.shape(0) - 1) / 2, &res, draws, seed);
    return 0;
}

} // namespace b2m::cli

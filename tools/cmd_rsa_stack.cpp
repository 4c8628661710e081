// tools/cmd_rsa_stack.cpp - `b2m rsa --data STACK --models ...`: RSA model comparison in the
// manner of rsatoolbox (Schütt et al. 2023): a stack of subject RDMs as data, any number of
// model RDMs (fixed, weighted, selection), noise ceiling, bootstrap over conditions and/or
// subjects, t and percentile intervals, pairwise tests; table on stdout, CSV/JSON/SVG files.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"

#include "b2m/brain/rdm_noise_ceiling.hpp"
#include "b2m/brain/rdm_stack.hpp"
#include "b2m/brain/rsa_compare.hpp"
#include "b2m/brain/rsa_inference.hpp"
#include "b2m/brain/rsa_models.hpp"
#include "b2m/report/rsa_plots.hpp"

namespace b2m::cli {

namespace {

const command_spec& rsa_stack_spec() {
    static const command_spec spec{
        "rsa",
        "Compare model RDMs with a stack of subject RDMs (rsatoolbox-style model comparison):\n"
        "noise ceiling, bootstrap intervals, tests against 0, the noise ceiling and each other.",
        "--data SUBJECTS.npy --models [KIND:][NAME=]FILE[,...] [options]",
        {},
        {{"data", "FILE|DIR", "subject RDMs: .npy (S, N, N) or (N, N), or a folder of such files"},
         {"models", "LIST", "comma-separated model RDM files [KIND:][NAME=]FILE; KIND fixed (default; a (K, N, N) "
                            "file is averaged), weighted (NNLS weights over its K RDMs) or select (best of K)"},
         {"compare", "NAME", "corr | pearson | spearman | rho-a | tau-a | kendall | tau-b | cosine | corr_cov | cosine_cov "
                             "(default corr)"},
         {"bootstrap", "N", "bootstrap draws (default " + std::to_string(defaults::bootstrap) + "; 0: values and noise ceiling only)"},
         {"over", "WHAT", "resample conditions | subjects | both (default conditions)"},
         seed_option("seed of the resamples"),
         {"level", "P", "interval level (default " + default_text(defaults::level) + ")"},
         {"cv", "K", "also k-fold cross-validation over conditions of the fitted models (default 0: off)"},
         {"convention", "NAME", "b2m | rsatoolbox: both give the same numbers on RDM inputs (see below)"},
         {"out", "DIR", "write rsa_results.csv, rsa_results.json, rsa_bootstrap.csv, rsa_pairwise.csv and SVGs"},
         {"rank", "", "draw the data RDM heat map rank-transformed (percentiles)"}},
        "Each RDM is compared on its pairs i < j; pairs that are NaN in either RDM are skipped.\n"
        "The table reports per model the value on all the data (mean over subjects), the\n"
        "bootstrap mean, the t interval (mean +- t sem, sem from the bootstrap covariance times\n"
        "n/(n-1), dof n - 1, n = conditions, subjects or the smaller of both) and the percentile\n"
        "interval, exactly as rsatoolbox's Result. Tests are t-tests on the bootstrap variances:\n"
        "against 0 (one-sided), against the mean lower noise ceiling (two-sided; Bonferroni over\n"
        "models) and pairwise (two-sided; Benjamini-Hochberg FDR over the M(M-1)/2 pairs).\n"
        "The noise ceiling: lower = each subject vs the pooled RDM of the others, upper = vs the\n"
        "pooled RDM of all (rank-average pooling for rank comparators, z-scored average for\n"
        "corr). A stack file FILE.npy with a FILE.txt of S lines next to it names its RDMs.\n"
        "Conventions: on RDM inputs b2m follows rsatoolbox throughout; they differ when RDMs\n"
        "are computed from patterns (two-file mode): b2m's euclidean is the plain distance,\n"
        "rsatoolbox's is squared and divided by the channels; a constant pattern is an error in\n"
        "b2m and NaN in rsatoolbox (use `b2m rsa A.npy B.npy --convention rsatoolbox`).",
        "  b2m rsa --data rdm_human_it_subjects.npy --models mIT=rdm_monkey_it.npy,behaviour=rdm_behaviour.npy \\\n"
        "          --compare spearman --bootstrap 1000 --out rsa_out"};
    return spec;
}

brain::rdm_stack load_stack(const std::string& path, const std::string& role) {
    brain::rdm_stack s;
    try {
        s = brain::load_rdm_stack(path);
    } catch (const b2m::error& e) {
        throw input_error(role + " " + path + ": " + e.what());
    }
    namespace fs = std::filesystem;
    const fs::path txt = fs::path(path).replace_extension(".txt");
    if (!fs::is_directory(path) && fs::exists(txt)) {
        std::ifstream in(txt);
        std::vector<std::string> names;
        for (std::string line; std::getline(in, line);)
            if (!one_line(line).empty()) names.push_back(one_line(line));
        if (names.size() == s.n_rdm()) s.rdm_names = names;
    }
    return s;
}

std::string fmt(double v, int prec = 4) {
    if (std::isnan(v)) return "n/a";
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", prec, v);
    return b;
}

std::string fmt_p(double p) {
    if (std::isnan(p)) return "n/a";
    char b[64];
    if (p < 1e-4) std::snprintf(b, sizeof b, "%.1e", p);
    else std::snprintf(b, sizeof b, "%.4f", p);
    return b;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

} // namespace

int run_rsa_stack(const std::vector<std::string>& args) {
    const auto& spec = rsa_stack_spec();
    const auto parsed = parse_command(spec, args);
    if (!parsed) return 0;  // --help printed
    const parsed_args& a = *parsed;
    const auto method = [&] {
        try {
            return brain::parse_method(a.text("compare", "corr"));
        } catch (const b2m::error& e) {
            throw usage_error(std::string("--compare: ") + e.what());
        }
    }();
    (void)a.choice("convention", "b2m", {"b2m", "rsatoolbox"});
    const std::size_t draws = a.count("bootstrap", defaults::bootstrap, 0, 1000000);
    const std::string over_name = a.choice("over", "conditions", {"conditions", "subjects", "both"});
    const auto over = over_name == "subjects" ? brain::boot_over::rdms
                      : over_name == "both"   ? brain::boot_over::both
                                              : brain::boot_over::patterns;
    const std::uint64_t seed = a.seed("seed", defaults::seed);
    const double level = a.real_number("level", defaults::level, 0.5, 0.999);
    const std::size_t cv_folds = a.count("cv", 0, 0, 1000);
    const std::string out = a.text("out", "");
    if (!out.empty()) make_output_dir(out);  // before any work: a bad --out fails now

    const std::string data_path = a.required("data");
    const brain::rdm_stack data = load_stack(data_path, "--data");
    std::vector<brain::rsa_model> models;
    for (const auto& item : comma_list(a.required("models"))) {
        std::string spec_s = item, kind = "fixed", name;
        if (const auto c = spec_s.find(':'); c != std::string::npos && c < spec_s.find('=') &&
                                              (spec_s.substr(0, c) == "fixed" || spec_s.substr(0, c) == "weighted" ||
                                               spec_s.substr(0, c) == "select"))
            kind = spec_s.substr(0, c), spec_s = spec_s.substr(c + 1);
        if (const auto e = spec_s.find('='); e != std::string::npos) name = spec_s.substr(0, e), spec_s = spec_s.substr(e + 1);
        if (name.empty()) name = std::filesystem::path(spec_s).stem().string();
        brain::rdm_stack m = load_stack(spec_s, "--models");
        if (m.n_cond != data.n_cond)
            throw input_error("--models " + spec_s + ": RDMs over " + std::to_string(m.n_cond) + " conditions but --data " +
                              data_path + " has " + std::to_string(data.n_cond));
        if (kind == "fixed") {
            if (m.n_rdm() > 1) {  // the mean RDM (NaN where any is NaN)
                matrix<double> mean = xt::zeros<double>({std::size_t(1), m.n_pairs()});
                for (std::size_t k = 0; k < m.n_rdm(); ++k)
                    for (std::size_t p = 0; p < m.n_pairs(); ++p) mean(0, p) += m.vectors(k, p) / double(m.n_rdm());
                auto names = m.pattern_names;
                m = brain::rdm_stack_from_vectors(mean);
                m.pattern_names = names;
            }
            m.rdm_names = {name};
            models.push_back(brain::rsa_model::fixed(name, m));
        } else if (kind == "weighted") {
            models.push_back(brain::rsa_model::weighted(name, m));
        } else {
            models.push_back(brain::rsa_model::select(name, m));
        }
    }
    if (models.empty()) throw usage_error("--models: no model files given");
    if (data.n_rdm() < 2) throw input_error("--data " + data_path + ": holds 1 RDM; the noise ceiling needs RDMs of >= 2 subjects");

    std::printf("data: %s, %zu RDMs over %zu conditions; comparator %s; %zu models\n", data_path.c_str(), data.n_rdm(),
                data.n_cond, brain::method_name(method).c_str(), models.size());
    const auto t0 = std::chrono::steady_clock::now();
    for (auto& m : models)
        if (m.kind != brain::model_kind::fixed) {
            try {
                m.fit(data, method);
            } catch (const b2m::error& e) {
                throw input_error("model '" + m.name + "': " + e.what());
            }
        }
    brain::rsa_eval ev;
    bool have_boot = draws > 0;
    if (have_boot) {
        const auto rs = brain::draw_resamples(over, data.n_cond, data.n_rdm(), draws, seed);
        ev = brain::eval_bootstrap(models, data, method, rs);
    } else {
        for (const auto& m : models) ev.models.push_back(m.name), ev.value.push_back(brain::mean_compare(m.predict(), data, method));
        ev.ceiling = brain::rdm_noise_ceiling(data, method);
        ev.method = method;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::size_t nm = models.size();
    std::vector<double> pz, pn, pn_adj;
    matrix<double> pp;
    std::vector<double> pair_p, pair_q;
    if (have_boot) {
        pz = brain::p_zero(ev), pn = brain::p_noise(ev), pn_adj = brain::bonferroni(pn), pp = brain::p_pairwise(ev);
        for (std::size_t i = 0; i < nm; ++i)
            for (std::size_t j = i + 1; j < nm; ++j) pair_p.push_back(pp(i, j));
        pair_q = brain::fdr_bh(pair_p);
    }

    // ---- table
    const int pct = int(std::lround(level * 100));
    std::printf("\nnoise ceiling (all data): lower %s, upper %s", fmt(ev.ceiling.lower).c_str(), fmt(ev.ceiling.upper).c_str());
    if (have_boot) std::printf("; mean over draws: lower %s", fmt(brain::mean_lower_ceiling(ev)).c_str());
    std::printf("\n\n| model | kind | %s | bootstrap mean | %d%% t interval | %d%% percentile interval | p > 0 | p vs ceiling (Bonferroni) |\n",
                brain::method_name(method).c_str(), pct, pct);
    std::printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (std::size_t j = 0; j < nm; ++j) {
        const char* kind = models[j].kind == brain::model_kind::fixed ? "fixed" : models[j].kind == brain::model_kind::weighted ? "weighted" : "select";
        if (have_boot) {
            const auto [tl, th] = brain::t_interval(ev, j, level);
            const auto [ql, qh] = brain::percentile_interval(ev, j, level);
            std::printf("| %s | %s | %s | %s | [%s, %s] | [%s, %s] | %s | %s |\n", models[j].name.c_str(), kind, fmt(ev.value[j]).c_str(),
                        fmt(ev.mean[j]).c_str(), fmt(tl).c_str(), fmt(th).c_str(), fmt(ql).c_str(), fmt(qh).c_str(),
                        fmt_p(pz[j]).c_str(), fmt_p(pn_adj[j]).c_str());
        } else {
            std::printf("| %s | %s | %s | - | - | - | - | - |\n", models[j].name.c_str(), kind, fmt(ev.value[j]).c_str());
        }
    }
    if (have_boot && nm > 1) {
        std::printf("\npairwise (two-sided t on bootstrap variances; q: Benjamini-Hochberg FDR over %zu pairs)\n\n", pair_p.size());
        std::printf("| model A | model B | A - B | p | q (FDR) |\n| --- | --- | --- | --- | --- |\n");
        for (std::size_t i = 0, k = 0; i < nm; ++i)
            for (std::size_t j = i + 1; j < nm; ++j, ++k)
                std::printf("| %s | %s | %+.4f | %s | %s |\n", models[i].name.c_str(), models[j].name.c_str(), ev.mean[i] - ev.mean[j],
                            fmt_p(pair_p[k]).c_str(), fmt_p(pair_q[k]).c_str());
    }
    if (have_boot)
        std::printf("\n%zu of %zu draws usable (bootstrap over %s, seed %llu, dof %.0f); %.2f s\n", ev.usable, draws,
                    brain::boot_name(over).c_str(), static_cast<unsigned long long>(seed), ev.dof, secs);
    brain::rsa_crossval cv;
    if (cv_folds > 0) {
        try {
            cv = brain::crossval(models, data, method, cv_folds, seed);
        } catch (const b2m::error& e) {
            throw input_error(std::string("--cv: ") + e.what());
        }
        std::printf("\n%zu-fold cross-validation over conditions (models fitted on training conditions):\n", cv_folds);
        for (std::size_t j = 0; j < nm; ++j) std::printf("  %s: %s\n", models[j].name.c_str(), fmt(cv.mean[j]).c_str());
        std::printf("  noise ceiling on held-out conditions: lower %s, upper %s\n", fmt(cv.ceiling.lower).c_str(),
                    fmt(cv.ceiling.upper).c_str());
    }
    if (out.empty()) return 0;

    // ---- files
    namespace fs = std::filesystem;
    const fs::path dir(out);
    {
        std::ostringstream c;
        c << "model,kind,comparator,value,bootstrap_mean,sem,t_low,t_high,percentile_low,percentile_high,p_zero,p_noise,p_noise_bonferroni,theta\n";
        for (std::size_t j = 0; j < nm; ++j) {
            const char* kind = models[j].kind == brain::model_kind::fixed ? "fixed" : models[j].kind == brain::model_kind::weighted ? "weighted" : "select";
            std::string theta;
            for (std::size_t k = 0; k < models[j].theta.size(); ++k) theta += (k ? " " : "") + json_object::number(models[j].theta[k]);
            c << csv_field(models[j].name) << ',' << kind << ',' << brain::method_name(method) << ',' << json_object::number(ev.value[j]);
            if (have_boot) {
                const auto [tl, th] = brain::t_interval(ev, j, level);
                const auto [ql, qh] = brain::percentile_interval(ev, j, level);
                for (double v : {ev.mean[j], ev.sem[j], tl, th, ql, qh, pz[j], pn[j], pn_adj[j]}) c << ',' << json_object::number(v);
            } else {
                c << ",,,,,,,,,";
            }
            c << ',' << csv_field(theta) << '\n';
        }
        write_text_atomically((dir / "rsa_results.csv").string(), c.str());
    }
    nlohmann::ordered_json j;
    j["data"] = data_path;
    j["rdm_names"] = data.rdm_names;
    j["n_rdm"] = data.n_rdm();
    j["n_conditions"] = data.n_cond;
    j["comparator"] = brain::method_name(method);
    j["noise_ceiling"] = {{"lower", ev.ceiling.lower}, {"upper", ev.ceiling.upper}};
    j["bootstrap"] = {{"draws", draws}, {"over", over_name}, {"seed", seed}, {"level", level}};
    j["tests"] = "t-tests on bootstrap variances (rsatoolbox); vs 0 one-sided; vs mean lower noise ceiling two-sided, "
                 "Bonferroni over models; pairwise two-sided, Benjamini-Hochberg FDR over pairs";
    auto num = [](double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr); };
    nlohmann::ordered_json jm = nlohmann::ordered_json::array();
    for (std::size_t m = 0; m < nm; ++m) {
        nlohmann::ordered_json o;
        o["name"] = models[m].name;
        o["kind"] = models[m].kind == brain::model_kind::fixed ? "fixed" : models[m].kind == brain::model_kind::weighted ? "weighted" : "select";
        o["theta"] = models[m].theta;
        o["value"] = num(ev.value[m]);
        if (have_boot) {
            const auto [tl, th] = brain::t_interval(ev, m, level);
            const auto [ql, qh] = brain::percentile_interval(ev, m, level);
            o["bootstrap_mean"] = num(ev.mean[m]), o["sem"] = num(ev.sem[m]);
            o["t_interval"] = {num(tl), num(th)}, o["percentile_interval"] = {num(ql), num(qh)};
            o["p_zero"] = num(pz[m]), o["p_noise"] = num(pn[m]), o["p_noise_bonferroni"] = num(pn_adj[m]);
        }
        if (cv_folds > 0) o["crossval_mean"] = num(cv.mean[m]);
        jm.push_back(o);
    }
    j["models"] = jm;
    if (have_boot) {
        nlohmann::ordered_json pj = nlohmann::ordered_json::array();
        for (std::size_t a_ = 0, k = 0; a_ < nm; ++a_)
            for (std::size_t b = a_ + 1; b < nm; ++b, ++k)
                pj.push_back({{"a", models[a_].name}, {"b", models[b].name}, {"difference", ev.mean[a_] - ev.mean[b]},
                              {"p", num(pair_p[k])}, {"q_fdr", num(pair_q[k])}});
        j["pairwise"] = pj;
        j["dof"] = ev.dof;
        j["usable_draws"] = ev.usable;
    }
    write_text_atomically((dir / "rsa_results.json").string(), j.dump(2) + "\n");
    if (have_boot) {
        std::ostringstream c;
        c << "draw";
        for (const auto& m : models) c << ',' << csv_field(m.name);
        c << ",noise_ceiling_lower,noise_ceiling_upper\n";
        for (std::size_t b = 0; b < ev.evaluations.shape(0); ++b) {
            c << b;
            for (std::size_t m = 0; m < nm; ++m) c << ',' << (std::isnan(ev.evaluations(b, m)) ? std::string() : json_object::number(ev.evaluations(b, m)));
            c << ',' << (std::isnan(ev.nc_lower[b]) ? std::string() : json_object::number(ev.nc_lower[b]));
            c << ',' << (std::isnan(ev.nc_upper[b]) ? std::string() : json_object::number(ev.nc_upper[b])) << '\n';
        }
        write_text_atomically((dir / "rsa_bootstrap.csv").string(), c.str());
        std::ostringstream pc;
        pc << "model_a,model_b,difference,p,q_fdr\n";
        for (std::size_t a_ = 0, k = 0; a_ < nm; ++a_)
            for (std::size_t b = a_ + 1; b < nm; ++b, ++k)
                pc << csv_field(models[a_].name) << ',' << csv_field(models[b].name) << ',' << json_object::number(ev.mean[a_] - ev.mean[b])
                   << ',' << json_object::number(pair_p[k]) << ',' << json_object::number(pair_q[k]) << '\n';
        write_text_atomically((dir / "rsa_pairwise.csv").string(), pc.str());
    }
    // ---- pictures
    const auto sq = [&] {
        brain::rdm_stack mean = data.subset_rdms({0});
        for (std::size_t p = 0; p < mean.n_pairs(); ++p) {
            double s = 0;
            for (std::size_t k = 0; k < data.n_rdm(); ++k) s += data.vectors(k, p) / double(data.n_rdm());
            mean.vectors(0, p) = s;
        }
        return mean.square(0);
    }();
    write_text_atomically((dir / "rsa_data_rdm.svg").string(),
                          report::rdm_heatmap_svg(sq, {.title = "data RDM (mean of " + std::to_string(data.n_rdm()) + " subjects)",
                                                       .rank = a.flag("rank"), .size = 520}));
    write_text_atomically((dir / "rsa_data_mds.svg").string(), report::mds_svg(sq, report::mds_plot_options{.title = "classical MDS of the mean data RDM", .labels = {}, .groups = {}, .size = 520}));
    if (have_boot) {
        report::model_bars bars;
        bars.title = "model comparison (" + brain::method_name(method) + ", " + std::to_string(pct) + "% t intervals, bootstrap over " +
                     brain::boot_name(over) + ")";
        bars.y_label = brain::method_name(method) + " with the data RDMs";
        bars.nc_lower = ev.ceiling.lower, bars.nc_upper = ev.ceiling.upper;
        for (std::size_t m = 0; m < nm; ++m) {
            const auto [tl, th] = brain::t_interval(ev, m, level);
            bars.names.push_back(models[m].name), bars.value.push_back(ev.mean[m]), bars.low.push_back(tl), bars.high.push_back(th);
        }
        for (std::size_t a_ = 0, k = 0; a_ < nm; ++a_)
            for (std::size_t b = a_ + 1; b < nm; ++b, ++k)
                if (pair_q[k] < 0.05) bars.brackets.push_back({a_, b});
        bars.bracket_note = "brackets: pairwise difference, FDR q < 0.05";
        write_text_atomically((dir / "rsa_models.svg").string(), report::model_bars_svg(bars));
    }
    std::printf("wrote %s/{rsa_results.csv, rsa_results.json%s, rsa_data_rdm.svg, rsa_data_mds.svg%s}\n", out.c_str(),
                have_boot ? ", rsa_bootstrap.csv, rsa_pairwise.csv" : "", have_boot ? ", rsa_models.svg" : "");
    return 0;
}

} // namespace b2m::cli

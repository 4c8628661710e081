// tools/cmd_score.cpp - `b2m score`: how brain-like each tap of a student is, in one
// command: ridge neural predictivity (held-out r, split by stimulus, ceiled as Brain-Score
// does when repeats are given), RSA with a target RDM, linear CKA.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>

#include "arch.hpp"
#include "cli.hpp"

#include "b2m/brain/cka.hpp"
#include "b2m/brain/dataset.hpp"
#include "b2m/brain/metrics.hpp"
#include "b2m/brain/npy.hpp"
#include "b2m/brain/repeats.hpp"
#include "b2m/brain/ridge.hpp"
#include "b2m/brain/rsa.hpp"
#include "b2m/config.hpp"
#include "b2m/report/svg_bars.hpp"

namespace b2m::cli {

namespace {

const command_spec& score_spec() {
    static const command_spec spec = [] {
        command_spec s{"score",
                       "Score every tap of a student against brain responses: ridge predictivity, RSA, CKA.",
                       "--arch NAME --weights W.npz --stimuli X.npy --responses R.npy [--rdm RDM.npy] "
                       "[--stimulus-ids ids.npy] --out DIR [options]",
                       {},
                       model_options(),
                       "Rows of --stimuli and --responses are the same trials. With --stimulus-ids, trials sharing\n"
                       "an id are repeats of one stimulus: responses are averaged per stimulus, and the noise\n"
                       "ceiling (split-half reliability over repeats, Spearman-Brown corrected, 20 splits) is\n"
                       "computed. For each tap:\n"
                       "  predictivity  ridge from the tap's features to each target, alpha chosen per target by\n"
                       "                leave-one-out inside the training stimuli, --folds folds split BY STIMULUS\n"
                       "                (repeats never straddle train and test); Pearson r of each target's\n"
                       "                held-out predictions; reported: median r over targets\n"
                       "  ceiled        median r / median noise ceiling (as Brain-Score reports; needs repeats)\n"
                       "  rsa           Spearman r between the tap's RDM (1 - Pearson r between stimuli) and\n"
                       "                --rdm (S x S, stimuli in order of first appearance), or the responses' RDM\n"
                       "  cka           linear CKA between the tap's features and the (averaged) responses\n"
                       "Writes DIR/score.csv, DIR/score.json, DIR/folds.npy (fold of each stimulus) and\n"
                       "DIR/<tap>.svg (a bar chart of the scores); prints the table.",
                       "  b2m score --arch conv --weights run1/student.npz --stimuli images.npy --responses v4.npy \\\n"
                       "            --out v4_scores"};
        s.options.push_back({"responses", "R.npy", "brain responses, (trials, targets) (required)"});
        s.options.push_back({"rdm", "RDM.npy", "target RDM, (stimuli, stimuli) (default: the responses' correlation RDM)"});
        s.options.push_back({"stimulus-ids", "ids.npy", "stimulus id per trial, whole numbers (repeats share an id)"});
        s.options.push_back({"taps", "A,B", "taps to score (default: all)"});
        s.options.push_back({"folds", "K", "cross-validation folds over stimuli (default " + std::to_string(defaults::folds) + ")"});
        s.options.push_back({"alphas", "A,B,...", "ridge alphas (default " + default_text(defaults::alphas) + ")"});
        s.options.push_back({"split-seed", "S", "seed of the folds and the noise-ceiling splits (default " + default_text(double(defaults::seed)) + ")"});
        s.options.push_back({"out", "DIR", "output folder (required)"});
        return s;
    }();
    return spec;
}

struct tap_score {
    std::string tap;
    std::size_t features = 0;
    double median_r = 0, ceiled = 0, rsa = 0, cka = 0;
    std::string rsa_note, cka_note;
};

std::string fmt(double v) {
    if (!std::isfinite(v)) return "n/a";
    char b[32];
    std::snprintf(b, sizeof b, "%.4f", v);
    return b;
}

} // namespace

int run_score(const std::vector<std::string>& args) {
    const auto& spec = score_spec();
    const auto parsed = parse_command(spec, args);
    if (!parsed) return 0;  // --help printed
    const parsed_args& a = *parsed;
    const std::string out = a.required("out");
    const std::string responses_path = a.required("responses");
    const std::size_t folds = a.count("folds", defaults::folds, 2, 1000);
    const std::uint64_t split_seed = a.seed("split-seed", defaults::seed);
    const std::vector<double> alphas = a.number_list("alphas", defaults::alphas);
    make_output_dir(out);

    opened_model m = open_model(a);
    const std::size_t n = m.in.rows();
    const matrix<double> resp = load_matrix(responses_path, "--responses", true);
    require_same_trials("--stimuli", m.stimuli, n, "--responses", responses_path, resp.shape(0));

    // Stimulus ids (default: every trial its own stimulus).
    std::vector<std::int64_t> ids(n);
    bool repeats = false;
    if (a.has("stimulus-ids")) {
        const std::string p = a.required("stimulus-ids");
        const matrix<double> idm = load_matrix(p, "--stimulus-ids", true);
        if (idm.shape(1) != 1) throw input_error("--stimulus-ids " + p + ": needs one id per trial, shape (" + std::to_string(n) + ",), the file has shape " + shape_string(idm.shape()));
        require_same_trials("--stimuli", m.stimuli, n, "--stimulus-ids", p, idm.shape(0));
        for (std::size_t i = 0; i < n; ++i) {
            const double v = idm(i, 0);
            if (v != std::floor(v) || std::abs(v) > 9e15)
                throw input_error("--stimulus-ids " + p + ": id at index " + std::to_string(i) + " is " + json_object::number(v) + " (ids must be whole numbers)");
            ids[i] = std::int64_t(v);
        }
    } else {
        for (std::size_t i = 0; i < n; ++i) ids[i] = std::int64_t(i);
    }
    const auto avg = brain::average_repeats(resp, ids);
    const std::size_t S = avg.ids.size(), targets = resp.shape(1);
    for (auto c : avg.counts) repeats = repeats || c > 1;
    if (S < folds) throw input_error("--responses " + responses_path + ": " + std::to_string(S) + " distinct stimuli, fewer than --folds " + std::to_string(folds));
    std::vector<std::size_t> first_row(S);
    {
        std::map<std::int64_t, std::size_t> k;
        for (std::size_t s = 0; s < S; ++s) k[avg.ids[s]] = s;
        std::vector<bool> seen(S, false);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t s = k[ids[i]];
            if (!seen[s]) first_row[s] = i, seen[s] = true;
        }
    }
    // Noise ceiling (repeats only).
    double ceiling = std::numeric_limits<double>::quiet_NaN();
    std::string ceiling_note = "no repeats (give --stimulus-ids with repeated stimuli)";
    if (repeats) {
        try {
            const auto nc = brain::noise_ceiling(resp, ids, 20, split_seed);
            ceiling = brain::median(nc.r_ceiling);
            ceiling_note = "";
        } catch (const b2m::error& e) {
            ceiling_note = e.what();
        }
    }
    // Target RDM.
    matrix<double> target_rdm;
    std::string rdm_source = "responses (1 - Pearson r)";
    if (a.has("rdm")) {
        const std::string p = a.required("rdm");
        target_rdm = load_matrix(p, "--rdm", false);
        if (target_rdm.shape(0) != S || target_rdm.shape(1) != S)
            throw input_error("--rdm " + p + ": needs (" + std::to_string(S) + ", " + std::to_string(S) + ") for the " + std::to_string(S) +
                              " stimuli, the file has shape " + shape_string(target_rdm.shape()));
        rdm_source = p;
    } else {
        target_rdm = brain::rdm(avg.mean, brain::rdm_metric::correlation);
    }
    // Folds by stimulus (one row per stimulus after averaging).
    const std::vector<std::size_t> fold = brain::group_folds(avg.ids, folds, split_seed);

    std::vector<std::string> taps = a.has("taps") ? comma_list(a.required("taps")) : m.model->taps();
    for (const auto& t : taps) {
        const auto all = m.model->taps();
        if (t != "output" && std::find(all.begin(), all.end(), t) == all.end()) {
            std::string list;
            for (const auto& x : all) list += x + ", ";
            throw usage_error("option --taps: the " + arch_name(m.arch) + " student has no tap '" + t + "' (its taps: " + list + "output)");
        }
    }
    if (m.progress)
        std::fprintf(stderr, "b2m score: %zu trials, %zu stimuli, %zu targets; %zu folds by stimulus\n", n, S, targets, folds);

    std::vector<tap_score> scores;
    for (const auto& tap : taps) {
        const matrix<float> f_all = batched_run(*m.model, m.in, tap, m.batch, m.progress);
        matrix<double> f = matrix<double>::from_shape({S, f_all.shape(1)});
        for (std::size_t s = 0; s < S; ++s)
            for (std::size_t j = 0; j < f.shape(1); ++j) f(s, j) = double(f_all(first_row[s], j));
        tap_score sc;
        sc.tap = tap;
        sc.features = f.shape(1);
        // Ridge predictivity: held-out predictions for every stimulus.
        matrix<double> pred = xt::zeros<double>({S, targets});
        for (std::size_t k = 0; k < folds; ++k) {
            std::vector<std::size_t> tr, te;
            for (std::size_t s = 0; s < S; ++s) (fold[s] == k ? te : tr).push_back(s);
            if (te.empty()) continue;
            brain::ridge_cv<double> model(brain::ridge_cv_options{.alphas = alphas});
            model.fit(brain::take_rows(f, tr), brain::take_rows(avg.mean, tr));
            const matrix<double> p = model.predict(brain::take_rows(f, te));
            for (std::size_t i = 0; i < te.size(); ++i)
                for (std::size_t j = 0; j < targets; ++j) pred(te[i], j) = p(i, j);
        }
        sc.median_r = brain::median(brain::pearson_columns(pred, avg.mean));
        sc.ceiled = std::isfinite(ceiling) && ceiling > 1e-3 ? sc.median_r / ceiling : std::numeric_limits<double>::quiet_NaN();
        try {
            sc.rsa = brain::compare_rdms(brain::rdm(f, brain::rdm_metric::correlation), target_rdm, brain::rdm_compare::spearman);
        } catch (const b2m::error& e) {
            sc.rsa = std::numeric_limits<double>::quiet_NaN();
            sc.rsa_note = e.what();
        }
        try {
            sc.cka = brain::linear_cka(f, avg.mean);
        } catch (const b2m::error& e) {
            sc.cka = std::numeric_limits<double>::quiet_NaN();
            sc.cka_note = e.what();
        }
        scores.push_back(sc);
    }

    // Table, CSV, JSON, SVGs.
    std::printf("%-10s %9s %12s %9s %9s %9s\n", "tap", "features", "predictivity", "ceiled", "rsa", "cka");
    std::string csv = "tap,features,predictivity_median_r,noise_ceiling,ceiled,rsa_spearman,cka_linear\n";
    json_object jt;
    for (const auto& sc : scores) {
        std::printf("%-10s %9zu %12s %9s %9s %9s\n", sc.tap.c_str(), sc.features, fmt(sc.median_r).c_str(), fmt(sc.ceiled).c_str(),
                    fmt(sc.rsa).c_str(), fmt(sc.cka).c_str());
        auto num = [](double v) { return std::isfinite(v) ? json_object::number(v) : std::string(); };
        csv += sc.tap + "," + std::to_string(sc.features) + "," + num(sc.median_r) + "," + num(ceiling) + "," + num(sc.ceiled) + "," +
               num(sc.rsa) + "," + num(sc.cka) + "\n";
        json_object o;
        o.add("features", sc.features).add("predictivity_median_r", sc.median_r).add("ceiled", sc.ceiled).add("rsa_spearman", sc.rsa)
            .add("cka_linear", sc.cka);
        if (!sc.rsa_note.empty()) o.add("rsa_note", sc.rsa_note);
        if (!sc.cka_note.empty()) o.add("cka_note", sc.cka_note);
        jt.add(sc.tap, o);
        report::svg_bars({.title = "b2m score: tap " + sc.tap + " (" + arch_name(m.arch) + ")", .y_label = "score"},
                         {{"predictivity r", sc.median_r}, {"ceiled r", sc.ceiled}, {"RSA (Spearman)", sc.rsa}, {"CKA", sc.cka}})
            .write((std::filesystem::path(out) / (sc.tap + ".svg")).string());
    }
    if (std::isfinite(ceiling)) std::printf("noise ceiling (median over targets): %.4f\n", ceiling);
    else std::printf("noise ceiling: n/a (%s)\n", ceiling_note.c_str());
    const std::string command = command_line("score", args);
    json_object j;
    j.add("b2m_version", version_string).add("command", command);
    j.add("data", json_object()
                      .add("stimuli", m.stimuli)
                      .add("responses", responses_path)
                      .add("stimulus_ids", a.text("stimulus-ids", ""))
                      .add("rdm", rdm_source)
                      .add("trials", n)
                      .add("stimuli_count", S)
                      .add("targets", targets)
                      .add("stimuli_note", m.in.note));
    j.add("student", json_object().add("arch", arch_name(m.arch)).add("layers", m.model->layers()).add("weights", m.weights));
    j.add("method", json_object()
                        .add("predictivity", "ridge_cv (alpha per target by leave-one-out in the training stimuli), folds by stimulus; "
                                             "median over targets of Pearson r of held-out predictions")
                        .add("folds", folds)
                        .add("split_seed", std::int64_t(split_seed))
                        .add("alphas", alphas)
                        .add("ceiled", "median r / median noise ceiling (split-half over repeats, Spearman-Brown, 20 splits)")
                        .add("rsa", "Spearman r of lower triangles; model RDM 1 - Pearson r")
                        .add("cka", "linear CKA"));
    j.add("noise_ceiling", ceiling);
    if (!ceiling_note.empty()) j.add("noise_ceiling_note", ceiling_note);
    j.add("taps", jt);
    write_text_atomically((std::filesystem::path(out) / "score.csv").string(), csv);
    write_text_atomically((std::filesystem::path(out) / "score.json").string(), j.str() + "\n");
    xt::xtensor<std::int64_t, 1> fold_out = xt::zeros<std::int64_t>({S});
    for (std::size_t s = 0; s < S; ++s) fold_out(s) = std::int64_t(fold[s]);
    brain::save_npy((std::filesystem::path(out) / "folds.npy").string(), fold_out);
    std::printf("wrote %s/score.csv, score.json, folds.npy and one .svg per tap\n", out.c_str());
    return 0;
}

} // namespace b2m::cli

// tools/cmd_compare.cpp - `b2m compare`: brain-taught vs baseline students over several
// seeds (report::run_condition / compare), a table and an SVG of the learning curves.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli.hpp"
#include "compare_table.hpp"
#include "data_options.hpp"
#include "students.hpp"

#include "b2m/config.hpp"
#include "b2m/report/seed_comparison.hpp"

namespace b2m::cli {

namespace {

const command_spec& compare_spec() {
    static const command_spec spec{
        "compare",
        "Train a brain-taught student (cross-entropy + weight x brain objective) and a baseline\n"
        "(cross-entropy only) with the same seeds, and compare epochs to a target held-out\n"
        "accuracy and the final held-out accuracy, with 95% confidence intervals over seeds.",
        "--stimuli X.npy --labels y.npy --brain B.npy [options] --out DIR",
        {},
        options_of({
            {{"stimuli", "X.npy", "stimuli, (trials, features); uint8 is divided by 255 (required)"},
             {"labels", "y.npy", "class per trial, (trials,): whole numbers >= 0 or strings (required)"},
             {"brain", "B.npy", "brain response per trial, (trials, targets) (required)"},
             {"classes", "C", "number of classes (default: largest label + 1)"},
             {"seeds", "N", "seeds per condition (default " + std::to_string(defaults::seeds) + "; seeds 1..N)"},
             {"target", "A", "target held-out accuracy for 'epochs to target' (default " + default_text(defaults::target) + ")"},
             {"preset", "NAME", std::string("student: mlp | mlp-small (default ") + defaults::preset + ")"},
             {"objective", "NAME", "brain objective of the taught student: contrastive | mse (default contrastive)"}},
            training_options(),
            held_out_options(false),
            split_options(),
            {{"no-scale", "", "keep uint8 stimuli as 0..255 (default: divided by 255)"},
             {"out", "DIR", "output folder (required; -o DIR): curves.svg, curves.csv, compare.md, compare.json, split.npy"},
             threads_option},
        }),
        "Both conditions use the same student, optimiser, seeds (initialisation and data order)\n"
        "and held-out split; only the brain term differs. Prints the table and writes\n"
        "DIR/curves.svg (mean held-out accuracy per epoch with 95% CI bands), DIR/curves.csv (every\n"
        "run's held-out accuracy and training loss per epoch: condition,seed,epoch,...), DIR/compare.md\n"
        "(the table, the settings and every seed's numbers), DIR/compare.json (the same numbers) and\n"
        "DIR/split.npy (the split used: 1 = held out, 0 = training; see 'b2m train --help').\n"
        "Epochs to target are given for the seeds that reached it (mean and observed range); in the\n"
        "paired difference a seed that never reaches it counts as epochs + 1, and the table says so.\n"
        "See 'b2m train --help' for the students, inputs and split options.",
        "  b2m simulate --out sim\n"
        "  b2m compare --stimuli sim/stimuli.npy --labels sim/labels.npy --brain sim/brain.npy \\\n"
        "              --held-out 1000 --epochs 120 --target 0.6 --out sim_compare"};
    return spec;
}

std::string per_seed(const report::condition& c, const std::vector<double>& epochs, const std::vector<double>& final) {
    std::string s;
    char buf[160];
    for (std::size_t i = 0; i < c.seeds.size(); ++i) {
        std::snprintf(buf, sizeof buf, "| %s | %llu | %s | %.3f |\n", c.name.c_str(), static_cast<unsigned long long>(c.seeds[i]),
                      std::isinf(epochs[i]) ? "never" : std::to_string(std::size_t(epochs[i])).c_str(), final[i]);
        s += buf;
    }
    return s;
}

} // namespace

int run_compare(const std::vector<std::string>& args) {
    const auto& spec = compare_spec();
    const auto parsed = parse_command(spec, args);
    if (!parsed) return 0;  // --help printed
    const parsed_args& a = *parsed;
    const std::string out = a.required("out");
    a.required("brain");
    student_spec s;
    s.preset = parse_preset(a.text("preset", defaults::preset));
    s.objective = parse_objective(a.text("objective", "contrastive"));
    if (s.objective == objective_kind::none)
        throw usage_error("option --objective: the taught student needs a brain objective (contrastive or mse)");
    const training_values tv = read_training_options(a);
    s.weight = tv.weight, s.tau = tv.tau, s.lr = tv.lr;
    run_spec r;
    r.epochs = tv.epochs, r.batch_size = tv.batch;
    const std::size_t n_seeds = a.count("seeds", defaults::seeds, 1, 1000);
    const double target = a.real_number("target", defaults::target, 0.0, 1.0);
    prepare_output_dir(out);  // an unusable --out folder stops here, before any work

    labelled_data d = load_labelled(a, true);
    const std::string scale_note = check_scale(d.all.x, d.stimuli_dtype, d.stimuli_path, a.flag("no-scale"));
    if (!scale_note.empty()) std::fprintf(stderr, "b2m compare: %s\n", scale_note.c_str());
    s.features = d.features;
    s.classes = d.classes;
    const split_choice chosen = choose_split(a, d.all.size(), false);
    const split& sp = chosen.rows;
    const std::uint64_t split_seed = chosen.split_seed;
    if (chosen.stimulus.size()) d.all.stimulus = chosen.stimulus;  // repeats are contrastive positives
    const train::batch<float> train_set = take_rows(d.all, sp.train);
    const train::batch<float> held_out = take_rows(d.all, sp.held_out);
    if (s.objective == objective_kind::contrastive) {
        const std::size_t b = contrastive_batch_size(r.batch_size, sp.train.size(), sp.held_out.size());
        if (b != r.batch_size)
            std::fprintf(stderr, "b2m compare: note: using --batch %zu instead of %zu so that no mini-batch holds a single trial (contrastive needs 2)\n",
                         b, r.batch_size);
        r.batch_size = b;
    }
    const std::string split_file = write_split(out, chosen, d.all.size());
    write_label_names(out, d.label_names);

    std::vector<std::uint64_t> seeds;
    for (std::size_t i = 1; i <= n_seeds; ++i) seeds.push_back(i);
    const std::string taught_name = "brain-taught (CE + " + json_object::number(s.weight) + " x " + objective_name(s.objective) + ")";
    const std::string base_name = "baseline (CE only)";
    std::printf("b2m compare: %zu trials (%zu training, %zu held out), %zu features, %zu classes, %zu brain targets\n"
                "student %s: %s; %zu epochs, batch %zu, Adam lr %g; seeds 1..%zu\n",
                d.all.size(), sp.train.size(), sp.held_out.size(), d.features, d.classes, d.all.brain.shape(1),
                preset_name(s.preset).c_str(), describe_student(s.preset, d.features, d.classes).c_str(), r.epochs,
                r.batch_size, s.lr, n_seeds);
    std::fflush(stdout);
    double seconds = 0;
    auto run_one = [&](const std::string& name, objective_kind obj) {
        return report::run_condition(name, seeds, [&](std::uint64_t seed) {
            student_spec si = s;
            si.objective = obj;
            si.seed = seed;
            const run_result res = run_student(si, train_set, &held_out, r);
            seconds += res.seconds;
            std::printf("  %-40s seed %llu: final held-out accuracy %.3f  (%.1f s)\n", name.c_str(),
                        static_cast<unsigned long long>(seed), res.report.epochs.back().val_accuracy, res.seconds);
            std::fflush(stdout);
            return res.report;
        });
    };
    const report::condition taught = run_one(taught_name, s.objective);
    const report::condition base = run_one(base_name, objective_kind::none);
    const report::comparison cmp = report::compare(taught, base, target);
    const std::string table = compare_table(cmp, r.epochs);
    std::printf("\n%s\n", table.c_str());

    double best_mean = 0;  // best mean accuracy of either condition at any epoch
    for (const report::condition* c : {&taught, &base})
        for (std::size_t e = 0; e < r.epochs; ++e) {
            double m = 0;
            for (const auto& curve : c->accuracy) m += e < curve.size() ? curve[e] : 0.0;
            best_mean = std::max(best_mean, m / double(c->accuracy.size()));
        }
    std::string verdict = compare_verdict(cmp, r.epochs, n_seeds);
    if (cmp.treatment_epochs_summary.n == 0 && cmp.baseline_epochs_summary.n == 0) {
        char b[120];
        std::snprintf(b, sizeof b, " (best mean held-out accuracy at any epoch: %.3f)", best_mean);
        verdict += b;
    }
    std::printf("%s\n", verdict.c_str());

    const std::string svg = (std::filesystem::path(out) / "curves.svg").string();
    const std::string md = (std::filesystem::path(out) / "compare.md").string();
    const std::string csv = (std::filesystem::path(out) / "curves.csv").string();
    write_text_atomically(csv, curves_csv(taught, base));
    report::learning_curves(taught, base, "Held-out accuracy: brain-taught vs baseline (" + std::to_string(n_seeds) + " seeds)")
        .write(svg);
    const std::string command = command_line("compare", args);
    char buf[512];
    std::string m = "# b2m compare\n\n";
    m += "Command: `" + command + "` (b2m " + version_string + ")\n\n";
    std::snprintf(buf, sizeof buf,
                  "Data: `%s`, `%s`, `%s`: %zu trials (%zu training, %zu held out, split seed %llu), %zu features, "
                  "%zu classes, %zu brain targets.\n\n",
                  d.stimuli_path.c_str(), d.labels_path.c_str(), d.brain_path.c_str(), d.all.size(), sp.train.size(),
                  sp.held_out.size(), static_cast<unsigned long long>(split_seed), d.features, d.classes, d.all.brain.shape(1));
    m += buf;
    m += "Split: " + chosen.method + "; written to `split.npy` (1 = held out, 0 = training).\n\n";
    std::snprintf(buf, sizeof buf, "Student `%s`: %s. Adam, lr %g, batch %zu, %zu epochs, seeds 1..%zu.\n\n",
                  preset_name(s.preset).c_str(), describe_student(s.preset, d.features, d.classes).c_str(), s.lr,
                  r.batch_size, r.epochs, n_seeds);
    m += buf;
    m += "## Result\n\n" + table + "\n" + verdict + ".\n\nLearning curves: `curves.svg`.\n\n";
    m += "## Per seed\n\n| condition | seed | epochs to target | final held-out accuracy |\n| --- | --- | --- | --- |\n";
    m += per_seed(taught, cmp.treatment_epochs, cmp.treatment_final);
    m += per_seed(base, cmp.baseline_epochs, cmp.baseline_final);
    write_text_atomically(md, m);
    // The numbers as JSON (nlohmann: every double reads back exactly).
    auto per = [&](const std::vector<double>& v) {
        std::vector<double> o(v);
        for (auto& x : o)
            if (std::isinf(x)) x = NAN;  // never reached -> null
        return o;
    };
    json_object cj;
    cj.add("b2m_version", version_string).add("command", command).add("target", target).add("epochs", r.epochs);
    cj.add("seeds", std::vector<double>(seeds.begin(), seeds.end()));
    cj.add("split", split_json(chosen, split_file));
    cj.add("brain_taught", json_object()
                               .add("name", taught_name)
                               .add("epochs_to_target", per(cmp.treatment_epochs))
                               .add("final_held_out_accuracy", cmp.treatment_final));
    cj.add("baseline", json_object()
                           .add("name", base_name)
                           .add("epochs_to_target", per(cmp.baseline_epochs))
                           .add("final_held_out_accuracy", cmp.baseline_final));
    cj.add("epochs_to_target_note", "null: the seed never reached the target; the paired difference counts it as epochs + 1");
    cj.add("difference", json_object()
                             .add("epochs_mean", cmp.epochs_difference.difference.mean)
                             .add("epochs_ci95_low", cmp.epochs_difference.difference.low())
                             .add("epochs_ci95_high", cmp.epochs_difference.difference.high())
                             .add("final_accuracy_mean", cmp.final_difference.difference.mean)
                             .add("final_accuracy_ci95_low", cmp.final_difference.difference.low())
                             .add("final_accuracy_ci95_high", cmp.final_difference.difference.high()));
    const std::string cjson = (std::filesystem::path(out) / "compare.json").string();
    write_text_atomically(cjson, cj.str() + "\n");
    std::printf("wrote %s, %s, %s, %s, %s (%.1f s of training)\n", svg.c_str(), csv.c_str(), md.c_str(), cjson.c_str(),
                split_file.c_str(), seconds);
    return 0;
}

} // namespace b2m::cli

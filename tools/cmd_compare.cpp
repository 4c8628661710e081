// tools/cmd_compare.cpp - `b2m compare`: brain-taught vs baseline students over several
// seeds (report::run_condition / compare), a table and an SVG of the learning curves.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli.hpp"
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
        {{"stimuli", "X.npy", "stimuli, (trials, features) (required)"},
         {"labels", "y.npy", "class index per trial, (trials,) (required)"},
         {"brain", "B.npy", "brain response per trial, (trials, targets) (required)"},
         {"classes", "C", "number of classes (default: largest label + 1)"},
         {"seeds", "N", "seeds per condition (default 5; seeds 1..N)"},
         {"target", "A", "target held-out accuracy for 'epochs to target' (default 0.8)"},
         {"preset", "NAME", "student: mlp | mlp-small (default mlp-small)"},
         {"objective", "NAME", "brain objective of the taught student: contrastive | mse (default contrastive)"},
         {"weight", "W", "weight of the brain term (default 5)"},
         {"tau", "T", "contrastive temperature (default 1)"},
         {"epochs", "N", "epochs per run (default 60)"},
         {"batch", "N", "mini-batch size (default 32)"},
         {"lr", "X", "Adam learning rate (default 0.005)"},
         {"val-fraction", "F", "fraction of trials held out to measure accuracy (default 0.2)"},
         {"held-out", "N", "hold out exactly N trials instead (overrides --val-fraction)"},
         {"split-seed", "S", "seed of the held-out split (default 0; the same split for every run)"},
         {"out", "DIR", "output folder (required): curves.svg, compare.md"},
         threads_option},
        "Both conditions use the same student, optimiser, seeds (initialisation and data order)\n"
        "and held-out split; only the brain term differs. Prints the table and writes\n"
        "DIR/curves.svg (mean held-out accuracy per epoch with 95% CI bands) and DIR/compare.md\n"
        "(the table, the settings and every seed's numbers). A seed that never reaches the target\n"
        "counts as epochs + 1 in the paired difference. See 'b2m train --help' for the students.",
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
    const parsed_args a = parse_args(spec, args);
    if (a.help) {
        std::fputs(help_text(spec).c_str(), stdout);
        return 0;
    }
    apply_threads(a);
    const std::string out = a.required("out");
    a.required("brain");
    student_spec s;
    s.preset = parse_preset(a.text("preset", "mlp-small"));
    s.objective = parse_objective(a.text("objective", "contrastive"));
    if (s.objective == objective_kind::none)
        throw usage_error("option --objective: the taught student needs a brain objective (contrastive or mse)");
    s.weight = a.real_number("weight", 5.0, 0.0, 1e6);
    s.tau = a.real_number("tau", 1.0, 1e-4, 1e4);
    s.lr = a.real_number("lr", 5e-3, 1e-9, 10.0);
    run_spec r;
    r.epochs = a.count("epochs", 60, 1, 1000000);
    r.batch_size = a.count("batch", 32, 1, 1000000);
    const std::size_t n_seeds = a.count("seeds", 5, 1, 1000);
    const double target = a.real_number("target", 0.8, 0.0, 1.0);
    const double val_fraction = a.real_number("val-fraction", 0.2, 0.01, 0.99);
    const std::uint64_t split_seed = a.seed("split-seed", 0);

    const labelled_data d = load_labelled(a, true);
    s.features = d.features;
    s.classes = d.classes;
    const split sp = split_trials(d.all.size(), val_fraction, split_seed, "--val-fraction", a.count("held-out", 0, 1, 1000000000));
    const train::batch<float> train_set = take_rows(d.all, sp.train);
    const train::batch<float> held_out = take_rows(d.all, sp.held_out);
    if (s.objective == objective_kind::contrastive) {
        const std::size_t b = contrastive_batch_size(r.batch_size, sp.train.size(), sp.held_out.size());
        if (b != r.batch_size)
            std::fprintf(stderr, "b2m compare: note: using --batch %zu instead of %zu so that no mini-batch holds a single trial (contrastive needs 2)\n",
                         b, r.batch_size);
        r.batch_size = b;
    }
    make_output_dir(out);

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
    const std::string table = report::format(cmp);
    std::printf("\n%s\n", table.c_str());

    double best_mean = 0;  // best mean accuracy of either condition at any epoch
    for (const report::condition* c : {&taught, &base})
        for (std::size_t e = 0; e < r.epochs; ++e) {
            double m = 0;
            for (const auto& curve : c->accuracy) m += e < curve.size() ? curve[e] : 0.0;
            best_mean = std::max(best_mean, m / double(c->accuracy.size()));
        }
    std::string verdict;
    if (cmp.treatment_epochs_summary.n == 0 && cmp.baseline_epochs_summary.n == 0) {
        char b[200];
        std::snprintf(b, sizeof b, "neither condition reached the target %.2f (best mean held-out accuracy %.3f); try a lower --target or more --epochs",
                      target, best_mean);
        verdict = b;
    } else {
        const double diff = cmp.epochs_difference.difference.mean;
        char b[240];
        std::snprintf(b, sizeof b,
                      "paired by seed, the brain-taught student reaches the target %.1f epochs %s on average "
                      "(a seed that never reaches it counts as %zu)",
                      std::abs(diff), diff < 0 ? "sooner" : "later", r.epochs + 1);
        verdict = diff == 0 ? "paired by seed, both students reach the target after the same number of epochs on average" : b;
    }
    std::printf("%s\n", verdict.c_str());

    const std::string svg = (std::filesystem::path(out) / "curves.svg").string();
    const std::string md = (std::filesystem::path(out) / "compare.md").string();
    report::learning_curves(taught, base, "Held-out accuracy: brain-taught vs baseline (" + std::to_string(n_seeds) + " seeds)")
        .write(svg);
    std::string command = "b2m compare";
    for (const auto& x : args) command += " " + x;
    char buf[512];
    std::string m = "# b2m compare\n\n";
    m += "Command: `" + command + "` (b2m " + version_string + ")\n\n";
    std::snprintf(buf, sizeof buf,
                  "Data: `%s`, `%s`, `%s`: %zu trials (%zu training, %zu held out, split seed %llu), %zu features, "
                  "%zu classes, %zu brain targets.\n\n",
                  d.stimuli_path.c_str(), d.labels_path.c_str(), d.brain_path.c_str(), d.all.size(), sp.train.size(),
                  sp.held_out.size(), static_cast<unsigned long long>(split_seed), d.features, d.classes, d.all.brain.shape(1));
    m += buf;
    std::snprintf(buf, sizeof buf, "Student `%s`: %s. Adam, lr %g, batch %zu, %zu epochs, seeds 1..%zu.\n\n",
                  preset_name(s.preset).c_str(), describe_student(s.preset, d.features, d.classes).c_str(), s.lr,
                  r.batch_size, r.epochs, n_seeds);
    m += buf;
    m += "## Result\n\n" + table + "\n" + verdict + ".\n\nLearning curves: `curves.svg`.\n\n";
    m += "## Per seed\n\n| condition | seed | epochs to target | final held-out accuracy |\n| --- | --- | --- | --- |\n";
    m += per_seed(taught, cmp.treatment_epochs, cmp.treatment_final);
    m += per_seed(base, cmp.baseline_epochs, cmp.baseline_final);
    write_text_atomically(md, m);
    std::printf("wrote %s, %s (%.1f s of training)\n", svg.c_str(), md.c_str(), seconds);
    return 0;
}

} // namespace b2m::cli

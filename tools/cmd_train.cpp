// tools/cmd_train.cpp - `b2m train`: one student on the user's .npy files.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>

#include "cli.hpp"
#include "arch.hpp"
#include "data_options.hpp"
#include "job.hpp"
#include "students.hpp"

#include "b2m/config.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/train/checkpoint.hpp"

namespace b2m::cli {

namespace {

const command_spec& train_spec() {
    static const command_spec spec{
        "train",
        "Train a student on stimuli and labels, optionally taught by brain responses to the same stimuli.",
        "--stimuli X.npy --labels y.npy [--brain B.npy] [options] --out DIR",
        {},
        options_of({
            {{"stimuli", "X.npy", "stimuli, (trials, features); higher ranks are flattened; uint8 is divided by 255 (required)"},
             {"labels", "y.npy", "class per trial, (trials,): whole numbers >= 0, or strings (mapped to 0..K-1, sorted) (required)"},
             {"brain", "B.npy", "brain response per trial, (trials, targets) (needed by the brain objectives)"},
             {"classes", "C", "number of classes (default: largest label + 1)"},
             {"preset", "NAME", std::string("student: mlp | mlp-small (default ") + defaults::preset + ")"},
             {"arch", "NAME", "student: mlp | mlp-small (as --preset) | conv | gru | cornet-z (images / sequences: b2m train --arch conv --help)"},
             {"init", "W.npz", "start from these weights (PyTorch state_dict .npz / .safetensors, strict), e.g. a student.npz"},
             {"freeze", "LAYERS", "freeze layers: the tap hidden (its block) or layer indices such as 0-1"},
             {"objective", "NAME", "brain objective: none | contrastive | mse (default contrastive with --brain, else none)"}},
            training_options(),
            {seed_option("seed of initialisation and data order")},
            held_out_options(true),
            split_options(),
            {{"patience", "N", "stop after N epochs without improvement of the held-out loss (default 0: off)"},
             {"checkpoint-every", "N", "write DIR/params (atomically) every N epochs, and after the last (default 1)"},
             {"resume", "", "continue from DIR/params when it exists (same data and options; the log is cut back to its epoch)"},
             {"quiet", "", "no progress output"},
             {"progress", "", "progress output on stderr even when it is not a terminal"},
             {"no-scale", "", "keep uint8 stimuli as 0..255 (default: divided by 255)"},
             threads_option,
             {"out", "DIR", "output folder (required; -o DIR): params, log.csv, report.json, split.npy"}},
        }),
        "Writes DIR/params (the trainer's checkpoint: parameters, optimiser state), DIR/log.csv\n"
        "(every loss term and the held-out accuracy per epoch) and DIR/report.json (settings and\n"
        "final metrics), each atomically (temporary file + rename), and DIR/split.npy: the split\n"
        "used, int8, one value per trial in input order, 1 = held out, 0 = training (pass it\n"
        "back with --split, or in Python: test = numpy.load('split.npy') == 1). With string labels,\n"
        "DIR/label_names.json maps class index -> label. The reported held-out accuracy is the\n"
        "final epoch's (no selection on the held-out trials).\n"
        "Split: random trials by default; --stimulus-ids keeps the repeats of a stimulus on one side\n"
        "(and makes them contrastive positives), --groups keeps groups whole, --split/--test-rows\n"
        "give it. Inputs: .npy (any byte order, float16, strings), file.npz:member, file.mat:variable\n"
        "(MATLAB v5 / v7.3), .csv/.tsv.\n"
        "Students (the brain objectives read the hidden layer 'hidden'):\n"
        "  mlp        dense(F, 128) relu dense(128, 64) relu hidden dense(64, C)\n"
        "  mlp-small  dense(F, 32) relu hidden dense(32, C)\n"
        "Objectives (added to the cross-entropy on the labels):\n"
        "  none         the task alone\n"
        "  contrastive  InfoNCE between the hidden layer and a learned projection of the brain response\n"
        "  mse          squared error between a learned linear map of the hidden layer and the brain response",
        "  b2m train --stimuli stimuli.npy --labels labels.npy --brain brain.npy \\\n"
        "            --objective contrastive --weight 0.5 --epochs 40 --out run1"};
    return spec;
}

} // namespace

int run_train(const std::vector<std::string>& args) {
    const auto& spec = train_spec();
    // --arch conv|gru|cornet-z trains on rank 0 alone in an MPI job (the others wait).
    if (const std::string arch = arch_argument(args); !arch.empty() && !arch_is_preset(arch))
        return job_run_on_root([&] { return run_train_arch(args); });
    const auto parsed = parse_command(spec, args);
    if (!parsed) return 0;  // --help printed
    const parsed_args& a = *parsed;
    // Options first (usage errors before any file is read).
    const std::string out = a.required("out");
    student_spec s;
    s.preset = parse_preset(a.text("arch", a.text("preset", defaults::preset)));
    s.objective = parse_objective(a.text("objective", a.has("brain") ? "contrastive" : "none"));
    const training_values tv = read_training_options(a);
    s.weight = tv.weight, s.tau = tv.tau, s.lr = tv.lr;
    s.seed = a.seed("seed", defaults::seed);
    run_spec r;
    r.epochs = tv.epochs, r.batch_size = tv.batch;
    r.patience = a.count("patience", 0, 0, 1000000);
    r.checkpoint_every = a.count("checkpoint-every", 1, 1, 1000000);
    r.resume = a.flag("resume");
    r.progress = progress_wanted(a);
    const bool quiet = a.flag("quiet");
    if (s.objective != objective_kind::none && !a.has("brain"))
        throw usage_error("--objective " + objective_name(s.objective) + " needs --brain B.npy");

    // In an MPI job (tools/job.hpp) every rank reads the inputs and trains its share of each
    // batch; rank 0 alone writes files and prints. Steps that can fail on some ranks only run
    // inside job_agree / job_on_root, so such a failure stops every rank with one error.
    const bool root = job_rank() == 0;
    job_on_root([&] { prepare_output_dir(out); });  // an unusable --out folder stops here, before any work

    labelled_data d;
    std::string scale_note;
    split_choice chosen;
    job_agree([&] {
        d = load_labelled(a, false);
        scale_note = check_scale(d.all.x, d.stimuli_dtype, d.stimuli_path, a.flag("no-scale"));
        chosen = choose_split(a, d.all.size(), true);
    });
    if (!scale_note.empty() && root) std::fprintf(stderr, "b2m train: %s\n", scale_note.c_str());
    s.features = d.features;
    s.classes = d.classes;
    const split& sp = chosen.rows;
    if (chosen.stimulus.size()) d.all.stimulus = chosen.stimulus;  // repeats are contrastive positives
    const train::batch<float> train_set = take_rows(d.all, sp.train);
    const train::batch<float> held_out = take_rows(d.all, sp.held_out);
    const train::batch<float>* val = sp.held_out.empty() ? nullptr : &held_out;
    if (s.objective == objective_kind::contrastive) {
        const std::size_t b = contrastive_batch_size(r.batch_size, sp.train.size(), sp.held_out.size());
        if (b != r.batch_size && root)
            std::fprintf(stderr, "b2m train: note: using --batch %zu instead of %zu so that no mini-batch holds a single trial (contrastive needs 2)\n",
                         b, r.batch_size);
        r.batch_size = b;
    }

    std::string split_file, names_file;
    job_on_root([&] {
        split_file = write_split(out, chosen, d.all.size());
        names_file = write_label_names(out, d.label_names);
    });
    const std::string params = (std::filesystem::path(out) / "params").string();
    const std::string log = (std::filesystem::path(out) / "log.csv").string();
    const std::string report = (std::filesystem::path(out) / "report.json").string();
    const std::string partial_log = log + ".partial";
    r.csv_path = partial_log;
    r.checkpoint_path = params;
    job_agree([&] {  // every rank reads the checkpoint (a shared file system); rank 0 moves the log
    if (r.resume && std::filesystem::exists(params)) {
        // The saved epoch must lie inside this run: a checkpoint at or past --epochs has
        // nothing left to train (and a corrupt count such as 2^64-1 must not wrap to 0).
        std::optional<std::uint64_t> saved;
        try {
            saved = train::checkpoint_u64(params, "fit.epoch");
        } catch (const b2m::error& e) {
            throw input_error(std::string("--resume: ") + e.what() + " (delete it to start afresh)");
        }
        if (!saved)
            throw input_error("--resume: checkpoint " + params + " records no epoch (not written by b2m train); delete it to start afresh");
        if (*saved >= r.epochs)
            throw input_error("--resume: checkpoint " + params + " is at epoch " + std::to_string(*saved) + " but --epochs is " +
                              std::to_string(r.epochs) + ": nothing left to train (raise --epochs to continue)");
        // Continue the log of the interrupted run (csv_log cuts it back to the saved epoch).
        std::error_code ec;
        if (root && !std::filesystem::exists(partial_log) && std::filesystem::exists(log))
            std::filesystem::rename(log, partial_log, ec);
    } else if (root) {
        std::filesystem::remove(partial_log);
    }
    });
    const std::string student_file = (std::filesystem::path(out) / "student.npz").string();
    r.student_path = student_file;
    r.init_path = a.text("init", "");
    r.freeze = a.text("freeze", "");

    if (!quiet)
        std::printf("b2m train: %zu trials (%zu training, %zu held out), %zu features, %zu classes%s\n"
                    "student %s: %s; objective: cross-entropy%s\n",
                    d.all.size(), sp.train.size(), sp.held_out.size(), d.features, d.classes,
                    d.all.brain.size() ? (", " + std::to_string(d.all.brain.shape(1)) + " brain targets").c_str() : "",
                    preset_name(s.preset).c_str(), describe_student(s.preset, d.features, d.classes).c_str(),
                    s.objective == objective_kind::none ? "" : (" + " + json_object::number(s.weight) + " x " + objective_name(s.objective)).c_str());
    std::fflush(stdout);

    r.data_parallel = true;  // mpi::fit over the ranks of a job (one process: train::fit)
    const run_result res = run_student(s, train_set, val, r);
    job_on_root([&] {
        std::error_code ec;
        std::filesystem::rename(partial_log, log, ec);
        if (ec) throw io_error(log + ": cannot move the finished log into place (" + ec.message() + ")");
    });

    if (res.report.epochs.empty())
        throw input_error("checkpoint " + params + ": no epoch was trained (resumed after epoch " +
                          std::to_string(res.report.resumed_after) + " of " + std::to_string(r.epochs) + ")");
    const auto& last = res.report.epochs.back();
    auto terms = [&](const std::vector<double>& v) {
        json_object o;
        for (std::size_t k = 0; k < v.size() && k < res.report.term_names.size(); ++k) o.add(res.report.term_names[k], v[k]);
        return o;
    };
    const std::string command = command_line("train", args);
    json_object j;
    j.add("b2m_version", version_string).add("command", command);
    j.add("data", json_object()
                      .add("stimuli", d.stimuli_path)
                      .add("labels", d.labels_path)
                      .add("brain", d.brain_path)
                      .add("trials", d.all.size())
                      .add("training_trials", sp.train.size())
                      .add("held_out_trials", sp.held_out.size())
                      .add("features", d.features)
                      .add("classes", d.classes)
                      .add("brain_targets", d.all.brain.size() ? d.all.brain.shape(1) : std::size_t(0))
                      .add("val_fraction", chosen.val_fraction)
                      .add("split_seed", std::int64_t(chosen.split_seed)));
    j.add("split", split_json(chosen, split_file));
    if (!names_file.empty()) {
        json_object names;
        for (std::size_t k = 0; k < d.label_names.size(); ++k) names.add(std::to_string(k), d.label_names[k]);
        j.add("label_names", names);
    }
    j.add("student", json_object().add("preset", preset_name(s.preset)).add("layers", describe_student(s.preset, d.features, d.classes)));
    j.add("objective", json_object()
                           .add("brain_term", objective_name(s.objective))
                           .add("weight", s.objective == objective_kind::none ? 0.0 : s.weight)
                           .add("tau", s.tau)
                           .add("terms", std::vector<std::string>(res.report.term_names.begin(), res.report.term_names.end())));
    j.add("training", json_object()
                          .add("optimizer", "adam")
                          .add("lr", s.lr)
                          .add("epochs_planned", r.epochs)
                          .add("epochs_run", res.report.epochs.size())
                          .add("stopped_early", res.report.stopped_early)
                          .add("batch_size", r.batch_size)
                          .add("seed", s.seed)
                          .add("resumed_after_epoch", res.report.resumed_after)
                          .add("threads", num_threads())
                          .add("mpi_ranks", job_size())
                          .add("seconds", res.seconds));
    j.add("final", json_object()
                       .add("epoch", last.epoch)
                       .add("train_loss", last.train_total)
                       .add("train_terms", terms(last.train_terms))
                       .add("train_accuracy", res.train_accuracy)
                       .add("held_out_loss", last.val_total)
                       .add("held_out_terms", terms(last.val_terms))
                       .add("held_out_accuracy", last.val_accuracy)
                       .add("held_out_accuracy_is", "the final epoch's (no epoch selected on the held-out trials)"));
    j.add("files", json_object().add("params", params).add("log", log).add("report", report).add("student", student_file).add("split", split_file));
    job_on_root([&] { write_text_atomically(report, j.str() + "\n"); });

    std::printf("trained %zu epochs in %.1f s: train accuracy %.3f", res.report.epochs.size(), res.seconds, res.train_accuracy);
    if (!std::isnan(last.val_accuracy)) std::printf(", final held-out accuracy %.3f", last.val_accuracy);
    std::printf("\nwrote %s, %s, %s, %s, %s\n", params.c_str(), student_file.c_str(), log.c_str(), report.c_str(), split_file.c_str());
    return 0;
}

} // namespace b2m::cli

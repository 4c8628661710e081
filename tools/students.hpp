// tools/students.hpp - the students and objectives `b2m train` and `b2m compare` offer,
// behind one non-template function so that every (preset, objective) trainer type is
// instantiated once, in students.cpp.
//
// Presets (F stimulus features, C classes; the brain objectives read the tap "hidden"):
//   mlp        dense(F, 128) relu dense(128, 64) relu tap<"hidden"> dense(64, C)
//   mlp-small  dense(F, 32) relu tap<"hidden"> dense(32, C)
// Objectives (always plus the task's cross-entropy on the labels):
//   none         cross_entropy only (the baseline)
//   contrastive  + weight * InfoNCE between the hidden layer and a learned projection of the
//                brain response to the same stimulus (loss::contrastive, identity on the
//                student side, tau --tau)
//   mse          + weight * mean squared error between a learned linear map of the hidden
//                layer and the brain response (loss::latent, kind mse, no reduction)
// Optimiser: Adam with learning rate lr. Initialisation and the heads are drawn from seed;
// the data order from seed + 100.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli.hpp"

#include "b2m/train/batch.hpp"
#include "b2m/train/fit.hpp"

namespace b2m::cli {

enum class preset_kind { mlp, mlp_small };
enum class objective_kind { none, contrastive, mse };

preset_kind parse_preset(const std::string& s);        ///< "mlp" | "mlp-small"
objective_kind parse_objective(const std::string& s);  ///< "none" | "contrastive" | "mse"
std::string preset_name(preset_kind p);
std::string objective_name(objective_kind o);
/// Width of the tap "hidden" of the preset.
std::size_t hidden_width(preset_kind p);
/// The layers, e.g. "dense(64, 32) relu tap<hidden> dense(32, 4)".
std::string describe_student(preset_kind p, std::size_t features, std::size_t classes);

struct student_spec {
    preset_kind preset = preset_kind::mlp_small;
    objective_kind objective = objective_kind::none;
    double weight = defaults::weight;  ///< weight of the brain term
    double lr = defaults::lr;
    double tau = defaults::tau;        ///< contrastive temperature
    std::uint64_t seed = defaults::seed;
    std::size_t features = 0, classes = 0;
};

struct run_spec {
    std::size_t epochs = defaults::epochs;
    std::size_t batch_size = defaults::batch;
    std::string checkpoint_path;  ///< empty: none; else written after the last epoch (and every checkpoint_every)
    std::size_t checkpoint_every = 0;  ///< 0: only at the end
    bool progress = false;        ///< print the progress bar / per-epoch lines on stdout
    std::string csv_path;         ///< empty: no CSV log
    std::size_t patience = 0;     ///< early stopping patience in epochs (0: off)
    bool resume = false;          ///< continue from checkpoint_path when it exists (train::fit's resume)
    std::string student_path;     ///< empty: none; else the trained student as a PyTorch state_dict (.npz)
    std::string init_path;        ///< empty: random init; else start from these weights (strict)
    std::string freeze;           ///< layers to freeze (nn::freeze syntax: tap names, 0-3)
    /// In an MPI job of several ranks (tools/job.hpp), train data-parallel with mpi::fit:
    /// every rank must call run_student with the same arguments; rank 0 alone writes the
    /// CSV log, the checkpoint and the student file and shows progress. Ignored outside a
    /// job (and for commands that run on rank 0 alone, which leave it false).
    bool data_parallel = false;
};

struct run_result {
    train::fit_report report;
    double train_accuracy = 0;  ///< on the whole training set after training
    double seconds = 0;
};

/// Trains the student described by s on train_set (x, labels, and brain unless the
/// objective is none), validating on `held_out` (may be null) after every epoch.
/// Requires labels in [0, s.classes) and x with s.features columns.
run_result run_student(const student_spec& s, const train::batch<float>& train_set,
                       const train::batch<float>* held_out, const run_spec& r);

/// A batch size close to `requested` for which no mini-batch of n_train (nor of the
/// n_held_out validation trials) has exactly one trial: the contrastive term needs >= 2.
std::size_t contrastive_batch_size(std::size_t requested, std::size_t n_train, std::size_t n_held_out);

} // namespace b2m::cli

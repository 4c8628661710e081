// tools/students.cpp - the only translation unit that instantiates the float trainers of
// the command-line presets (2 students x 3 objectives).
#include "students.hpp"

#include <chrono>
#include <functional>
#include <limits>
#include <optional>

#include "cli.hpp"
#include "job.hpp"

#include "b2m/io/state_dict.hpp"
#include "b2m/loss/contrastive.hpp"
#include "b2m/loss/cross_entropy.hpp"
#include "b2m/loss/latent.hpp"
#include "b2m/nn/activation.hpp"
#include "b2m/nn/dense.hpp"
#include "b2m/nn/freeze.hpp"
#include "b2m/nn/sequential.hpp"
#include "b2m/nn/tap.hpp"
#include "b2m/optim/optimizer.hpp"
#include "b2m/train/trainer.hpp"

#if defined(B2M_WITH_MPI)
#include "b2m/mpi/fit.hpp"
#endif

namespace b2m::cli {

preset_kind parse_preset(const std::string& s) {
    if (s == "mlp") return preset_kind::mlp;
    if (s == "mlp-small") return preset_kind::mlp_small;
    throw usage_error("option --preset: '" + s + "' is not one of mlp, mlp-small");
}
objective_kind parse_objective(const std::string& s) {
    if (s == "none") return objective_kind::none;
    if (s == "contrastive") return objective_kind::contrastive;
    if (s == "mse") return objective_kind::mse;
    throw usage_error("option --objective: '" + s + "' is not one of none, contrastive, mse");
}
std::string preset_name(preset_kind p) { return p == preset_kind::mlp ? "mlp" : "mlp-small"; }
std::string objective_name(objective_kind o) {
    return o == objective_kind::none ? "none" : o == objective_kind::contrastive ? "contrastive" : "mse";
}
std::size_t hidden_width(preset_kind p) { return p == preset_kind::mlp ? 64 : 32; }

std::string describe_student(preset_kind p, std::size_t f, std::size_t c) {
    const std::string F = std::to_string(f), C = std::to_string(c);
    if (p == preset_kind::mlp) return "dense(" + F + ", 128) relu dense(128, 64) relu tap<hidden> dense(64, " + C + ")";
    return "dense(" + F + ", 32) relu tap<hidden> dense(32, " + C + ")";
}

std::size_t contrastive_batch_size(std::size_t requested, std::size_t n_train, std::size_t n_held_out) {
    auto ok = [&](std::size_t b) {
        auto last = [&](std::size_t n) { return n == 0 || b >= n ? n : (n % b == 0 ? b : n % b); };
        return last(n_train) != 1 && last(n_held_out) != 1;
    };
    for (std::size_t b = std::max<std::size_t>(requested, 2); b < requested + 64; ++b)
        if (ok(b)) return b;
    return requested;
}

namespace {

/// The callbacks of one run: optional progress, optional CSV, optional early stopping.
/// One type for every run so fit is instantiated once per trainer type; the early
/// stopping state goes into checkpoints.
struct tool_callbacks {
    bool show_progress = false;
    train::progress bar{};
    std::optional<train::csv_log> csv;
    std::size_t patience = 0;
    train::early_stopping stop{};

    void on_fit_begin(const train::fit_state& s) {
        if (show_progress) bar.on_fit_begin(s);
        if (csv) csv->on_fit_begin(s);
    }
    void on_step(const train::fit_state& s, std::size_t step, std::size_t steps, double loss) {
        if (show_progress) bar.on_step(s, step, steps, loss);
    }
    bool on_epoch_end(const train::fit_state& s, const train::epoch_record& r) {
        if (show_progress) bar.on_epoch_end(s, r);
        if (csv) csv->on_epoch_end(s, r);
        return patience == 0 || stop.on_epoch_end(s, r);
    }
    template <class Archive>
    void serialize(Archive& ar) {
        stop.serialize(ar);
    }
};

template <class Student, class Objective>
run_result train_with(Student student, const Objective& objective, const student_spec& s,
                      const train::batch<float>& train_set, const train::batch<float>* held_out, const run_spec& r) {
    const auto t0 = std::chrono::steady_clock::now();
    auto trainer = train::make_trainer(std::move(student), objective, optim::adam({.lr = s.lr}), {.seed = s.seed});
    tool_callbacks cb;
    cb.show_progress = r.progress;
    cb.bar.out = stderr;  // progress never mixes with the results on stdout
    // In a data-parallel job a failure on one rank (e.g. --init unreadable there) is
    // thrown on every rank (job_agree), so no rank waits for the others forever.
    const auto agreed = [&](const std::function<void()>& f) {
        if (r.data_parallel && job_size() > 1) job_agree(f);
        else f();
    };
    agreed([&] {
        if (!r.init_path.empty()) {
            try {
                io::load_state_dict(trainer.student(), r.init_path);
            } catch (const b2m::error& e) {
                throw input_error("--init " + r.init_path + ": " + e.what());
            }
        }
        if (!r.freeze.empty()) {
            try {
                nn::freeze(trainer.student(), r.freeze);
            } catch (const b2m::error& e) {
                throw usage_error(std::string("option --freeze: ") + e.what());
            }
        }
    });
    if (!r.csv_path.empty()) cb.csv = train::csv_log{r.csv_path};
    cb.patience = r.patience;
    cb.stop.patience = r.patience;
    train::fit_options fo{.epochs = r.epochs,
                          .batch_size = r.batch_size,
                          .shuffle_seed = s.seed + 100,
                          .checkpoint_path = r.checkpoint_path,
                          .checkpoint_every = r.checkpoint_every ? r.checkpoint_every : std::max<std::size_t>(r.epochs, 1),
                          .resume = r.resume};
    run_result out;
    if (r.data_parallel && job_size() > 1) {
#if defined(B2M_WITH_MPI)
        // Data-parallel over the job's ranks (mpi/fit.hpp): the same global batches as one
        // process; rank 0 alone shows progress and writes the CSV, checkpoints and student.
        const mpi::communicator world;
        cb.show_progress = cb.show_progress && world.root();
        if (!world.root()) cb.csv.reset();
        out.report = mpi::fit(world, trainer, train_set, held_out, fo, {}, cb);
        mpi::distributed_trainer dp(world, trainer);
        out.train_accuracy = train::accuracy(dp.predict(train_set.x), train_set.labels);
        job_on_root([&] {
            if (!r.student_path.empty()) io::save_state_dict(trainer.student(), r.student_path);
        });
#endif
    } else {
        out.report = train::fit(trainer, train_set, held_out, fo, cb);
        out.train_accuracy = train::accuracy(trainer.predict(train_set.x), train_set.labels);
        if (!r.student_path.empty()) io::save_state_dict(trainer.student(), r.student_path);
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

template <class Student>
run_result train_objective(Student student, const student_spec& s, const train::batch<float>& train_set,
                           const train::batch<float>* held_out, const run_spec& r) {
    const auto task = loss::cross_entropy(nn::output, data::labels);
    switch (s.objective) {
    case objective_kind::contrastive: {
        const auto brain = loss::contrastive(
            nn::tap<"hidden">{}, data::brain,
            {.tau = s.tau, .dim = hidden_width(s.preset), .project_student = false, .seed = s.seed});
        return train_with(std::move(student), task + s.weight * brain, s, train_set, held_out, r);
    }
    case objective_kind::mse: {
        const auto brain = loss::latent(nn::tap<"hidden">{}, data::brain, {.kind = loss::latent_loss::mse, .seed = s.seed});
        return train_with(std::move(student), task + s.weight * brain, s, train_set, held_out, r);
    }
    default: return train_with(std::move(student), task, s, train_set, held_out, r);
    }
}

} // namespace

run_result run_student(const student_spec& s, const train::batch<float>& train_set, const train::batch<float>* held_out,
                       const run_spec& r) {
    if (s.objective != objective_kind::none && train_set.brain.size() == 0)
        throw usage_error("the objective '" + objective_name(s.objective) + "' needs --brain");
    const std::size_t f = s.features, c = s.classes;
    if (s.preset == preset_kind::mlp)
        return train_objective(nn::sequential(nn::dense(f, 128), nn::relu{}, nn::dense(128, 64), nn::relu{},
                                              nn::tap<"hidden">{}, nn::dense(64, c)),
                               s, train_set, held_out, r);
    return train_objective(nn::sequential(nn::dense(f, 32), nn::relu{}, nn::tap<"hidden">{}, nn::dense(32, c)), s, train_set,
                           held_out, r);
}

} // namespace b2m::cli

// b2m/train/fit.hpp - the training loop: epochs of seeded mini-batches, validation,
// callbacks, checkpoints and resume.
//
//   auto report = train::fit(trainer, train_set, &validation_set,
//                            {.epochs = 30, .batch_size = 128, .shuffle_seed = 7,
//                             .checkpoint_path = "run.ckpt", .checkpoint_every = 5},
//                            train::progress{}, train::csv_log{"run.csv"},
//                            train::early_stopping{.patience = 5});
//
// Data order in epoch e is a permutation drawn from rng(shuffle_seed).split(e): the same
// seed gives the same batches, whatever the thread count. With .resume = true and an
// existing checkpoint, training continues from the epoch after the saved one and follows
// the same trajectory bit for bit as an uninterrupted run. A non-finite loss stops the
// run with nonfinite_error naming the term; the last checkpoint (written only after a
// successful epoch) is kept.
//
// Callbacks (train/callback.hpp says what one is) each live in their own header under
// train/callbacks/: progress, csv_log, early_stopping, lr_schedule, weight_schedule.
// This header includes them all.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/train/batch.hpp"
#include "b2m/train/callback.hpp"
#include "b2m/train/callbacks/csv_log.hpp"
#include "b2m/train/callbacks/early_stopping.hpp"
#include "b2m/train/callbacks/lr_schedule.hpp"
#include "b2m/train/callbacks/progress.hpp"
#include "b2m/train/callbacks/weight_schedule.hpp"
#include "b2m/train/checkpoint.hpp"

namespace b2m::train {

/// Options of train::fit.
struct fit_options {
    std::size_t epochs = 10;          ///< the last epoch to run (1-based; a resumed fit runs the remaining ones)
    std::size_t batch_size = 64;      ///< rows per training step (see batch_plan for the remainder)
    std::uint64_t shuffle_seed = 0;   ///< epoch e's order is drawn from rng(shuffle_seed).split(e)
    bool shuffle = true;              ///< false: rows in data order every epoch
    std::string checkpoint_path;      ///< empty: no checkpoints
    std::size_t checkpoint_every = 1; ///< epochs between checkpoints
    bool resume = false;              ///< continue from checkpoint_path when it exists
    bool drop_last = false;           ///< skip the last, smaller training batch of each epoch
};

/// Mini-batches of at most `size` rows over n rows, where a final remainder of a single
/// row joins the batch before it (batch-level objectives such as contrastive terms need
/// at least two trials). Requires size >= 1.
struct batch_plan {
    /// The number of rows;
    std::size_t n, size; ///< the batch size (>= 1).
    bool drop_last = false; ///< drop the final smaller batch (but keep at least one batch)
    /// The number of batches.
    std::size_t count() const {
        if (n == 0) return 0;
        if (drop_last) return std::max<std::size_t>(1, n / size);
        const std::size_t full = n / size, rest = n % size;
        return full + (rest >= 2 || full == 0 ? (rest ? 1 : 0) : 0);
    }
    std::size_t begin(std::size_t k) const { return std::min(n, k * size); } ///< First row of batch k (k < count()).
    /// One past the last row of batch k (the last batch takes the remainder unless drop_last).
    std::size_t end(std::size_t k) const { return k + 1 == count() && !drop_last ? n : std::min(n, (k + 1) * size); }
};

namespace detail {
template <class Trainer, real T, class... Callbacks>
fit_report fit_loop(Trainer& trainer, const batch<T>& data, const batch<T>* validation, const fit_options& options,
                    Callbacks&... callbacks);
} // namespace detail

/// Trains `trainer` on `data` (all trials as one batch) for options.epochs epochs.
/// `validation` may be null.
/// requires: a trainer of make_trainer, a batch of its scalar type, callbacks as
///           train/callback.hpp describes (each checked at compile time, one message each).
/// ensures:  the trainer holds the trained state; the report lists the epochs run. Throws
///           data_error / shape_error for inconsistent data (naming the field),
///           nonfinite_error (naming the term, the epoch and the last checkpoint).
template <class Trainer, real T, class... Callbacks>
fit_report fit(Trainer& trainer, const batch<T>& data, std::type_identity_t<const batch<T>*> validation,
               const fit_options& options,
               Callbacks&&... callbacks) {
    static_assert(requires { typename Trainer::value_type; Trainer::num_terms; },
                  "b2m::train::fit: the first argument must be a trainer made by train::make_trainer");
    if constexpr (requires { typename Trainer::value_type; }) {
        static_assert(std::same_as<T, typename Trainer::value_type>,
                      "b2m::train::fit: the batch's scalar type differs from the trainer's (e.g. a batch<double> "
                      "given to a float trainer); convert the batch or make the student in that type");
    }
    (check_callback<std::remove_cvref_t<Callbacks>>(), ...);
    if constexpr (requires { typename Trainer::value_type; } && (callback<std::remove_cvref_t<Callbacks>> && ...)) {
        if constexpr (std::same_as<T, typename Trainer::value_type>)
            return detail::fit_loop(trainer, data, validation, options, callbacks...);
    }
    return fit_report{};
}

namespace detail {
template <class Trainer, real T, class... Callbacks>
fit_report fit_loop(Trainer& trainer, const batch<T>& data, const batch<T>* validation, const fit_options& options,
                    Callbacks&... callbacks) {
    validate(data, "training data");
    if (validation) validate(*validation, "validation data");
    if (options.batch_size == 0) throw error("fit: batch_size must be positive");
    const std::size_t n = data.size();
    const std::size_t bs = std::min(options.batch_size, n);

    fit_report report;
    for (const auto& s : trainer.term_names()) report.term_names.push_back(s);
    fit_state state;
    state.epochs = options.epochs;
    state.term_names = report.term_names;
    state.lr = &trainer.optimizer().lr;
    state.base_lr = trainer.optimizer().lr;
    state.has_validation = validation != nullptr;
    std::vector<double> weights(Trainer::num_terms);
    state.base_weights.assign(Trainer::num_terms, 0.0);
    for (std::size_t k = 0; k < Trainer::num_terms; ++k) {
        weights[k] = double(trainer.objective().weights()[k]);
        if constexpr (requires { trainer.objective().base_weights(); })
            state.base_weights[k] = double(trainer.objective().base_weights()[k]);
        else
            state.base_weights[k] = weights[k];
    }
    state.weights = std::span<double>(weights);
    auto apply_weights = [&] {
        if constexpr (requires { trainer.objective().set_weight(std::size_t(0), T(0)); }) {
            for (std::size_t k = 0; k < Trainer::num_terms; ++k) {
                if (!std::isfinite(weights[k]))
                    throw data_error("fit: a callback set the weight of term '" + state.term_names[k] +
                                     "' to a non-finite value");
                trainer.objective().set_weight(k, T(weights[k]));
            }
        }
    };

    std::uint64_t last_epoch = 0;
    auto extra = [&](auto& ar) {
        ar.u64("fit.epoch", last_epoch);
        ar.f64("fit.base_lr", state.base_lr);
        (detail::callback_serialize(callbacks, ar), ...);
    };

    std::vector<std::size_t> order(n);
    batch<T> b;
    bool have_checkpoint = false;
    if (options.resume && !options.checkpoint_path.empty() && std::filesystem::exists(options.checkpoint_path)) {
        // create lazily sized parts (projection heads) with a first batch, then restore
        std::iota(order.begin(), order.end(), 0);
        gather(data, std::span<const std::size_t>(order.data(), bs), b);
        // The saved epoch is checked before anything is restored: past the planned epochs
        // (or a wrapped 2^64-1) there is nothing to resume, and the trainer stays as it is.
        if (const auto saved = checkpoint_u64(options.checkpoint_path, "fit.epoch"); saved && *saved > options.epochs)
            throw data_error("train::fit: checkpoint " + options.checkpoint_path + " is at epoch " + std::to_string(*saved) +
                             ", past the " + std::to_string(options.epochs) +
                             " planned epochs; raise fit_options::epochs or start without resume");
        trainer.evaluate(b);
        trainer.load(options.checkpoint_path, extra);
        report.resumed_after = last_epoch;
        state.resumed_after = last_epoch;
        for (std::size_t k = 0; k < Trainer::num_terms; ++k) weights[k] = double(trainer.objective().weights()[k]);
        have_checkpoint = true;
    }
    (detail::callback_begin(callbacks, state), ...);

    const batch_plan plan{n, bs, options.drop_last};
    const std::size_t steps = plan.count();
    for (std::size_t epoch = last_epoch + 1; epoch <= options.epochs; ++epoch) {
        const auto t0 = std::chrono::steady_clock::now();
        state.epoch = epoch;
        (detail::callback_epoch_begin(callbacks, state), ...);
        apply_weights();
        std::iota(order.begin(), order.end(), 0);
        if (options.shuffle) {
            rng r = rng(options.shuffle_seed).split(epoch);
            r.shuffle(order);
        }
        epoch_record rec;
        rec.epoch = epoch;
        rec.lr = trainer.optimizer().lr;
        rec.weights = weights;
        rec.train_terms.assign(Trainer::num_terms, 0.0);
        double train_correct = 0;  // labelled training rows the step's forward pass classified right
        for (std::size_t s = 0; s < steps; ++s) {
            const std::size_t begin = plan.begin(s), end = plan.end(s);
            gather(data, std::span<const std::size_t>(order.data() + begin, end - begin), b);
            typename Trainer::result_type r;
            try {
                r = trainer.step(b);
            } catch (const nonfinite_error& e) {
                throw nonfinite_error(std::string(e.what()) + " at epoch " + std::to_string(epoch) + ", step " +
                                      std::to_string(s + 1) +
                                      (have_checkpoint ? "; the last good checkpoint is '" + options.checkpoint_path + "'"
                                                       : std::string("")));
            }
            const double w = double(end - begin) / double(plan.end(steps - 1));
            rec.train_total += w * double(r.total);
            for (std::size_t k = 0; k < Trainer::num_terms; ++k) rec.train_terms[k] += w * double(r.values[k]);
            // The step's forward pass (training mode, parameters before this step's update)
            // is still the student's output: its argmax against the batch's labels.
            if (b.labels.size()) train_correct += accuracy(trainer.student().output(), b.labels) * double(end - begin);
            (detail::callback_step(callbacks, state, s + 1, steps, double(r.total)), ...);
        }
        if (data.labels.size()) rec.train_accuracy = train_correct / double(plan.end(steps - 1));
        if (validation) {
            // The objective is evaluated on validation data that carries the training data's
            // fields; otherwise (e.g. held-out stimuli without brain recordings) only the
            // accuracy is, from the student's predictions.
            const bool with_objective = same_fields(data, *validation);
            if (with_objective) {
                rec.val_total = 0;
                rec.val_terms.assign(Trainer::num_terms, 0.0);
            }
            const std::size_t vn = validation->size();
            std::vector<std::size_t> vidx(vn);
            std::iota(vidx.begin(), vidx.end(), 0);
            double correct = 0;
            const batch_plan vplan{vn, bs};
            for (std::size_t k = 0; k < vplan.count(); ++k) {
                const std::size_t begin = vplan.begin(k), end = vplan.end(k);
                gather(*validation, std::span<const std::size_t>(vidx.data() + begin, end - begin), b);
                if (with_objective) {
                    const auto r = trainer.evaluate(b);
                    const double w = double(end - begin) / double(vn);
                    rec.val_total += w * double(r.total);
                    for (std::size_t k = 0; k < Trainer::num_terms; ++k) rec.val_terms[k] += w * double(r.values[k]);
                } else if constexpr (requires { trainer.predict(b); }) {
                    trainer.predict(b);  // with the batch's sequence lengths
                } else {
                    trainer.predict(b.x);
                }
                if (b.labels.size()) correct += accuracy(trainer.student().output(), b.labels) * double(end - begin);
            }
            if (validation->labels.size()) rec.val_accuracy = correct / double(vn);
        }
        rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        bool keep_going = true;
        ((keep_going = detail::callback_epoch_end(callbacks, state, rec) && keep_going), ...);
        report.epochs.push_back(rec);
        last_epoch = epoch;
        apply_weights();  // changes made in on_epoch_end apply from the next epoch (and are checkpointed)
        if (!options.checkpoint_path.empty() &&
            (epoch % std::max<std::size_t>(1, options.checkpoint_every) == 0 || epoch == options.epochs || !keep_going)) {
            trainer.save(options.checkpoint_path, extra);
            have_checkpoint = true;
        }
        if (!keep_going) {
            report.stopped_early = true;
            break;
        }
    }
    return report;
}
} // namespace detail

} // namespace b2m::train

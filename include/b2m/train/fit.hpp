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
// A callback is any object with some of:
//   void on_fit_begin(const fit_state&)
//   void on_step(const fit_state&, std::size_t step, std::size_t steps, double loss)
//   bool on_epoch_end(const fit_state&, const epoch_record&)   false: stop training
//   template <class Archive> void serialize(Archive&)           state kept in checkpoints
// and lr_schedule also gets set_lr access through fit_state::lr.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include "b2m/core/error.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/train/batch.hpp"

namespace b2m::train {

struct fit_options {
    std::size_t epochs = 10;
    std::size_t batch_size = 64;
    std::uint64_t shuffle_seed = 0;
    bool shuffle = true;
    std::string checkpoint_path;      ///< empty: no checkpoints
    std::size_t checkpoint_every = 1; ///< epochs between checkpoints
    bool resume = false;              ///< continue from checkpoint_path when it exists
    bool drop_last = false;           ///< skip the last, smaller training batch of each epoch
};

/// Mini-batches of at most `size` rows over n rows, where a final remainder of a single
/// row joins the batch before it (batch-level objectives such as contrastive terms need
/// at least two trials). Requires size >= 1.
struct batch_plan {
    std::size_t n, size;
    bool drop_last = false;
    std::size_t count() const {
        if (n == 0) return 0;
        if (drop_last) return std::max<std::size_t>(1, n / size);
        const std::size_t full = n / size, rest = n % size;
        return full + (rest >= 2 || full == 0 ? (rest ? 1 : 0) : 0);
    }
    std::size_t begin(std::size_t k) const { return std::min(n, k * size); }
    std::size_t end(std::size_t k) const { return k + 1 == count() && !drop_last ? n : std::min(n, (k + 1) * size); }
};

/// What one epoch measured. Validation figures are NaN without validation data;
/// accuracies are NaN when the batch has no labels.
struct epoch_record {
    std::size_t epoch = 0;  ///< 1-based
    double lr = 0;
    double train_total = 0;
    std::vector<double> train_terms;
    double train_accuracy = std::numeric_limits<double>::quiet_NaN();
    double val_total = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> val_terms;
    double val_accuracy = std::numeric_limits<double>::quiet_NaN();
    double seconds = 0;
};

struct fit_report {
    std::vector<std::string> term_names;
    std::vector<epoch_record> epochs;  ///< the epochs run by this call
    std::size_t resumed_after = 0;     ///< epoch restored from a checkpoint (0: fresh start)
    bool stopped_early = false;
};

/// What callbacks see: progress so far and the learning rate they may change.
struct fit_state {
    std::size_t epoch = 0;         ///< current epoch, 1-based
    std::size_t epochs = 0;        ///< planned epochs
    std::vector<std::string> term_names;
    double* lr = nullptr;          ///< the optimiser's learning rate
    double base_lr = 0;
    bool has_validation = false;
};

namespace detail {
// Calls a callback's hook when it has one.
template <class C, class A>
void callback_serialize(C& c, A& ar) {
    if constexpr (requires { c.serialize(ar); }) c.serialize(ar);
}
template <class C>
void callback_begin(C& c, const fit_state& s) {
    if constexpr (requires { c.on_fit_begin(s); }) c.on_fit_begin(s);
}
template <class C>
void callback_step(C& c, const fit_state& s, std::size_t step, std::size_t steps, double loss) {
    if constexpr (requires { c.on_step(s, step, steps, loss); }) c.on_step(s, step, steps, loss);
}
template <class C>
bool callback_epoch_end(C& c, const fit_state& s, const epoch_record& r) {
    if constexpr (requires { c.on_epoch_end(s, r); }) return c.on_epoch_end(s, r);
    else return true;
}
} // namespace detail

/// Trains `trainer` on `data` (all trials as one batch) for options.epochs epochs.
/// `validation` may be null. Throws data_error / shape_error for inconsistent data (naming
/// the field), nonfinite_error (naming the term, the epoch and the last checkpoint).
template <class Trainer, real T, class... Callbacks>
fit_report fit(Trainer& trainer, const batch<T>& data, std::type_identity_t<const batch<T>*> validation,
               const fit_options& options,
               Callbacks&&... callbacks) {
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
        trainer.evaluate(b);
        trainer.load(options.checkpoint_path, extra);
        report.resumed_after = last_epoch;
        have_checkpoint = true;
    }
    (detail::callback_begin(callbacks, state), ...);

    const batch_plan plan{n, bs, options.drop_last};
    const std::size_t steps = plan.count();
    for (std::size_t epoch = last_epoch + 1; epoch <= options.epochs; ++epoch) {
        const auto t0 = std::chrono::steady_clock::now();
        state.epoch = epoch;
        std::iota(order.begin(), order.end(), 0);
        if (options.shuffle) {
            rng r = rng(options.shuffle_seed).split(epoch);
            r.shuffle(order);
        }
        epoch_record rec;
        rec.epoch = epoch;
        rec.lr = trainer.optimizer().lr;
        rec.train_terms.assign(Trainer::num_terms, 0.0);
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
            (detail::callback_step(callbacks, state, s + 1, steps, double(r.total)), ...);
        }
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

/// Progress on a terminal: a bar updated each step with the epoch, the loss and an ETA;
/// elsewhere (a log file, CI): one plain line per epoch.
struct progress {
    std::FILE* out = stdout;
    bool force_plain = false;
    std::chrono::steady_clock::time_point start{};

    void on_fit_begin(const fit_state&) { start = std::chrono::steady_clock::now(); }
    void on_step(const fit_state& s, std::size_t step, std::size_t steps, double loss) {
        if (force_plain || !::isatty(::fileno(out))) return;
        const double done = (double(s.epoch - 1) + double(step) / double(steps)) / double(s.epochs);
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double eta = done > 0 ? elapsed * (1 - done) / done : 0;
        const int width = 30, filled = int(width * double(step) / double(steps));
        std::fprintf(out, "\repoch %zu/%zu [%.*s%*s] loss %.4f  ETA %.0fs ", s.epoch, s.epochs, filled,
                     "==============================", width - filled, "", loss, eta);
        std::fflush(out);
    }
    bool on_epoch_end(const fit_state& s, const epoch_record& r) {
        if (!force_plain && ::isatty(::fileno(out))) std::fprintf(out, "\r%80s\r", "");
        std::fprintf(out, "epoch %zu/%zu  loss %.4f", r.epoch, s.epochs, r.train_total);
        for (std::size_t k = 0; k < r.train_terms.size() && r.train_terms.size() > 1; ++k)
            std::fprintf(out, "  %s %.4f", s.term_names[k].c_str(), r.train_terms[k]);
        if (!std::isnan(r.val_total)) std::fprintf(out, "  val %.4f", r.val_total);
        if (!std::isnan(r.val_accuracy)) std::fprintf(out, "  val acc %.3f", r.val_accuracy);
        std::fprintf(out, "  (%.2fs)\n", r.seconds);
        std::fflush(out);
        return true;
    }
};

/// Appends one CSV row per epoch: epoch, lr, train total, each train term, train accuracy,
/// val total, each val term, val accuracy, seconds. Writes the header when the file is new.
struct csv_log {
    std::string path;
    void on_fit_begin(const fit_state& s) {
        if (std::filesystem::exists(path) && std::filesystem::file_size(path) > 0) return;
        std::ofstream f(path);
        if (!f) throw io_error("csv_log: cannot write '" + path + "'");
        f << "epoch,lr,train_total";
        for (const auto& n : s.term_names) f << ",train:" << quote(n);
        f << ",val_total";
        for (const auto& n : s.term_names) f << ",val:" << quote(n);
        f << ",val_accuracy,seconds\n";
    }
    bool on_epoch_end(const fit_state&, const epoch_record& r) {
        std::ofstream f(path, std::ios::app);
        if (!f) throw io_error("csv_log: cannot append to '" + path + "'");
        f.precision(9);
        f << r.epoch << ',' << r.lr << ',' << r.train_total;
        for (double v : r.train_terms) f << ',' << v;
        f << ',' << r.val_total;
        for (std::size_t k = 0; k < r.train_terms.size(); ++k) f << ',' << (r.val_terms.empty() ? std::nan("") : r.val_terms[k]);
        f << ',' << r.val_accuracy << ',' << r.seconds << '\n';
        return true;
    }
    static std::string quote(const std::string& s) {
        std::string q = "\"";
        for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
    }
};

/// Stops when the monitored loss (the validation total when it was computed, else the
/// training total) has not improved by min_delta for `patience` epochs.
struct early_stopping {
    std::size_t patience = 5;
    double min_delta = 0.0;
    double best = std::numeric_limits<double>::infinity();
    std::size_t bad = 0;

    bool on_epoch_end(const fit_state&, const epoch_record& r) {
        const double v = std::isfinite(r.val_total) ? r.val_total : r.train_total;
        if (v < best - min_delta) {
            best = v;
            bad = 0;
        } else if (++bad >= patience) {
            return false;
        }
        return true;
    }
    template <class Archive>
    void serialize(Archive& ar) {
        ar.f64("early_stopping.best", best);
        std::uint64_t b = bad;
        ar.u64("early_stopping.bad", b);
        bad = b;
    }
};

/// Sets the learning rate after each epoch from a schedule of optim/schedule.hpp,
/// monitoring the validation total when it was computed (else the training total).
template <class Schedule>
struct lr_schedule {
    Schedule schedule;
    bool on_epoch_end(const fit_state& s, const epoch_record& r) {
        const double metric = std::isfinite(r.val_total) ? r.val_total : r.train_total;
        *s.lr = schedule.next(s.base_lr, r.epoch - 1, metric);
        return true;
    }
    template <class Archive>
    void serialize(Archive& ar) {
        if constexpr (requires { schedule.serialize(ar); }) schedule.serialize(ar);
    }
};

} // namespace b2m::train

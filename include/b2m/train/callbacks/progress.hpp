// b2m/train/callbacks/progress.hpp - training progress on a terminal or in a log.
//
// progress   represents: a fit() callback printing to `out` (not owned; must outlive the
//            fit call). On a terminal: a bar updated each step with the epoch, the loss and
//            an ETA; elsewhere (a log file, CI) or with force_plain: one line per epoch.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>

#include <unistd.h>

#include "b2m/train/callback.hpp"

namespace b2m::train {

/// A fit() callback printing training progress (see the head of this file).
struct progress {
    std::FILE* out = stdout;  ///< the stream printed to (not owned; must outlive the fit call)
    bool force_plain = false; ///< one line per epoch even on a terminal
    std::chrono::steady_clock::time_point start{}; ///< state: when fit began (for the ETA)

    /// @name Callback hooks (the concept at the head of b2m/train/callback.hpp)
    ///@{

    /// Callback hooks: on_fit_begin records the start time; on_step redraws the progress bar
    /// (epoch, loss, ETA) when out is a terminal and not force_plain; on_epoch_end prints the
    /// epoch's line (loss, each term when there are several, validation loss and accuracy when
    /// measured, seconds) and returns true.
    void on_fit_begin(const fit_state&) { start = std::chrono::steady_clock::now(); }
    void on_step(const fit_state& s, std::size_t step, std::size_t steps, double loss) {
        if (!interactive()) return;
        const double done = (double(s.epoch - 1) + double(step) / double(steps)) / double(s.epochs);
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double eta = done > 0 ? elapsed * (1 - done) / done : 0;
        const int width = 30, filled = int(width * double(step) / double(steps));
        std::fprintf(out, "\repoch %zu/%zu [%.*s%*s] loss %.4f  ETA %.0fs ", s.epoch, s.epochs, filled,
                     "==============================", width - filled, "", loss, eta);
        std::fflush(out);
    }
    bool on_epoch_end(const fit_state& s, const epoch_record& r) {
        if (interactive()) std::fprintf(out, "\r%80s\r", "");
        std::fprintf(out, "epoch %zu/%zu  loss %.4f", r.epoch, s.epochs, r.train_total);
        for (std::size_t k = 0; k < r.train_terms.size() && r.train_terms.size() > 1; ++k)
            std::fprintf(out, "  %s %.4f", s.term_names[k].c_str(), r.train_terms[k]);
        if (!std::isnan(r.val_total)) std::fprintf(out, "  val %.4f", r.val_total);
        if (!std::isnan(r.val_accuracy)) std::fprintf(out, "  val acc %.3f", r.val_accuracy);
        std::fprintf(out, "  (%.2fs)\n", r.seconds);
        std::fflush(out);
        return true;
    }
    ///@}

private:
    bool interactive() const { return !force_plain && ::isatty(::fileno(out)); }
};

} // namespace b2m::train

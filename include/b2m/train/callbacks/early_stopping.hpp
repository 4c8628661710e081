// b2m/train/callbacks/early_stopping.hpp - stop when the monitored loss stops improving.
//
// early_stopping   represents: a fit() callback holding the best loss seen and the count of
//                  epochs without improvement (both kept in checkpoints). It monitors the
//                  validation total when fit computed it, else the training total, and stops
//                  training once that has not improved by min_delta for `patience` epochs.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "b2m/train/callback.hpp"

namespace b2m::train {

/// A fit() callback stopping training when the monitored loss stops improving (see the head of this file).
struct early_stopping {
    std::size_t patience = 5; ///< epochs without improvement after which training stops
    double min_delta = 0.0;   ///< an improvement must lower the loss below best - min_delta
    double best = std::numeric_limits<double>::infinity(); ///< state: the best monitored loss so far
    std::size_t bad = 0;      ///< state: epochs since the last improvement

    /// @name Callback hooks (the concept at the head of b2m/train/callback.hpp)
    ///@{

    /// Callback hooks: on_epoch_end monitors r.val_total (r.train_total when that is not finite)
    /// and returns false (stop) once it has not improved by min_delta for patience epochs;
    /// serialize keeps best and bad in checkpoints.
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
    ///@}
};

} // namespace b2m::train

// b2m/train/callbacks/lr_schedule.hpp - the learning rate from a schedule, epoch by epoch.
//
// lr_schedule<Schedule>   represents: a fit() callback owning a schedule of
//                         optim/schedule.hpp (step, cosine, reduce_on_plateau; its state is
//                         kept in checkpoints). After each epoch it sets the optimiser's
//                         learning rate to schedule.next(base_lr, epoch - 1, metric), the
//                         metric being the validation total when fit computed it, else the
//                         training total.
#pragma once

#include <cmath>

#include "b2m/train/callback.hpp"

namespace b2m::train {

/// A fit() callback setting the optimiser's learning rate from a schedule after each epoch.
template <class Schedule>
struct lr_schedule {
    Schedule schedule; ///< a schedule of optim/schedule.hpp (anything with next(base, epoch, metric))
    /// @name Callback hooks (the concept at the head of b2m/train/callback.hpp)
    ///@{

    /// Callback hooks: on_epoch_end sets *s.lr = schedule.next(s.base_lr, r.epoch - 1, metric),
    /// metric the validation total when finite, else the training total, and returns true;
    /// serialize keeps the schedule's state (when it has any) in checkpoints.
    bool on_epoch_end(const fit_state& s, const epoch_record& r) {
        const double metric = std::isfinite(r.val_total) ? r.val_total : r.train_total;
        *s.lr = schedule.next(s.base_lr, r.epoch - 1, metric);
        return true;
    }
    template <class Archive>
    void serialize(Archive& ar) {
        if constexpr (requires { schedule.serialize(ar); }) schedule.serialize(ar);
    }
    ///@}
};

} // namespace b2m::train

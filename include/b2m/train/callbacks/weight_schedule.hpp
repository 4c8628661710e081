// b2m/train/callbacks/weight_schedule.hpp - an objective term's weight that follows a
// schedule over the epochs (warm-up of a brain term, cosine decay).
//
//   auto objective = loss::cross_entropy(nn::output, data::labels)
//                  + 0.5 * loss::contrastive(nn::tap<"embed">{}, data::brain);
//   train::fit(trainer, data, &val, {.epochs = 30},
//              train::weight_schedule{1, train::warmup{.epochs = 5}},        // term 1: 0 -> 0.5
//              train::weight_schedule{0, train::cosine_decay{.floor = 0.1}}); // term 0: 1 -> 0.1
//
// weight_schedule<Schedule>
//   represents: a fit() callback owning a schedule; before each epoch e it sets the weight
//               of term `term` (its index in the objective, 0-based) to
//               base_weight * schedule.factor(e, planned epochs), base_weight being the
//               weight the objective was composed with. The weight each epoch trained with
//               is in epoch_record::weights and csv_log's weight_<term> column, and is kept
//               in checkpoints.
//   requires:   term < the objective's number of terms (else on_fit_begin throws error
//               naming both); a finite factor.
// A callback of one's own can set weights too: any hook may write s.weights[k] (changes
// made in on_epoch_begin apply to that epoch, in on_epoch_end to the next).
//
// Schedules (factor(epoch, epochs), epoch 1-based):
//   warmup        linear from `start` at epoch 1 to 1 at epoch `epochs`, then 1
//   cosine_decay  1 at epoch 1, half a cosine down to `floor` at epoch `epochs` (0: the
//                 planned epochs), then floor
#pragma once

#include <cmath>
#include <cstddef>
#include <numbers>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/train/callback.hpp"

namespace b2m::train {

/// Weight schedule rising linearly from start to 1 over the first `epochs` epochs.
struct warmup {
    std::size_t epochs = 5;  ///< epochs to reach the full weight
    double start = 0.0;      ///< factor at epoch 1
    /// start + (1 - start) (epoch - 1) / (epochs - 1) before epoch `epochs`, 1 from then on
    /// (1 throughout when epochs <= 1); epoch is 1-based, the planned total is ignored.
    double factor(std::size_t epoch, std::size_t) const {
        if (epochs <= 1 || epoch >= epochs) return 1.0;
        return start + (1.0 - start) * double(epoch - 1) / double(epochs - 1);
    }
};

/// Weight schedule falling along half a cosine from 1 at epoch 1 to floor.
struct cosine_decay {
    std::size_t epochs = 0;  ///< epochs of the decay (0: all planned epochs)
    double floor = 0.0;      ///< factor at the last epoch of the decay and after
    /// floor + (1 - floor) (1 + cos(pi (epoch - 1) / (n - 1))) / 2 for epoch < n, floor from
    /// epoch n on (1 when n <= 1), with n = epochs, or planned when epochs is 0.
    double factor(std::size_t epoch, std::size_t planned) const {
        const std::size_t n = epochs ? epochs : planned;
        if (n <= 1) return 1.0;
        if (epoch >= n) return floor;
        const double t = double(epoch - 1) / double(n - 1);
        return floor + (1.0 - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * t));
    }
};

/// A fit() callback setting term `term`'s weight to base weight * schedule.factor(epoch, epochs)
/// before each epoch (the contract is at the head of this file).
template <class Schedule>
struct weight_schedule {
    std::size_t term = 0; ///< the term's index in the objective (0-based)
    Schedule schedule;    ///< anything with double factor(std::size_t epoch, std::size_t planned) const

    /// @name Callback hooks (the concept at the head of b2m/train/callback.hpp)
    ///@{

    /// Callback hooks: on_fit_begin throws b2m::error when term is not an index of the
    /// objective's terms; on_epoch_begin sets s.weights[term] = s.base_weights[term] *
    /// schedule.factor(s.epoch, s.epochs) (b2m::error when the factor is not finite).
    void on_fit_begin(const fit_state& s) {
        if (term >= s.weights.size())
            throw error("weight_schedule: term " + std::to_string(term) + " does not exist (the objective has " +
                        std::to_string(s.weights.size()) + " terms)");
    }
    void on_epoch_begin(const fit_state& s) {
        const double f = schedule.factor(s.epoch, s.epochs);
        if (!std::isfinite(f))
            throw error("weight_schedule: the schedule's factor at epoch " + std::to_string(s.epoch) + " is not finite");
        s.weights[term] = s.base_weights[term] * f;
    }
    ///@}
};
template <class Schedule>
weight_schedule(std::size_t, Schedule) -> weight_schedule<Schedule>;

} // namespace b2m::train

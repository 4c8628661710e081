// b2m/optim/schedule.hpp - learning-rate schedules. Each gives the learning rate for the
// next epoch from the base rate, the epoch just finished (0-based) and, for
// reduce_on_plateau, the monitored metric (lower is better).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>

namespace b2m::optim {

/// lr = base * gamma^floor((epoch+1) / step_size) (torch StepLR).
struct step_lr {
    std::size_t step_size = 10; ///< epochs between decays; > 0
    double gamma = 0.1;         ///< the factor of each decay
    /// The rate for the epoch after `epoch` (0-based); the metric is ignored.
    double next(double base, std::size_t epoch, double /*metric*/) {
        return base * std::pow(gamma, double((epoch + 1) / step_size));
    }
};

/// Cosine annealing from base to eta_min over t_max epochs (torch CosineAnnealingLR).
struct cosine {
    std::size_t t_max = 100; ///< epochs of the half cosine; > 0 (the rate stays eta_min after)
    double eta_min = 0.0;    ///< the final rate
    /// eta_min + (base - eta_min) (1 + cos(pi min(epoch+1, t_max) / t_max)) / 2; the metric is ignored.
    double next(double base, std::size_t epoch, double /*metric*/) {
        const double t = std::min<double>(double(epoch + 1), double(t_max));
        return eta_min + (base - eta_min) * (1.0 + std::cos(std::numbers::pi * t / double(t_max))) / 2.0;
    }
};

/// Multiplies the rate by factor after `patience` epochs without a relative improvement
/// of `threshold` in the metric (torch ReduceLROnPlateau, mode min, rel threshold).
struct reduce_on_plateau {
    double factor = 0.1;        ///< multiplies the rate at each reduction; in (0, 1)
    std::size_t patience = 10;  ///< epochs without improvement tolerated before a reduction
    double threshold = 1e-4;    ///< relative improvement that counts: metric < best (1 - threshold)
    double min_lr = 0.0;        ///< the rate never goes below this
    double best = std::numeric_limits<double>::infinity(); ///< state: the best metric so far
    std::size_t bad_epochs = 0; ///< state: epochs since the last improvement or reduction
    double current = -1.0;      ///< state: the current rate (< 0: not started, base is taken)

    /// Updates the state with the epoch's metric (lower is better) and returns the rate.
    double next(double base, std::size_t /*epoch*/, double metric) {
        if (current < 0) current = base;
        if (metric < best * (1.0 - threshold)) {
            best = metric;
            bad_epochs = 0;
        } else if (++bad_epochs > patience) {
            current = std::max(min_lr, current * factor);
            bad_epochs = 0;
        }
        return current;
    }
    /// Checkpoint state (see train::checkpoint_writer).
    template <class Archive>
    void serialize(Archive& ar) {
        ar.f64("schedule.best", best);
        std::uint64_t bad = bad_epochs;
        ar.u64("schedule.bad_epochs", bad);
        bad_epochs = bad;
        ar.f64("schedule.current", current);
    }
};

/// No schedule: the base rate throughout.
struct constant_lr {
    double next(double base, std::size_t, double) { return base; } ///< Returns base.
};

} // namespace b2m::optim

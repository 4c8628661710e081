// b2m/brain/dataset.hpp - stimuli, recorded responses, labels, stimulus ids; stimulus-wise splits.
//
// One row per trial everywhere. Stimuli are features or flattened images (stimulus_shape
// keeps the logical shape, e.g. {3, 32, 32}); responses are (trials, targets) or, for time
// series, (trials, time * targets) with time_steps > 1. stimulus_ids says which trials show
// the same stimulus (repeats); splits never put one stimulus in two parts.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::brain {

/// A recorded experiment: per trial, the stimulus, the brain responses and labels.
template <real T>
struct dataset {
    matrix<T> stimuli;                      ///< (trials, features); may be empty (0 columns) if unused
    std::vector<std::size_t> stimulus_shape;  ///< logical shape of one stimulus row, optional
    matrix<T> responses;                    ///< (trials, time_steps * targets)
    std::size_t time_steps = 1;             ///< time steps per trial in responses (>= 1)
    matrix<T> labels;                       ///< (trials, label columns); may have 0 columns
    std::vector<std::int64_t> stimulus_ids;  ///< (trials); empty = every trial its own stimulus
    std::vector<std::int64_t> repeat_index;  ///< (trials); optional: which presentation of its stimulus

    std::size_t trials() const { return responses.shape(0); } ///< The number of trials (response rows).
    /// The number of targets (voxels, channels) per time step.
    std::size_t targets() const { return time_steps == 0 ? 0 : responses.shape(1) / time_steps; }

    /// Stimulus id of trial i (the trial index when no ids were given).
    std::int64_t stimulus_of(std::size_t i) const {
        return stimulus_ids.empty() ? std::int64_t(i) : stimulus_ids[i];
    }

    /// Throws data_error / shape_error naming the field and shapes unless: responses are
    /// non-empty and finite; stimuli (if it has columns) and labels (if they have columns)
    /// have one row per trial and are finite; ids and repeats have one entry per trial;
    /// time_steps divides the response columns; stimulus_shape multiplies to the stimulus
    /// columns.
    void validate() const {
        if (responses.size() == 0)
            throw data_error("dataset.responses is empty (shape " + shape_string(responses.shape()) + ")");
        require_finite("dataset.responses", responses);
        const std::size_t n = trials();
        if (time_steps == 0 || responses.shape(1) % time_steps != 0)
            throw shape_error("dataset.responses has shape " + shape_string(responses.shape()) +
                              " which is not (trials, time_steps * targets) with time_steps = " +
                              std::to_string(time_steps));
        if (stimuli.shape(1) > 0) {
            if (stimuli.shape(0) != n)
                throw_shape_mismatch("dataset: trial counts differ", "stimuli", stimuli.shape(), "responses",
                                     responses.shape());
            require_finite("dataset.stimuli", stimuli);
            if (!stimulus_shape.empty()) {
                std::size_t c = 1;
                for (auto s : stimulus_shape) c *= s;
                if (c != stimuli.shape(1))
                    throw shape_error("dataset.stimulus_shape " + shape_string(stimulus_shape) + " does not match " +
                                      std::to_string(stimuli.shape(1)) + " stimulus columns");
            }
        }
        if (labels.shape(1) > 0) {
            if (labels.shape(0) != n)
                throw_shape_mismatch("dataset: trial counts differ", "labels", labels.shape(), "responses",
                                     responses.shape());
            require_finite("dataset.labels", labels);
        }
        if (!stimulus_ids.empty() && stimulus_ids.size() != n)
            throw shape_error("dataset.stimulus_ids has " + std::to_string(stimulus_ids.size()) +
                              " entries but responses has shape " + shape_string(responses.shape()));
        if (!repeat_index.empty() && repeat_index.size() != n)
            throw shape_error("dataset.repeat_index has " + std::to_string(repeat_index.size()) +
                              " entries but responses has shape " + shape_string(responses.shape()));
    }
};

/// Rows `idx` of m, in that order.
template <real T>
matrix<T> take_rows(const matrix<T>& m, const std::vector<std::size_t>& idx) {
    matrix<T> out = matrix<T>::from_shape({idx.size(), m.shape(1)});
    const std::size_t c = m.shape(1);
    for (std::size_t k = 0; k < idx.size(); ++k) {
        if (idx[k] >= m.shape(0))
            throw shape_error("take_rows: row " + std::to_string(idx[k]) + " out of range for shape " +
                              shape_string(m.shape()));
        std::copy_n(m.data() + idx[k] * c, c, out.data() + k * c);
    }
    return out;
}

/// The trials `idx` of d as a new dataset (all fields subset consistently).
template <real T>
dataset<T> subset(const dataset<T>& d, const std::vector<std::size_t>& idx) {
    dataset<T> s;
    s.stimulus_shape = d.stimulus_shape;
    s.time_steps = d.time_steps;
    s.responses = take_rows(d.responses, idx);
    s.stimuli = d.stimuli.shape(1) > 0 ? take_rows(d.stimuli, idx) : matrix<T>::from_shape({idx.size(), 0});
    s.labels = d.labels.shape(1) > 0 ? take_rows(d.labels, idx) : matrix<T>::from_shape({idx.size(), 0});
    for (auto i : idx) {
        s.stimulus_ids.push_back(d.stimulus_of(i));
        if (!d.repeat_index.empty()) s.repeat_index.push_back(d.repeat_index[i]);
    }
    return s;
}

/// Trial indices of a train / validation / test split.
struct split_indices {
    ///@{
    /// the trials of each part, in ascending order; the parts are disjoint
    std::vector<std::size_t> train, validation, test;
    ///@}
};

/// Splits trials by stimulus: the distinct ids (from `ids`, one per trial) are shuffled
/// with rng(seed) and the first round(train_fraction * S) go to train, the next
/// round(validation_fraction * S) to validation, the rest to test; every trial follows its
/// stimulus, so no stimulus appears in two parts. Requires fractions in [0, 1] summing to
/// at most 1 and at least one stimulus (else data_error). Trials keep their order inside a part.
inline split_indices split_by_stimulus(const std::vector<std::int64_t>& ids, double train_fraction,
                                       double validation_fraction, std::uint64_t seed) {
    if (ids.empty()) throw data_error("split_by_stimulus: no trials (stimulus ids are empty)");
    if (train_fraction < 0 || validation_fraction < 0 || train_fraction + validation_fraction > 1.0 + 1e-12)
        throw data_error("split_by_stimulus: fractions train " + std::to_string(train_fraction) + " and validation " +
                         std::to_string(validation_fraction) + " must be >= 0 and sum to <= 1");
    std::vector<std::int64_t> uniq(ids);
    std::sort(uniq.begin(), uniq.end());
    uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
    rng r(seed);
    r.shuffle(uniq);
    const std::size_t s = uniq.size();
    const std::size_t ntr = std::min(s, std::size_t(train_fraction * double(s) + 0.5));
    const std::size_t nva = std::min(s - ntr, std::size_t(validation_fraction * double(s) + 0.5));
    std::map<std::int64_t, int> part;
    for (std::size_t k = 0; k < s; ++k) part[uniq[k]] = k < ntr ? 0 : (k < ntr + nva ? 1 : 2);
    split_indices out;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const int p = part[ids[i]];
        (p == 0 ? out.train : p == 1 ? out.validation : out.test).push_back(i);
    }
    return out;
}

/// split_by_stimulus on a dataset's stimulus ids (trial index when it has none).
template <real T>
split_indices split_by_stimulus(const dataset<T>& d, double train_fraction, double validation_fraction,
                                std::uint64_t seed) {
    std::vector<std::int64_t> ids(d.trials());
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = d.stimulus_of(i);
    return split_by_stimulus(ids, train_fraction, validation_fraction, seed);
}

/// Fold number (0..k-1) of each trial for k-fold CV grouped by stimulus: distinct ids are
/// shuffled with rng(seed) and dealt round-robin to folds. Requires 2 <= k <= #stimuli.
inline std::vector<std::size_t> group_folds(const std::vector<std::int64_t>& ids, std::size_t k, std::uint64_t seed) {
    std::vector<std::int64_t> uniq(ids);
    std::sort(uniq.begin(), uniq.end());
    uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
    if (k < 2 || k > uniq.size())
        throw data_error("group_folds: " + std::to_string(k) + " folds requested for " + std::to_string(uniq.size()) +
                         " distinct stimuli (need 2 <= k <= stimuli)");
    rng r(seed);
    r.shuffle(uniq);
    std::map<std::int64_t, std::size_t> fold;
    for (std::size_t i = 0; i < uniq.size(); ++i) fold[uniq[i]] = i % k;
    std::vector<std::size_t> out(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) out[i] = fold[ids[i]];
    return out;
}

} // namespace b2m::brain

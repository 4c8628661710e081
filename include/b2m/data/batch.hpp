// b2m/data/batch.hpp - one mini-batch of stimuli, task targets and brain responses, and
// the tags (b2m::data::labels, ...) by which objectives name its fields.
#pragma once

#include <cstdint>
#include <string>

#include "b2m/core/tensor.hpp"

namespace b2m::data {

/// Rows of every field are the same B trials (fields a term does not read may be empty).
template <real T>
struct batch {
    matrix<T> x;             ///< (B, features) student input (images, sequences flattened)
    index_vector labels;     ///< (B) class index per trial
    matrix<T> targets;       ///< (B, k) regression or soft-label targets
    matrix<T> brain;         ///< (B, V) brain response per trial (time series flattened)
    index_vector stimulus;   ///< (B) stimulus id per trial (trials sharing one are positives)
    index_vector subject;    ///< (B) subject / session id per trial
    index_vector lengths;    ///< (B) valid steps of each sequence row (empty: every step is valid);
                             ///< the trainer hands them to recurrent and last_step layers
    std::size_t size() const { return x.shape(0); } ///< B, the rows of x.
};

/// Tags naming batch fields in objectives: loss::mse(nn::tap<"z">{}, data::brain).
/// This one: batch::x.
struct inputs_t { static constexpr const char* name = "inputs"; /**< the field's name in messages */ };
/// Tag of batch::labels.
struct labels_t { static constexpr const char* name = "labels"; /**< the field's name in messages */ };
/// Tag of batch::targets.
struct targets_t { static constexpr const char* name = "targets"; /**< the field's name in messages */ };
/// Tag of batch::brain.
struct brain_t { static constexpr const char* name = "brain"; /**< the field's name in messages */ };
inline constexpr inputs_t inputs{};
inline constexpr labels_t labels{};
inline constexpr targets_t targets{};
inline constexpr brain_t brain{};

} // namespace b2m::data

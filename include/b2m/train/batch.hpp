// b2m/train/batch.hpp - the trainer's names for the data layer's batch and its operations
// (train::batch<T> is data::batch<T>), kept so code written against train:: still reads.
#pragma once

#include "b2m/data/batch.hpp"
#include "b2m/data/batch_ops.hpp"

namespace b2m::train {
template <real T>
using batch = data::batch<T>;
using data::accuracy;
using data::gather;
using data::same_fields;
using data::validate;
} // namespace b2m::train

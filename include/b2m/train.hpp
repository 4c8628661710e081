// b2m/train.hpp - trainer, fit and batches.
#pragma once

#include "b2m/data/batch.hpp"
#include "b2m/data/batch_ops.hpp"
#include "b2m/train/batch.hpp"
#include "b2m/train/checkpoint.hpp"
#include "b2m/train/fit.hpp"
#include "b2m/train/trainer.hpp"

// b2m/train.hpp - trainer and batches.
#pragma once

#include "b2m/train/batch.hpp"
#include "b2m/train/checkpoint.hpp"
#include "b2m/train/data.hpp"
#include "b2m/train/fit.hpp"
#include "b2m/train/trainer.hpp"

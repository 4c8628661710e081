// b2m/train.hpp - trainer and batches.
#pragma once

#include "b2m/train/batch.hpp"
#include "b2m/train/trainer.hpp"

// b2m/optim.hpp - optimisers, clipping, schedules.
#pragma once

#include "b2m/optim/clip.hpp"
#include "b2m/optim/optimizer.hpp"
#include "b2m/optim/schedule.hpp"

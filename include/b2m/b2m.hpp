// b2m/b2m.hpp - umbrella header: everything b2m offers.
#pragma once

#include "b2m/config.hpp"
#include "b2m/autodiff.hpp"
#include "b2m/brain.hpp"
#include "b2m/core.hpp"
#include "b2m/loss.hpp"
#include "b2m/nn.hpp"
#include "b2m/optim.hpp"
#include "b2m/report.hpp"
#include "b2m/sim.hpp"
#include "b2m/train.hpp"

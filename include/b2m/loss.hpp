// b2m/loss.hpp - task losses, brain objectives and their composition.
#pragma once

#include "b2m/loss/binary_cross_entropy.hpp"
#include "b2m/loss/cross_entropy.hpp"
#include "b2m/loss/expression.hpp"
#include "b2m/loss/kl_normal.hpp"
#include "b2m/loss/mse.hpp"
#include "b2m/loss/objective.hpp"
#include "b2m/loss/source.hpp"

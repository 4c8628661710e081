// A deliberate upward include: core must not see train (the layer-order test must fail here).
#pragma once
#include "b2m/train/fit.hpp"

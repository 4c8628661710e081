// A deliberate sideways include: sim and nn are independent layers.
#pragma once
#include "b2m/sim/subject.hpp"

// b2m/sim.hpp - simulated subjects (ground-truth brain teachers).
#pragma once

#include "b2m/sim/decision_subject.hpp"
#include "b2m/sim/hemodynamic.hpp"
#include "b2m/sim/subject.hpp"
#include "b2m/sim/auditory_subject.hpp"

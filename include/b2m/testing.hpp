// b2m/testing.hpp - checks for user-written parts: finite-difference gradients of a layer,
// a loss term or an autodiff function, and float-against-double agreement
// (testing/gradient_check.hpp). Framework-free: each check returns a check_result
// (ok(), report()) for any test framework.
#pragma once

#include "b2m/testing/gradient_check.hpp"

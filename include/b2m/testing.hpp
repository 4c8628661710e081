// b2m/testing.hpp - checks for user-written parts: finite-difference gradients of a layer,
// a loss term or an autodiff function, and float-against-double agreement
// (testing/gradient_check.hpp). Framework-free: each check returns a check_result
// (ok(), report()) for any test framework.
// Zero-allocation checks: b2m/testing/allocation_counter.hpp counts a program's heap
// allocations (count_heap_allocations). It replaces the global operator new, so it is not
// included here: include it yourself in exactly one translation unit of the test program.
#pragma once

#include "b2m/testing/gradient_check.hpp"

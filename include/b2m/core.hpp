// b2m/core.hpp - tensors, GEMM, threads, random numbers, errors.
#pragma once

#include "b2m/core/error.hpp"
#include "b2m/core/fixed_string.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/core/thread_env.hpp"
#include "b2m/core/workspace.hpp"

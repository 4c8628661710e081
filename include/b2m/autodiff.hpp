// b2m/autodiff.hpp - reverse-mode automatic differentiation on static expression graphs.
#pragma once

#include "b2m/autodiff/binary.hpp"
#include "b2m/autodiff/elementwise.hpp"
#include "b2m/autodiff/function.hpp"
#include "b2m/autodiff/gradcheck.hpp"
#include "b2m/autodiff/matmul.hpp"
#include "b2m/autodiff/node.hpp"
#include "b2m/autodiff/node_base.hpp"
#include "b2m/autodiff/reduce.hpp"
#include "b2m/autodiff/rowwise.hpp"
#include "b2m/autodiff/shape_ops.hpp"

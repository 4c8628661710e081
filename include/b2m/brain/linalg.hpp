// b2m/brain/linalg.hpp - xt::linalg (eigh, svd) next to b2m's own cblas calls.
//
// xtensor-blas bundles a copy of the cblas declarations that clashes with OpenBLAS's
// <cblas.h> (which b2m/core/gemm.hpp includes). Both describe the same C ABI, so we include
// <cblas.h> first and tell xtensor-blas its copy is already present. Include this header
// instead of <xtensor-blas/xlinalg.hpp> in b2m code.
#pragma once

#include "b2m/core/gemm.hpp"

#ifndef CXXBLAS_DRIVERS_CBLAS_H
#define CXXBLAS_DRIVERS_CBLAS_H 1
#endif
#include <xtensor-blas/xlinalg.hpp>

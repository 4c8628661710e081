// b2m/core/tolerance.hpp - the numerical tolerances that more than one solver or check
// relies on, each defined once with what it means.
//
// Contract: a tolerance here has one meaning wherever it is used; a value that happens to
// be equal but means something else (a plot's rounding margin, a test's tolerance) stays
// where it is used. Changing one of these changes every result that depends on it.
#pragma once

#include <limits>

namespace b2m {

/// Rank cut of a ridge spectrum: eigenvalues of X^T X (s^2) at or below this fraction of the
/// largest are dropped, like an SVD solver's rank tolerance (ridge, banded ridge, MPI ridge).
inline constexpr double spectrum_rank_cut = 1e-10;

/// Tie-break of cross-validated alpha selection: a candidate's score is its CV score plus
/// this slope times log(alpha), so of equal scores the largest alpha (the smoothest model)
/// wins (kernel ridge, banded ridge).
inline constexpr double alpha_tiebreak_slope = 1e-10;

/// Leave-one-out leverage floor: a sample whose 1 - h_ii is at or below this is fitted
/// exactly by the others' model, and its LOO weight 1 / (1 - h_ii)^2 is capped at
/// loo_weight_cap (ridge's efficient LOO, serial and MPI).
inline constexpr double loo_leverage_floor = 1e-12;
/// The LOO weight of a sample at or below loo_leverage_floor: 1 / loo_leverage_floor^2.
inline constexpr double loo_weight_cap = 1e24;

/// A representational dissimilarity matrix's diagonal must be 0 and its entries symmetric
/// within this fraction of its largest magnitude (rdm_stack_from_matrices, the CLI's RDM
/// checks).
inline constexpr double rdm_symmetry_rtol = 1e-6;

/// Variance floor of the RSA t-tests: a (difference) variance below it is raised to it so a
/// t statistic stays finite.
inline constexpr double t_test_variance_floor = std::numeric_limits<double>::epsilon();

} // namespace b2m

// tools/compare_table.hpp - the table, the verdict and the curves CSV of `b2m compare`,
// written so they cannot be misread: per condition, how many seeds reached the target
// and the epochs of those seeds as mean and observed range (never below 1, never an
// interval from one seed); the paired difference says how a seed that never reached the
// target was counted; what cannot be computed (one seed, no seed reaching the target) is
// said in words instead of "nan".
#pragma once

#include <cstddef>
#include <string>

#include "b2m/report/seed_comparison.hpp"

namespace b2m::cli {

/// Markdown table of cmp; epochs = epochs per run (a never-reaching seed counts epochs + 1).
std::string compare_table(const report::comparison& cmp, std::size_t epochs);

/// One or two sentences summarising cmp (no trailing period).
std::string compare_verdict(const report::comparison& cmp, std::size_t epochs, std::size_t seeds);

/// CSV (RFC 4180) of every run's curves: condition,seed,epoch,held_out_accuracy,train_loss.
std::string curves_csv(const report::condition& a, const report::condition& b);

} // namespace b2m::cli

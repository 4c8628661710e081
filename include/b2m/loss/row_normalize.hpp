// b2m/loss/row_normalize.hpp - the brain objectives' name for the row normalisation of
// b2m/core/row_normalize.hpp (one implementation, shared with ad::l2_normalize).
#pragma once

#include "b2m/core/row_normalize.hpp"

namespace b2m::loss::detail {
using b2m::detail::normalize_rows;
using b2m::detail::normalize_rows_backward;
} // namespace b2m::loss::detail

// b2m/nn/sequence.hpp - the storage of sequence batches and its shape checks.
//
// A batch of B sequences of T steps with F features each, logical shape (B, T, F), is
// stored as a row-major (B, T*F) matrix: row b = [x(b,0,:), x(b,1,:), ..., x(b,T-1,:)].
// Viewed as (B*T, F), row b*T + t is step t of sequence b, so a per-step linear map over
// all steps of all sequences is one GEMM. Layers are told F (and their own output width)
// and infer T = columns / F.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>

#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::nn {

/// Number of time steps T of x read as (B, T*features).
/// Throws shape_error naming the layer and x's shape unless x has a positive number of
/// columns divisible by `features` (T == 0 is reported as "sequence length 0").
/// `label` is the layer's name, or a callable returning it (called only to build the
/// message, so a forward pass does not allocate a string).
template <real T, class Label>
std::size_t sequence_steps(const Label& label, const matrix<T>& x, std::size_t features) {
    const std::size_t cols = x.shape(1);
    if (cols != 0 && cols % features == 0) return cols / features;
    std::string layer;
    if constexpr (std::is_invocable_v<const Label&>) layer = label();
    else layer = label;
    if (cols == 0)
        throw shape_error(layer + ": input has shape " + shape_string(x.shape()) +
                          ", i.e. sequence length 0; it expects (batch, steps*" + std::to_string(features) +
                          ") with at least one step");
    if (cols % features != 0)
        throw shape_error(layer + ": input has shape " + shape_string(x.shape()) + " but the layer expects (batch, steps*" +
                          std::to_string(features) + "): " + std::to_string(cols) + " columns are not a multiple of " +
                          std::to_string(features) + " features");
    return 0;  // unreachable
}

} // namespace b2m::nn

// b2m/core/workspace.hpp - a small arena of scratch matrices owned by one component.
//
// A layer or loss term that needs temporaries keeps a workspace and asks for slot k with a
// shape each step. After the first step with a given batch shape, get() allocates nothing.
#pragma once

#include <array>
#include <cstddef>

#include "b2m/core/tensor.hpp"

namespace b2m {

/// Slots scratch matrices owned by one component; slot k keeps its storage from step to step.
template <real T, std::size_t Slots>
class workspace {
public:
    /// Slot k shaped rows x cols (contents unspecified). Requires k < Slots.
    matrix<T>& get(std::size_t k, std::size_t rows, std::size_t cols) {
        ensure_shape(slots_[k], rows, cols);
        return slots_[k];
    }
    matrix<T>& operator[](std::size_t k) { return slots_[k]; } ///< Slot k as last shaped by get. Requires k < Slots.

private:
    std::array<matrix<T>, Slots> slots_{};
};

} // namespace b2m

// b2m/core/tensor.hpp - tensor aliases over xtensor and shape helpers.
//
// b2m computes on row-major xt::xtensor<T, N> with T = float or double. Every value the
// autodiff graph and the layers pass around is a 2-D `matrix<T>` (rows = batch items);
// higher-rank data (sequences, images) is flattened into rows or columns and the layer
// that owns it knows its logical shape.
#pragma once

#include <cstddef>
#include <cstdint>
#include <concepts>
#include <sstream>
#include <string>
#include <type_traits>

#include <xtensor/xtensor.hpp>

namespace b2m {

/// The scalar types b2m computes in.
template <class T>
concept real = std::same_as<T, float> || std::same_as<T, double>;

template <class T, std::size_t N>
using tensor = xt::xtensor<T, N>;
template <class T>
using matrix = xt::xtensor<T, 2>;
template <class T>
using vector = xt::xtensor<T, 1>;

/// Integer per trial: class labels, stimulus ids, subject ids.
using index_vector = xt::xtensor<std::int64_t, 1>;

/// Text of a shape, e.g. "(256, 10)".
template <class Shape>
std::string shape_string(const Shape& shape) {
    std::ostringstream s;
    s << '(';
    bool first = true;
    for (auto n : shape) {
        s << (first ? "" : ", ") << n;
        first = false;
    }
    s << ')';
    return s.str();
}

/// Resizes m to rows x cols. Requires nothing; guarantees no reallocation when the element
/// count is unchanged (xtensor keeps its buffer), so steady-state steps do not allocate.
template <class T>
void ensure_shape(matrix<T>& m, std::size_t rows, std::size_t cols) {
    if (m.shape(0) != rows || m.shape(1) != cols) m.resize({rows, cols});
}

/// Resizes m to the shape of `like` (see ensure_shape).
template <class T>
void ensure_shape_like(matrix<T>& m, const matrix<T>& like) {
    ensure_shape(m, like.shape(0), like.shape(1));
}

} // namespace b2m

// b2m/core/error.hpp - the exceptions b2m throws, each naming the thing and its shape.
#pragma once

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "b2m/core/tensor.hpp"

namespace b2m {

/// Base of every b2m exception. what() is one line: what is wrong, naming the thing.
struct error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Two tensors (or a tensor and an expectation) have incompatible shapes.
struct shape_error : error {
    using error::error;
};

/// Data a user supplied is unusable: empty, NaN/Inf, out of range, wrong dtype.
struct data_error : error {
    using error::error;
};

/// A file could not be read or written (missing, truncated, corrupt).
struct io_error : error {
    using error::error;
};

/// Training produced a non-finite loss; what() names the term.
struct nonfinite_error : error {
    using error::error;
};

/// Throws shape_error "<what>: <a_name> has shape (..) but <b_name> has shape (..)".
template <class SA, class SB>
[[noreturn]] void throw_shape_mismatch(const std::string& what, const std::string& a_name,
                                       const SA& a_shape, const std::string& b_name,
                                       const SB& b_shape) {
    throw shape_error(what + ": " + a_name + " has shape " + shape_string(a_shape) + " but " +
                      b_name + " has shape " + shape_string(b_shape));
}

/// Throws shape_error unless dimension `axis` of `shape` equals `expected`.
template <class S>
void require_dim(const std::string& name, const S& shape, std::size_t axis, std::size_t expected,
                 const std::string& why) {
    if (axis >= shape.size() || shape[axis] != expected)
        throw shape_error(name + " has shape " + shape_string(shape) + " but " + why +
                          " requires dimension " + std::to_string(axis) + " to be " +
                          std::to_string(expected));
}

/// Throws data_error naming `name` if any element is NaN or infinite or the tensor is empty.
template <class E>
void require_finite(const std::string& name, const E& e) {
    if (e.size() == 0) throw data_error(name + " is empty (shape " + shape_string(e.shape()) + ")");
    const auto* p = e.data();
    for (std::size_t i = 0; i < e.size(); ++i)
        if (!std::isfinite(p[i]))
            throw data_error(name + " (shape " + shape_string(e.shape()) + ") holds a non-finite value at flat index " +
                             std::to_string(i));
}

} // namespace b2m

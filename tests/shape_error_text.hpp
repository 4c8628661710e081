// tests/shape_error_text.hpp - the message of the b2m::shape_error a call throws.
#pragma once

#include <string>

#include <b2m/core/error.hpp>

namespace b2m_test {

/// Runs fn(); returns the what() of the b2m::shape_error it throws, or "" when it throws
/// none (any other exception propagates).
template <class Fn>
std::string shape_error_text(Fn&& fn) {
    try {
        fn();
    } catch (const b2m::shape_error& e) {
        return e.what();
    }
    return "";
}

} // namespace b2m_test

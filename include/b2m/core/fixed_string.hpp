// b2m/core/fixed_string.hpp - string literals as template arguments (tap and field names).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace b2m {

/// A compile-time string usable as a template argument: nn::tap<"embed">.
template <std::size_t N>
struct fixed_string {
    char chars[N]{}; ///< The characters and the terminating NUL.
    /// From a string literal (implicit, so "embed" deduces N).
    constexpr fixed_string(const char (&s)[N]) { std::copy_n(s, N, chars); }
    constexpr std::string_view view() const { return {chars, N - 1}; } ///< The text without the NUL.
};

template <std::size_t N, std::size_t M>
constexpr bool operator==(const fixed_string<N>& a, const fixed_string<M>& b) {
    return a.view() == b.view();
}

} // namespace b2m

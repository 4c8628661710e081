// b2m/core/fast_exp.hpp - exp without branches or library calls, so that loops calling it
// vectorise (recurrent gates, softmax passes).
//
// fast_expf: Cephes' expf polynomial, relative error ~2e-7 on [-87, 88]; the argument is
// clamped there (so exp(-inf) gives ~1e-38, not 0, and exp(+inf) ~1.6e38). fast_exp<T>:
// fast_expf for float, std::exp for double (double paths are the references).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace b2m {

/// exp for float without branches or library calls, so the gate loops vectorise (Cephes
/// expf polynomial, relative error ~2e-7 on [-87, 88]; the argument is clamped there).
inline float fast_expf(float x) {
    {   // x = clamp(x, -87, 88) by integer minima on the bit pattern: float compares would
        // block vectorisation under the default -ftrapping-math.
        constexpr std::int32_t flip = std::int32_t(0x80000000u);
        constexpr std::int32_t lo = std::bit_cast<std::int32_t>(-87.0f) ^ flip;  // orders |x| of x < 0
        constexpr std::int32_t hi = std::bit_cast<std::int32_t>(88.0f);
        std::int32_t v = std::bit_cast<std::int32_t>(x) ^ flip;
        v = v < lo ? v : lo;
        v ^= flip;
        v = v < hi ? v : hi;
        x = std::bit_cast<float>(v);
    }
    const float fx = x * 1.44269504088896341f;
    const float n = (fx + 12582912.0f) - 12582912.0f;  // round to nearest (|fx| < 2^22)
    const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
    return p * std::bit_cast<float>(bits);
}
template <class T>
inline T fast_exp(T x) {
    if constexpr (std::is_same_v<T, double>) return std::exp(x);
    else return fast_expf(x);
}

} // namespace b2m

// b2m/core/rng.hpp - seeded, counter-based random numbers.
//
// A draw is a pure function of (seed, counter), so filling a tensor gives the same values
// whatever the thread count, and a generator's state is two integers (checkpointable).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <utility>
#include <vector>

#include "b2m/core/parallel.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m {

namespace detail {
inline constexpr std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
} // namespace detail

/// A stream of random numbers identified by a seed. Every draw advances `counter`.
struct rng {
    std::uint64_t seed = 0;     ///< The stream's key (mixed from the user's seed).
    std::uint64_t counter = 0;  ///< Index of the next draw; stays below 2^63.

    rng() = default;
    /// The stream of seed s (equal seeds give equal streams).
    explicit rng(std::uint64_t s) : seed(detail::mix64(s + 0x9e3779b97f4a7c15ULL)) {}

    /// The i-th 64-bit word of this stream (pure; does not advance).
    std::uint64_t word(std::uint64_t i) const {
        return detail::mix64(seed ^ detail::mix64(i + 0x632be59bd9b4e019ULL));
    }
    /// Uniform in [0, 1) from word i, 53 bits.
    double uniform_at(std::uint64_t i) const { return double(word(i) >> 11) * 0x1.0p-53; }
    /// Standard normal from word i and its twin i | 2^63 (Box-Muller). Counters stay
    /// below 2^63, so each counter value is one independent draw of any kind.
    double normal_at(std::uint64_t i) const {
        const double u1 = 1.0 - uniform_at(i);  // (0, 1]
        const double u2 = uniform_at(i | (std::uint64_t(1) << 63));
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }

    std::uint64_t next_u64() { return word(counter++); } ///< word(counter); advances by 1.
    double uniform() { return uniform_at(counter++); }   ///< uniform_at(counter); advances by 1.
    /// normal_at(counter); advances by 1.
    double normal() {
        const double z = normal_at(counter);
        counter += 1;
        return z;
    }
    /// Uniform integer in [0, n). Requires n > 0.
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(uniform() * double(n)) % n; }

    /// An independent generator for sub-stream `stream` (e.g. one per layer or per seed).
    rng split(std::uint64_t stream) const {
        rng r;
        r.seed = detail::mix64(seed ^ detail::mix64(stream * 0xd1b54a32d192ed03ULL + 1));
        return r;
    }

    /// Fills p[0..n) with mean + stddev * N(0, 1); advances by n draws.
    template <real T>
    void fill_normal(T* p, std::size_t n, double mean = 0.0, double stddev = 1.0) {
        const std::uint64_t base = counter;
        parallel_for(n, elementwise_grain, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) p[i] = T(mean + stddev * normal_at(base + i));
        });
        counter += n;
    }
    /// Fills p[0..n) uniformly in [lo, hi); advances by n draws.
    template <real T>
    void fill_uniform(T* p, std::size_t n, double lo, double hi) {
        const std::uint64_t base = counter;
        parallel_for(n, elementwise_grain, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) p[i] = T(lo + (hi - lo) * uniform_at(base + i));
        });
        counter += n;
    }
    /// fill_normal over every entry of t (row-major); advances by t.size() draws.
    template <real T, std::size_t N>
    void fill_normal(tensor<T, N>& t, double mean = 0.0, double stddev = 1.0) {
        fill_normal(t.data(), t.size(), mean, stddev);
    }
    /// fill_uniform over every entry of t (row-major); advances by t.size() draws.
    template <real T, std::size_t N>
    void fill_uniform(tensor<T, N>& t, double lo, double hi) {
        fill_uniform(t.data(), t.size(), lo, hi);
    }

    /// Fisher-Yates shuffle of v (sequential: the order depends only on the seed).
    template <class V>
    void shuffle(V& v) {
        for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
    }
};

} // namespace b2m

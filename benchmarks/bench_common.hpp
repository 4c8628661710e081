// benchmarks/bench_common.hpp - shared by the b2m benchmark programs (each includes it from
// its only translation unit): the counting global operator new (b2m's published
// b2m/testing/allocation_counter.hpp), a monotonic clock, peak RSS, command-line options and the "key=value" output the run script parses.
#pragma once

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "b2m/testing/allocation_counter.hpp"  // counts every operator new (this program's only TU)

namespace bench {
/// Heap allocations since the program started: b2m's published counter (allocs per step
/// = its difference over the timed steps, divided by the steps).
inline std::atomic<long>& allocations = b2m::testing::heap_allocations;

inline double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
/// Peak resident set size of this process in MB (getrusage; Linux reports KiB).
inline double peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;
}
/// Value of "--name=value" on the command line, or def.
inline std::string arg(int argc, char** argv, const char* name, const char* def) {
    const std::size_t len = std::strlen(name);
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], "--", 2) == 0 && std::strncmp(argv[i] + 2, name, len) == 0 && argv[i][2 + len] == '=')
            return argv[i] + 3 + len;
    return def;
}
inline long arg_int(int argc, char** argv, const char* name, long def) {
    return std::stol(arg(argc, argv, name, std::to_string(def).c_str()));
}
} // namespace bench

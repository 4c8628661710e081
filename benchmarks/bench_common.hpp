// benchmarks/bench_common.hpp - shared by the b2m benchmark programs (each includes it from
// its only translation unit): a counting global operator new, a monotonic clock, peak RSS,
// command-line options and the "key=value" output the run script parses.
#pragma once

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace bench {
inline std::atomic<long> allocations{0};

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

// Every heap allocation of the program goes through these (counted, then malloc).
void* operator new(std::size_t n) {
    bench::allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
    bench::allocations.fetch_add(1, std::memory_order_relaxed);
    const std::size_t al = std::size_t(a);
    if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

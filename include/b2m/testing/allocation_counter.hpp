// b2m/testing/allocation_counter.hpp - counts the heap allocations of a program, for
// zero-allocation checks ("a training step allocates nothing after warm-up"), as b2m's own
// tests and benchmarks run them.
//
//   #include <b2m/testing/allocation_counter.hpp>   // in ONE translation unit of the program
//   trainer.step(b); trainer.step(b);                // warm-up: buffers get their sizes
//   long n = b2m::testing::count_heap_allocations([&] { trainer.step(b); });   // expect 0
//
// Contract: this header DEFINES the replaceable global allocation functions (operator new
// and new[], plain and aligned, and every matching operator delete), so include it in
// exactly one translation unit of an executable, never in a library and never twice (a
// second copy is a link error: multiple definition of operator new). b2m/testing.hpp does not
// include it for that reason. Every operator new of the process, on any thread, adds one to
// heap_allocations and then takes the memory from std::malloc / std::aligned_alloc; the
// deletes free it. Allocations that bypass operator new (malloc called directly, as C
// libraries such as OpenBLAS do) are not counted.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>

namespace b2m::testing {

/// Heap allocations (calls of a global operator new) made by the process since it started.
inline std::atomic<long> heap_allocations{0};

/// The heap allocations made while f() runs, on any thread of the process.
template <class F>
long count_heap_allocations(F&& f) {
    const long before = heap_allocations.load();
    std::forward<F>(f)();
    return heap_allocations.load() - before;
}

} // namespace b2m::testing

// GCC 12 inlines these deletes into callers that got their pointer from operator new and,
// not seeing that the replacement new takes it from malloc, warns -Wmismatched-new-delete
// at every such site: a false positive for this pair, silenced here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

/// Counted operator new: adds one to b2m::testing::heap_allocations, then std::malloc.
void* operator new(std::size_t n) {
    b2m::testing::heap_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
/// Counted operator new[] (as operator new).
void* operator new[](std::size_t n) { return operator new(n); }
/// Counted aligned operator new: adds one, then std::aligned_alloc (size rounded up to the alignment).
void* operator new(std::size_t n, std::align_val_t a) {
    b2m::testing::heap_allocations.fetch_add(1, std::memory_order_relaxed);
    const std::size_t al = std::size_t(a);
    if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
    throw std::bad_alloc();
}
/// Counted aligned operator new[] (as aligned operator new).
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
/// Frees memory of the counted operator new (std::free); the matching overloads below likewise.
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }                        ///< std::free
void operator delete(void* p, std::size_t) noexcept { std::free(p); }             ///< std::free
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }           ///< std::free
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }        ///< std::free
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }      ///< std::free
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }   ///< std::free
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); } ///< std::free

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

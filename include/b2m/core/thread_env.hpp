// b2m/core/thread_env.hpp - defaults for the thread runtimes that must be in the environment
// before the program starts, applied by re-executing the program once.
//
//   int main(int argc, char** argv) {
//       b2m::apply_thread_env_defaults(argv);   // first statement: may not return (execv)
//       ...
//
// Why: libgomp reads OMP_WAIT_POLICY / GOMP_SPINCOUNT once, when it loads, so setting them
// from main() is too late. With libgomp's default wait policy, threads waiting at a barrier
// spin; on a machine whose cores are shared with other work (a cluster node, a laptop
// compiling) a spinning thread takes the core from the thread it waits for: B2M-MLP at 2
// threads on a loaded 2-core machine ran 5-11x slower than with OMP_WAIT_POLICY=passive
// (benchmarks/results.md, "Busy machine").
//
// Contract: unless B2M_THREAD_ENV, OMP_WAIT_POLICY or GOMP_SPINCOUNT is set (the user's
// choice wins; B2M_THREAD_ENV=off disables this), sets OMP_WAIT_POLICY=passive and
// B2M_THREAD_ENV=1 (so this happens at most once) and execv's /proc/self/exe with the same
// argv. Returns normally when nothing needs changing, off Linux, or when execv fails (the
// program then runs on with the environment it had).
#pragma once

#include <cstdlib>

#if defined(__linux__)
#include <unistd.h>
#endif

namespace b2m {

/// Re-executes the program once with OMP_WAIT_POLICY=passive (see the contract above).
inline void apply_thread_env_defaults(char** argv) {
#if defined(__linux__)
    if (argv == nullptr || std::getenv("B2M_THREAD_ENV") != nullptr || std::getenv("OMP_WAIT_POLICY") != nullptr ||
        std::getenv("GOMP_SPINCOUNT") != nullptr)
        return;
    setenv("OMP_WAIT_POLICY", "passive", 1);
    setenv("B2M_THREAD_ENV", "1", 1);
    execv("/proc/self/exe", argv);
    // execv failed: continue in this process (the variables now set are harmless but late).
#else
    (void)argv;
#endif
}

} // namespace b2m

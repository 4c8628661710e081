#!/usr/bin/env bash
# Builds the tests, the examples and the b2m tool with AddressSanitizer + UndefinedBehavior-
# Sanitizer (GCC, -O1, -fno-sanitize-recover=all: the first finding stops the program with a
# non-zero exit) in a separate build folder and runs the test suite there, including the
# examples' smoke runs (the *_smoke tests; they SKIP when ../shared/data is absent).
#
# Usage: scripts/sanitize.sh [extra ctest args]
#   B2M_SANITIZE_BUILD  build folder (default: build-sanitize next to build/)
#   B2M_SANITIZE_JOBS   parallel compile and test jobs (default: nproc)
#   B2M_SANITIZE_TARGETS  build only these targets (space-separated; default: all), and
#   B2M_SANITIZE_TESTS    run only the ctest names matching this regex (with _TARGETS)
#
# Not run under the sanitizers (ctest -LE):
#   headers, compile, install  compile-only checks: they run the compiler, not b2m code;
#                              the normal suite runs them.
#   mpi                        runs under mpirun (OpenMPI's own allocations confuse LSan).
#   realdata                   the doctest cases of test_brain_realdata (full recorded
#                              sessions; ~10x slower under ASan). The examples' smoke runs
#                              carry the label realdata too and ARE run: they are selected
#                              by name below and run in a second ctest call.
# Exit status: non-zero when the build fails, a test fails, or a sanitizer reports anything.
set -euo pipefail
cd "$(dirname "$0")/.."
# ctest runs tests side by side on few cores: OpenMP threads that spin while waiting would
# steal the cores of the other tests (measured: banded ridge 70x slower on a loaded machine).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
bash scripts/deps.sh
build="${B2M_SANITIZE_BUILD:-build-sanitize}"
jobs="${B2M_SANITIZE_JOBS:-$(nproc)}"
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all"

start=$(date +%s)
# CMAKE_BUILD_TYPE=Sanitize is a build type without preset flags: only $flags apply.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_COMPILER=g++ \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined,float-cast-overflow" \
      -DB2M_BUILD_TESTS=ON -DB2M_BUILD_EXAMPLES=ON -DB2M_BUILD_TOOLS=ON -DB2M_BUILD_BENCHMARKS=OFF >/dev/null
if [ -n "${B2M_SANITIZE_TARGETS:-}" ]; then
  # shellcheck disable=SC2086
  cmake --build "$build" -j"$jobs" --target $B2M_SANITIZE_TARGETS
else
  cmake --build "$build" -j"$jobs"
fi
built=$(date +%s)

# detect_leaks: OpenBLAS/libgomp keep per-thread buffers for the process lifetime; they are
# not b2m's leaks, so LeakSanitizer is given the suppression file below.
supp="$(pwd)/scripts/sanitize.supp"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0:strict_string_checks=1:check_initialization_order=1"
export LSAN_OPTIONS="suppressions=$supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

status=0
if [ -n "${B2M_SANITIZE_TESTS:-}" ]; then
  # Executables outside B2M_SANITIZE_TARGETS show up as *_NOT_BUILT placeholders: skip them.
  ctest --test-dir "$build" --output-on-failure -j"$jobs" -LE 'headers|compile|install' -R "$B2M_SANITIZE_TESTS" \
        -E 'NOT_BUILT' "$@" || status=1
elif [ -n "${B2M_SANITIZE_TARGETS:-}" ]; then
  # Every test of the built targets (and the smoke runs among them); unbuilt ones skipped.
  # Label study: runs of example programs, which the subset may not build (smoke runs of
  # listed targets run below by name).
  ctest --test-dir "$build" --output-on-failure -j"$jobs" -LE 'headers|compile|install|realdata|mpi|study' -E 'NOT_BUILT|_smoke$' "$@" || status=1
  smoke=""
  for t in $B2M_SANITIZE_TARGETS; do smoke="$smoke${smoke:+|}^${t}_smoke\$"; done
  # Only when one of the listed targets has a smoke run: an empty selection is no test.
  if ctest --test-dir "$build" -N -R "$smoke" | grep -q 'Total Tests: [1-9]'; then
    ctest --test-dir "$build" --output-on-failure -j"$jobs" -R "$smoke" "$@" || status=1
  fi
else
  ctest --test-dir "$build" --output-on-failure -j"$jobs" -LE 'headers|compile|install|realdata|mpi' "$@" || status=1
  ctest --test-dir "$build" --output-on-failure -j"$jobs" -R '_smoke$' "$@" || status=1
fi
done_at=$(date +%s)
echo "sanitize.sh: build $((built - start)) s, tests $((done_at - built)) s, status $status"
exit $status

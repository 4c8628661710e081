#!/usr/bin/env bash
# Builds b2m and runs the whole test suite under ctest. Usage: scripts/test.sh [ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
# ctest runs tests side by side on few cores: OpenMP threads that spin while waiting would
# steal the cores of the other tests (measured: banded ridge 70x slower on a loaded machine).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
cd build && ctest --output-on-failure -j"$(nproc)" "$@"

#!/usr/bin/env bash
# Builds and runs the b2m demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target brain_teacher_demo
mkdir -p out && ./build/examples/brain_teacher_demo out/brain_teacher_demo.svg

#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ (clang-14, -fsanitize=fuzzer,address,undefined)
# and runs each for SECONDS (default 30), one after the other, starting from the committed
# seed corpus (copied: new inputs go to the build folder, not into the repository) with
# the target's dictionary. Exit status non-zero when a harness does not build or a fuzzer
# finds a crash, a sanitizer report, a leak, a timeout or an unexpected exception; the
# reproducer is left in the build folder (crash-*, leak-*, timeout-*) and named.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]      targets: npy csv checkpoint cli (+ any
#        fuzz/fuzz_<name>.cpp added later)
#   B2M_FUZZ_BUILD  build folder (default: build-fuzz)
#   CXX_FUZZ        compiler (default: clang++-14)
set -euo pipefail
cd "$(dirname "$0")/.."
# clang-14 with libFuzzer (libclang-rt-14-dev) and its OpenMP runtime (the CLI harness).
bash scripts/deps.sh clang-14 libclang-rt-14-dev libomp-14-dev
seconds="${1:-30}"
shift || true
build="${B2M_FUZZ_BUILD:-build-fuzz}"
cxx="${CXX_FUZZ:-clang++-14}"
mkdir -p "$build"
build="$(cd "$build" && pwd)"
root="$(pwd)"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.cpp; do n="${f#fuzz/fuzz_}"; targets+=("${n%.cpp}"); done
fi

flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined,float-cast-overflow
       -fno-sanitize-recover=all -I"$root/include")
status=0
for t in "${targets[@]}"; do
  src="fuzz/fuzz_$t.cpp"
  [ -f "$src" ] || { echo "fuzz.sh: no harness $src"; status=1; continue; }
  extra=()
  # Harnesses that compile a tool source list it on a line "// fuzz-sources: a.cpp b.cpp".
  extra_src=$(sed -n 's|^// fuzz-sources: ||p' "$src")
  for s in $extra_src; do extra+=("$root/$s"); done
  # ... and extra flags on "// fuzz-flags: ...".
  extra_flags=$(sed -n 's|^// fuzz-flags: ||p' "$src")
  # shellcheck disable=SC2086
  # Rebuild only when the harness or a source it may include changed.
  if [ -x "$build/fuzz_$t" ] && [ -z "$(find fuzz include tools -newer "$build/fuzz_$t" -name '*.[ch]pp' -print -quit)" ]; then
    :
  elif ! "$cxx" "${flags[@]}" $extra_flags "$src" "${extra[@]}" -o "$build/fuzz_$t"; then
    echo "fuzz.sh: $t: harness does not build"; status=1; continue
  fi
  work="$build/corpus_$t"
  mkdir -p "$work"
  cp -n fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  echo "fuzz.sh: $t for $seconds s"
  log="$build/fuzz_$t.log"
  if (cd "$build" && ASAN_OPTIONS=detect_leaks=1 ./"fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=4096 -print_final_stats=1 -artifact_prefix="$build/$t-" "${dict[@]/#-dict=/-dict=$root/}" \
        "corpus_$t") >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$log" | tail -2 | sed "s/^/fuzz.sh: $t: /"
  else
    status=1
    echo "fuzz.sh: $t: FINDING (log $log):"
    grep -E 'ERROR|runtime error|SUMMARY|Test unit written|deadly signal|terminate' "$log" | head -20
  fi
done
exit $status

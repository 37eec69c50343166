#!/usr/bin/env bash
# Builds the libFuzzer targets in a clang tree (once; later calls only check it) and runs one of
# them for a bounded time on its corpus (ctest tests fuzz.<target>, label "fuzz"). New inputs go
# to a scratch corpus in the tree, never into the repository; a crash, a failed property, a
# sanitizer report, a leak or a slow input (-timeout) fails the test, and libFuzzer prints the
# input (Base64) and saves it under <tree>/artifacts/. Exits 77 (skipped) without clang or its
# libFuzzer runtime (Debian: clang-14, libclang-rt-14-dev).
#
# Usage: run_fuzzer.sh --source DIR --tree DIR --target NAME [--seconds S]
set -euo pipefail

source_dir="" tree="" target="" seconds=20
while (($#)); do
  case "$1" in
    --source) source_dir=$2 ;;
    --tree) tree=$2 ;;
    --target) target=$2 ;;
    --seconds) seconds=$2 ;;
    *) echo "run_fuzzer.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
[[ -n $source_dir && -n $tree && -n $target ]] || { echo "usage: run_fuzzer.sh --source DIR --tree DIR --target NAME" >&2; exit 2; }

clangxx=$(command -v clang++ || command -v clang++-14 || true)
if [[ -z $clangxx ]]; then
  echo "run_fuzzer.sh: no clang++ (Debian: clang-14); skipped"
  exit 77
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe/p.cpp"
if ! "$clangxx" -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" 2>"$probe/err"; then
  cat "$probe/err"
  echo "run_fuzzer.sh: $clangxx cannot link a libFuzzer target (Debian: libclang-rt-14-dev); skipped"
  exit 77
fi

if [[ ! -f $tree/CMakeCache.txt ]]; then
  echo "== fuzz: configure $tree with $clangxx"
  cmake -S "$source_dir" -B "$tree" -DCMAKE_CXX_COMPILER="$clangxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRANKPOOL_FUZZ=ON -DRANKPOOL_WERROR=ON -DRANKPOOL_BUILD_TESTS=OFF -DRANKPOOL_BUILD_APPS=OFF \
    -DRANKPOOL_BUILD_BENCHMARKS=OFF -DRANKPOOL_INSTALL=OFF >"$probe/configure.log" 2>&1 \
    || { cat "$probe/configure.log"; exit 1; }
fi
cmake --build "$tree" -j 2 --target rankpool_fuzzers >"$probe/build.log" 2>&1 \
  || { cat "$probe/build.log"; exit 1; }

work=$tree/work/$target
rm -rf "$work"
mkdir -p "$work" "$tree/artifacts"
echo "== fuzz: $target for ${seconds} s on $source_dir/tests/fuzz/corpus/$target"
# -timeout: one input running this long is a hang. -rss_limit_mb / -malloc_limit_mb: an input
# that makes the code allocate this much is a failure too (a decoder must not trust lengths).
# -error_exitcode: libFuzzer's default for a found bug is 77, which ctest reads as "skipped".
"$tree/tests/fuzz/$target" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
  -error_exitcode=1 -timeout_exitcode=1 \
  -print_final_stats=1 -artifact_prefix="$tree/artifacts/$target-" \
  "$work" "$source_dir/tests/fuzz/corpus/$target"

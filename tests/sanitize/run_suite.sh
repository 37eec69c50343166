#!/usr/bin/env bash
# Builds rankpool with AddressSanitizer + UndefinedBehaviorSanitizer in a second tree and runs its
# whole ctest suite there (ctest test "sanitize", label "sanitize"). Any ASan, LeakSanitizer or
# UBSan report makes the test that produced it fail (UBSan halts on the first report), and so this
# test. Open MPI's own leaks are suppressed (lsan.supp), not skipped.
#
# The inner run is the part of the suite that runs rankpool's own code paths, chosen to keep the
# whole CI run well under its 45 minutes: CI measured this test at 1985 s (an ASan + UBSan build of
# every target, 1129 s, then 95 tests) and the whole run at 57 min. It now builds only the targets
# its tests need, with line tables only (-g1) and without UBSan's alignment checks (for
# tests/mpi/test_map.cpp here: 59 s with -g and every check, 39 s with -g1, 27 s without alignment,
# 20 s with ASan alone; the libFuzzer targets' clang tree keeps the alignment checks on the
# decoder, journal and parsers). In the inner run:
#   unit (not SerializeLarge.*), mpi.1/2/4ranks, mpi.hierarchy.4ranks   the library, its API
#   taskfarm.* (not many), resume.*, fault.worker_death                rankpool-run, journals
#   bad_input                                                          every documented misuse
# Left out (they run in the main tree): seeds.* and version.* (20 example programs to build; the
# Process, Lock, Queue and Pipe paths they use run in the mpi tests' test_process/test_sync),
# large.2ranks and SerializeLarge.* (payloads over 2 GiB: 157 s under ASan), multinode.* (the mpi
# tests again, over TCP between network namespaces: 111 s), mpi.3ranks, binding.*, taskfarm.many
# (a memory-use check, 170 s), slurm.*, fuzz.* (their own clang ASan tree), format, install.*,
# packaging.*, compile_fail.*, scaling.* and microbench.
#
# Usage: run_suite.sh --source DIR --tree DIR --cxx CXX [--jobs N] [-- extra ctest arguments]
set -euo pipefail

source_dir="" tree="" cxx="c++" jobs=2
while (($#)); do
  case "$1" in
    --source) source_dir=$2; shift 2 ;;
    --tree) tree=$2; shift 2 ;;
    --cxx) cxx=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "run_suite.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n $source_dir && -n $tree ]] || { echo "usage: run_suite.sh --source DIR --tree DIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)

# -O1: the sanitizers' usual optimisation level (plain -O0 makes the ASan build and the MPI tests
# several times slower; -O2 and up can hide reports). Benchmarks are not built: no test runs them
# beyond --version. Warnings are not errors here: the -Werror build is the main one, and GCC 12
# warns differently under -O1 and the sanitizers' instrumentation (-Wclobbered on a std::string
# local around vfork in apps/run/runner.cpp, which the -O2 build does not report).
echo "== sanitize: configure $tree"
cmake -S "$source_dir" -B "$tree" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DRANKPOOL_SANITIZE=address,undefined \
  -DRANKPOOL_SANITIZE_EXCLUDE=alignment \
  -DRANKPOOL_WERROR=OFF -DRANKPOOL_BUILD_BENCHMARKS=OFF -DRANKPOOL_INSTALL=OFF >"$tree.configure.log" 2>&1 \
  || { cat "$tree.configure.log"; exit 1; }
# The programs the inner run's tests start (ctest would fail a test whose program is not built).
targets=(rankpool_unit_tests rankpool_mpi_tests rankpool_taskfarm_tests
         rankpool-run rankpool_resume_unit_tests rankpool_resume_mpi_tests rankpool_resume_kill_app
         rankpool_fault_app rankpool-bad-input-probe rankpool-example-square rankpool-example-cube)
tests='^(unit|mpi\.[124]ranks|mpi\.hierarchy\.4ranks|fault\.worker_death|taskfarm\..*|resume\..*|bad_input)$'
echo "== sanitize: build ${#targets[@]} targets ($jobs jobs)"
start=$SECONDS
cmake --build "$tree" -j "$jobs" --target "${targets[@]}" >"$tree.build.log" 2>&1 || { tail -100 "$tree.build.log"; exit 1; }
echo "== sanitize: built in $((SECONDS - start)) s"

# Run-time options. halt_on_error: the first report ends the process with a non-zero status.
# allocator_may_return_null: an impossible allocation throws std::bad_alloc as it does without
# ASan (the decoder turns a corrupt length into a SerializationError; ASan would abort instead).
# detect_leaks: LeakSanitizer at every exit, Open MPI's leaks suppressed (lsan.supp).
# handle_segv/sigbus/sigfpe=0: a process that crashes on purpose (the isolation tests' tasks) dies
# by its signal, as the code under test expects, instead of ASan turning it into exit status 1;
# ASan finds memory errors by instrumentation, not by these handlers.
# fast_unwind_on_malloc=0: complete allocation stacks through Open MPI (built without frame
# pointers), so that lsan.supp can recognise its allocations.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:allocator_may_return_null=1:strict_init_order=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:fast_unwind_on_malloc=0"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0"
# GTEST_FILTER: the over-2-GiB serialization tests (78 s under ASan) run in the main tree.
export GTEST_FILTER="-SerializeLarge.*"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$here/ubsan.supp"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

echo "== sanitize: ctest in $tree"
start=$SECONDS
status=0
ctest --test-dir "$tree" --output-on-failure -R "$tests" -E '^taskfarm\.many$' "$@" || status=$?
echo "== sanitize: tests ran in $((SECONDS - start)) s, ctest exit status $status"
# A report that did not fail its test (a process whose status nobody checks) still fails this one.
if grep -rlE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: " "$tree/Testing/Temporary/LastTest.log" >/dev/null 2>&1; then
  echo "== sanitize: a sanitizer report is in $tree/Testing/Temporary/LastTest.log:" >&2
  grep -nE -A3 "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: " "$tree/Testing/Temporary/LastTest.log" | head -60 >&2
  status=1
fi
exit $status

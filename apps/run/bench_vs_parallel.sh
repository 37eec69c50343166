#!/usr/bin/env bash
# Per-command overhead of rankpool-run next to GNU parallel, on N `true` commands (default 10^4),
# two at a time, in the same run of this script.
#
#   apps/run/bench_vs_parallel.sh [BUILD_DIR] [N]
#
# rankpool-run runs on 3 ranks (rank 0 coordinates and journals, 2 ranks run commands: 2 at a
# time, as parallel -j2) and, for reference, on 2 ranks with --rankpool-master-computes 1 (both
# ranks run commands). Per-command overhead = wall time / N x 2 (two run at once), which for
# `true` is almost all overhead. parallel uses --joblog, its closest equivalent of the journal.
# `xargs -P2 -I{} sh -c {}` is a reference with no bookkeeping at all (it forks the shells).
# OTHER_APP=path/to/rankpool-run also times another build (e.g. an older one) in the same run.
# Needs GNU parallel (Debian package `parallel`); not part of CI.
set -euo pipefail
build=${1:-build}
n=${2:-10000}
app=$build/apps/run/rankpool-run
[[ -x $app ]] || { echo "no $app; build first (cmake --build $build)" >&2; exit 2; }
command -v parallel >/dev/null || { echo "GNU parallel is not installed (apt-get install parallel)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) print "true" }' > "$dir/tasks.txt"

time_of() {  # prints the wall seconds of "$@"
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > /dev/null 2>&1
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
report() {  # name seconds
  printf '%-44s %8.2f s  %7.3f ms per command\n' "$1" "$2" "$(echo "$2 * 1000 * 2 / $n" | bc -l)"
}
fresh() { rm -rf "$dir/tasks.txt.journal" "$dir/tasks.txt.out" "$dir/joblog"; }

echo "$n x true, 2 at a time, $(nproc) cores, $(hostname)"
fresh; report "rankpool-run, mpirun -n 3 (2 run tasks)" "$(time_of mpirun -n 3 "$app" "$dir/tasks.txt")"
fresh; report "rankpool-run, mpirun -n 2, master computes" \
  "$(time_of mpirun -n 2 "$app" "$dir/tasks.txt" --rankpool-master-computes 1)"
if [[ -n ${OTHER_APP:-} ]]; then
  fresh; report "OTHER_APP, mpirun -n 3" "$(time_of mpirun -n 3 "$OTHER_APP" "$dir/tasks.txt")"
  fresh; report "OTHER_APP, mpirun -n 2, master computes" \
    "$(time_of mpirun -n 2 "$OTHER_APP" "$dir/tasks.txt" --rankpool-master-computes 1)"
fi
fresh; report "xargs -P2 -I{} sh -c {} (no bookkeeping)" \
  "$(time_of sh -c "xargs -P 2 -I{} sh -c {} < '$dir/tasks.txt'")"
fresh; report "GNU parallel -j2 --joblog" "$(time_of parallel -j2 --joblog "$dir/joblog" < "$dir/tasks.txt")"
fresh; report "GNU parallel -j2" "$(time_of parallel -j2 < "$dir/tasks.txt")"

#!/usr/bin/env bash
# A worker rank that dies without isolation (SIGSEGV, abort(), SIGKILL as from kill -9 or the
# OOM killer) must end the job, never hang it, and the log must name the rank, its host and the
# inputs it was running. usage: worker_death.sh FAULT_APP MPIEXEC
set -u
app=$1
mpiexec=${2:-mpirun}
host=$(hostname)
failures=0
for mode in segv abort kill; do
  log=$(mktemp)
  start=$(date +%s.%N)
  # 120 s: a hang fails; a healthy run of this map takes ~3 s, a crash ends it within seconds.
  timeout 120 "$mpiexec" --oversubscribe -n 3 "$app" "$mode" 2 --rankpool-bind none >"$log" 2>&1
  rc=$?
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  echo "== $mode: exit $rc after ${secs} s"
  grep '^rankpool:' "$log" | sed 's/^/   /'
  problem=""
  if [[ $rc -eq 124 ]]; then
    problem="the job hung (killed by timeout)"
  elif [[ $rc -eq 0 ]] || grep -q "map finished" "$log"; then
    problem="the job did not fail"
  elif [[ $mode == kill ]]; then
    # SIGKILL cannot be caught: rank 0 lists the work in flight when mpirun stops it.
    grep -Eq "^rankpool: rank 0 got SIGTERM.*rank 2 \(host $host\): job 1 chunk [0-9]+ \(inputs [0-9]+\.\.[0-9]+\)" "$log" ||
      problem="rank 0 did not list rank 2's inputs in flight"
  else
    sig=11; [[ $mode == abort ]] && sig=6
    grep -Eq "^rankpool: rank 2 \(host $host\) died of signal $sig .* while running job 1 chunk [0-9]+ \(inputs [0-9]+\.\.[0-9]+\)" "$log" ||
      problem="rank 2 did not report its signal and inputs"
  fi
  if [[ -n $problem ]]; then
    echo "FAIL ($mode): $problem; the log:"
    sed 's/^/   | /' "$log"
    failures=$((failures + 1))
  fi
  rm -f "$log"
done
exit $((failures > 0))

#!/usr/bin/env bash
# A throw-away one-node Slurm cluster on this machine, for running the job scripts of jobs/ with a
# real sbatch: its own munged (own key and socket), slurmctld and slurmd, all state, spool, logs
# and pid files in a temporary directory, on two free TCP ports, so it touches no system Slurm or
# munge configuration and two runs can coexist.
#
#   cluster.sh COMMAND [ARGS...]     (as root) starts the cluster, waits until the node is idle,
#                                    runs COMMAND with SLURM_CONF set, stops everything, and exits
#                                    with COMMAND's status
#
# COMMAND also gets RANKPOOL_SLURM_LOGS (the directory of slurmctld.log, slurmd.log, munged.log)
# and RANKPOOL_SLURM_NODE (the node's name). Exits 77 (ctest's skip code) only when not root or
# when the Debian packages slurm-wlm and munge are not installed; any other problem is a failure
# (exit 1), with the daemons' logs printed. KEEP_SLURM_DIR=1 keeps the temporary directory.
#
# The configuration is the one that works in a container as root: SlurmUser=root,
# proctrack/linuxproc (no cgroups needed), task/affinity, select/cons_tres (CR_Core), the MPI
# plugins pmix (srun --mpi=pmix, Open MPI 4.1) and none (the default), no accounting (so no sacct:
# finished jobs stay visible to `scontrol show job` for MinJobAge=600 s), KillWait=5 s.
set -uo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: cluster.sh COMMAND [ARGS...]" >&2
  exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "cluster.sh: needs root (the daemons run as SlurmUser=root); skipped"
  exit 77
fi
for tool in munged mungekey slurmctld slurmd sbatch squeue scontrol sinfo scancel python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "cluster.sh: $tool not found (Debian packages: slurm-wlm munge); skipped"
    exit 77
  fi
done

work=$(mktemp -d /tmp/rankpool-slurm.XXXXXX)
chmod 755 "$work"
mkdir -p "$work"/{munge,state,spool,log}
chmod 700 "$work/munge"
host=$(hostname -s)
pids=()  # daemons we started, stopped in reverse order

log() { echo "cluster.sh: $*"; }

print_logs() {
  for f in "$work"/log/*.log; do
    [[ -f $f ]] || continue
    echo "----- $f (last 60 lines) -----"
    tail -n 60 "$f"
  done
}

stop_pid() {  # stop_pid PID NAME: SIGTERM, then SIGKILL after 15 s
  local pid=$1 name=$2 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    sleep 0.1
  done
  log "$name (pid $pid) ignored SIGTERM for 15 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}

cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  if [[ -n ${SLURM_CONF:-} ]] && scontrol ping >/dev/null 2>&1; then
    # Jobs first, so that no slurmstepd (started by slurmd, not our child) outlives the cluster.
    if [[ -n $(squeue -h -o %i 2>/dev/null) ]]; then
      log "cancelling jobs still queued or running: $(squeue -h -o %i | tr '\n' ' ')"
      # shellcheck disable=SC2046  # one argument per job id
      scancel --full $(squeue -h -o %i) 2>/dev/null
    fi
    for ((i = 0; i < 300; i++)); do
      [[ -z $(squeue -h -o %i 2>/dev/null) ]] && break
      sleep 0.1
    done
  fi
  # Each slurmstepd keeps a socket in the spool directory until it ends.
  for ((i = 0; i < 100; i++)); do
    compgen -G "$work/spool/${host}_*" >/dev/null || break
    sleep 0.1
  done
  if compgen -G "$work/spool/${host}_*" >/dev/null; then
    log "warning: job steps still have sockets in $work/spool: $(ls "$work/spool")"
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    stop_pid "${pids[i]%%:*}" "${pids[i]#*:}"
  done
  if [[ $rc -ne 0 && $rc -ne 77 ]]; then print_logs; fi
  if [[ ${KEEP_SLURM_DIR:-0} == 1 ]]; then
    log "kept $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  log "$*"
  exit 1
}

# ---- munge: our own key, socket and daemon (a system-wide munged, if any, is left alone) ------
mungekey --create --keyfile="$work/munge/munge.key" --force >/dev/null 2>&1 ||
  dd if=/dev/urandom of="$work/munge/munge.key" bs=1 count=1024 status=none
chmod 400 "$work/munge/munge.key"
munged --force --foreground --socket="$work/munge/munge.socket" \
  --key-file="$work/munge/munge.key" --pid-file="$work/munge/munged.pid" \
  --log-file="$work/log/munged.log" --seed-file="$work/munge/munged.seed" \
  >"$work/log/munged.out" 2>&1 &
pids+=("$!:munged")
for ((i = 0; i < 100; i++)); do
  [[ -S $work/munge/munge.socket ]] && break
  kill -0 "$!" 2>/dev/null || { cat "$work/log/munged.out"; fail "munged did not start"; }
  sleep 0.1
done
[[ -S $work/munge/munge.socket ]] || fail "munged did not create its socket in 10 s"

# ---- slurm.conf -------------------------------------------------------------------------------
read -r ctld_port slurmd_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
cat >"$work/slurm.conf" <<EOF
# written by rankpool's tests/slurm/cluster.sh
ClusterName=rankpool
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$work/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=60
SlurmdTimeout=60
NodeName=$host NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
: >"$work/plugstack.conf"
export SLURM_CONF=$work/slurm.conf RANKPOOL_SLURM_LOGS=$work/log RANKPOOL_SLURM_NODE=$host

# ---- the daemons --------------------------------------------------------------------------------
slurmctld -D -c -f "$SLURM_CONF" >"$work/log/slurmctld.out" 2>&1 &
pids+=("$!:slurmctld")
for ((i = 0; i < 300; i++)); do
  scontrol ping 2>/dev/null | grep -q "is UP" && break
  kill -0 "$!" 2>/dev/null || { cat "$work/log/slurmctld.out"; fail "slurmctld exited"; }
  sleep 0.1
done
scontrol ping 2>/dev/null | grep -q "is UP" || fail "slurmctld did not answer in 30 s"
slurmd -D -f "$SLURM_CONF" >"$work/log/slurmd.out" 2>&1 &
pids+=("$!:slurmd")
state=""
for ((i = 0; i < 600; i++)); do
  state=$(sinfo -h -n "$host" -o %T 2>/dev/null)
  [[ $state == idle ]] && break
  kill -0 "$!" 2>/dev/null || { cat "$work/log/slurmd.out"; fail "slurmd exited"; }
  sleep 0.1
done
[[ $state == idle ]] || fail "node $host not idle after 60 s (state: ${state:-none})"
log "node $host idle ($(nproc) CPUs), SLURM_CONF=$SLURM_CONF"

"$@"

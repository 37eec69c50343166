#!/usr/bin/env python3
"""The job scripts of jobs/ submitted with sbatch to a real one-node Slurm (label "slurm").

Usage: cluster.sh jobs.py --source DIR --build DIR --work DIR CASE
Cases:
  demo                 jobs/demo.sbatch with srun --mpi=pmix and with mpirun
  taskfarm_timelimit   jobs/taskfarm.sbatch with a time limit (-t 1) shorter than its work and
                       --signal=B:USR1: it must drain on the signal (exit 3, nothing failed), and a
                       resubmission (with the other launcher) must finish the rest, every task
                       run and recorded exactly once
  taskfarm_requeue     jobs/taskfarm.sbatch with REQUEUE=1, signalled like --signal does: it must
                       requeue itself (same job id) and the requeued run must finish the rest
  taskfarm_scancel     jobs/taskfarm.sbatch cancelled with a plain scancel while a task runs
                       (SIGTERM to every process, the task's shell too): the killed task must be
                       interrupted, not failed, and a resubmission without --retry-failed must
                       finish every task, each run to completion and recorded exactly once
  scaling              jobs/strong_scaling.sbatch (srun) and jobs/weak_scaling.sbatch (mpirun) at
                       small sizes, 1 and 2 ranks: each must write its scaling.csv
Runs inside tests/slurm/cluster.sh (SLURM_CONF set). On failure: the job's output, `scontrol show
job` and the daemons' logs are printed, and the exit status is 1.
"""
import argparse
import csv
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

ARGS = None
FINAL_STATES = {"COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "NODE_FAIL", "OUT_OF_MEMORY",
                "PREEMPTED", "BOOT_FAIL", "DEADLINE"}
JOBS_SEEN = []


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def dump_diagnostics():
    for j in JOBS_SEEN:
        info = job_info(j)
        print(f"----- scontrol show job {j} -----")
        print(subprocess.run(["scontrol", "show", "job", j], capture_output=True,
                             text=True).stdout)
        out = info.get("StdOut")
        if out and os.path.exists(out):
            print(f"----- {out} -----")
            print(open(out, errors="replace").read()[-8000:])
    logs = os.environ.get("RANKPOOL_SLURM_LOGS")
    for name in ("slurmctld.log", "slurmd.log"):
        path = os.path.join(logs or "", name)
        if logs and os.path.exists(path):
            print(f"----- {path} (last 60 lines) -----")
            print("".join(open(path, errors="replace").readlines()[-60:]))


def fail(msg):
    print("FAIL: " + msg, flush=True)
    dump_diagnostics()
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def job_env(**extra):
    env = dict(os.environ, BUILD=ARGS.build)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def sbatch(script, *options, cwd=None, **env):
    p = subprocess.run(["sbatch", "--parsable", *options, os.path.join(ARGS.source, "jobs", script)],
                       cwd=cwd or ARGS.work, env=job_env(**env), capture_output=True, text=True)
    check(p.returncode == 0, f"sbatch {script} failed: {p.stderr.strip()}")
    j = p.stdout.strip().split(";")[0]
    JOBS_SEEN.append(j)
    log(f"submitted {script} {' '.join(options)} {env}: job {j}")
    return j


def job_info(j):
    p = subprocess.run(["scontrol", "-o", "show", "job", j], capture_output=True, text=True)
    return dict(re.findall(r"(\w+)=(\S*)", p.stdout))


def wait_until(j, pred, what, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = job_info(j)
        if pred(info):
            return info
        time.sleep(0.5)
    subprocess.run(["scancel", j])
    fail(f"job {j}: not {what} after {timeout} s (state {job_info(j).get('JobState')})")


def wait_node_idle(timeout):
    """Waits until every node is IDLE and none is still COMPLETING a job."""
    deadline = time.monotonic() + timeout
    states = []
    while time.monotonic() < deadline:
        p = subprocess.run(["scontrol", "-o", "show", "node"], capture_output=True, text=True)
        states = re.findall(r"\bState=(\S+)", p.stdout)
        if states and all(st.startswith("IDLE") and "COMPLETING" not in st for st in states):
            return
        time.sleep(0.5)
    fail(f"the nodes are not idle after {timeout} s: {states}")


def wait_done(j, timeout):
    info = wait_until(j, lambda i: i.get("JobState") in FINAL_STATES, "finished", timeout)
    log(f"job {j}: {info.get('JobState')}, exit code {info.get('ExitCode')}, "
        f"run time {info.get('RunTime')}, restarts {info.get('Restarts')}")
    return info


def output_of(info):
    return open(info["StdOut"], errors="replace").read()


def expect_state(j, info, state, exit_code):
    check(info.get("JobState") == state and info.get("ExitCode") == exit_code,
          f"job {j}: expected {state} with exit code {exit_code}, got {info.get('JobState')} "
          f"with {info.get('ExitCode')}")


# ---- demo ----------------------------------------------------------------------------------------
def case_demo():
    for launcher in ("srun", "mpirun"):
        j = sbatch("demo.sbatch", "-n", "2", LAUNCHER=launcher)
        info = wait_done(j, 180)
        expect_state(j, info, "COMPLETED", "0:0")
        out = output_of(info)
        m = re.search(r"demo finished: (\d+) checks passed", out)
        check(m and int(m.group(1)) > 0, f"job {j} ({launcher}): no 'demo finished' line")
        log(f"demo with {launcher}: {m.group(0)}")


# ---- task farm -----------------------------------------------------------------------------------
def write_tasks(name, n, seconds):
    """n tasks; each sleeps, then appends its job id to its own evidence file."""
    ev = os.path.join(ARGS.work, name + ".ev")
    os.makedirs(ev)
    path = os.path.join(ARGS.work, name + ".txt")
    with open(path, "w") as f:
        for i in range(n):
            f.write(f'sleep {seconds} && echo "$SLURM_JOB_ID" >> {ev}/{i:03d}\n')
    return path, ev


def evidence(ev):
    return {os.path.basename(p): open(p).read().split() for p in glob.glob(ev + "/*")}


def results(tasks, pattern="*"):
    """Records of the runs' --results files, per file."""
    out = {}
    for p in sorted(glob.glob(f"{tasks}.results/{pattern}.jsonl")):
        out[os.path.basename(p)] = [json.loads(line) for line in open(p) if line.strip()]
    return out


def check_all_once(tasks, ev, n):
    """Every task ran once (its evidence file has one line) and is recorded once, as ok."""
    runs = evidence(ev)
    check(len(runs) == n, f"{len(runs)} of {n} tasks left evidence")
    twice = {k: v for k, v in runs.items() if len(v) != 1}
    check(not twice, f"tasks that ran more than once: {twice}")
    # Interrupted records (a task killed by the stop, rerun on resume) are not recordings.
    records = [r for recs in results(tasks).values() for r in recs
               if r.get("status") != "interrupted"]
    ids = [r["id"] for r in records]
    check(len(ids) == n and len(set(ids)) == n,
          f"{len(ids)} records of {len(set(ids))} distinct tasks in the --results files, want {n}")
    bad = [r for r in records if r.get("status") != "ok"]
    check(not bad, f"records not ok: {bad[:3]}")
    # The journal agrees: a dry run of the same task file has nothing left to run.
    p = subprocess.run([os.path.join(ARGS.build, "apps", "run", "rankpool-run"), "--dry-run",
                        tasks], capture_output=True, text=True, env=job_env())
    check(p.returncode == 0 and p.stdout.strip() == "",
          f"dry run after the resume: status {p.returncode}, would still run: {p.stdout[:500]}")


def case_taskfarm_timelimit():
    # One rank runs tasks (-n 2: rank 0 coordinates): 24 x 2 s = 48 s of work, but the warning
    # comes at the latest 30 s before the 60 s limit (Slurm looks every 30 s, so it may be early).
    n = 24
    tasks, ev = write_tasks("timelimit", n, 2)
    j1 = sbatch("taskfarm.sbatch", "-n", "2", "-t", "1", "--signal=B:USR1@30",
                TASKS=tasks, LAUNCHER="srun", GRACE=10)
    info = wait_done(j1, 150)
    out = output_of(info)
    check("got SIGUSR1" in out, f"job {j1}: the batch shell never got --signal's SIGUSR1")
    expect_state(j1, info, "FAILED", "3:0")  # rankpool-run's "interrupted, resume" status
    first = results(tasks, j1 + ".*")
    check(len(first) == 1, f"job {j1}: expected one --results file, got {list(first)}")
    recs = next(iter(first.values()))
    check(all(r.get("status") == "ok" for r in recs),
          f"job {j1}: a task did not end ok in the drain: {[r for r in recs if r.get('status') != 'ok'][:3]}")
    done = evidence(ev)
    check(len(done) < n, f"job {j1}: all {n} tasks finished, the time limit did not bite")
    check(len(done) == len(recs), f"job {j1}: {len(done)} tasks left evidence, {len(recs)} recorded")
    log(f"job {j1}: drained after {len(recs)} of {n} tasks")

    j2 = sbatch("taskfarm.sbatch", "-n", "2", TASKS=tasks, LAUNCHER="mpirun", GRACE=10)
    info = wait_done(j2, 150)
    expect_state(j2, info, "COMPLETED", "0:0")
    out = output_of(info)
    check(f"{len(recs)} done before" in out, f"job {j2}: did not resume from {len(recs)} done")
    check_all_once(tasks, ev, n)
    log(f"job {j2}: finished the other {n - len(recs)}; each of the {n} tasks ran and is recorded once")


def case_taskfarm_requeue():
    n = 10
    tasks, ev = write_tasks("requeue", n, 1)
    j = sbatch("taskfarm.sbatch", "-n", "2", TASKS=tasks, LAUNCHER="mpirun", GRACE=10, REQUEUE=1)
    # As --signal=B:USR1 would, once a few tasks are done.
    wait_until(j, lambda i: len(evidence(ev)) >= 2, "2 tasks done", 120)
    subprocess.run(["scancel", "--batch", "--signal=USR1", j], check=True)
    log(f"job {j}: sent SIGUSR1 to the batch shell")
    info = wait_until(j, lambda i: i.get("Restarts") == "1" and i.get("JobState") == "PENDING",
                      "requeued", 120)
    done = len(evidence(ev))
    check(done < n, f"job {j}: all {n} tasks were done before the requeue")
    # Slurm holds a requeued job back for about two minutes (its BeginTime): start it now, but
    # only once the node has cleaned up after the first run. Released while the node was still
    # COMPLETING, the second run once FAILED in 0 s without running anything. Idle is not enough
    # either: slurmd revokes the first run's credential when it ends and rejects any credential
    # of that job id made in the same second or before (slurm_cred.c compares time_t seconds:
    # ctime <= revoked). Released within that second, the requeued run FAILED with "Job
    # credential revoked" (CI, 2026-12-07): wait for the clock to pass it.
    wait_node_idle(60)
    time.sleep(2)
    subprocess.run(["scontrol", "update", f"JobId={j}", "StartTime=now"], check=True)
    log(f"job {j}: requeued after {done} of {n} tasks; released")
    info = wait_done(j, 150)
    expect_state(j, info, "COMPLETED", "0:0")
    check(info.get("Restarts") == "1", f"job {j}: Restarts={info.get('Restarts')}, want 1")
    check(len(results(tasks)) == 2, f"job {j}: want a --results file per run, got {list(results(tasks))}")
    check_all_once(tasks, ev, n)
    log(f"job {j}: the requeued run finished the rest; each of the {n} tasks ran and is recorded once")


def case_taskfarm_scancel():
    n = 8
    tasks, ev = write_tasks("scancel", n, 3)
    j1 = sbatch("taskfarm.sbatch", "-n", "2", TASKS=tasks, LAUNCHER="srun", GRACE=10)
    # One task done, so the next one is running: cancel as a user (or the time limit) would.
    wait_until(j1, lambda i: len(evidence(ev)) >= 1, "1 task done", 120)
    subprocess.run(["scancel", j1], check=True)
    log(f"job {j1}: scancel")
    info = wait_done(j1, 120)
    check(info.get("JobState") == "CANCELLED", f"job {j1}: state {info.get('JobState')}")
    first = [r for recs in results(tasks, j1 + ".*").values() for r in recs]
    stopped = [r for r in first if r.get("status") == "interrupted"]
    check(stopped and all(r.get("signal") == 15 for r in stopped),
          f"job {j1}: no task interrupted by scancel's SIGTERM: {first}")
    check(not [r for r in first if r.get("status") == "failed"],
          f"job {j1}: a task killed by scancel was recorded as failed: {first}")
    done = evidence(ev)
    check(len(done) < n, f"job {j1}: all {n} tasks finished before the scancel")
    log(f"job {j1}: {len(done)} done, {len(stopped)} interrupted by scancel's SIGTERM")
    j2 = sbatch("taskfarm.sbatch", "-n", "2", TASKS=tasks, LAUNCHER="mpirun", GRACE=10)
    info = wait_done(j2, 150)
    expect_state(j2, info, "COMPLETED", "0:0")
    check_all_once(tasks, ev, n)
    log(f"job {j2}: resumed without --retry-failed; each of the {n} tasks ran and is recorded once")


# ---- scaling studies (jobs/strong_scaling.sbatch, jobs/weak_scaling.sbatch) -------------------
SCALING_SMALL = dict(  # seconds, not minutes: the knobs the scripts document, as tests/scaling uses
    RANKS="1,2", REPS=2, SWEEP_REPS=1, TINY_N=20000, UNIFORM_N=40, UNIFORM_US=200,
    SWEEP_US="20,200,2000", SWEEP_WORK=0.02, PYTHON_PEERS=0,
    SCALING_ARGS="--mandel-width 64 --mandel-height 32 --mandel-iter 64 --pi-tasks 16 "
                 "--pi-samples 2000 --quiet")


def case_scaling():
    durations = os.path.join(ARGS.work, "durations.txt")
    with open(durations, "w") as f:
        f.write("300\n50\n1200\n0\n75\n640\n20\n900\n110\n5\n")
    for script, mode, launcher in (("strong_scaling.sbatch", "strong", "srun"),
                                   ("weak_scaling.sbatch", "weak", "mpirun")):
        out = os.path.join(ARGS.work, mode)
        # The scripts find apps/scaling/run_all.py through the submit directory: submit from the
        # sources, with the job log and the results sent here.
        j = sbatch(script, "-n", "2", "-o", os.path.join(ARGS.work, mode + "-%j.out"),
                   cwd=ARGS.source, OUT=out, LAUNCHER=launcher, IMBALANCED_FILE=durations,
                   **SCALING_SMALL)
        info = wait_done(j, 300)
        expect_state(j, info, "COMPLETED", "0:0")
        path = os.path.join(out, "scaling.csv")
        check(os.path.exists(path), f"job {j}: {path} was not written")
        rows = list(csv.DictReader(open(path)))
        ranks = {r.get("ranks") for r in rows}
        check(rows and ranks == {"1", "2"}, f"job {j}: {path}: {len(rows)} rows, ranks {ranks}")
        modes = {r.get("mode") for r in rows}
        check(modes == {mode}, f"job {j}: {path}: mode column {modes}, want {mode}")
        log(f"{script} with {launcher}: {len(rows)} rows at ranks 1 and 2 in {path}")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("case", choices=["demo", "taskfarm_timelimit", "taskfarm_requeue",
                                     "taskfarm_scancel", "scaling"])
    ARGS = ap.parse_args()
    ARGS.source, ARGS.build = os.path.abspath(ARGS.source), os.path.abspath(ARGS.build)
    ARGS.work = os.path.abspath(os.path.join(ARGS.work, ARGS.case))
    shutil.rmtree(ARGS.work, ignore_errors=True)
    os.makedirs(ARGS.work)
    if "SLURM_CONF" not in os.environ:
        print("jobs.py runs inside tests/slurm/cluster.sh (SLURM_CONF is not set)")
        sys.exit(2)
    t0 = time.monotonic()
    globals()["case_" + ARGS.case]()
    log(f"{ARGS.case}: passed in {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()

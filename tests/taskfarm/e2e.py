#!/usr/bin/env python3
"""End-to-end tests of rankpool-run under mpirun (label "taskfarm").

Usage: e2e.py --app PATH --mpiexec PATH CASE
Cases: resume_kill9, sigterm_drain, signal_reaches_tasks, retries_timeouts, halt, bad_input,
lost_rank, launcher_kill, many.
Each case works in a fresh temporary directory and exits non-zero with a message on failure.
The journal is parsed here independently of the C++ reader (format: rankpool/detail/journal.hpp).
"""
import argparse
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

ARGS = None
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def cmd(*args, ranks=2):
    return [ARGS.mpiexec, "-n", str(ranks), "--oversubscribe", ARGS.app] + [str(a) for a in args]


def run(*args, ranks=2, timeout=120):
    p = subprocess.run(cmd(*args, ranks=ranks), env=ENV, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def start(*args, ranks=2):
    return subprocess.Popen(cmd(*args, ranks=ranks), env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def read_journal(path):
    """Returns (owner, [record dicts]); stops at a torn or corrupt tail, like the C++ reader."""
    data = open(path, "rb").read()
    pos, owner, records = 0, None, []
    while pos + 12 <= len(data):
        magic, length, crc = data[pos:pos + 4], *struct.unpack("<II", data[pos + 4:pos + 12])
        if magic != b"RPJ1" or pos + 12 + length > len(data):
            break
        payload = data[pos + 12:pos + 12 + length]
        if zlib.crc32(payload) != crc:
            break
        if owner is None:
            check(payload.startswith(b"rankpool-journal 1\n"), "journal header missing")
            owner = payload.decode()
        else:
            records.append(json.loads(payload))
        pos += 12 + length
    return owner, records


def journal_count(path):
    try:
        return len(read_journal(path)[1])
    except (OSError, SystemExit):
        return 0


def rank_pids(mpirun_pid):
    """{rank: pid} of the ranks mpirun started (read from their environment)."""
    ranks = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != mpirun_pid:
                continue
            env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        for e in env:
            if e.startswith(b"OMPI_COMM_WORLD_RANK="):
                ranks[int(e.split(b"=")[1])] = int(pid)
    return ranks


def wait_for(pred, what, limit=60):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    fail("timed out waiting for " + what)


def lines(path):
    try:
        return open(path).read().split()
    except OSError:
        return []


# ---- cases --------------------------------------------------------------------------------------

def case_resume_kill9(d):
    n = 60
    evidence = os.path.join(d, "evidence")
    tasks = os.path.join(d, "tasks.txt")
    with open(tasks, "w") as f:
        for i in range(n):
            f.write(f"echo t{i} >> {evidence}; sleep 0.05\n")
    journal = tasks + ".journal"
    for kill_at in (5, 20, 40):
        p = start(tasks)
        wait_for(lambda: journal_count(journal) >= kill_at or p.poll() is not None,
                 f"{kill_at} journal records")
        # The whole job: mpirun and every rank (Open MPI puts ranks in process groups of their own).
        ranks = rank_pids(p.pid)
        os.killpg(p.pid, signal.SIGKILL)
        for pid in ranks.values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p.wait()
        got = journal_count(journal)
        check(got < n, f"the run finished before the kill at {kill_at} ({got} records)")
    rc, out, err = run(tasks)
    check(rc == 0, f"resume exited {rc}: {err}")
    time.sleep(0.2)  # tasks orphaned by the kills (sleep 0.05) have ended
    owner, records = read_journal(journal)
    ids = [r["id"] for r in records]
    check(len(ids) == len(set(ids)), f"a task is recorded twice: {len(ids)} records, "
          f"{len(set(ids))} ids")
    check(len(ids) == n, f"{len(ids)} tasks recorded, expected {n}; last run: {err}")
    check(all(r["status"] == "ok" for r in records), "a task failed")
    seen = set(lines(evidence))
    check(seen == {f"t{i}" for i in range(n)}, f"evidence missing for {n - len(seen)} tasks")
    # Every recorded command left its evidence (recorded only after it ran).
    # A rerun runs nothing; an added task alone runs (disBatch's resume test).
    before = len(lines(evidence))
    with open(tasks, "a") as f:
        f.write(f"echo added >> {evidence}\n")
    rc, out, err = run(tasks)
    check(rc == 0, f"rerun exited {rc}: {err}")
    after = lines(evidence)
    check(after[before:] == ["added"], f"the rerun ran more than the added task: {after[before:]}")
    check(len(read_journal(journal)[1]) == n + 1, "the added task is not recorded once")
    print(f"ok: {n} tasks, killed 3 times, each recorded once, all evidence present")


def evidence_check(evidence, n, may_repeat=()):
    """Every task t0..t{n-1} left evidence; only tasks in may_repeat (in flight when the job died:
    at-least-once execution) may have left it twice."""
    got = lines(evidence)
    seen = set(got)
    missing = {f"t{i}" for i in range(n)} - seen
    check(not missing, f"no evidence for {sorted(missing)[:10]}")
    twice = {x for x in seen if got.count(x) > 1}
    check(twice <= set(may_repeat), f"tasks ran twice that were not in flight: {twice}")


def inflight_table(tasks):
    try:
        return [json.loads(x) for x in open(tasks + ".out/.rankpool-run/inflight")]
    except OSError:
        return []


def case_lost_rank(d):
    """kill -9 of one worker rank: the job ends (no hang) naming the rank and its task, the
    journal holds only finished tasks, and a resume completes the rest."""
    n = 24
    evidence = os.path.join(d, "evidence")
    tasks = os.path.join(d, "tasks.txt")
    with open(tasks, "w") as f:
        for i in range(n):
            f.write(f"sleep 0.3; echo t{i} >> {evidence}\n")
    journal = tasks + ".journal"
    p = start(tasks, ranks=3)
    # Two records: the ranks have run a while, so rank 0 has seen them alive.
    wait_for(lambda: journal_count(journal) >= 2 or p.poll() is not None, "2 journal records")
    ranks = rank_pids(p.pid)
    check(1 in ranks, f"rank 1 not found among {ranks}")
    os.kill(ranks[1], signal.SIGKILL)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        fail("the job hung after a worker rank was killed")
    check(p.returncode != 0, f"exit 0 after a rank was lost: {err}")
    # Either rank 0's watchdog sees the loss first ("... lost"), or mpirun's SIGTERM reaches rank
    # 0 first (under load it can) and rank 0 prints its in-flight table on stopping; both name
    # rank 1 with its task and command (checked below).
    check("rank 1 on " in err and ("lost" in err or "stopping on signal" in err),
          f"the message does not name rank 1: {err}")
    table = inflight_table(tasks)
    mine = [r for r in table if r.get("rank") == 1]
    check(mine, f"the in-flight table names no task of rank 1: {table}")
    check(all(r["id"] in err and r["command"] in err for r in mine),
          f"the message does not name rank 1's task and command: {err}")
    recorded = {r["id"] for r in read_journal(journal)[1]}
    check(not recorded & {r["id"] for r in mine}, "the lost rank's task is recorded as finished")
    time.sleep(0.5)
    rc, out, err = run(tasks, ranks=3)
    check(rc == 0, f"resume exited {rc}: {err}")
    records = read_journal(journal)[1]
    ids = [r["id"] for r in records]
    check(len(ids) == n and len(set(ids)) == n, f"{len(ids)} records, {len(set(ids))} ids")
    evidence_check(evidence, n, {r["command"].split()[3] for r in table})
    print(f"ok: rank 1 killed; job ended (exit {p.returncode}) naming it and task "
          f"{mine[0]['id']}; the resume completed all {n}, each recorded once")


def case_launcher_kill(d):
    """kill -9 of mpirun alone: the ranks notice and exit, so a rerun at once is not refused
    with "in use", and it completes every task."""
    n = 24
    evidence = os.path.join(d, "evidence")
    tasks = os.path.join(d, "tasks.txt")
    with open(tasks, "w") as f:
        for i in range(n):
            f.write(f"sleep 0.3; echo t{i} >> {evidence}\n")
    journal = tasks + ".journal"
    p = start(tasks, ranks=3)
    wait_for(lambda: journal_count(journal) >= 2 or p.poll() is not None, "2 journal records")
    ranks = rank_pids(p.pid)
    check(len(ranks) == 3, f"ranks {ranks}")
    p.kill()  # mpirun alone
    p.wait()

    def all_gone():
        for pid in ranks.values():
            try:
                st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
                if st != "Z":
                    return False
            except OSError:
                pass
        return True
    wait_for(all_gone, "the ranks to exit after mpirun was killed", limit=60)
    table = inflight_table(tasks)  # rank 0 wrote it on its way out
    check(table, "rank 0 wrote no in-flight table when its launcher went")
    rc, out, err = run(tasks, ranks=3)
    check(rc == 0, f"rerun after kill -9 of mpirun exited {rc}: {err}")
    ids = [r["id"] for r in read_journal(journal)[1]]
    check(len(ids) == n and len(set(ids)) == n, f"{len(ids)} records, {len(set(ids))} ids")
    evidence_check(evidence, n, {r["command"].split()[3] for r in table})
    print(f"ok: mpirun killed; its {len(ranks)} ranks exited; the rerun completed all {n}")


def in_parallel(*fns):
    """Runs independent sub-cases at once (each in its own directory); fails if any failed."""
    import threading
    errors = []

    def wrap(fn):
        try:
            fn()
        except SystemExit:
            errors.append(fn.__name__)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"{fn.__name__}: {e!r}")
    threads = [threading.Thread(target=wrap, args=(fn,)) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, f"failed: {errors}")


def case_sigterm_drain(d):
    def drain(sig):
        sub = os.path.join(d, sig.name)
        os.mkdir(sub)
        ev = os.path.join(sub, "ev")
        tasks = os.path.join(sub, "tasks.txt")
        with open(tasks, "w") as f:
            for i in range(10):
                f.write(f"echo start{i} >> {ev}; sleep 0.4; echo end{i} >> {ev}\n")
        # Grace longer than a task: running tasks finish and are recorded, nothing new starts.
        p = start(tasks, "--grace", "30")
        wait_for(lambda: len([x for x in lines(ev) if x.startswith("start")]) >= 2, "2 starts")
        ranks = rank_pids(p.pid)
        check(0 in ranks, f"rank 0 not found among {ranks}")
        os.kill(ranks[0], sig)
        out, err = p.communicate(timeout=60)
        check(p.returncode == 3, f"{sig.name}: exit {p.returncode}, expected 3: {err}")
        check("resume" in err, f"{sig.name}: the message does not say how to resume: {err}")
        started = {x[5:] for x in lines(ev) if x.startswith("start")}
        ended = {x[3:] for x in lines(ev) if x.startswith("end")}
        check(started == ended, f"{sig.name}: tasks started but not finished: {started - ended}")
        check(len(started) < 10, f"{sig.name}: every task ran; the stop did not stop issuing")
        recorded = {r["command"].split()[1][5:] for r in read_journal(tasks + ".journal")[1]}
        check(recorded == started, f"{sig.name}: recorded {recorded}, ran {started}")
        rc, out, err = run(tasks)
        check(rc == 0, f"{sig.name}: resume exited {rc}: {err}")
        check(len(read_journal(tasks + ".journal")[1]) == 10, "resume did not complete all")
        counts = [x for x in lines(ev) if x.startswith("start")]
        check(len(counts) == 10, f"{sig.name}: a task ran twice: {sorted(counts)}")

    def sigterm():
        drain(signal.SIGTERM)

    def sigusr1():
        drain(signal.SIGUSR1)

    def sigint():
        drain(signal.SIGINT)

    def short_grace():
        short_grace_case(d)
    in_parallel(sigterm, sigusr1, sigint, short_grace)
    print("ok: SIGTERM, SIGUSR1, SIGINT drain; short grace kills and the resume completes")


def short_grace_case(d):
    ev = os.path.join(d, "ev")
    # Grace shorter than the tasks: they are killed, interrupted (in --results, not in the
    # journal), and run again on resume, which records each task exactly once.
    flag = os.path.join(d, "flag")
    long_tasks = os.path.join(d, "long.txt")
    with open(long_tasks, "w") as f:
        for i in range(4):
            f.write(f"echo s{i} >> {ev}.long; [ -e {flag} ] || sleep 300; echo e{i} >> {ev}.long\n")
    res = os.path.join(d, "long.results")
    p = start(long_tasks, "--grace", "0.5", "--kill-after", "0.5", "--results", res)
    wait_for(lambda: len(lines(ev + ".long")) >= 1, "a long task started")
    os.kill(rank_pids(p.pid)[0], signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    check(p.returncode == 3, f"short grace: exit {p.returncode}: {err}")
    check(read_journal(long_tasks + ".journal")[1] == [], "a killed task was recorded")
    killed = {x for x in lines(ev + ".long") if x.startswith("s")}
    recs = [json.loads(x) for x in open(res)]
    check(sorted("s" + r["command"].split()[1][1:] for r in recs) == sorted(killed)
          and all(r["status"] == "interrupted" for r in recs),
          f"short grace: --results {recs}, killed {killed}")
    check("interrupted" in err, f"short grace: the summary does not name the interrupted: {err}")
    open(flag, "w").close()
    rc, out, err = run(long_tasks)
    recs = read_journal(long_tasks + ".journal")[1]
    check(rc == 0 and len(recs) == 4 and len({r["id"] for r in recs}) == 4
          and all(r["status"] == "ok" for r in recs),
          f"resume after the kill: exit {rc}: {recs} {err}")
    got = lines(ev + ".long")
    for i in range(4):
        check(got.count(f"e{i}") == 1, f"short grace: task {i} completed {got.count(f'e{i}')} times")
        want = 2 if f"s{i}" in killed else 1
        check(got.count(f"s{i}") == want, f"short grace: task {i} started {got.count(f's{i}')} "
              f"times, want {want} (killed in the first run: {f's{i}' in killed})")


def case_signal_reaches_tasks(d):
    """As at Slurm's time limit or a plain scancel: SIGTERM reaches rank 0 and the running tasks'
    own shells at once (variant "all": every rank too). The tasks it kills are interrupted, not
    failed: not journaled, reported as such, and a plain resume (no --retry-failed) runs them
    again, so every task completes and is recorded exactly once. A task that kills itself with
    SIGTERM before any stop stays failed."""
    n = 6

    def one(variant):
        sub = os.path.join(d, variant)
        os.mkdir(sub)
        ev, flag = os.path.join(sub, "ev"), os.path.join(sub, "flag")
        tasks = os.path.join(sub, "tasks.txt")
        with open(tasks, "w") as f:
            f.write("kill -TERM $$\n")  # fails on its own, no stop in effect: stays failed
            for i in range(n):
                f.write(f"echo start{i}:$$ >> {ev}; [ -e {flag} ] || sleep 60; "
                        f"echo end{i} >> {ev}\n")
        journal = tasks + ".journal"
        res1, res2 = os.path.join(sub, "r1.jsonl"), os.path.join(sub, "r2.jsonl")
        p = start(tasks, "--results", res1, ranks=3)

        def running():  # {task: its shell's pid = its process group}
            got = lines(ev)
            return {x.split(":")[0][5:]: int(x.split(":")[1]) for x in got
                    if x.startswith("start") and "end" + x.split(":")[0][5:] not in got}
        wait_for(lambda: (journal_count(journal) >= 1 and len(running()) >= 2)
                 or p.poll() is not None, f"{variant}: the failing task and 2 running tasks")
        if p.poll() is not None:
            fail(f"{variant}: the run ended early: {p.communicate()}")
        groups = running()
        ranks = rank_pids(p.pid)
        check(0 in ranks, f"{variant}: rank 0 not found among {ranks}")
        targets = [-g for g in groups.values()] + [ranks[0]]
        if variant == "all":
            targets += [pid for r, pid in ranks.items() if r != 0]
        for t in targets:  # as slurmstepd does: every process, task shells first
            try:
                os.kill(t, signal.SIGTERM) if t > 0 else os.killpg(-t, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            fail(f"{variant}: the run did not end after SIGTERM")
        check(p.returncode == 3, f"{variant}: exit {p.returncode}, expected 3: {err}")
        recs = read_journal(journal)[1]
        check(len(recs) == 1 and recs[0]["command"] == "kill -TERM $$"
              and recs[0]["status"] == "failed" and recs[0].get("signal") == 15,
              f"{variant}: the journal holds {recs}; want only the self-killed task, failed")
        first = [json.loads(x) for x in open(res1)]
        stopped = {r["command"].split()[1][5:].split(":")[0] for r in first
                   if r["status"] == "interrupted"}
        check(stopped == set(groups), f"{variant}: interrupted in --results {stopped}, "
              f"killed {set(groups)}: {first}")
        check(all(r.get("signal") == 15 for r in first), f"{variant}: {first}")
        check(f"({len(groups)} interrupted)" in err and "interrupted (killed by the stop" in err,
              f"{variant}: the summary does not count and list the interrupted tasks: {err}")
        # Plain resume: exit 1 only because of the earlier failure, which it keeps.
        open(flag, "w").close()
        rc, out, err = run(tasks, "--results", res2, ranks=3)
        check(rc == 1 and "1 failed before" in err, f"{variant}: resume exited {rc}: {err}")
        recs = read_journal(journal)[1]
        ids = [r["id"] for r in recs]
        check(len(ids) == n + 1 and len(set(ids)) == n + 1,
              f"{variant}: {len(ids)} journal records of {len(set(ids))} tasks, want {n + 1}")
        check(sum(r["status"] == "ok" for r in recs) == n, f"{variant}: {recs}")
        second = [json.loads(x) for x in open(res2)]
        check(len(second) == n and all(r["status"] == "ok" for r in second),
              f"{variant}: the resume's --results: {second}")
        got = lines(ev)
        for i in range(n):
            ends = got.count(f"end{i}")
            check(ends == 1, f"{variant}: task {i} completed {ends} times")
            starts = sum(x.startswith(f"start{i}:") for x in got)
            want = 2 if str(i) in groups else 1
            check(starts == want, f"{variant}: task {i} started {starts} times, want {want}")
        return len(groups)

    def rank0():
        one("rank0")

    def all_ranks():
        one("all")
    in_parallel(rank0, all_ranks)
    print("ok: SIGTERM to rank 0 (and to every rank) and to the running tasks' shells: the killed "
          "tasks are interrupted, not failed, and a plain resume completes each exactly once")


def case_retries_timeouts(d):
    tasks = os.path.join(d, "tasks.txt")
    cnt = os.path.join(d, "cnt")
    bg = os.path.join(d, "bgpid")
    with open(tasks, "w") as f:
        f.write(f"n=$(cat {cnt} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {cnt}; "
                f"[ $n -ge 3 ]\n")                                        # ok at attempt 3
        f.write("exit 7\n")                                               # fails every time
        f.write(f"sleep 300 & echo $! > {bg}; sleep 300\n")               # timeout, group killed
        f.write("trap '' TERM; sleep 300\n")                              # ignores SIGTERM
        f.write("kill -SEGV $$\n")                                        # dies of a signal
    rc, out, err = run(tasks, "--retries", "2", "--timeout", "0.5", "--kill-after", "0.3",
                       "--results", os.path.join(d, "results.jsonl"))
    check(rc == 1, f"exit {rc}, expected 1: {err}")
    recs = {r["command"][:6]: r for r in read_journal(tasks + ".journal")[1]}
    check(len(recs) == 5, f"{len(recs)} records")
    r = recs["n=$(ca"]
    check(r["status"] == "ok" and r["attempts"] == 3, f"retry: {r}")
    r = recs["exit 7"]
    check(r["status"] == "failed" and r["attempts"] == 3 and r["exit"] == 7, f"failing: {r}")
    r = recs["sleep "]
    check(r["status"] == "failed" and r.get("timed_out") and r["attempts"] == 3, f"timeout: {r}")
    bgpid = int(open(bg).read())
    time.sleep(0.2)
    alive = os.path.exists(f"/proc/{bgpid}") and "Z" not in open(f"/proc/{bgpid}/stat").read().split()[2]
    check(not alive, "the timed-out task's background process survived")
    r = recs["trap '"]
    check(r["status"] == "failed" and r.get("signal") == 9, f"SIGTERM-ignoring task: {r}")
    r = recs["kill -"]
    check(r["status"] == "failed" and r.get("signal") == 11, f"signalled task: {r}")
    results = [json.loads(x) for x in open(os.path.join(d, "results.jsonl"))]
    check(len(results) == 5, "--results does not hold every record")
    check("exit 7" in err and "failed" in err, f"summary does not list the failure: {err}")
    # --retry-failed reruns only the failed ones; without it nothing runs.
    rc, out, err = run(tasks, "--dry-run")
    check(rc == 0 and out == "", f"dry run without --retry-failed lists tasks: {out}")
    rc, out, err = run(tasks, "--dry-run", "--retry-failed")
    check(rc == 0 and len(out.splitlines()) == 4, f"dry run --retry-failed: {out}")
    print("ok: retries, timeouts (whole group), SIGKILL after SIGTERM, signals, --retry-failed")


def case_halt(d):
    # now: the first failure kills the running tasks; they are not recorded.
    tasks = os.path.join(d, "now.txt")
    with open(tasks, "w") as f:
        f.write("sleep 0.5; exit 1\n")
        for i in range(6):
            f.write(f"sleep 300 # {i}\n")
    rc, out, err = run(tasks, "--halt", "now,fail=1", "--kill-after", "0.5")
    check(rc == 1, f"halt now: exit {rc}: {err}")
    recs = read_journal(tasks + ".journal")[1]
    check([r["status"] for r in recs] == ["failed"], f"halt now recorded {recs}")
    # soon: stop issuing after K (or P%) failures, let running tasks finish.
    for policy in ("soon,fail=2", "soon,fail=50%"):
        tasks = os.path.join(d, policy.replace(",", "_").replace("%", "pc") + ".txt")
        with open(tasks, "w") as f:
            for i in range(6):
                f.write(f"exit 1 # {i}\n")
            for i in range(200):
                f.write(f"sleep 0.01 # {i}\n")
        rc, out, err = run(tasks, "--halt", policy)
        check(rc == 1, f"{policy}: exit {rc}: {err}")
        recs = read_journal(tasks + ".journal")[1]
        check(2 <= sum(r["status"] == "failed" for r in recs), f"{policy}: failures {recs}")
        check(len(recs) < 100, f"{policy}: {len(recs)} tasks ran; the halt did not stop issuing")
        check("halting" in err, f"{policy}: no halt message: {err}")
    rc, out, err = run(tasks, "--halt", "sometimes")
    check(rc == 2 and "bad --halt" in err, f"bad --halt: {rc} {err}")
    print("ok: halt now,fail=1; soon,fail=2; soon,fail=50%; a bad policy is bad input")


def case_bad_input(d):
    good = os.path.join(d, "good.txt")
    with open(good, "w") as f:
        f.write("true\n")
    rc, out, err = run(good)
    check(rc == 0, f"good file: {rc} {err}")
    journal = good + ".journal"
    snapshot = open(journal, "rb").read()

    def expect_bad(what, args, pattern):
        rc, out, err = run(*args)
        check(rc == 2, f"{what}: exit {rc}, expected 2; stderr: {err}")
        check(pattern in err, f"{what}: message lacks '{pattern}': {err}")
        check(open(journal, "rb").read() == snapshot, f"{what}: the journal changed")

    def write(name, data):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    expect_bad("missing file", [os.path.join(d, "nope.txt"), "--journal", journal], "cannot read")
    expect_bad("empty file", [write("empty.txt", b""), "--journal", journal], "holds no commands")
    expect_bad("binary file", [write("bin.txt", b"echo a\n\x7fELF\x00\x01"), "--journal", journal],
               "binary file")
    expect_bad("long line", [write("long.txt", b"true\n" + b"x" * (2 << 20) + b"\n"),
                             "--journal", journal], "line 2 of")
    expect_bad("journal of another task file", [write("other.txt", b"true\n"), "--journal",
                                                 journal], "belongs to another task file")
    expect_bad("not a journal", [good, "--journal", good], "is not a rankpool journal")
    plain = write("plainfile", b"x")
    expect_bad("unwritable output dir", [good, "--retry-failed", "--output-dir",
                                         os.path.join(plain, "sub")], "output directory")
    expect_bad("unknown flag", [good, "--no-such-flag"], "--no-such-flag")
    expect_bad("bad number", [good, "--retries", "many"], "--retries")
    expect_bad("no task file", [], "no task file")
    expect_bad("unknown placeholder", ["--template", "echo {nope}", "--params",
                                       write("p.csv", b"a\n1\n")], "{nope}")
    # CRLF lines run as if they had LF endings.
    crlf = write("crlf.txt", b"".join(f"printf x > {d}/crlf{i}\r\n".encode() for i in range(3)))
    rc, out, err = run(crlf)
    check(rc == 0, f"CRLF file: exit {rc}: {err}")
    for i in range(3):
        check(os.path.exists(f"{d}/crlf{i}"), f"CRLF task {i} wrote to a name with a CR")
    check(not [x for x in os.listdir(d) if "\r" in x], "a file name holds a CR")
    # --help documents the exit codes.
    p = subprocess.run([ARGS.app, "--help"], capture_output=True, text=True)
    check(p.returncode == 0 and "Exit codes" in p.stdout and "3  interrupted" in p.stdout,
          "--help lacks the exit codes")
    print("ok: each bad input exits 2 with a message and leaves the journal untouched")


def peak_rss_kib(p, ranks_seen):
    """Samples VmHWM of the ranks of mpirun `p` until it ends; returns (returncode, out, err,
    {rank: peak KiB})."""
    peak = {}
    while p.poll() is None:
        for rank, pid in rank_pids(p.pid).items():
            try:
                for line in open(f"/proc/{pid}/status"):
                    if line.startswith("VmHWM:"):
                        peak[rank] = max(peak.get(rank, 0), int(line.split()[1]))
            except OSError:
                pass
        time.sleep(0.05)
    out, err = p.communicate()
    return p.returncode, out, err, peak


def case_many(d):
    """3*10^4 tasks with long, distinct commands (~3000 bytes: 90 MB of commands) in bounded
    memory: rank 0 keeps only the tasks in flight and 64-bit ids (the journal index, the
    occurrence counts), so its peak RSS stays far below the size of the commands, both while
    running them and when resuming from their 3*10^4-record journal. Keeping every command (or
    every journal record) as a string, as rankpool-run once did, needs more than the commands'
    90 MB. Few long commands rather than many short ones: a task costs its shell's start-up."""
    n = ARGS.tasks
    pad = "x" * 3000
    tasks = os.path.join(d, "many.txt")
    with open(tasks, "w") as f:
        for i in range(n):
            f.write(f": {i} {pad}\n")
    # 3 ranks: rank 0 coordinates, two run tasks (one per core here).
    rc, out, err, peak = peak_rss_kib(start(tasks, "--status-interval", "5", ranks=3), None)
    check(rc == 0, f"exit {rc}: {err[-2000:]}")
    recs = read_journal(tasks + ".journal")[1]
    check(len(recs) == n, f"{len(recs)} records, expected {n}")
    check(len({r["id"] for r in recs}) == n, "duplicate records")
    del recs
    left = [f for _, _, files in os.walk(tasks + ".out") for f in files
            if not f.startswith("rank-")]
    check(not left, f"empty outputs were not removed: {left[:5]}")
    check("running" in err and "queued" in err, f"no status line: {err[-1000:]}")
    # Resume: everything is done; the journal (3*10^4 records) is read one record at a time.
    with open(tasks, "a") as f:
        f.write(f"echo added > {d}/added\n")
    rc, out, err, peak2 = peak_rss_kib(start(tasks, ranks=3), None)
    check(rc == 0, f"resume: exit {rc}: {err[-2000:]}")
    check("1 ok" in err and f"{n} done" in err, f"resume ran more than the added task: {err}")
    mb = {r: v / 1024 for r, v in peak.items()}
    mb2 = {r: v / 1024 for r, v in peak2.items()}
    command_mib = os.path.getsize(tasks) / 2**20
    print(f"peak RSS (MiB) by rank: run {mb}, resume {mb2}; commands {command_mib:.0f} MiB")
    check(0 in peak and 0 in peak2, "rank 0's memory was not sampled")
    check(max(mb[0], mb2[0]) < ARGS.max_rss_mib,
          f"rank 0 peak RSS {mb[0]:.0f} / {mb2[0]:.0f} MiB over {ARGS.max_rss_mib} MiB")
    check(max(mb.values()) < ARGS.max_rss_mib, f"a rank's peak RSS is over the bound: {mb}")
    print(f"ok: {n} tasks, rank 0 peak RSS {mb[0]:.0f} MiB running, {mb2[0]:.0f} MiB resuming")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--app", required=True)
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--tasks", type=int, default=30000)
    ap.add_argument("--max-rss-mib", type=float, default=64)
    ap.add_argument("case")
    ARGS = ap.parse_args()
    fn = globals().get("case_" + ARGS.case)
    if not fn:
        fail("unknown case " + ARGS.case)
    d = tempfile.mkdtemp(prefix="rankpool_taskfarm_")
    try:
        fn(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()

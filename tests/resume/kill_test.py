#!/usr/bin/env python3
"""kill -9 of a running resumable map, then resumes (label "resume").

Usage: kill_test.py --app PATH --mpiexec PATH --ranks N

resume_kill_app maps 2,000 items (chunks of 10, ~2 ms each) with a journal. The whole job
(mpirun and every rank) is killed with SIGKILL three times, once at least 40, 100 and 150 chunks
are journaled; after the third kill the journal's last record is torn by cutting 5 bytes off it.
Each run writes the items it computes to an evidence file of its own. Checked:
  * no run recomputes a chunk that was journaled when it started;
  * the final run computes exactly the items missing from the journal (the torn chunk included),
    and reports them (and the torn bytes) as such;
  * the final vector equals a direct computation (checked by the app) and the journal ends with
    every chunk exactly once.
The journal is parsed here independently of the C++ reader (format: resume_journal.hpp).
"""
import argparse
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

ITEMS, CHUNK, SLEEP_US = 2000, 10, 2000
CHUNKS = ITEMS // CHUNK
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def read_records(path):
    """[(offset, chunk index)] of the intact chunk records; stops at a torn tail."""
    try:
        data = open(path, "rb").read()
    except OSError:
        return []
    pos, seen_header, out = 0, False, []
    while pos + 12 <= len(data):
        length, crc = struct.unpack("<II", data[pos + 4:pos + 12])
        if data[pos:pos + 4] != b"RPJ1" or pos + 12 + length > len(data):
            break
        payload = data[pos + 12:pos + 12 + length]
        if zlib.crc32(payload) != crc:
            break
        if not seen_header:
            check(payload.startswith(b"rankpool-journal 1\nrankpool-resumable-map 1\n"),
                  "not a resumable map journal header")
            seen_header = True
        else:
            chunk, count = struct.unpack("<QQ", payload[:16])
            check(count == CHUNK, f"record of chunk {chunk} holds {count} items")
            out.append((pos, chunk))
        pos += 12 + length
    return out


def chunks_in(path):
    return [c for _, c in read_records(path)]


def items_of(chunks):
    return {i for c in chunks for i in range(c * CHUNK, (c + 1) * CHUNK)}


def evidence(path):
    try:
        return [int(x) for x in open(path).read().split()]
    except OSError:
        return []


def rank_pids(mpirun_pid):
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


def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--app", required=True)
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--ranks", type=int, default=2)
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="rankpool-resume-kill-")
    journal = os.path.join(d, "map.journal")

    def command(run):
        return [args.mpiexec, "-n", str(args.ranks), "--oversubscribe", args.app, journal,
                os.path.join(d, f"evidence.{run}"), str(ITEMS), str(CHUNK), str(SLEEP_US)]

    try:
        computed_total = 0
        for run, kill_at in enumerate((40, 100, 150)):
            before = set(chunks_in(journal))
            p = subprocess.Popen(command(run), env=ENV, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, start_new_session=True)
            deadline = time.monotonic() + 120
            ranks = {}
            while len(chunks_in(journal)) < kill_at and p.poll() is None:
                check(time.monotonic() < deadline, f"run {run}: {kill_at} records never came")
                if len(ranks) < args.ranks:
                    ranks = rank_pids(p.pid)
                time.sleep(0.01)
            if p.poll() is not None:
                fail(f"run {run} ended before the kill: {p.communicate()}")
            check(len(ranks) == args.ranks, f"run {run}: found ranks {ranks} only")
            os.killpg(p.pid, signal.SIGKILL)
            for pid in ranks.values():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            p.communicate()
            deadline = time.monotonic() + 30
            while not all(gone(pid) for pid in ranks.values()):
                check(time.monotonic() < deadline, "killed ranks did not go away")
                time.sleep(0.01)
            after = chunks_in(journal)
            check(len(after) < CHUNKS, f"run {run} finished before the kill")
            check(len(after) == len(set(after)), f"run {run}: a chunk journaled twice")
            ev = evidence(os.path.join(d, f"evidence.{run}"))
            computed_total += len(ev)
            again = set(ev) & items_of(before)
            check(not again, f"run {run} recomputed {len(again)} journaled items")
            print(f"run {run}: killed at {len(after)} chunks journaled "
                  f"(started with {len(before)}), computed {len(ev)} items")

        # Tear the last record as a crash mid-append would.
        records = read_records(journal)
        torn_chunk = records[-1][1]
        size = os.path.getsize(journal)
        with open(journal, "r+b") as f:
            f.truncate(size - 5)
        torn_bytes = size - 5 - records[-1][0]
        kept = chunks_in(journal)
        check(torn_chunk not in kept and len(kept) == len(records) - 1, "tearing failed")

        run = 3
        p = subprocess.run(command(run), env=ENV, capture_output=True, text=True, timeout=240)
        check(p.returncode == 0, f"final run exited {p.returncode}: {p.stdout}{p.stderr}")
        check("result: match" in p.stdout, f"final vector differs: {p.stdout}")
        m = re.search(r"report chunks=(\d+) from_journal=(\d+) computed=(\d+) torn_bytes=(\d+)",
                      p.stdout)
        check(m is not None, f"no report: {p.stdout}")
        chunks, from_journal, computed, torn = map(int, m.groups())
        check((chunks, from_journal, computed, torn) == (CHUNKS, len(kept), CHUNKS - len(kept),
                                                          torn_bytes),
              f"report {m.group(0)}, expected {len(kept)} from the journal, "
              f"{CHUNKS - len(kept)} computed, {torn_bytes} torn bytes")
        ev = evidence(os.path.join(d, f"evidence.{run}"))
        computed_total += len(ev)
        missing = set(range(ITEMS)) - items_of(kept)
        check(set(ev) == missing, f"final run computed {len(set(ev))} distinct items, "
              f"{len(missing)} were missing; extra {sorted(set(ev) - missing)[:10]}, "
              f"not run {sorted(missing - set(ev))[:10]}")
        check(torn_chunk * CHUNK in set(ev), "the torn chunk was not recomputed")
        final = chunks_in(journal)
        check(sorted(final) == list(range(CHUNKS)), "the final journal lacks or repeats chunks")
        print(f"run 3: resumed from {len(kept)} chunks (torn record of chunk {torn_chunk}, "
              f"{torn_bytes} bytes, dropped), computed {len(ev)} items; vector matches")
        print(f"ok: {args.ranks} ranks, 3 kills, {computed_total} item computations for "
              f"{ITEMS} items ({computed_total - ITEMS} repeated: chunks in flight at the kills)")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Runs a rankpool example under mpiexec and compares its stdout with the seed's output.

One example (what ctest runs):

    check_output.py --name square --exe build/apps/examples/rankpool-example-square --ranks 2

Every example found in expected/, plus the demo, at 2 and 4 ranks (by hand):

    check_output.py --bindir build-examples/apps/examples

The expected output of example <name> is expected/<name>.txt, next to this script. The
comparison is exact, line by line, except that:
  * a line "Time taken to execute the program: <seconds>" matches any such line whose <seconds>
    is a non-negative float printed as Python prints it (the time is measured, not fixed);
  * for the examples in UNORDERED, whose output order legitimately varies from run to run, the
    lines are compared as a multiset;
  * for the examples in UNORDERED_BUT_LAST, whose lines come from concurrent processes and whose
    last line is printed by the main process once it has joined them, all lines but the last are
    compared as a multiset and the last line exactly.
The demo has no expected file: it must exit 0 and end with "demo finished: N checks passed".
Any example must exit 0 and finish within the timeout.
"""

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED_DIR = os.path.join(HERE, "expected")

# Examples whose output order depends on which task completes first.
UNORDERED = {"imap_unordered", "lock"}
# Examples whose lines, but the last, come from processes running concurrently.
UNORDERED_BUT_LAST = {"process_numbers", "process_squares_cubes", "process_four", "semaphore"}

TIMING = re.compile(r"^(Time taken to execute the program: )(\S+)$")
# Python's repr of a float: 0.0123, 12.5, 3.0, 1e-05, 1.5e-05, 2.5e+16.
PY_FLOAT = re.compile(r"^(\d+\.\d+|\d(\.\d+)?e[+-]\d{2,3})$")
DEMO_LAST_LINE = re.compile(r"^demo finished: (\d+) checks passed$")

DEFAULT_RANKS = (2, 4)


def normalise(lines, problems):
    """Replaces measured times by a placeholder; reports a time that is not a valid float."""
    out = []
    for line in lines:
        m = TIMING.match(line)
        if m:
            value = m.group(2)
            if not PY_FLOAT.match(value) or float(value) < 0:
                problems.append("bad time %r (expected a non-negative float as Python prints it)"
                                % value)
            line = m.group(1) + "<seconds>"
        out.append(line)
    return out


def run_example(mpiexec, numproc_flag, ranks, exe, args, timeout):
    """Returns (returncode, stdout, stderr); returncode None on timeout."""
    env = dict(os.environ)
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    cmd = [mpiexec, numproc_flag, str(ranks), "--oversubscribe", exe] + list(args)
    print("+ " + " ".join(cmd), flush=True)
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return None, e.stdout or b"", e.stderr or b""
    return proc.returncode, proc.stdout, proc.stderr


def check(name, exe, ranks, mpiexec, numproc_flag, timeout, args=()):
    """Runs one example once; prints what differs; returns True when it passes."""
    rc, out, err = run_example(mpiexec, numproc_flag, ranks, exe, args, timeout)
    text = out.decode("utf-8", errors="replace")
    actual = text.splitlines()
    problems = []
    if rc is None:
        problems.append("timed out after %s s" % timeout)
    elif rc != 0:
        problems.append("exit code %d (expected 0)" % rc)

    if name == "demo":
        last = actual[-1] if actual else ""
        if not DEMO_LAST_LINE.match(last):
            problems.append("last line is %r, expected 'demo finished: N checks passed'" % last)
    else:
        with open(os.path.join(EXPECTED_DIR, name + ".txt"), encoding="utf-8") as f:
            expected = f.read().splitlines()
        got = normalise(actual, problems)
        want = normalise(expected, [])
        if name in UNORDERED:
            differs = sorted(got) != sorted(want)
            how = "as a multiset of lines"
        elif name in UNORDERED_BUT_LAST:
            differs = (sorted(got[:-1]) != sorted(want[:-1])) or (got[-1:] != want[-1:])
            how = "as a multiset of lines, but the last line exactly"
        else:
            differs = got != want
            how = "line by line"
        if differs:
            problems.append("stdout differs from %s (compared %s):\n%s" % (
                os.path.relpath(os.path.join(EXPECTED_DIR, name + ".txt")), how,
                "\n".join(difflib.unified_diff(want, got, "expected", "actual", lineterm=""))))

    label = "%s at %d ranks" % (name, ranks)
    if problems:
        print("FAIL: %s" % label)
        for p in problems:
            print("  " + p)
        print("---- stdout ----\n" + text, end="" if text.endswith("\n") or not text else "\n")
        if err:
            print("---- stderr ----\n" + err.decode("utf-8", errors="replace"))
        return False
    print("ok: %s" % label)
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", help="example name: expected/<name>.txt, or 'demo'")
    p.add_argument("--exe", help="the example's executable (with --name)")
    p.add_argument("--bindir", help="check every example in this folder (rankpool-example-<name>"
                   " and rankpool-demo)")
    p.add_argument("--ranks", type=int, action="append",
                   help="MPI ranks (repeatable; default 2 and 4 with --bindir)")
    p.add_argument("--mpiexec", default=shutil.which("mpiexec") or "mpiexec")
    p.add_argument("--numproc-flag", default="-n")
    p.add_argument("--timeout", type=float, default=50.0, help="seconds per run")
    p.add_argument("args", nargs="*", help="arguments for the example (after --)")
    o = p.parse_args()

    if o.name:
        if not o.exe:
            p.error("--name needs --exe")
        ok = all(check(o.name, o.exe, n, o.mpiexec, o.numproc_flag, o.timeout, o.args)
                 for n in (o.ranks or [DEFAULT_RANKS[0]]))
        return 0 if ok else 1

    if not o.bindir:
        p.error("give --name and --exe, or --bindir")
    names = sorted(f[:-4] for f in os.listdir(EXPECTED_DIR) if f.endswith(".txt"))
    failed = []
    for name in names + ["demo"]:
        exe = os.path.join(o.bindir, "rankpool-demo" if name == "demo"
                           else "rankpool-example-" + name)
        for n in (o.ranks or DEFAULT_RANKS):
            if not check(name, exe, n, o.mpiexec, o.numproc_flag, o.timeout, o.args):
                failed.append("%s.%dranks" % (name, n))
    print("%d failed: %s" % (len(failed), " ".join(failed)) if failed else "all passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

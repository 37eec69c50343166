#!/usr/bin/env python3
"""The bad-input catalogue's runner (ctest label "bad_input").

cases.json is the single source of truth: every case names a program, the bad input, the exit
code and a regular expression the message must match. This script runs every case (under
mpirun with --oversubscribe when it has ranks) and reports every failing case, not only the
first. A case fails when:
  - its exit code differs from the expected one (a hang is killed after its timeout and fails;
    so do a signal, 134 (abort) and 139 (segfault), which no case may expect),
  - its output does not match its message regex, or shows a crash ("terminate called",
    "Segmentation fault", a signal in mpirun's report),
  - a journal it names ("journal") changed: the bytes must be identical and read back as the
    same records, or a file it names under "exists" is missing.

Usage:
  run_cases.py --mpiexec PATH --probe PATH --square PATH --cube PATH [--run PATH]
               [--bench-map PATH] [--jobs N] [--only ID,...]
  run_cases.py --write-doc     regenerate CATALOGUE.md from cases.json
  run_cases.py --check-doc     fail if CATALOGUE.md is not what --write-doc would write, or
                               README.md gives another number of cases
"""
import argparse
import concurrent.futures
import fcntl
import json
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

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases.json")
DOC = os.path.join(HERE, "CATALOGUE.md")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
# Output that means a crash whatever the exit code.
CRASH = re.compile(r"terminate called|Segmentation fault|core dumped|Aborted|"
                   r"exited on signal|Signal: |AddressSanitizer|runtime error:")
# Placeholders that name programs; a case whose program was not built is skipped.
PROGRAMS = ("probe", "square", "cube", "run", "bench_map")


def load():
    with open(CASES) as f:
        data = json.load(f)
    ids = [c["id"] for c in data["cases"]]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        sys.exit(f"cases.json: duplicate ids {sorted(dup)}")
    for c in data["cases"]:
        for key in ("id", "area", "wrong", "argv", "exit", "message"):
            if key not in c:
                sys.exit(f"cases.json: case {c.get('id')} lacks '{key}'")
        if c["exit"] in (134, 139) or c["exit"] < 0 or c["exit"] > 255:
            sys.exit(f"cases.json: case {c['id']} expects exit {c['exit']}, a crash")
        re.compile(c["message"])
    return data


# ---- the generated catalogue ------------------------------------------------------------------

def pretty_argv(case):
    """The command as a user would type it (program names instead of build paths)."""
    names = {"probe": "rankpool-bad-input-probe", "square": "rankpool-example-square",
             "cube": "rankpool-example-cube", "run": "rankpool-run",
             "bench_map": "rankpool-bench-map"}
    words = []
    for a in case["argv"]:
        for k, v in names.items():
            a = a.replace("{" + k + "}", v)
        a = a.replace("{case}/", "").replace("{tmp}/", "")
        words.append(a if re.fullmatch(r"[\w@%+=:,./-]+", a) else "'" + a + "'")
    cmd = " ".join(words)
    env = " ".join(f"{k}={v}" for k, v in case.get("env", {}).items())
    ranks = case.get("ranks", 0)
    if ranks:
        cmd = f"mpirun -n {ranks} {cmd}"
    return (env + " " + cmd).strip()


def cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def render_doc(data):
    out = [
        "# Bad-input catalogue",
        "",
        "<!-- Generated from cases.json by run_cases.py --write-doc; ctest bad_input.catalogue "
        "fails if it differs. Edit cases.json, not this file. -->",
        "",
        "Every row is run by `ctest -L bad_input` (`tests/bad_input/run_cases.py`): the program "
        "must exit with the code shown (never a signal, 134 or 139, never a hang: each case has "
        "a timeout), print a message matching the pattern, and leave the journal it names "
        "byte for byte as it was. Exit codes: `rankpool::run` returns 1 when an exception "
        "escapes the program's function, 2 for bad options, 3 when ranks run different builds "
        "(README, \"Errors\"); `rankpool-run` returns 2 for bad input (`rankpool-run --help`). "
        "Files named in a command are made by the case (see cases.json); `probe` is "
        "`tests/bad_input/probe.cpp`, one misuse of the API per case.",
        "",
    ]
    areas = data["areas"]
    counts = {a: sum(1 for c in data["cases"] if c["area"] == a) for a in areas}
    out.append(f"{len(data['cases'])} cases: " +
               ", ".join(f"{areas[a]} {counts[a]}" for a in areas) + ".")
    for area, title in areas.items():
        cases = [c for c in data["cases"] if c["area"] == area]
        if not cases:
            continue
        out += ["", f"## {title}", "",
                "| id | what is wrong | command | exit | message matches | notes |",
                "|---|---|---|---|---|---|"]
        for c in cases:
            notes = []
            if c.get("journal"):
                notes.append("journal unchanged")
            if c.get("fixed"):
                notes.append("fixed: " + c["fixed"])
            if c.get("also"):
                notes.append("also: " + c["also"])
            out.append(f"| `{c['id']}` | {cell(c['wrong'])} | `{cell(pretty_argv(c))}` | "
                       f"{c['exit']} | `{cell(c['message'])}` | {cell('; '.join(notes))} |")
    return "\n".join(out) + "\n"


# ---- running the cases ------------------------------------------------------------------------

def read_journal(path):
    """(owner, records) of a rankpool journal (format: rankpool/detail/journal.hpp)."""
    data = open(path, "rb").read()
    pos, owner, records = 0, None, []
    while pos + 12 <= len(data):
        magic, (length, crc) = data[pos:pos + 4], struct.unpack("<II", data[pos + 4:pos + 12])
        if magic != b"RPJ1" or pos + 12 + length > len(data):
            break
        payload = data[pos + 12:pos + 12 + length]
        if zlib.crc32(payload) != crc:
            break
        if owner is None:
            owner = payload
        else:
            records.append(json.loads(payload))
        pos += 12 + length
    return owner, records, pos == len(data)


def subst(text, tools, tmp, case_dir):
    for k in PROGRAMS:
        text = text.replace("{" + k + "}", tools.get(k) or "{" + k + "}")
    return text.replace("{tmp}", tmp).replace("{case}", case_dir)


def make_file(path, spec):
    """A file from its spec: a string, or {text, repeat: [piece, count], then, mode: fifo|dir}."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(spec, str):
        spec = {"text": spec}
    kind = spec.get("kind")
    if kind == "fifo":
        os.mkfifo(path)
        return
    if kind == "dir":
        os.makedirs(path, exist_ok=True)
        return
    with open(path, "wb") as f:
        f.write(spec.get("text", "").encode("utf-8", "surrogatepass"))
        if "repeat" in spec:
            piece, count = spec["repeat"]
            f.write(piece.encode() * count)
        f.write(spec.get("then", "").encode())


def run_case(case, tools, tmp, mpiexec, fixture_journal):
    """Returns (id, problems, seconds, skipped)."""
    needed = [k for k in PROGRAMS if any("{" + k + "}" in a for a in case["argv"])]
    missing = [k for k in needed if not tools.get(k)]
    if missing:
        return case["id"], [], 0.0, f"not built: {', '.join(missing)}"
    case_dir = os.path.join(tmp, case["id"])
    os.makedirs(case_dir, exist_ok=True)
    for name, spec in case.get("files", {}).items():
        make_file(os.path.join(case_dir, name), spec)
    argv = [subst(a, tools, tmp, case_dir) for a in case["argv"]]
    if case.get("ranks", 0):
        argv = [mpiexec, "-n", str(case["ranks"]), "--oversubscribe"] + argv
    env = dict(ENV, **{k: subst(v, tools, tmp, case_dir) for k, v in case.get("env", {}).items()})
    journal = subst(case["journal"], tools, tmp, case_dir) if case.get("journal") else None
    before = open(journal, "rb").read() if journal else None
    lock = None
    if case.get("hold_lock"):
        lock = open(subst(case["hold_lock"], tools, tmp, case_dir), "rb")
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a running rankpool-run holds it
    problems = []
    start = time.monotonic()
    timeout = case.get("timeout", 90)
    p = subprocess.Popen(argv, env=env, cwd=case_dir, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        rc = None
        problems.append(f"HANG: no exit within {timeout} s")
    finally:
        if lock:
            lock.close()
    seconds = time.monotonic() - start
    text = out.decode("utf-8", "replace")
    if rc is not None:
        if rc < 0 or rc in (134, 139):
            problems.append(f"CRASH: exit {rc}")
        elif rc != case["exit"]:
            problems.append(f"exit {rc}, expected {case['exit']}")
    crash = CRASH.search(text)
    if crash:
        problems.append(f"CRASH: output shows '{crash.group(0)}'")
    if not re.search(case["message"], text, re.MULTILINE):
        problems.append(f"message does not match /{case['message']}/")
    if journal:
        after = open(journal, "rb").read() if os.path.exists(journal) else b""
        if after != before:
            problems.append(f"journal {journal} changed ({len(before)} -> {len(after)} bytes)")
        owner, records, whole = read_journal(journal)
        if (owner, records) != fixture_journal or not whole:
            problems.append(f"journal {journal} no longer reads back as the same records")
    for path in case.get("exists", []):
        if not os.path.exists(subst(path, tools, tmp, case_dir)):
            problems.append(f"{path} was not written")
    if problems:
        lines = [ln for ln in text.strip().splitlines() if not ln.startswith("-----")]
        shown = lines if len(lines) <= 12 else lines[:8] + ["..."] + lines[-4:]
        problems.append("command: " + " ".join(argv) + "\n    output:\n" +
                        "\n".join("      " + ln for ln in shown))
    return case["id"], problems, seconds, None


def make_fixture(tmp, tools, mpiexec):
    """good.txt and its journal (one completed task), shared by the journal cases."""
    good = os.path.join(tmp, "good.txt")
    with open(good, "w") as f:
        f.write("true\n")
    if not tools.get("run"):
        return None
    p = subprocess.run([mpiexec, "-n", "1", "--oversubscribe", tools["run"], good], env=ENV,
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        sys.exit(f"fixture: rankpool-run good.txt exited {p.returncode}: {p.stderr}")
    owner, records, whole = read_journal(good + ".journal")
    if owner is None or len(records) != 1 or not whole:
        sys.exit("fixture: good.txt.journal does not hold one record")
    return owner, records


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mpiexec")
    for k in PROGRAMS:
        ap.add_argument("--" + k.replace("_", "-"), dest=k)
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--write-doc", action="store_true")
    ap.add_argument("--check-doc", action="store_true")
    args = ap.parse_args()
    data = load()
    if args.write_doc:
        with open(DOC, "w") as f:
            f.write(render_doc(data))
        print(f"wrote {DOC} ({len(data['cases'])} cases)")
        return 0
    if args.check_doc:
        current = open(DOC).read() if os.path.exists(DOC) else ""
        if current != render_doc(data):
            print(f"FAIL: {DOC} is not what cases.json gives; run run_cases.py --write-doc",
                  file=sys.stderr)
            return 1
        readme = os.path.join(HERE, "..", "..", "README.md")
        m = re.search(r"CATALOGUE\.md\)\s+lists\s+(\d+)\s+cases", open(readme).read())
        if m and int(m.group(1)) != len(data["cases"]):
            print(f"FAIL: README.md says {m.group(1)} cases, cases.json has {len(data['cases'])}",
                  file=sys.stderr)
            return 1
        print(f"ok: CATALOGUE.md matches cases.json ({len(data['cases'])} cases)")
        return 0
    if not args.mpiexec:
        ap.error("--mpiexec is required to run the cases")
    tools = {k: os.path.abspath(getattr(args, k)) if getattr(args, k) else None for k in PROGRAMS}
    cases = data["cases"]
    if args.only:
        wanted = set(args.only.split(","))
        cases = [c for c in cases if c["id"] in wanted]
    tmp = tempfile.mkdtemp(prefix="rankpool-bad-input-")
    start = time.monotonic()
    failed, skipped = [], []
    try:
        fixture = make_fixture(tmp, tools, args.mpiexec)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
            futures = [ex.submit(run_case, c, tools, tmp, args.mpiexec, fixture) for c in cases]
            for case, fut in zip(cases, futures):
                try:
                    cid, problems, seconds, skip = fut.result()
                except Exception as e:  # the runner itself failed on this case
                    cid, problems, seconds, skip = case["id"], [f"runner error: {e!r}"], 0.0, None
                if skip:
                    skipped.append(cid)
                    print(f"skip {cid} ({skip})")
                elif problems:
                    failed.append(cid)
                    print(f"FAIL {cid} ({seconds:.1f} s)\n    " + "\n    ".join(problems))
                else:
                    print(f"ok   {cid} ({seconds:.1f} s)")
    finally:
        if args.keep:
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    total = time.monotonic() - start
    ran = len(cases) - len(skipped)
    print(f"{ran - len(failed)} of {ran} cases passed, {len(skipped)} skipped, {total:.1f} s")
    if failed:
        print("failing cases: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

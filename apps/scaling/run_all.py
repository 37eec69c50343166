#!/usr/bin/env python3
"""Runs the whole comparison in one go and writes the ratios: rankpool-scaling (rankpool and the
hand-written MPI static scatter/gather and dynamic master/worker, all in one mpirun), then Python's
multiprocessing.Pool and, when mpi4py is installed, mpi4py.futures, on the same workloads and
sizes. Writes to --out:
  scaling.csv, scaling.json   rankpool-scaling's own output
  peers.csv                   the Python peers' rows (same columns; t1, speed-up, efficiency and
                              METG filled in from the same definitions)
  all.csv                     both together (what jobs/plot_scaling.py reads)
  ratios.md, ratios.csv       the issue-6 targets: each ratio, its target, met or not

  apps/scaling/run_all.py --build build --ranks 2 --out scaling-out
  apps/scaling/run_all.py --build build --ranks 2 --no-python --tiny-n 100000 ...   (quick)

Sizes default to ../shared/bench's (10^7 tiny inputs, 2000 x 1 ms, imbalanced-2000, a sweep of
1 s of work per point); every size option is passed to all implementations alike."""

import argparse
import csv
import math
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE_OPTIONS = ["tiny-n", "uniform-n", "uniform-us", "imbalanced-file", "sweep-us", "sweep-work",
                "reps", "sweep-reps"]


def find_python(candidates, module):
    for py in candidates:
        try:
            if subprocess.run([py, "-c", f"import {module}"], capture_output=True).returncode == 0:
                return py
        except OSError:
            pass
    return None


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def fnum(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def metg50(points):
    """As rankpool-scaling: smallest duration from which efficiency stays >= 0.5, interpolated."""
    points = sorted(points)
    if not points or not points[-1][1] >= 0.5:
        return None
    j = len(points) - 1
    while j > 0 and points[j - 1][1] >= 0.5:
        j -= 1
    if j == 0:
        return points[0][0]
    (ta, ea), (tb, eb) = points[j - 1], points[j]
    f = (0.5 - ea) / (eb - ea)
    return math.exp(math.log(ta) + f * (math.log(tb) - math.log(ta)))


def complete_peer_rows(peers, ours):
    """t1 and the lower bound are properties of the workload: take them from rankpool-scaling's
    rows of the same (workload, task_us, ranks), then derive speed-up, efficiency, METG."""
    ref = {(r["workload"], r["task_us"], r["ranks"]): r for r in ours if r["impl"] != "serial"}
    for r in peers:
        o = ref.get((r["workload"], r["task_us"], r["ranks"]))
        if not o:
            continue
        t, t1, p = fnum(r["time_s"]), fnum(o["t1_s"]), int(r["ranks"])
        r["t1_s"], r["lower_bound_s"] = o["t1_s"], o["lower_bound_s"]
        r["speedup"] = f"{t1 / t:.6g}"
        r["efficiency"] = f"{t1 / t / p:.6g}"
        r["makespan_over_lb"] = f"{t / fnum(o['lower_bound_s']):.6g}"
    for impl in {r["impl"] for r in peers}:
        for p in {r["ranks"] for r in peers}:
            sweep = [r for r in peers if r["impl"] == impl and r["ranks"] == p
                     and r["workload"] == "granularity" and r["efficiency"]]
            m = metg50([(int(r["task_us"]), fnum(r["efficiency"])) for r in sweep])
            for r in sweep:
                r["metg50_us"] = f"{m:.6g}" if m else ""


def ratios(rows):
    """The targets of issue 6, at every rank count measured."""
    def get(workload, impl, p, col="time_s", task_us="0"):
        for r in rows:
            if (r["workload"], r["impl"], r["ranks"], r["task_us"]) == (workload, impl, p, task_us):
                return fnum(r[col])
        return math.nan

    def metg(impl, p):
        for r in rows:
            if r["workload"] == "granularity" and r["impl"] == impl and r["ranks"] == p:
                return fnum(r["metg50_us"]) if r["metg50_us"] else math.inf
        return math.nan

    out = []
    for p in sorted({r["ranks"] for r in rows if r["impl"] != "serial"}, key=int):
        def add(what, value, target, ok):
            out.append({"ranks": p, "ratio": what, "value": f"{value:.3g}", "target": target,
                        "met": "" if math.isnan(value) else ("yes" if ok(value) else "NO")})
        t = lambda w, i: get(w, i, p)
        add("tiny: rankpool / mpi-static", t("tiny", "rankpool") / t("tiny", "mpi-static"),
            "<= 1.25", lambda v: v <= 1.25)
        add("tiny: mp-pool / rankpool", t("tiny", "mp-pool") / t("tiny", "rankpool"), ">= 8",
            lambda v: v >= 8)
        add("tiny: mpi4py-futures / rankpool",
            t("tiny", "mpi4py-futures") / t("tiny", "rankpool"), "(none)", lambda v: True)
        for impl in ("rankpool", "rankpool-chunk1"):
            add(f"uniform: {impl} / mpi-static", t("uniform", impl) / t("uniform", "mpi-static"),
                "<= 1.03", lambda v: v <= 1.03)
        for impl in ("rankpool", "rankpool-chunk1"):
            add(f"imbalanced: {impl} / lower bound",
                get("imbalanced", impl, p, "makespan_over_lb"), "<= 1.10", lambda v: v <= 1.10)
            for peer in ("mpi-static", "mpi-dynamic"):
                add(f"imbalanced: {impl} / {peer}", t("imbalanced", impl) / t("imbalanced", peer),
                    "< 1", lambda v: v < 1)
        for impl, peer in (("rankpool", "mpi-static"), ("rankpool-chunk1", "mpi-dynamic"),
                           ("rankpool", "mpi-dynamic")):
            add(f"METG(50%): {impl} / {peer}", metg(impl, p) / metg(peer, p), "<= 2",
                lambda v: v <= 2)
        for w in ("mandelbrot", "pi"):
            add(f"{w}: rankpool-chunk1 / mpi-dynamic", t(w, "rankpool-chunk1") / t(w, "mpi-dynamic"),
                "(none)", lambda v: True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="the build directory")
    ap.add_argument("--ranks", default="2", help="rank counts, e.g. 1,2")
    ap.add_argument("--out", default="scaling-out")
    ap.add_argument("--launcher", default="mpirun --oversubscribe",
                    help="the MPI launcher and its options; '-n P' is appended")
    ap.add_argument("--no-python", action="store_true", help="skip the Python peers")
    ap.add_argument("--weak", action="store_true",
                    help="weak scaling (rankpool-scaling --weak); the Python peers are skipped")
    ap.add_argument("--workloads", default="tiny,uniform,imbalanced,granularity,mandelbrot,pi")
    for o in SIZE_OPTIONS:
        ap.add_argument("--" + o)
    ap.add_argument("--scaling-args", default="", help="more options for rankpool-scaling")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    ranks = [int(r) for r in a.ranks.split(",")]
    sizes = []
    for o in SIZE_OPTIONS:
        v = getattr(a, o.replace("-", "_"))
        if v is not None:
            sizes += ["--" + o, v]
    launcher = shlex.split(a.launcher)
    exe = os.path.join(a.build, "apps", "scaling", "rankpool-scaling")
    if not os.access(exe, os.X_OK):
        sys.exit(f"run_all.py: {exe} not found: build the rankpool-scaling target, or pass --build")
    env = dict(os.environ)
    if os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")

    def run(cmd):
        print("+", " ".join(shlex.quote(c) for c in cmd), flush=True)
        return subprocess.run(cmd, env=env).returncode

    ours_csv = os.path.join(a.out, "scaling.csv")
    rc = run(launcher + ["-n", str(max(ranks)), exe, "--ranks", a.ranks, "--workloads",
                         a.workloads, "--csv", ours_csv, "--json",
                         os.path.join(a.out, "scaling.json")] + sizes +
             shlex.split(a.scaling_args) + (["--weak"] if a.weak else []))
    if rc != 0:
        sys.exit(f"run_all.py: rankpool-scaling failed (exit {rc})")
    ours, peers = read_csv(ours_csv), []
    if not a.no_python and not a.weak:
        peer_sizes = [s for s in sizes]
        py_workloads = ",".join(w for w in a.workloads.split(",") if w not in ("mandelbrot", "pi"))
        peer_dir = os.path.join(HERE, "peers")
        # Debian's python3-mpi4py lives in the system interpreter, which may not be the first
        # python3 on PATH (pyenv, venvs).
        mp_py = sys.executable
        mpi_py = find_python([sys.executable, "python3", "/usr/bin/python3"], "mpi4py")
        for p in ranks:
            out = os.path.join(a.out, f"peer-mp-pool-{p}.csv")
            if run([mp_py, os.path.join(peer_dir, "mp_pool.py"), "--processes", str(p),
                    "--workloads", py_workloads, "--csv", out] + peer_sizes) == 0:
                peers += read_csv(out)
            if mpi_py is None:
                print("run_all.py: mpi4py not installed (Debian: python3-mpi4py): "
                      "skipping mpi4py.futures", flush=True)
            elif p >= 2:
                out = os.path.join(a.out, f"peer-mpi4py-futures-{p}.csv")
                if run(launcher + ["-n", str(p), mpi_py, "-m", "mpi4py.futures",
                                   os.path.join(peer_dir, "mpi4py_futures.py"), "--workloads",
                                   py_workloads, "--csv", out] + peer_sizes) == 0:
                    peers += read_csv(out)
        complete_peer_rows(peers, ours)
    fields = list(ours[0].keys()) if ours else []
    for name, rows in (("peers.csv", peers), ("all.csv", ours + peers)):
        with open(os.path.join(a.out, name), "w", newline="") as f:
            w = csv.DictWriter(f, fields)
            w.writeheader()
            w.writerows(rows)
    rat = ratios(ours + peers)
    with open(os.path.join(a.out, "ratios.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, ["ranks", "ratio", "value", "target", "met"])
        w.writeheader()
        w.writerows(rat)
    lines = ["| ranks | ratio | value | target | met |", "|---|---|---|---|---|"]
    lines += [f"| {r['ranks']} | {r['ratio']} | {r['value']} | {r['target']} | {r['met']} |"
              for r in rat if r["value"] != "nan"]
    with open(os.path.join(a.out, "ratios.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

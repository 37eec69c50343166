#!/usr/bin/env python3
"""Plots a scaling study: rankpool-scaling's CSV (or apps/scaling/run_all.py's all.csv) -> one
PNG with, for every workload, speed-up, efficiency and imbalance (makespan / lower bound) against
the rank count, each with its ideal line, and the granularity sweep's efficiency against the task
duration with the 50% line that defines METG(50%).

  python3 jobs/plot_scaling.py results/scaling.csv -o results/scaling.png \\
      --note "2-core VM, Open MPI 4.1, 2 ranks real, 4 oversubscribed"

Needs matplotlib (Debian: python3-matplotlib). Exit 2 with a message on a missing or malformed
CSV."""

import argparse
import csv
import math
import sys

ORDER = ["tiny", "uniform", "imbalanced", "mandelbrot", "pi"]
NEEDED = ["workload", "impl", "ranks", "task_us", "time_s", "speedup", "efficiency",
          "makespan_over_lb"]


def die(msg):
    print(f"plot_scaling.py: {msg}", file=sys.stderr)
    sys.exit(2)


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def load(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        die(f"cannot read {path}: {e.strerror}")
    if not rows:
        die(f"{path} has no rows")
    missing = [c for c in NEEDED if c not in rows[0]]
    if missing:
        die(f"{path} lacks the columns {', '.join(missing)}: is it "
                 "rankpool-scaling's CSV?")
    return [r for r in rows if r["impl"] != "serial"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv")
    ap.add_argument("-o", "--output", default="scaling.png")
    ap.add_argument("--note", default="", help="what the numbers were measured on")
    ap.add_argument("--oversubscribed-above", type=int, default=0,
                    help="shade rank counts above this (more ranks than cores)")
    ap.add_argument("--dpi", type=int, default=72)
    a = ap.parse_args()
    rows = load(a.csv)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_scaling.py: matplotlib is not installed (Debian: python3-matplotlib)",
              file=sys.stderr)
        return 3

    workloads = [w for w in ORDER if any(r["workload"] == w for r in rows)]
    sweep = [r for r in rows if r["workload"] == "granularity"]
    nrows = len(workloads) + (1 if sweep else 0)
    if nrows == 0:
        die("nothing to plot")
    fig, axes = plt.subplots(nrows, 3, figsize=(12, 2.6 * nrows), squeeze=False)
    impls = sorted({r["impl"] for r in rows})
    colors = {i: c for i, c in zip(impls, plt.rcParams["axes.prop_cycle"].by_key()["color"] * 3)}
    all_ranks = sorted({int(r["ranks"]) for r in rows})
    for row, w in enumerate(workloads):
        for col, (key, label, ideal) in enumerate([
                ("speedup", "speed-up", lambda p: p), ("efficiency", "efficiency", lambda p: 1.0),
                ("makespan_over_lb", "makespan / lower bound", lambda p: 1.0)]):
            ax = axes[row][col]
            ax.plot(all_ranks, [ideal(p) for p in all_ranks], "k--", lw=1, label="ideal")
            for impl in impls:
                pts = sorted((int(r["ranks"]), num(r[key])) for r in rows
                             if r["workload"] == w and r["impl"] == impl)
                pts = [(p, v) for p, v in pts if not math.isnan(v)]
                if pts:
                    ax.plot(*zip(*pts), "o-", color=colors[impl], label=impl, ms=4)
            if a.oversubscribed_above:
                ax.axvspan(a.oversubscribed_above + 0.5, max(all_ranks) + 0.5, color="0.9",
                           label="oversubscribed")
            ax.set_xticks(all_ranks)
            ax.set_title(f"{w}: {label}", fontsize=9)
            ax.set_xlabel("ranks", fontsize=8)
            ax.tick_params(labelsize=7)
            if row == 0 and col == 0:
                ax.legend(fontsize=7)
    if sweep:
        p_list = sorted({int(r["ranks"]) for r in sweep})
        for col, p in enumerate(p_list[-3:]):
            ax = axes[nrows - 1][col]
            ax.axhline(0.5, color="k", ls="--", lw=1, label="50% (METG)")
            ax.axhline(1.0, color="0.5", ls=":", lw=1, label="ideal")
            for impl in impls:
                pts = sorted((int(r["task_us"]), num(r["efficiency"])) for r in sweep
                             if r["impl"] == impl and int(r["ranks"]) == p)
                if pts:
                    metg = next((r["metg50_us"] for r in sweep if r["impl"] == impl
                                 and int(r["ranks"]) == p and r.get("metg50_us")), "")
                    lab = f"{impl} (METG {num(metg):.3g} us)" if metg else impl
                    ax.plot(*zip(*pts), "o-", color=colors[impl], label=lab, ms=4)
            ax.set_xscale("log")
            ax.set_title(f"granularity, {p} ranks: efficiency", fontsize=9)
            ax.set_xlabel("task duration (us)", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.legend(fontsize=6)
        for col in range(len(p_list[-3:]), 3):
            axes[nrows - 1][col].axis("off")
    fig.suptitle("rankpool scaling study" + (f": {a.note}" if a.note else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(a.output, dpi=a.dpi)
    print(f"wrote {a.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

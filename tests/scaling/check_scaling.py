#!/usr/bin/env python3
"""Checks a scaling study's output (apps/scaling/run_all.py --out DIR): the CSV and JSON columns,
and their internal consistency: speed-up = t1 / time, efficiency = speed-up / ranks,
makespan_over_lb = time / lower bound, lower bound = max(t1 / P, longest) >= t1 / P, per rank
0 <= busy, idle <= time and busy + idle + comm = time, every result correct, METG(50%) agrees with
the sweep's efficiencies, the imbalanced workload's one-core time equals the sum of its
durations, and the JSON says what the CSV says. Exit 1 with every failure listed.

  check_scaling.py DIR --ranks 1,2 --imbalanced-sum-us 12345 [--peers mp-pool]"""

import argparse
import csv
import json
import math
import os
import sys

COLUMNS = ("mode,workload,task_us,n,impl,ranks,reps,time_s,time_min_s,time_max_s,t1_s,speedup,"
           "efficiency,lower_bound_s,makespan_over_lb,busy_mean_s,busy_max_s,idle_mean_s,"
           "idle_max_s,comm_mean_s,comm_max_s,busy_per_rank_s,idle_per_rank_s,comm_per_rank_s,"
           "binding,cpus,correct,metg50_us").split(",")
IMPLS = {"rankpool", "rankpool-chunk1", "mpi-static", "mpi-dynamic"}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def close(a, b, rel=2e-4, abs_=1e-9):
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_)


def f(v):
    return float(v) if v not in ("", None) else math.nan


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--ranks", required=True)
    ap.add_argument("--workloads", default="tiny,uniform,imbalanced,granularity,mandelbrot,pi")
    ap.add_argument("--imbalanced-sum-us", type=int)
    ap.add_argument("--peers", default="", help="Python peers whose rows must be in all.csv")
    a = ap.parse_args()
    ranks = {int(r) for r in a.ranks.split(",")}
    workloads = set(a.workloads.split(","))

    with open(os.path.join(a.dir, "scaling.csv"), newline="") as fh:
        reader = csv.DictReader(fh)
        check(reader.fieldnames == COLUMNS, f"CSV columns {reader.fieldnames} != {COLUMNS}")
        rows = list(reader)
    with open(os.path.join(a.dir, "scaling.json")) as fh:
        doc = json.load(fh)
    check(doc.get("tool") == "rankpool-scaling", "JSON: tool")
    check(len(doc["rows"]) == len(rows), "JSON and CSV have different numbers of rows")

    measured = [r for r in rows if r["impl"] != "serial"]
    seen = {(r["workload"], r["impl"], int(r["ranks"])) for r in measured}
    for w in workloads:
        for impl in IMPLS:
            for p in ranks:
                if not (w == "tiny" and impl == "rankpool-chunk1"):
                    check((w, impl, p) in seen, f"no row for {w} {impl} at {p} ranks")
    for r, j in zip(rows, doc["rows"]):
        tag = f"{r['workload']} {r['impl']} P={r['ranks']} t={r['task_us']}"
        p, t, t1 = int(r["ranks"]), f(r["time_s"]), f(r["t1_s"])
        check(r["correct"] == "1", f"{tag}: wrong results")
        check(t > 0 and f(r["time_min_s"]) <= t <= f(r["time_max_s"]), f"{tag}: time spread")
        check(j["impl"] == r["impl"] and j["ranks"] == p and close(j["time_s"], t),
              f"{tag}: JSON row differs from the CSV row")
        check(len(j["times_s"]) == int(r["reps"]), f"{tag}: reps")
        if r["impl"] == "serial":
            continue
        check(close(f(r["speedup"]), t1 / t), f"{tag}: speedup != t1 / time")
        check(close(f(r["efficiency"]), f(r["speedup"]) / p), f"{tag}: efficiency != speedup / P")
        lb = f(r["lower_bound_s"])
        check(lb >= t1 / p * (1 - 1e-6), f"{tag}: lower bound below t1 / P")
        check(close(f(r["makespan_over_lb"]), t / lb), f"{tag}: makespan_over_lb != time / LB")
        check(r["binding"] != "", f"{tag}: no binding")
        check(len(j["cpus"]) == p, f"{tag}: cpus for {len(j['cpus'])} ranks, not {p}")
        if r["workload"] == "tiny":
            check(j["busy_s"] is None and r["busy_per_rank_s"] == "", f"{tag}: tiny has busy")
            continue
        busy, idle, comm = j["busy_s"], j["idle_s"], j["comm_s"]
        t = j["time_s"]  # full precision (the CSV keeps 6 digits)
        check(len(busy) == len(idle) == len(comm) == p, f"{tag}: per-rank lists not of P")
        for k in range(p):
            check(0 <= busy[k] <= t * (1 + 1e-6), f"{tag}: rank {k} busy {busy[k]} not in [0, {t}]")
            check(0 <= idle[k] <= t * (1 + 1e-6), f"{tag}: rank {k} idle {idle[k]} not in [0, {t}]")
            check(close(busy[k] + idle[k] + comm[k], t, 1e-6), f"{tag}: busy+idle+comm != time")
        check(sum(busy) > 0, f"{tag}: no rank was busy")
        check(close(max(busy), f(r["busy_max_s"])), f"{tag}: busy_max_s")
        if r["workload"] == "imbalanced" and a.imbalanced_sum_us:
            check(close(t1, a.imbalanced_sum_us * 1e-6, 1e-9),
                  f"{tag}: t1 {t1} is not the durations' sum {a.imbalanced_sum_us} us")

    # METG(50%): recomputed from the sweep's efficiencies.
    for impl in IMPLS:
        for p in ranks:
            sweep = sorted((int(r["task_us"]), f(r["efficiency"]), r["metg50_us"]) for r in rows
                           if r["workload"] == "granularity" and r["impl"] == impl
                           and int(r["ranks"]) == p)
            if not sweep:
                continue
            metgs = {m for _, _, m in sweep}
            check(len(metgs) == 1, f"METG {impl} P={p}: differs between rows")
            m = metgs.pop()
            passing = [t for t, e, _ in sweep if e >= 0.5]
            if sweep[-1][1] < 0.5:
                check(m == "", f"METG {impl} P={p}: {m} though the largest task fails")
            else:
                j = len(sweep) - 1
                while j > 0 and sweep[j - 1][1] >= 0.5:
                    j -= 1
                lo = sweep[j - 1][0] if j > 0 else sweep[0][0]
                check(m != "" and lo <= f(m) <= sweep[j][0] and passing,
                      f"METG {impl} P={p}: {m} not in [{lo}, {sweep[j][0]}]")

    ratios = os.path.join(a.dir, "ratios.csv")
    if check(os.path.exists(ratios), "no ratios.csv"):
        with open(ratios, newline="") as fh:
            rat = list(csv.DictReader(fh))
        check(any(r["ratio"].startswith("tiny: rankpool / mpi-static") for r in rat),
              "ratios.csv lacks the tiny ratio")
    if a.peers:
        with open(os.path.join(a.dir, "all.csv"), newline="") as fh:
            allrows = list(csv.DictReader(fh))
        for peer in a.peers.split(","):
            prow = [r for r in allrows if r["impl"] == peer]
            check(prow, f"no rows of {peer} in all.csv")
            for r in prow:
                check(r["correct"] == "1", f"{peer} {r['workload']}: wrong results")
                if r["workload"] != "tiny":
                    check(close(f(r["speedup"]), f(r["t1_s"]) / f(r["time_s"])),
                          f"{peer} {r['workload']}: speedup")

    for msg in failures:
        print("FAIL:", msg)
    print(f"check_scaling.py: {len(rows)} rows, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

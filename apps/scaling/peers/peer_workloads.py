"""The scaling driver's workloads in Python, for the Python peers (multiprocessing.Pool and
mpi4py.futures): the same tasks as apps/scaling/workloads.hpp (tiny x*x, busy-waits that spin on a
monotonic clock) and rows in the same CSV columns as rankpool-scaling writes.

Mandelbrot and pi are left out on purpose: in Python they would measure the interpreter, not the
pool (the busy-waits cost the same CPU time in any language)."""

import argparse
import csv
import math
import os
import statistics
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILTIN = os.path.join(HERE, "..", "data", "imbalanced-2000.txt")
COLUMNS = ("mode,workload,task_us,n,impl,ranks,reps,time_s,time_min_s,time_max_s,t1_s,speedup,"
           "efficiency,lower_bound_s,makespan_over_lb,busy_mean_s,busy_max_s,idle_mean_s,"
           "idle_max_s,comm_mean_s,comm_max_s,busy_per_rank_s,idle_per_rank_s,comm_per_rank_s,"
           "binding,cpus,correct,metg50_us").split(",")


def square(x):
    return x * x


def busy_wait(us):
    end = time.perf_counter_ns() + us * 1000
    while time.perf_counter_ns() < end:
        pass
    return us


def add_arguments(p):
    p.add_argument("--workloads", default="tiny,uniform,imbalanced,granularity")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--sweep-reps", type=int, default=1)
    p.add_argument("--tiny-n", type=int, default=10**7)
    p.add_argument("--uniform-n", type=int, default=2000)
    p.add_argument("--uniform-us", type=int, default=1000)
    p.add_argument("--imbalanced-file", default="builtin")
    p.add_argument("--sweep-us", default="1,3,10,30,100,300,1000,3000,10000")
    p.add_argument("--sweep-work", type=float, default=1.0)
    p.add_argument("--csv", required=True)


def read_durations(path):
    path = BUILTIN if path == "builtin" else path
    try:
        with open(path) as f:
            return [int(line) for line in f if line.strip()]
    except OSError as e:
        raise SystemExit(f"cannot read the duration file {path}: {e.strerror}; the shared "
                         "workloads are in ../shared/bench; pass --imbalanced-file")


def instances(args):
    """(workload, task_us, function, inputs, expected) for every requested workload."""
    for name in args.workloads.split(","):
        if name == "tiny":
            yield name, 0, square, range(args.tiny_n), None
        elif name == "uniform":
            d = [args.uniform_us] * args.uniform_n
            yield name, 0, busy_wait, d, d
        elif name == "imbalanced":
            d = read_durations(args.imbalanced_file)
            yield name, 0, busy_wait, d, d
        elif name == "granularity":
            for us in sorted(int(s) for s in args.sweep_us.split(",")):
                d = [us] * math.ceil(args.sweep_work * 1e6 / us)
                yield name, us, busy_wait, d, d
        elif name in ("mandelbrot", "pi"):
            continue  # see the module docstring
        else:
            raise SystemExit(f"unknown workload {name!r}")


def check(result, inputs, expected):
    if expected is None:  # tiny
        return len(result) == len(inputs) and all(r == x * x for r, x in zip(result, inputs))
    return list(result) == list(expected)


def run_all(args, impl, ranks, workers, run_map):
    """Times run_map(f, inputs, chunksize) (Python's default chunksize, ceil(n / (4 workers)))
    after a warm-up on 10% of the inputs, and writes one row per instance."""
    rows = []
    for name, us, f, inputs, expected in instances(args):
        chunk = max(1, math.ceil(len(inputs) / (4 * workers)))
        head = inputs[: max(1, len(inputs) // 10)]
        run_map(f, head, max(1, math.ceil(len(head) / (4 * workers))))
        times, ok = [], True
        for _ in range(args.sweep_reps if name == "granularity" else args.reps):
            t0 = time.perf_counter()
            out = run_map(f, inputs, chunk)
            times.append(time.perf_counter() - t0)
            ok = ok and check(out, inputs, expected)
        row = dict.fromkeys(COLUMNS, "")
        row.update(mode="strong", workload=name, task_us=us, n=len(inputs), impl=impl,
                   ranks=ranks, reps=len(times), time_s=f"{statistics.median(times):.6g}",
                   time_min_s=f"{min(times):.6g}", time_max_s=f"{max(times):.6g}",
                   binding="none", correct=int(ok))
        rows.append(row)
        print(f"{name:12} {impl:15} P={ranks:<3} {'t=%dus ' % us if us else ''}"
              f"{statistics.median(times):8.4f} s{'' if ok else '  WRONG RESULT'}", flush=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return all(r["correct"] for r in rows)

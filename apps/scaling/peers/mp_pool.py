#!/usr/bin/env python3
"""Python's multiprocessing.Pool on the scaling driver's workloads (peer_workloads.py), with
Pool.map and its default chunksize. Usage:
  python3 mp_pool.py --processes 2 --csv mp-pool-2.csv [--tiny-n 10000000 ...]"""

import argparse
import multiprocessing
import sys

import peer_workloads as pw


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--processes", type=int, required=True)
    pw.add_arguments(p)
    args = p.parse_args()
    with multiprocessing.Pool(args.processes) as pool:
        ok = pw.run_all(args, "mp-pool", args.processes, args.processes,
                        lambda f, xs, chunk: pool.map(f, xs, chunk))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""mpi4py.futures on the scaling driver's workloads (peer_workloads.py): executor.map with
Python's Pool chunksize rule (mpi4py's own default, 1, would be far slower on tiny). Rank 0 only
dispatches, the other P-1 ranks compute (mpi4py.futures' design). Usage:
  mpirun -n 2 python3 -m mpi4py.futures mpi4py_futures.py --csv mpi4py-2.csv [...]"""

import argparse
import sys

from mpi4py import MPI
from mpi4py.futures import MPIPoolExecutor

import peer_workloads as pw


def main():
    p = argparse.ArgumentParser(description=__doc__)
    pw.add_arguments(p)
    args = p.parse_args()
    ranks = MPI.COMM_WORLD.Get_size()
    if ranks < 2:
        raise SystemExit("mpi4py_futures.py: needs at least 2 ranks (rank 0 only dispatches)")
    with MPIPoolExecutor() as ex:
        ok = pw.run_all(args, "mpi4py-futures", ranks, ranks - 1,
                        lambda f, xs, chunk: list(ex.map(f, xs, chunksize=chunk)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

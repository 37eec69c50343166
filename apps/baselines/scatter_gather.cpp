// rankpool-baseline-scatter-gather: the hand-written MPI_Scatterv / compute / MPI_Gatherv program
// for map(x*x) over n 64-bit integers, on its own (rankpool-bench-map runs it side by side with
// rankpool). Usage: mpirun -n P rankpool-baseline-scatter-gather [n], or --version.

#include <mpi.h>

#include <cstdio>
#include <cstdlib>

#include "scatter_gather.hpp"
#include "version_flag.hpp"

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-baseline-scatter-gather"))
    return 0;
  MPI_Init(&argc, &argv);
  std::int64_t n = argc > 1 ? std::atoll(argv[1]) : 10000000;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::vector<std::int64_t> x, y;
  if (rank == 0) {
    x.resize(n);
    for (std::int64_t i = 0; i < n; ++i) x[i] = i;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  rankpool::baselines::scatter_compute_gather(MPI_COMM_WORLD, x, y, n,
                                              [](std::int64_t v) { return v * v; });
  double t1 = MPI_Wtime();
  int status = 0;
  if (rank == 0) {
    for (std::int64_t i = 0; i < n; ++i) {
      if (y[i] != i * i) status = 1;
    }
    std::printf("scatter/gather map(x*x) n=%lld: %.4f s%s\n", static_cast<long long>(n), t1 - t0,
                status ? " WRONG RESULT" : "");
  }
  MPI_Finalize();
  return status;
}

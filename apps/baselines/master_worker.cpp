// rankpool-baseline-master-worker: the hand-written MPI dynamic master/worker
// (master_worker.hpp) for map(x*x) over n 64-bit integers, on its own (rankpool-scaling runs it
// side by side with rankpool). Usage: mpirun -n P rankpool-baseline-master-worker [n [chunk]],
// or --version.

#include <mpi.h>

#include <cstdio>
#include <cstdlib>

#include "master_worker.hpp"
#include "version_flag.hpp"

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-baseline-master-worker"))
    return 0;
  MPI_Init(&argc, &argv);
  std::int64_t n = argc > 1 ? std::atoll(argv[1]) : 10000000;
  rankpool::baselines::MasterWorkerOptions opt;
  opt.chunk = argc > 2 ? std::atoll(argv[2]) : 100000;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::vector<std::int64_t> x, y;
  if (rank == 0) {
    x.resize(n);
    for (std::int64_t i = 0; i < n; ++i) x[i] = i;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  rankpool::baselines::master_worker(
      MPI_COMM_WORLD, x, y, n, [](std::int64_t v) { return v * v; }, opt);
  double t1 = MPI_Wtime();
  int status = 0;
  if (rank == 0) {
    for (std::int64_t i = 0; i < n; ++i) {
      if (y[i] != i * i) status = 1;
    }
    std::printf("master/worker map(x*x) n=%lld chunk=%lld: %.4f s%s\n", static_cast<long long>(n),
                static_cast<long long>(opt.chunk), t1 - t0, status ? " WRONG RESULT" : "");
  }
  MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Finalize();
  return status;
}

// rankpool-bench-sync: round trips of rankpool's cross-rank primitives next to an MPI ping-pong
// of the same size measured in the same run. A task on rank 1 does --n Lock acquire/release
// pairs, then --n Queue put/get pairs, on objects hosted by the master (rank 0), which waits in
// get() meanwhile (serving requests). Each operation is one request/reply round trip; the ratio
// is (time per operation) / (MPI ping-pong round trip of an 8-byte message).
//
//   mpirun -n 2 rankpool-bench-sync [--n 20000] [--json FILE]
//   rankpool-bench-sync --version

#include <mpi.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <tuple>

#include "number_check.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

namespace {

double ping_pong(int n) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  long long value = 0;
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  for (int i = 0; i < n; ++i) {
    if (rank == 0) {
      MPI_Send(&value, 1, MPI_LONG_LONG, 1, 0, MPI_COMM_WORLD);
      MPI_Recv(&value, 1, MPI_LONG_LONG, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (rank == 1) {
      MPI_Recv(&value, 1, MPI_LONG_LONG, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      ++value;
      MPI_Send(&value, 1, MPI_LONG_LONG, 0, 0, MPI_COMM_WORLD);
    }
  }
  return (MPI_Wtime() - t0) / n;
}

// Runs on the worker: per-operation seconds for the Lock and the Queue.
std::tuple<double, double> hammer(rankpool::Lock lock, rankpool::Queue<long> queue, int n) {
  double t0 = MPI_Wtime();
  for (int i = 0; i < n; ++i) {
    lock.acquire();
    lock.release();
  }
  double t1 = MPI_Wtime();
  for (long i = 0; i < n; ++i) {
    queue.put(i);
    if (queue.get() != i) throw std::logic_error("queue returned the wrong item");
  }
  double t2 = MPI_Wtime();
  return {(t1 - t0) / (2.0 * n), (t2 - t1) / (2.0 * n)};
}

}  // namespace

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-bench-sync")) return 0;
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CLI::App app("rankpool Lock and Queue round trips next to an MPI ping-pong");
  int n = 20000;
  std::string json;
  app.add_option("--n", n, "operations of each kind")->check(rankpool_apps::number_check(true));
  app.add_option("--json", json, "also write the numbers as JSON here");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = rank == 0 ? app.exit(e) : e.get_exit_code();
    MPI_Finalize();
    return code;
  }
  if (size != 2) {
    if (rank == 0) std::fprintf(stderr, "rankpool-bench-sync: run it on exactly 2 ranks\n");
    MPI_Finalize();
    return 2;
  }
  ping_pong(1000);  // warm-up
  double pp = ping_pong(n);
  rankpool::PoolOptions options;
  options.master_computes = false;  // the task runs on rank 1, the objects live on rank 0
  int code = rankpool::run(MPI_COMM_WORLD, options, [&](rankpool::Pool& pool) {
    rankpool::Lock lock(pool);
    rankpool::Queue<long> queue(pool);
    pool.apply(hammer, lock, queue, 1000);  // warm-up
    auto [lock_op, queue_op] = pool.apply(hammer, lock, queue, n);
    std::printf("round trips between 2 ranks, %d of each (per operation):\n", n);
    std::printf("  MPI ping-pong (8 bytes):        %8.2f us\n", pp * 1e6);
    std::printf("  Lock acquire or release:        %8.2f us  (%.2fx ping-pong)\n", lock_op * 1e6,
                lock_op / pp);
    std::printf("  Queue<long> put or get:         %8.2f us  (%.2fx ping-pong)\n", queue_op * 1e6,
                queue_op / pp);
    if (!json.empty()) {
      std::ofstream out(json);
      out << "{\"benchmark\":\"sync_round_trips\",\"n\":" << n << ",\"ping_pong_us\":" << pp * 1e6
          << ",\"lock_op_us\":" << lock_op * 1e6 << ",\"queue_op_us\":" << queue_op * 1e6 << "}\n";
    }
  });
  MPI_Finalize();
  return code;
}

// What fault isolation (PoolOptions::isolate) costs: the same maps with and without it, in one
// run, and the difference per chunk (a fork, a pipe and a wait per chunk).
//   mpirun -n 2 rankpool-bench-isolation [--reps 3]

#include <mpi.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

namespace {

using Clock = std::chrono::steady_clock;

long square(long x) {
  return x * x;
}

// Busy-waits one millisecond (CPU work, not a sleep).
long busy_1ms(long x) {
  auto until = Clock::now() + std::chrono::milliseconds(1);
  while (Clock::now() < until) {
  }
  return x;
}

struct Case {
  const char* name;
  long (*f)(long);
  long items;
  long chunksize;
};

// Best of `reps` wall times of the map, on rank 0 (0 elsewhere).
double time_map(const Case& c, bool isolate, int reps) {
  rankpool::PoolOptions o;
  o.isolate = isolate;
  o.bind = "none";
  double best = 1e30;
  int rc = rankpool::run(MPI_COMM_WORLD, o, [&](rankpool::Pool& pool) {
    for (int r = 0; r < reps; ++r) {
      auto t0 = Clock::now();
      auto out = pool.map(c.f, rankpool::range(0L, c.items), c.chunksize);
      best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
      if (out.size() != static_cast<std::size_t>(c.items)) return 1;
    }
    return 0;
  });
  if (rc != 0) MPI_Abort(MPI_COMM_WORLD, rc);
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-bench-isolation")) return 0;
  MPI_Init(&argc, &argv);
  CLI::App app("fault isolation's cost: the same maps with and without --rankpool-isolate");
  int reps = 3;
  app.add_option("--reps", reps, "timed repetitions of each (best is reported)")
      ->check(CLI::Range(1, 1000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    MPI_Finalize();
    return code;
  }
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const Case cases[] = {
      {"x*x, 10^6 items, 1000 chunks", &square, 1000000, 1000},
      {"1 ms busy, 400 items, 400 chunks", &busy_1ms, 400, 1},
      {"1 ms busy, 400 items, 40 chunks", &busy_1ms, 400, 10},
  };
  if (rank == 0)
    std::printf("%-34s %12s %12s %8s %16s\n", "map", "plain s", "isolated s", "ratio",
                "cost per chunk");
  for (const Case& c : cases) {
    double plain = time_map(c, false, reps);
    double isolated = time_map(c, true, reps);
    long chunks = (c.items + c.chunksize - 1) / c.chunksize;
    if (rank == 0) {
      std::printf("%-34s %12.4f %12.4f %8.2f %13.1f us\n", c.name, plain, isolated,
                  isolated / plain, (isolated - plain) / static_cast<double>(chunks) * 1e6);
    }
  }
  MPI_Finalize();
  return 0;
}

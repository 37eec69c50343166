// rankpool-bench-map: map(x*x) over n 64-bit integers with rankpool next to the hand-written
// MPI_Scatterv / compute / MPI_Gatherv baseline, in the same run, on the same ranks.
// Protocol: two rounds of (baseline: warm-up + --reps timed runs, barrier-started; then one pool
// session: warm-up + --reps timed maps); medians, min and max over both rounds are reported, and
// the ratio of medians (rankpool / baseline).
//
//   mpirun -n 2 rankpool-bench-map [--n 10000000] [--reps 7] [--chunksize C] [--json FILE]
//   rankpool-bench-map --version

#include <mpi.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "../baselines/scatter_gather.hpp"
#include "number_check.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

namespace {

std::int64_t square(std::int64_t v) {
  return v * v;
}

struct Stats {
  double median, min, max;
};

Stats stats(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front(), t.back()};
}

}  // namespace

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-bench-map")) return 0;
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  CLI::App app("map(x*x) with rankpool next to a hand-written MPI scatter/gather");
  std::int64_t n = 10000000;
  int reps = 7;
  std::int64_t chunksize = 0;
  std::string json;
  app.add_option("--n", n, "number of 64-bit inputs")->check(rankpool_apps::number_check(true));
  app.add_option("--reps", reps, "timed repetitions of each")
      ->check(rankpool_apps::number_check(true));
  app.add_option("--chunksize", chunksize, "rankpool chunksize (default: Python's)");
  app.add_option("--json", json, "also write the numbers as JSON here");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = rank == 0 ? app.exit(e) : (e.get_exit_code());
    MPI_Finalize();
    return code;
  }

  std::vector<std::int64_t> x, y;
  if (rank == 0) {
    x.resize(n);
    for (std::int64_t i = 0; i < n; ++i) x[i] = i;
  }
  std::vector<double> t_mpi, t_pool;
  bool correct = true;
  // Two rounds; in each, the baseline runs a warm-up and --reps timed repetitions, then one
  // pool session (as a program would keep its pool) does the same.
  for (int round = 0; round < 2; ++round) {
    for (int rep = -1; rep < reps; ++rep) {
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = MPI_Wtime();
      rankpool::baselines::scatter_compute_gather(MPI_COMM_WORLD, x, y, n, square);
      double t1 = MPI_Wtime();
      if (rep >= 0 && rank == 0) t_mpi.push_back(t1 - t0);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    rankpool::run(MPI_COMM_WORLD, [&](rankpool::Pool& pool) {
      for (int rep = -1; rep < reps; ++rep) {
        double s0 = MPI_Wtime();
        auto out = chunksize > 0 ? pool.map(square, x, chunksize) : pool.map(square, x);
        double s1 = MPI_Wtime();
        if (rep >= 0) t_pool.push_back(s1 - s0);
        if (out != y) correct = false;
      }
    });
  }
  int status = 0;
  if (rank == 0) {
    auto a = stats(t_mpi), b = stats(t_pool);
    std::printf("map(x*x) over n=%lld int64 on %d ranks, 2 x %d reps (median [min, max]):\n",
                static_cast<long long>(n), size, reps);
    std::printf("  hand-written MPI scatter/gather: %.4f s [%.4f, %.4f]\n", a.median, a.min, a.max);
    std::printf("  rankpool map:                    %.4f s [%.4f, %.4f]\n", b.median, b.min, b.max);
    std::printf("  ratio rankpool / MPI:            %.3f%s\n", b.median / a.median,
                correct ? "" : "  (WRONG RESULT)");
    if (!json.empty()) {
      std::ofstream out(json);
      out << "{\"benchmark\":\"map_square\",\"n\":" << n << ",\"ranks\":" << size
          << ",\"reps\":" << reps << ",\"mpi_median_s\":" << a.median
          << ",\"rankpool_median_s\":" << b.median << ",\"ratio\":" << b.median / a.median
          << ",\"correct\":" << (correct ? "true" : "false") << "}\n";
    }
    status = correct ? 0 : 1;
  }
  MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Finalize();
  return status;
}

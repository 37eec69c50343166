// rankpool-bench-resume: the cost of journaling a map (rankpool::resumable_map) next to a plain
// pool.map of the same work, measured in the same run. Two workloads:
//   squares: x*x over --items int64 (default 10^6): pure overhead, the work is nothing;
//   sleepy:  --tasks tasks (default 1000) that each busy-wait --task-ms (default 1) ms, one task
//            per chunk (map chunksize 1, resumable chunksize 1: 1000 journal records).
// Each resumable variant starts from no journal: grouped fsync (the default, sync_interval 1 s),
// an fsync per chunk (sync_interval 0), and, for squares, the answer read back from a complete
// journal. Medians of --repeats runs. Journals are written in --dir (default /tmp) and removed.
//
//   mpirun -n 2 rankpool-bench-resume [--items N] [--tasks N] [--task-ms MS] [--repeats R]
//                                     [--dir DIR] [--json FILE]
//   rankpool-bench-resume --version

#include <mpi.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

namespace {

std::int64_t square(std::int64_t x) {
  return x * x;
}

std::int64_t spin(std::int64_t ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(ms * 1000);
  std::int64_t n = 0;
  while (std::chrono::steady_clock::now() < until) ++n;
  return ms;
}

double median_seconds(int repeats, const std::function<void()>& before,
                      const std::function<void()>& body) {
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    before();
    auto t0 = std::chrono::steady_clock::now();
    body();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-bench-resume")) return 0;
  CLI::App app("the cost of a resumable (journaled) map next to a plain map");
  std::int64_t items = 1000000;
  std::int64_t tasks = 1000;
  std::int64_t task_ms = 1;
  int repeats = 5;
  std::string dir = "/tmp";
  std::string json;
  app.add_option("--items", items, "inputs of the squares workload")->check(CLI::PositiveNumber);
  app.add_option("--tasks", tasks, "tasks of the sleepy workload")->check(CLI::PositiveNumber);
  app.add_option("--task-ms", task_ms, "busy-wait per sleepy task (ms)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--repeats", repeats, "timed runs per variant (median)")
      ->check(CLI::PositiveNumber);
  app.add_option("--dir", dir, "where the journals are written");
  app.add_option("--json", json, "also write the numbers as JSON here");
  app.allow_extras();  // --rankpool-* options are run()'s
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return rankpool::run(argc, argv, [&](rankpool::Pool& pool) {
    const std::string journal = dir + "/rankpool-bench-resume." + std::to_string(::getpid());
    auto remove_journal = [&] { std::remove(journal.c_str()); };
    std::vector<std::int64_t> xs(static_cast<std::size_t>(items));
    for (std::int64_t i = 0; i < items; ++i) xs[static_cast<std::size_t>(i)] = i;
    std::vector<std::int64_t> ms(static_cast<std::size_t>(tasks), task_ms);

    const auto expected = pool.map(square, xs);  // warm-up, and the reference
    rankpool::ResumeOptions per_chunk;
    per_chunk.sync_interval = 0;
    rankpool::ResumeOptions grouped;  // the default: fsync at most 1 s after a record
    rankpool::ResumeReport report;
    auto check = [&](const std::vector<std::int64_t>& got) {
      if (got != expected) throw std::runtime_error("resumable_map returned another vector");
    };
    const double sq_map = median_seconds(
        repeats, [] {}, [&] { pool.map(square, xs); });
    const double sq_fsync = median_seconds(repeats, remove_journal, [&] {
      check(rankpool::resumable_map(pool, square, xs, journal, per_chunk, &report));
    });
    const auto sq_chunks = report.chunks;
    const auto sq_syncs = report.syncs;
    const double sq_grouped = median_seconds(repeats, remove_journal, [&] {
      check(rankpool::resumable_map(pool, square, xs, journal, grouped, &report));
    });
    const auto sq_grouped_syncs = report.syncs;
    const double sq_replay = median_seconds(
        repeats, [] {},
        [&] { check(rankpool::resumable_map(pool, square, xs, journal, per_chunk, &report)); });
    remove_journal();

    rankpool::ResumeOptions one = per_chunk;
    one.chunksize = 1;
    rankpool::ResumeOptions one_grouped = grouped;
    one_grouped.chunksize = 1;
    const double sl_map = median_seconds(
        repeats, [] {}, [&] { pool.map(spin, ms, 1); });
    const double sl_fsync = median_seconds(repeats, remove_journal, [&] {
      rankpool::resumable_map(pool, spin, ms, journal, one, &report);
    });
    const double sl_grouped = median_seconds(repeats, remove_journal, [&] {
      rankpool::resumable_map(pool, spin, ms, journal, one_grouped, &report);
    });
    remove_journal();

    std::printf("rankpool-bench-resume: %d processes, medians of %d runs, journals in %s\n",
                pool.processes(), repeats, dir.c_str());
    std::printf("squares, %lld int64 items (%llu chunks):\n", static_cast<long long>(items),
                static_cast<unsigned long long>(sq_chunks));
    std::printf("  map                          %8.4f s\n", sq_map);
    std::printf("  resumable, fsync per chunk   %8.4f s  (%.2fx, %llu fsyncs)\n", sq_fsync,
                sq_fsync / sq_map, static_cast<unsigned long long>(sq_syncs));
    std::printf("  resumable, fsync every 1 s   %8.4f s  (%.2fx, %llu fsyncs)\n", sq_grouped,
                sq_grouped / sq_map, static_cast<unsigned long long>(sq_grouped_syncs));
    std::printf("  from a complete journal      %8.4f s  (%.2fx)\n", sq_replay, sq_replay / sq_map);
    std::printf("sleepy, %lld tasks of %lld ms (one per chunk):\n", static_cast<long long>(tasks),
                static_cast<long long>(task_ms));
    std::printf("  map (chunksize 1)            %8.4f s\n", sl_map);
    std::printf("  resumable, fsync per chunk   %8.4f s  (%.2fx)\n", sl_fsync, sl_fsync / sl_map);
    std::printf("  resumable, fsync every 1 s   %8.4f s  (%.2fx)\n", sl_grouped,
                sl_grouped / sl_map);
    if (!json.empty()) {
      std::ofstream out(json);
      out << "{\"benchmark\":\"resumable_map\",\"processes\":" << pool.processes()
          << ",\"items\":" << items << ",\"squares_map_s\":" << sq_map
          << ",\"squares_fsync_s\":" << sq_fsync << ",\"squares_grouped_s\":" << sq_grouped
          << ",\"squares_replay_s\":" << sq_replay << ",\"tasks\":" << tasks
          << ",\"task_ms\":" << task_ms << ",\"sleepy_map_s\":" << sl_map
          << ",\"sleepy_fsync_s\":" << sl_fsync << ",\"sleepy_grouped_s\":" << sl_grouped << "}\n";
    }
  });
}

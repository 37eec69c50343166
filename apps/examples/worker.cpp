// Seed: "How can we create a pool of worker processes?" -- Pool.map of a worker function that
// reports when it starts and when it exits.
//
//   def worker(num):
//       print(f"Worker {num} starting...")
//       # do some work here...
//       print(f"Worker {num} exiting...")
//   with multiprocessing.Pool(processes=4) as pool:
//       results = pool.map(worker, range(4))
//
// In Python every worker prints, so the lines come out interleaved in any order. Here each task
// returns the lines it would print and the master prints them, in input order:
//
//   Worker 0 starting...
//   Worker 0 exiting...
//   Worker 1 starting...
//   ...
//   Worker 3 exiting...

#include <chrono>
#include <string>
#include <vector>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

std::vector<std::string> worker(int num) {
  std::vector<std::string> lines;
  lines.push_back("Worker " + std::to_string(num) + " starting...");
  // do some work here...
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(10);
  while (std::chrono::steady_clock::now() < until) {
  }
  lines.push_back("Worker " + std::to_string(num) + " exiting...");
  return lines;
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-worker")) return 0;
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    auto results = pool.map(worker, rankpool::range(4));
    for (const auto& lines : results) {
      for (const auto& line : lines) py::print(line);
    }
  });
}

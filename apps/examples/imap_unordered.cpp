// Seed (Pool tutorial): "for result in imap_unordered(task, items): ..." -- as imap, but the
// results come in the order the tasks complete.
//
//   def cube(n):
//       busy_wait(n / 1000)      # n milliseconds: bigger numbers take longer
//       return n**3
//   results = []
//   for result in pool.imap_unordered(cube, [10, 11, 12, 5, 4, 3]):
//       print(result)
//       results.append(result)
//   print(sorted(results))
//
// Prints the six cubes one a line, in completion order (varies from run to run), then
// [27, 64, 125, 1000, 1331, 1728].

#include <algorithm>
#include <chrono>
#include <vector>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

long cube(long n) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(n);
  while (std::chrono::steady_clock::now() < until) {
  }
  return n * n * n;
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-imap_unordered"))
    return 0;
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    std::vector<long> results;
    for (long result : pool.imap_unordered(cube, std::vector<long>{10, 11, 12, 5, 4, 3})) {
      py::print(result);
      results.push_back(result);
    }
    std::sort(results.begin(), results.end());
    py::print(results);
  });
}

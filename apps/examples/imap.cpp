// Seed (Pool tutorial): "for result in imap(task, items): ..." -- imap issues the tasks one by
// one and yields their results one by one, in input order, as they complete.
//
//   def cube(n):
//       return n**3
//   for result in pool.imap(cube, [10, 11, 12, 5, 4, 3]):
//       print(result)
//
// imap is lazy, so its input may be endless (itertools.count): take the first five squares.
//
//   first = []
//   for result in pool.imap(square, itertools.count(1)):
//       first.append(result)
//       if len(first) == 5: break
//   print(first)
//
// Prints 1000, 1331, 1728, 125, 64, 27 (one a line), then [1, 4, 9, 16, 25].

#include <vector>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

long cube(long n) {
  return n * n * n;
}
long square(long n) {
  return n * n;
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-imap")) return 0;
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    for (long result : pool.imap(cube, std::vector<long>{10, 11, 12, 5, 4, 3})) {
      py::print(result);
    }

    std::vector<long> first;
    for (long result : pool.imap(square, rankpool::count(1L))) {
      first.push_back(result);
      if (first.size() == 5) break;  // leaving the loop stops pulling input
    }
    py::print(first);
  });
}

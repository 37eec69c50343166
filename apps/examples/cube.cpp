// Seed: "program to illustrate the pooling in multiprocessing" -- Pool.map of cube.
//
//   def cube(n):
//       return n**3
//   with multiprocessing.Pool(processes=10) as pool:
//       output = pool.map(cube, [10, 11, 12, 5, 4, 3])
//       print(output)
//
// Prints:  [1000, 1331, 1728, 125, 64, 27]

#include <vector>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

long cube(long n) {
  return n * n * n;
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-cube")) return 0;
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    std::vector<long> output = pool.map(cube, std::vector<long>{10, 11, 12, 5, 4, 3});
    py::print(output);
  });
}

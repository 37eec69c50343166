// Seed: "What is a multiprocessing pool in python?" -- Pool.map of square over [1, 2, 3, 4, 5].
//
//   def square(x):
//       return x**2
//   with multiprocessing.Pool(processes=4) as pool:
//       results = pool.map(square, [1, 2, 3, 4, 5])
//   print(results)
//
// Prints:  [1, 4, 9, 16, 25]
//
// Python's processes=4 is the number of MPI ranks here: run with `mpirun -n 4`.

#include <vector>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

int square(int x) {
  return x * x;
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-square")) return 0;
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    std::vector<int> results = pool.map(square, std::vector<int>{1, 2, 3, 4, 5});
    py::print(results);
  });
}

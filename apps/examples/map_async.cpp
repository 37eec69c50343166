// Seed: the squares-and-cubes program (two processes, one printing squares, one printing cubes,
// then the elapsed time), done with two Pool.map_async calls, each with a callback.
//
//   def squares(l):
//       print("Calculating the squares of a given number ....")
//       for i in l:
//           print(f"The sqaure of {i} is {i**2} \n")
//   def cubes(l):
//       print("Calculating the cubes of a given number ...")
//       for j in l:
//           print(f"The cube of {j} is {j**3} \n")
//   start = time.time()
//   ... squares([11, 22, 33, 44]) and cubes([3, 5, 4, 2]) in parallel ...
//   print("Time taken to execute the program:", time.time() - start)
//
// Both maps are submitted at once. A callback runs on the master when its map has completed (in
// completion order); they write their report, and the master prints the reports in submission
// order, so the output is deterministic. Prints the seed's text ("sqaure" included; each
// "The ... is ..." line ends with a space and is followed by a blank line, as in the seed):
//
//   Calculating the squares of a given number ....
//   The sqaure of 11 is 121
//   <blank line>
//   ...
//   Calculating the cubes of a given number ...
//   The cube of 3 is 27
//   <blank line>
//   ...
//   Time taken to execute the program: 0.026784658432006836   (the measured time)

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

long square(long x) {
  return x * x;
}
long cube(long x) {
  return x * x * x;
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-map_async")) return 0;
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    auto start = std::chrono::steady_clock::now();
    const std::vector<long> numbers1{11, 22, 33, 44};
    const std::vector<long> numbers2{3, 5, 4, 2};

    std::string squares_report, cubes_report;
    auto squares =
        pool.map_async(square, numbers1, std::nullopt, [&](const std::vector<long>& results) {
          squares_report = "Calculating the squares of a given number ....\n";
          for (std::size_t k = 0; k < results.size(); ++k) {
            squares_report += "The sqaure of " + std::to_string(numbers1[k]) + " is " +
                              std::to_string(results[k]) + " \n\n";
          }
        });
    auto cubes =
        pool.map_async(cube, numbers2, std::nullopt, [&](const std::vector<long>& results) {
          cubes_report = "Calculating the cubes of a given number ...\n";
          for (std::size_t k = 0; k < results.size(); ++k) {
            cubes_report += "The cube of " + std::to_string(numbers2[k]) + " is " +
                            std::to_string(results[k]) + " \n\n";
          }
        });

    // Wait until both maps are done (their callbacks have run by then).
    squares.wait();
    cubes.wait();
    std::fputs(squares_report.c_str(), stdout);
    std::fputs(cubes_report.c_str(), stdout);
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    py::print("Time taken to execute the program:", elapsed.count());
  });
}

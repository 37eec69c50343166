// Seeds: "create 4 processes, each process should print a different number", done with a Pool:
// each function is one apply_async task (Python: pool.apply_async(function_name, args=(arg,))),
// and the master prints the results in submission order, then the elapsed time.
//
//   def squares(l): print(l**2)        # ... cubes(l): l**3, fun3(l): l**4, fun4(l): l**5
//   start = time.time()
//   ... squares(11), cubes(12), fun3(10), fun4(13) run in parallel ...
//   print("Time taken to execute the program:", time.time() - start)
//
// Prints:
//   121
//   1728
//   10000
//   371293
//   Time taken to execute the program: 0.03391408920288086   (the measured time)

#include <chrono>
#include <tuple>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

long squares(long l) {
  return l * l;
}
long cubes(long l) {
  return l * l * l;
}
long fun3(long l) {
  return l * l * l * l;
}
long fun4(long l) {
  return l * l * l * l * l;
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-apply_async")) return 0;
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    auto start = std::chrono::steady_clock::now();
    // Submit the four tasks without waiting: they run on whichever processes are free.
    auto result1 = pool.apply_async(squares, std::tuple{11L});
    auto result2 = pool.apply_async(cubes, std::tuple{12L});
    auto result3 = pool.apply_async(fun3, std::tuple{10L});
    auto result4 = pool.apply_async(fun4, std::tuple{13L});
    // get() waits for each result (the master computes tasks itself meanwhile).
    py::print(result1.get());
    py::print(result2.get());
    py::print(result3.get());
    py::print(result4.get());
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    py::print("Time taken to execute the program:", elapsed.count());
  });
}

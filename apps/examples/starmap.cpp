// Seed (Pool tutorial): "starmap() is the same as map(), except that it allows each function call
// to take multiple arguments: it takes an iterable where each item is an iterable of arguments
// for the target function."
//
//   def power(base, exponent):
//       return base**exponent
//   items = [(11, 2), (12, 3), (10, 4), (13, 5)]
//   print(pool.starmap(power, items))
//
// Prints:  [121, 1728, 10000, 371293]

#include <tuple>
#include <vector>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

long power(long base, long exponent) {
  long result = 1;
  for (long i = 0; i < exponent; ++i) result *= base;
  return result;
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-starmap")) return 0;
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    std::vector<std::tuple<long, long>> items{{11, 2}, {12, 3}, {10, 4}, {13, 5}};
    py::print(pool.starmap(power, items));
  });
}

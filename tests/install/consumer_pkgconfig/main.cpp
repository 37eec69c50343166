// Consumer of rankpool through pkg-config only:
//   c++ main.cpp $(pkg-config --cflags --libs rankpool)
// The cubes of 1..10 by pool.map, and their sum.
#include <cstdio>
#include <numeric>
#include <vector>

#include "rankpool/rankpool.hpp"
#include "rankpool/version.hpp"

long cube(long x) {
  return x * x * x;
}

int main(int argc, char** argv) {
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    std::vector<long> cubes = pool.map(cube, rankpool::range(1L, 11L), 2);
    long sum = std::accumulate(cubes.begin(), cubes.end(), 0L);
    std::printf("consumer_pkgconfig: rankpool %s: sum of cubes 1..10 = %ld\n",
                rankpool::version_string, sum);
  });
}

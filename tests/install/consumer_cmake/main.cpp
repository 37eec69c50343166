// Consumer of rankpool's CMake package: the sum of the squares of 1..100 by pool.map.
#include <cstdio>
#include <numeric>
#include <vector>

#include "rankpool/rankpool.hpp"
#include "rankpool/version.hpp"

long square(long x) {
  return x * x;
}

int main(int argc, char** argv) {
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    std::vector<long> squares = pool.map(square, rankpool::range(1L, 101L));
    long sum = std::accumulate(squares.begin(), squares.end(), 0L);
    std::printf("consumer_cmake: rankpool %s: sum of squares 1..100 = %ld\n",
                rankpool::version_string, sum);
  });
}

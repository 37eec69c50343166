// Consumer of rankpool built as a subproject: the Fibonacci numbers F(1)..F(12) by pool.map.
#include <cstdio>
#include <vector>

#include "rankpool/rankpool.hpp"
#include "rankpool/version.hpp"

long fibonacci(long n) {
  long a = 0, b = 1;
  for (long i = 0; i < n; ++i) {
    long next = a + b;
    a = b;
    b = next;
  }
  return a;
}

int main(int argc, char** argv) {
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    std::vector<long> fib = pool.map(fibonacci, rankpool::range(1L, 13L));
    std::printf("consumer_subdir: rankpool %s: fibonacci", rankpool::version_string);
    for (long f : fib) std::printf(" %ld", f);
    std::printf("\n");
  });
}

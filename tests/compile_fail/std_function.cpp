// Must NOT compile: std::function owns heap state and cannot be shipped to another rank.
#include <functional>
#include <vector>

#include "rankpool/rankpool.hpp"

int main(int argc, char** argv) {
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    std::function<int(int)> f = [](int v) { return v; };
    pool.apply_async(f, 1).get();
  });
}

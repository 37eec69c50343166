// Must NOT compile: a lambda capturing a std::string cannot be shipped to another rank.
#include <string>
#include <vector>

#include "rankpool/rankpool.hpp"

int main(int argc, char** argv) {
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    std::string prefix = "x";
    std::vector<int> in{1, 2};
    pool.map([prefix](int v) { return prefix.size() + v; }, in);
  });
}

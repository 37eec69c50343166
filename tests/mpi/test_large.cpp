// Payloads over 2 GiB (MPI counts are int): an input and a result of 2^31 + 17 bytes each.
// Skipped, with a message, when the machine has less than 12 GiB available.

#include <fstream>
#include <string>
#include <vector>

#include "mpi_test.hpp"

namespace {

using rankpool::Pool;
using rankpool::PoolOptions;
using rankpool::testing::with_pool;

constexpr std::size_t kBig = (std::size_t{1} << 31) + 17;

bool enough_memory() {
  long long kb = 0;
  if (rankpool::testing::world_rank() == 0) {
    std::ifstream in("/proc/meminfo");
    std::string key;
    long long value;
    std::string unit;
    while (in >> key >> value >> unit) {
      if (key == "MemAvailable:") kb = value;
    }
  }
  MPI_Bcast(&kb, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);  // every rank takes the same decision
  return kb >= 12LL * 1024 * 1024;
}

PoolOptions workers_only() {
  PoolOptions o;
  o.master_computes = rankpool::testing::world_size() == 1;  // force the transport when we can
  return o;
}

TEST(Large, InputOver2GiB) {
  if (!enough_memory()) GTEST_SKIP() << "needs 12 GiB of available memory";
  with_pool(workers_only(), [](Pool& pool) {
    std::vector<std::string> in(1);
    in[0].assign(kBig, 'a');
    in[0][kBig - 1] = 'z';
    in[0][std::size_t{1} << 31] = 'm';
    auto out = pool.map(
        [](const std::string& s) {
          return std::make_tuple(s.size(), s[s.size() - 1], s[std::size_t{1} << 31]);
        },
        in);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(std::get<0>(out[0]), kBig);
    EXPECT_EQ(std::get<1>(out[0]), 'z');
    EXPECT_EQ(std::get<2>(out[0]), 'm');
  });
}

TEST(Large, ResultOver2GiB) {
  if (!enough_memory()) GTEST_SKIP() << "needs 12 GiB of available memory";
  with_pool(workers_only(), [](Pool& pool) {
    auto s = pool.apply(
        [](std::size_t n) {
          std::string out(n, 'b');
          out[n - 1] = 'y';
          return out;
        },
        kBig);
    ASSERT_EQ(s.size(), kBig);
    EXPECT_EQ(s[0], 'b');
    EXPECT_EQ(s[kBig - 1], 'y');
  });
}

}  // namespace

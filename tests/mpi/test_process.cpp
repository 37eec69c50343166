// rankpool::Process: start, join, exitcode, name, where it ran, and Python's misuse errors.

#include <chrono>
#include <string>
#include <vector>

#include "mpi_test.hpp"

namespace {

using rankpool::Pool;
using rankpool::Process;
using rankpool::testing::with_pool;
using rankpool::testing::world_size;

TEST(Process, StartJoinExitcode) {
  with_pool([](Pool& pool) {
    rankpool::Queue<int> out(pool);
    Process p(
        pool, [](rankpool::Queue<int> q, int x) { q.put(x * x); }, out, 11);
    EXPECT_FALSE(p.exitcode().has_value());
    EXPECT_FALSE(p.is_alive());
    p.start();
    p.join();
    EXPECT_FALSE(p.is_alive());
    EXPECT_EQ(p.exitcode(), 0);
    EXPECT_EQ(out.get(), 121);
    ASSERT_TRUE(p.where().has_value());
    EXPECT_GE(p.where()->first, 0);
    EXPECT_LT(p.where()->first, world_size());
    EXPECT_FALSE(p.where()->second.empty());
    EXPECT_EQ(p.name().rfind("Process-", 0), 0u);
  });
}

void put_square(rankpool::Queue<int> q, int x) {
  q.put(x * x);
}

TEST(Process, PlainFunctionTargetOnEveryRank) {
  // A plain function travels as an offset in the binary, not as an address.
  rankpool::PoolOptions o;
  o.master_computes = world_size() == 1;
  with_pool(o, [](Pool& pool) {
    rankpool::Queue<int> out(pool);
    std::vector<Process> ps;
    for (int i = 1; i <= 4; ++i) ps.emplace_back(pool, put_square, out, i);
    for (auto& p : ps) p.start();
    for (auto& p : ps) p.join();
    int sum = 0;
    for (int i = 0; i < 4; ++i) sum += out.get();
    EXPECT_EQ(sum, 1 + 4 + 9 + 16);
    for (auto& p : ps) EXPECT_EQ(p.exitcode(), 0) << p.error();
  });
}

TEST(Process, ExceptionGivesNonZeroExitcodeAndKeepsTheMessage) {
  with_pool([](Pool& pool) {
    Process p(
        pool, [](int) { throw std::runtime_error("disk full"); }, 1);
    p.start();
    p.join();
    EXPECT_EQ(p.exitcode(), 1);
    EXPECT_NE(p.error().find("disk full"), std::string::npos) << p.error();
    EXPECT_NE(p.error().find("std::runtime_error"), std::string::npos) << p.error();
  });
}

TEST(Process, MoreProcessesThanRanks) {
  with_pool([](Pool& pool) {
    rankpool::Queue<int> out(pool);
    std::vector<Process> ps;
    int n = 3 * world_size() + 2;
    for (int i = 0; i < n; ++i) {
      ps.emplace_back(
          pool, [](rankpool::Queue<int> q, int x) { q.put(x); }, out, i);
    }
    for (auto& p : ps) p.start();
    for (auto& p : ps) p.join();
    long sum = 0;
    for (int i = 0; i < n; ++i) sum += out.get();
    EXPECT_EQ(sum, long(n) * (n - 1) / 2);
    for (auto& p : ps) EXPECT_EQ(p.exitcode(), 0);
  });
}

TEST(Process, JoinWithTimeout) {
  with_pool([](Pool& pool) {
    Process p(
        pool,
        [](int ms) {
          auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
          while (std::chrono::steady_clock::now() < until) {
          }
        },
        400);
    p.start();
    EXPECT_FALSE(p.join(0.01)) << "joined a process that spins for 400 ms within 10 ms";
    EXPECT_FALSE(p.exitcode().has_value());
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
  });
}

TEST(Process, MisuseRaisesPythonsErrors) {
  with_pool([](Pool& pool) {
    Process p(
        pool, [](int) {}, 0);
    EXPECT_THROW(p.join(), rankpool::AssertionError);  // can only join a started process
    p.start();
    EXPECT_THROW(p.start(), rankpool::AssertionError);  // cannot start a process twice
    p.join();
  });
}

}  // namespace

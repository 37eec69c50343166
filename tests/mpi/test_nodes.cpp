// Across nodes (run by tests/multinode/two_nodes.sh, which sets RANKPOOL_TEST_NODES): the ranks
// must really sit on that many hosts, and tasks on different hosts share one Lock and one Queue.

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "mpi_test.hpp"

namespace {

using rankpool::Pool;

int expected_nodes() {
  const char* v = std::getenv("RANKPOOL_TEST_NODES");
  return v ? std::atoi(v) : 0;
}

TEST(Nodes, RanksSpanTheExpectedHosts) {
  int want = expected_nodes();
  if (want == 0) GTEST_SKIP() << "runs under tests/multinode/two_nodes.sh";
  rankpool::testing::with_pool([want](Pool& pool) {
    auto hosts = pool.map(
        [](int) {
          rankpool::testing::spin_for_ms(5);
          return rankpool::current_process().host;
        },
        rankpool::range(0, 16 * pool.processes()), 1);
    std::set<std::string> distinct(hosts.begin(), hosts.end());
    EXPECT_EQ(static_cast<int>(distinct.size()), want) << "tasks ran on fewer hosts than nodes";
    // A Queue and a Lock shared by tasks on both hosts.
    rankpool::Lock lock(pool);
    rankpool::Queue<std::string> q(pool);
    std::vector<std::pair<rankpool::Lock, rankpool::Queue<std::string>>> args(8 * pool.processes(),
                                                                              {lock, q});
    pool.map(
        [](std::pair<rankpool::Lock, rankpool::Queue<std::string>> a) {
          std::lock_guard<rankpool::Lock> guard(a.first);
          a.second.put(rankpool::current_process().host);
          return 0;
        },
        args, 1);
    std::set<std::string> from;
    while (!q.empty()) from.insert(q.get());
    EXPECT_EQ(static_cast<int>(from.size()), want) << "the Queue did not get items from every host";
  });
}

}  // namespace

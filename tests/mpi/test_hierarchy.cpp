// Hierarchical scheduling in the real pool (README "Scheduling at scale"): with every 2 ranks
// treated as a node, the lowest rank of each node but rank 0's relays for the other and runs no
// task; results, errors, the initializer and streaming all go through it. Under
// tests/multinode/two_nodes.sh with RANKPOOL_RANKS_PER_NODE=0 the real nodes are used instead.

#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "mpi_test.hpp"
#include "rankpool/detail/hierarchy.hpp"

namespace {

using rankpool::Pool;
using rankpool::PoolOptions;

int init_value = 0;  // set by the initializer on every process that runs tasks
void init_hierarchy(int v) {
  init_value = v;
}

PoolOptions node_options() {
  PoolOptions o;
  o.hierarchy = "node";
  o.ranks_per_node = 2;
  o.initializer(init_hierarchy, 41);
  return o;
}

TEST(Hierarchy, LeadersRelayAndDoNotCompute) {
  const int size = rankpool::testing::world_size();
  const auto plan = rankpool::detail::plan_hierarchy(
      rankpool::detail::fake_nodes(size, 2), size, true, 2, rankpool::detail::HierarchyMode::node);
  const char* rpn = std::getenv("RANKPOOL_RANKS_PER_NODE");
  const bool real_nodes = rpn && std::string(rpn) == "0";
  std::set<int> leaders;  // with 2-rank "nodes"
  for (const auto& s : plan.slots) {
    if (s.leader()) leaders.insert(s.rank);
  }
  EXPECT_EQ(leaders.empty(), size < 4);  // 4 ranks: nodes {0,1} {2,3}: rank 2 leads
  // Both layouts (2-rank "nodes", or two_nodes.sh's round-robin over 2 nodes) have one leader at
  // 4 ranks and none below.
  const int computing = size >= 4 ? size - 1 : size;
  rankpool::testing::with_pool(node_options(), [&](Pool& pool) {
    EXPECT_EQ(pool.processes(), computing);
    auto out = pool.map(
        [](int x) {
          // 20 ms: 2.4 s of work in all, so that every computing rank gets some even on a
          // loaded, oversubscribed machine (1 ms tasks left a rank idle there).
          rankpool::testing::spin_for_ms(20);
          return std::vector<std::int64_t>{x, init_value, rankpool::current_process().rank};
        },
        rankpool::range(0, 120), 1);
    ASSERT_EQ(out.size(), 120u);
    std::set<std::int64_t> ran;
    for (int i = 0; i < 120; ++i) {
      EXPECT_EQ(out[i][0], i);
      EXPECT_EQ(out[i][1], 41) << "the initializer did not run where item " << i << " ran";
      ran.insert(out[i][2]);
    }
    EXPECT_EQ(static_cast<int>(ran.size()), computing) << "a computing rank got no task";
    if (!real_nodes) {
      for (int l : leaders) EXPECT_EQ(ran.count(l), 0u) << "leader rank " << l << " ran a task";
    }

    // Errors travel back through the leader.
    EXPECT_THROW(pool.map(
                     [](int x) {
                       if (x == 77) throw x;
                       return x;
                     },
                     rankpool::range(0, 100), 1),
                 rankpool::RemoteError);
    // Streaming and single calls, larger chunks, several jobs at once.
    std::int64_t sum = 0;
    for (auto v : pool.imap([](int x) { return 2 * x; }, rankpool::range(0, 500), 7)) sum += v;
    EXPECT_EQ(sum, 2 * (499 * 500 / 2));
    auto a = pool.map_async([](int x) { return x + 1; }, rankpool::range(0, 1000), 3);
    EXPECT_EQ(pool.apply([](int x) { return x * x; }, 12), 144);
    auto got = a.get();
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(got[i], i + 1);
  });
}

}  // namespace

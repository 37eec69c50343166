// Unit tests of the flat/hierarchical decision and plan (rankpool/detail/hierarchy.hpp).

#include "rankpool/detail/hierarchy.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "rankpool/error.hpp"

namespace rankpool::detail {
namespace {

TEST(Hierarchy, ParsesNames) {
  EXPECT_EQ(parse_hierarchy("flat"), HierarchyMode::flat);
  EXPECT_EQ(parse_hierarchy("node"), HierarchyMode::node);
  EXPECT_EQ(parse_hierarchy("auto"), HierarchyMode::automatic);
  EXPECT_STREQ(to_string(HierarchyMode::automatic), "auto");
  try {
    parse_hierarchy("tree");
    ADD_FAILURE() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'flat'"), std::string::npos) << e.what();
  }
}

TEST(Hierarchy, FakeNodes) {
  EXPECT_EQ(fake_nodes(5, 2), (std::vector<int>{0, 0, 1, 1, 2}));
  EXPECT_THROW(fake_nodes(4, 0), ValueError);
}

TEST(Hierarchy, FlatPlanIsOneSlotPerRank) {
  const HierarchyPlan p = plan_hierarchy(fake_nodes(4, 2), 4, true, 2, HierarchyMode::flat);
  EXPECT_EQ(p.mode, HierarchyMode::flat);
  ASSERT_EQ(p.slots.size(), 4u);
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(p.slots[r].rank, r);
    EXPECT_EQ(p.slots[r].window, 2);
    EXPECT_FALSE(p.slots[r].leader());
  }
  EXPECT_EQ(p.parent, (std::vector<int>{-1, 0, 0, 0}));
  EXPECT_EQ(p.computing, 4);
}

TEST(Hierarchy, NodePlanHasOneLeaderPerOtherNode) {
  // 8 ranks in nodes of 3: {0,1,2} (the master's, served directly), {3,4,5}, {6,7}.
  const HierarchyPlan p = plan_hierarchy(fake_nodes(8, 3), 8, true, 2, HierarchyMode::node);
  EXPECT_EQ(p.mode, HierarchyMode::node);
  ASSERT_EQ(p.slots.size(), 5u);  // 0, 1, 2, leader 3, leader 6
  EXPECT_EQ(p.slots[3].rank, 3);
  EXPECT_EQ(p.slots[3].workers, (std::vector<int>{4, 5}));
  EXPECT_EQ(p.slots[3].window, 4);
  EXPECT_EQ(p.slots[4].rank, 6);
  EXPECT_EQ(p.slots[4].workers, (std::vector<int>{7}));
  EXPECT_EQ(p.slots[4].window, 2);
  EXPECT_EQ(p.parent, (std::vector<int>{-1, 0, 0, 0, 3, 3, 0, 6}));
  EXPECT_EQ(p.computing, 6);
  ASSERT_NE(p.slot_of(6), nullptr);
  EXPECT_EQ(p.slot_of(7), nullptr);
}

TEST(Hierarchy, NodePlanWithoutLeadersIsFlat) {
  // Nodes of one rank (or ranks not in use) leave nobody to relay for.
  EXPECT_EQ(plan_hierarchy(fake_nodes(4, 1), 4, true, 2, HierarchyMode::node).mode,
            HierarchyMode::flat);
  const HierarchyPlan p = plan_hierarchy(fake_nodes(4, 2), 2, false, 2, HierarchyMode::node);
  // Ranks 1 and 2 in use: 1 on the master's node, 2 alone on its node; rank 3 unused.
  EXPECT_EQ(p.mode, HierarchyMode::flat);
  ASSERT_EQ(p.slots.size(), 2u);
  EXPECT_EQ(p.slots[0].rank, 1);
  EXPECT_EQ(p.parent[3], 0);  // still shut down by the master
  EXPECT_THROW(plan_hierarchy(fake_nodes(4, 2), 4, false, 2, HierarchyMode::node), ValueError);
  EXPECT_THROW(plan_hierarchy(fake_nodes(4, 2), 4, true, 2, HierarchyMode::automatic), ValueError);
}

TEST(Hierarchy, AutoChoosesNodeOnlyWhenTheFlatMasterSaturates) {
  const CostModel m;
  // Few workers: the master keeps up, flat stays.
  EXPECT_EQ(choose_hierarchy(HierarchyMode::automatic, m, 64, 2, 32, 1e-3), HierarchyMode::flat);
  // Very many workers and short chunks: the master cannot keep up.
  EXPECT_GT(16384 * (2 * m.master_message + m.master_chunk), 1e-3);
  EXPECT_EQ(choose_hierarchy(HierarchyMode::automatic, m, 16384, 256, 64, 1e-3),
            HierarchyMode::node);
  // One node: nothing to relay for.
  EXPECT_EQ(choose_hierarchy(HierarchyMode::automatic, m, 16384, 1, 16384, 1e-3),
            HierarchyMode::flat);
  // An explicit choice is kept.
  EXPECT_EQ(choose_hierarchy(HierarchyMode::node, m, 2, 1, 2, 1), HierarchyMode::node);
  EXPECT_EQ(choose_hierarchy(HierarchyMode::flat, m, 16384, 256, 64, 1e-3), HierarchyMode::flat);
  // The estimate itself: flat is capped by 1 / (per-chunk master cost).
  const double per_chunk = 2 * m.master_message + m.master_chunk;
  const double flat = estimated_efficiency(m, HierarchyMode::flat, 16384, 64, 1e-3);
  EXPECT_NEAR(flat,
              (1e-3 / (1e-3 + m.worker_message)) * (1e-3 + m.worker_message) / (16384 * per_chunk),
              1e-9);
}

}  // namespace
}  // namespace rankpool::detail

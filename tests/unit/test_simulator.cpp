// Unit tests of the scheduling simulator (rankpool/detail/simulator.hpp): exact answers where the
// model has one, the single master's ceiling, the hierarchy where it should win, and the
// scheduler's accounting at the end.

#include "rankpool/detail/simulator.hpp"

#include <gtest/gtest.h>

#include <numeric>

#include "rankpool/error.hpp"

namespace rankpool::detail {
namespace {

CostModel free_model() {
  CostModel m;
  m.master_message = m.master_chunk = m.leader_message = m.leader_chunk = m.worker_message = 0;
  m.latency_intra = m.latency_inter = 0;
  m.bandwidth_intra = m.bandwidth_inter = 1e30;
  return m;
}

void expect_accounting(const SimResult& r) {
  EXPECT_TRUE(r.scheduler_idle);
  EXPECT_EQ(r.items_done, r.tasks);
  EXPECT_EQ(std::accumulate(r.slot_items.begin(), r.slot_items.end(), std::uint64_t{0}), r.tasks);
  EXPECT_EQ(r.chunks, (r.tasks + r.chunksize - 1) / r.chunksize);
}

TEST(Simulator, OneWorkerWithoutCostsTakesTheSumOfDurations) {
  for (std::uint64_t chunksize : {1, 7}) {
    for (int window : {1, 3}) {
      SimConfig c;
      c.workers = 1;
      c.ranks_per_node = 1;
      c.tasks = 50;
      c.chunksize = chunksize;
      c.window = window;
      c.task_seconds = 2e-3;
      c.jitter = 0.5;
      c.model = free_model();
      c.master_scan_slot = 0;
      const SimResult r = simulate(c);
      EXPECT_NEAR(r.makespan, r.work, 1e-12 * r.work);
      EXPECT_NEAR(r.efficiency, 1.0, 1e-9);
      EXPECT_GT(r.work, 0.05 * 0.5);  // durations really vary: not all at the minimum
      EXPECT_NE(r.work, 50 * 2e-3);
      EXPECT_EQ(r.chunksize, chunksize);
      expect_accounting(r);
    }
  }
}

TEST(Simulator, LatencyAddsOneRoundTripPerChunkWithWindowOne) {
  SimConfig c;
  c.workers = 1;
  c.ranks_per_node = 1;  // the worker is on another node: inter-node latency
  c.tasks = 10;
  c.window = 1;
  c.task_seconds = 1e-3;
  c.model = free_model();
  c.model.latency_inter = 50e-6;
  c.master_scan_slot = 0;
  const SimResult r = simulate(c);
  EXPECT_NEAR(r.makespan, 10 * (1e-3 + 2 * 50e-6), 1e-12);
}

TEST(Simulator, SingleMasterCeilingWhenServiceTimesWorkersExceedsTheTask) {
  SimConfig c;
  c.task_seconds = 1e-3;
  c.tasks_per_worker = 16;
  c.ranks_per_node = 1000000;  // one node
  c.model = free_model();
  c.model.master_chunk = 10e-6;  // 5 us to send a chunk, 5 us to take its result
  c.master_scan_slot = 0;
  c.workers = 400;  // 400 x 10 us = 4 ms > 1 ms: the master is the bottleneck
  const SimResult slow = simulate(c);
  const double floor = static_cast<double>(slow.tasks) * 10e-6;
  EXPECT_GE(slow.makespan, floor * (1 - 1e-9));
  EXPECT_LE(slow.makespan, 1.1 * floor + 2e-3);
  EXPECT_LT(slow.efficiency, 0.3);
  EXPECT_GT(slow.master_busy, 0.95);
  expect_accounting(slow);
  c.workers = 50;  // 50 x 10 us = 0.5 ms < 1 ms: the master keeps up
  const SimResult fast = simulate(c);
  EXPECT_GT(fast.efficiency, 0.85);
  expect_accounting(fast);
}

TEST(Simulator, HierarchyWinsWhereTheModelSaysSoAndNotElsewhere) {
  SimConfig c;
  c.ranks_per_node = 64;
  c.task_seconds = 1e-3;
  c.workers = 4096;
  c.mode = HierarchyMode::flat;
  const SimResult flat = simulate(c);
  c.mode = HierarchyMode::node;
  const SimResult node = simulate(c);
  EXPECT_EQ(flat.mode, HierarchyMode::flat);
  EXPECT_EQ(node.mode, HierarchyMode::node);
  // Ranks 0..4096 in nodes of 64: nodes 1..63 get a leader; rank 4096 is alone on node 64.
  EXPECT_EQ(node.leaders, 63);
  EXPECT_GT(node.efficiency, flat.efficiency + 0.1);
  EXPECT_LT(node.master_messages, flat.master_messages / 4);
  c.mode = HierarchyMode::automatic;
  EXPECT_EQ(simulate(c).mode, HierarchyMode::node);
  expect_accounting(flat);
  expect_accounting(node);

  // 64 workers with 10 ms tasks: one master keeps up; leaders would only cost cores.
  c.workers = 64;
  c.task_seconds = 10e-3;
  c.mode = HierarchyMode::flat;
  const SimResult small_flat = simulate(c);
  c.mode = HierarchyMode::node;
  const SimResult small_node = simulate(c);
  EXPECT_GT(small_flat.efficiency, 0.9);  // 16 tasks each: one task of tail is 1/17
  EXPECT_GE(small_flat.efficiency, small_node.efficiency);
  c.mode = HierarchyMode::automatic;
  EXPECT_EQ(simulate(c).mode, HierarchyMode::flat);
}

TEST(Simulator, TargetSixteenThousandWorkersTenMillisecondTasks) {
  // The projection the README reports: calibrated model, 64-rank nodes, chunksize 1, 64 tasks per
  // worker (so that one task of tail costs at most 1/65).
  SimConfig c;
  c.tasks_per_worker = 64;
  c.workers = 16384;
  c.ranks_per_node = 64;
  c.task_seconds = 10e-3;
  c.mode = HierarchyMode::node;
  const SimResult r = simulate(c);
  EXPECT_GE(r.efficiency, 0.90);
  expect_accounting(r);
  c.mode = HierarchyMode::flat;  // the single master saturates there
  EXPECT_LT(simulate(c).efficiency, r.efficiency);
}

TEST(Simulator, DeterministicAndSeeded) {
  SimConfig c;
  c.workers = 200;
  c.ranks_per_node = 16;
  c.mode = HierarchyMode::node;
  c.jitter = 0.3;
  const SimResult a = simulate(c), b = simulate(c);
  EXPECT_EQ(a.makespan, b.makespan);
  EXPECT_EQ(a.events, b.events);
  c.seed = 2;
  EXPECT_NE(simulate(c).work, a.work);
}

TEST(Simulator, DefaultChunksizeIsPythons) {
  SimConfig c;
  c.workers = 10;
  c.tasks = 1000;
  c.chunksize = 0;
  const SimResult r = simulate(c);
  EXPECT_EQ(r.chunksize, 25u);  // ceil(1000 / (4 x 10))
  expect_accounting(r);
}

TEST(Simulator, RejectsNonsense) {
  SimConfig c;
  c.workers = 0;
  EXPECT_THROW(simulate(c), ValueError);
  c.workers = 4;
  c.jitter = 1.5;
  EXPECT_THROW(simulate(c), ValueError);
  c.jitter = 0;
  c.task_seconds = 0;
  EXPECT_THROW(simulate(c), ValueError);
}

}  // namespace
}  // namespace rankpool::detail

#pragma once
// A discrete-event simulator of one dynamic map on many ranks, built on the pool's own pieces: the
// master's decisions are made by the real Scheduler (the same dispatch rounds as Engine::dispatch),
// the ranks' roles by plan_hierarchy, a leader's by RelayQueue. Time is modelled by CostModel
// (hierarchy.hpp): master, leader and worker CPU time per message and per chunk, latency and
// bandwidth inside and between nodes. Deterministic: the same config gives the same result.
//
// Ranks: rank 0 is the master (it does not compute here), ranks 1..workers are workers, in nodes
// of ranks_per_node consecutive ranks (rank 0's node included). In node mode a leader takes one
// rank of each other node; efficiency is still counted over all `workers` ranks, so the cores
// leaders spend relaying count against the hierarchy.

#include <cstdint>
#include <vector>

#include "rankpool/detail/hierarchy.hpp"

namespace rankpool::detail {

struct SimConfig {
  int workers = 64;                          // ranks besides the master
  int ranks_per_node = 64;                   // node size
  HierarchyMode mode = HierarchyMode::flat;  // auto: choose_hierarchy with this chunk duration
  double task_seconds = 10e-3;
  std::uint64_t tasks = 0;  // 0: tasks_per_worker x workers
  int tasks_per_worker = 16;
  std::uint64_t chunksize = 1;  // 0: Python's default, ceil(tasks / (4 x computing ranks))
  int window = 2;               // chunks in flight per worker (as PoolOptions::window)
  double jitter = 0;            // a task takes task_seconds x U[1 - jitter, 1 + jitter]
  std::uint64_t seed = 1;
  CostModel model;
  /// Master CPU time per slot the dispatch loop looks at (Engine::dispatch visits every slot in
  /// every round).
  double master_scan_slot = 1e-9;
};

struct SimResult {
  HierarchyMode mode = HierarchyMode::flat;  // flat or node, as planned
  int workers = 0;
  int computing = 0;  // workers that run tasks
  int leaders = 0;
  int nodes = 0;
  std::uint64_t tasks = 0;
  std::uint64_t chunksize = 0;
  std::uint64_t chunks = 0;
  double work = 0;                    // sum of task durations (s)
  double makespan = 0;                // s, from submission to the last result at the master
  double efficiency = 0;              // work / (makespan x workers)
  double master_busy = 0;             // fraction of the makespan the master was busy
  double max_leader_busy = 0;         // the busiest leader's fraction
  std::uint64_t master_messages = 0;  // sent and received by the master
  std::uint64_t events = 0;
  // Accounting, checked at the end: items done per master slot and in total.
  std::vector<std::uint64_t> slot_items;
  std::uint64_t items_done = 0;
  bool scheduler_idle = false;
};

/// Runs the simulation. ValueError for a config that makes no sense (workers < 1, ...).
SimResult simulate(const SimConfig& config);

}  // namespace rankpool::detail

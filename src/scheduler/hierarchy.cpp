#include "rankpool/detail/hierarchy.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "rankpool/error.hpp"

namespace rankpool::detail {

HierarchyMode parse_hierarchy(std::string_view name) {
  if (name == "flat") return HierarchyMode::flat;
  if (name == "node") return HierarchyMode::node;
  if (name == "auto") return HierarchyMode::automatic;
  throw ValueError("unknown hierarchy '" + std::string(name) +
                   "': use one of 'flat' (one master feeds every worker), 'node' (one leader per "
                   "node relays for its node's workers) or 'auto'");
}

const char* to_string(HierarchyMode mode) {
  switch (mode) {
    case HierarchyMode::flat:
      return "flat";
    case HierarchyMode::node:
      return "node";
    case HierarchyMode::automatic:
      return "auto";
  }
  return "unknown";
}

double estimated_efficiency(const CostModel& m, HierarchyMode mode, int workers, int ranks_per_node,
                            double chunk_seconds) {
  if (workers < 1 || chunk_seconds <= 0) return 0;
  const double cycle = chunk_seconds + m.worker_message;  // one chunk on a worker
  const double busy = chunk_seconds / cycle;
  const double p = workers;
  if (mode != HierarchyMode::node || ranks_per_node < 2) {
    const double per_chunk = 2 * m.master_message + m.master_chunk;
    return busy * std::min(1.0, cycle / (p * per_chunk));
  }
  const double k = ranks_per_node - 1;  // workers per leader
  const double leaders = std::ceil(p / ranks_per_node);
  const double computing = std::max(1.0, p - leaders);
  const double master = m.master_chunk + 2 * m.master_message / k;  // one batch per node's round
  const double leader = 2 * m.leader_message + m.leader_chunk + 2 * m.leader_message / k;
  const double limit = std::min({1.0, cycle / (computing * master), cycle / (k * leader)});
  return computing / p * busy * limit;
}

HierarchyMode choose_hierarchy(HierarchyMode mode, const CostModel& model, int workers, int nodes,
                               int ranks_per_node, double chunk_seconds) {
  if (mode != HierarchyMode::automatic) return mode;
  if (nodes < 2 || ranks_per_node < 2) return HierarchyMode::flat;
  const double flat =
      estimated_efficiency(model, HierarchyMode::flat, workers, ranks_per_node, chunk_seconds);
  const double node =
      estimated_efficiency(model, HierarchyMode::node, workers, ranks_per_node, chunk_seconds);
  return flat < 0.9 && node > flat ? HierarchyMode::node : HierarchyMode::flat;
}

const SlotPlan* HierarchyPlan::slot_of(int rank) const {
  for (const SlotPlan& s : slots) {
    if (s.rank == rank) return &s;
  }
  return nullptr;
}

HierarchyPlan plan_hierarchy(const std::vector<int>& node_of_rank, int processes,
                             bool master_computes, int window, HierarchyMode mode) {
  const int ranks = static_cast<int>(node_of_rank.size());
  const int first = master_computes ? 0 : 1;
  if (processes < 1 || first + processes > ranks) {
    throw ValueError("plan_hierarchy: " + std::to_string(processes) + " processes need " +
                     std::to_string(first + processes) + " ranks but there are " +
                     std::to_string(ranks));
  }
  if (window < 1) throw ValueError("plan_hierarchy: window must be >= 1");
  if (mode == HierarchyMode::automatic) {
    throw ValueError("plan_hierarchy: decide 'auto' with choose_hierarchy first");
  }
  HierarchyPlan plan;
  plan.parent.assign(static_cast<std::size_t>(ranks), 0);
  plan.parent[0] = -1;
  const int end = first + processes;
  // Ranks in use (other than rank 0), grouped by node in rank order.
  std::map<int, std::vector<int>> by_node;
  if (mode == HierarchyMode::node) {
    for (int r = std::max(first, 1); r < end; ++r) by_node[node_of_rank[r]].push_back(r);
  }
  std::vector<std::vector<int>> fed(static_cast<std::size_t>(ranks));  // leader -> its workers
  for (auto& [node, members] : by_node) {
    if (node == node_of_rank[0] || members.size() < 2) continue;  // served by the master
    const int leader = members.front();
    fed[leader].assign(members.begin() + 1, members.end());
    for (int w : fed[leader]) plan.parent[w] = leader;
  }
  int leaders = 0;
  for (int r = first; r < end; ++r) {
    if (r != 0 && plan.parent[r] != 0) continue;  // fed by a leader
    SlotPlan s;
    s.rank = r;
    s.workers = fed[r];
    s.window = window * std::max<int>(1, static_cast<int>(s.workers.size()));
    leaders += s.leader() ? 1 : 0;
    plan.slots.push_back(std::move(s));
  }
  plan.mode = leaders > 0 ? HierarchyMode::node : HierarchyMode::flat;
  plan.computing = processes - leaders;
  return plan;
}

std::vector<int> fake_nodes(int ranks, int ranks_per_node) {
  if (ranks_per_node < 1) throw ValueError("fake_nodes: ranks_per_node must be >= 1");
  std::vector<int> nodes(static_cast<std::size_t>(std::max(ranks, 0)));
  for (int r = 0; r < ranks; ++r) nodes[r] = r / ranks_per_node;
  return nodes;
}

}  // namespace rankpool::detail

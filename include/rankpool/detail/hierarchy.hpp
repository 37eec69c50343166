#pragma once
// Flat or hierarchical scheduling: the cost model of the master, the leaders and the network
// (calibrated on the development machine, README "Scheduling at scale"), the decision between
// a single master and one leader per node, and the plan of who feeds whom. Plain C++ (no MPI):
// the pool (run.cpp) and the simulator (rankpool-sim) use the same functions.
//
// Hierarchical ("node") scheduling: rank 0 keeps the one Scheduler; on every node but its own, the
// lowest rank in use is a leader that does not compute: it is one scheduler slot whose window is
// window x (its workers), takes batches of chunks from rank 0 in one message, hands them to its
// node's workers, and sends their results back to rank 0 in batches (relay.cpp). Rank 0's own
// node is served directly, as in flat scheduling.

#include <string_view>
#include <vector>

namespace rankpool::detail {

enum class HierarchyMode { flat, node, automatic };

/// "flat", "node" or "auto"; anything else throws ValueError listing the valid names.
HierarchyMode parse_hierarchy(std::string_view name);
const char* to_string(HierarchyMode mode);

/// Costs in seconds, bandwidths in bytes per second. The defaults are the calibration measured on
/// the development machine (README "Scheduling at scale" gives the commands).
struct CostModel {
  /// Master CPU time per message sent or received (MPI calls: isend, or probe + receive).
  double master_message = 0.18e-6;
  /// Master CPU time per chunk, whatever the batching (scheduler, encode inputs, decode results).
  double master_chunk = 0.36e-6;
  /// Leader CPU time per message and per chunk it relays.
  double leader_message = 0.18e-6;
  double leader_chunk = 0.05e-6;
  /// Worker CPU time to take a task and send its result.
  double worker_message = 0.36e-6;
  /// One-way latency and bandwidth inside a node (shared memory) and between nodes (network).
  double latency_intra = 0.26e-6;
  double latency_inter = 25e-6;
  double bandwidth_intra = 5e9;
  double bandwidth_inter = 1e9;
  /// Bytes of one chunk's task and of its result message (header + payload).
  double task_bytes = 96;
  double result_bytes = 96;
};

/// A rough closed-form efficiency (busy worker time / available worker time) of a long dynamic
/// map of chunks of `chunk_seconds` each, on `workers` computing ranks in nodes of
/// `ranks_per_node` ranks (a leader takes one of them). It is what `auto` decides with; the
/// simulator gives the detailed answer.
double estimated_efficiency(const CostModel& model, HierarchyMode mode, int workers,
                            int ranks_per_node, double chunk_seconds);

/// Chunk duration `auto` assumes when it decides before any task ran: 1 ms.
constexpr double kAutoChunkSeconds = 1e-3;

/// flat or node: node when there are at least two nodes and the flat master is estimated to keep
/// its workers below 90% busy while the hierarchy does better. mode flat/node is returned as is.
HierarchyMode choose_hierarchy(HierarchyMode mode, const CostModel& model, int workers, int nodes,
                               int ranks_per_node, double chunk_seconds = kAutoChunkSeconds);

/// One scheduler slot of the master: a rank it sends chunks to, with that slot's window. A leader
/// slot lists the workers it feeds (non-empty).
struct SlotPlan {
  int rank = 0;
  int window = 1;
  std::vector<int> workers;
  bool leader() const { return !workers.empty(); }
};

struct HierarchyPlan {
  HierarchyMode mode = HierarchyMode::flat;  // flat or node
  std::vector<SlotPlan> slots;               // the master's slots (slot 0 = rank 0 if it computes)
  /// Per rank: who sends it tasks, init and shutdown: -1 for rank 0, 0 for ranks served by the
  /// master (and ranks not in use), the leader's rank for a leader's workers.
  std::vector<int> parent;
  int computing = 0;  // ranks that run tasks (leaders do not)

  /// The slot of rank r, or nullptr when r is not one of the master's slots.
  const SlotPlan* slot_of(int rank) const;
};

/// The plan for ranks 0..node_of_rank.size()-1 (node_of_rank[r]: any id, equal for ranks on one
/// node) of which `processes` are in use: ranks first..first+processes-1, first = 0 when the
/// master computes, else 1 (as flat scheduling always did). mode must be flat or node.
HierarchyPlan plan_hierarchy(const std::vector<int>& node_of_rank, int processes,
                             bool master_computes, int window, HierarchyMode mode);

/// Node ids for a test on one machine: every `ranks_per_node` consecutive ranks form a node.
std::vector<int> fake_nodes(int ranks, int ranks_per_node);

}  // namespace rankpool::detail

#pragma once
// Where each rank runs: the node's hardware topology (hwloc, kept out of this header so that
// programs need no hwloc headers) and the placement of a node's ranks on its cores.
//
// place() is a pure function of (topology, local rank, ranks on the node, allowed PUs, policy,
// threads per worker): it reads the topology and binds nothing, so it is unit-tested on hwloc's
// synthetic topologies ("pack:2 numa:2 l3:2 core:8 pu:2") as well as on the running machine.
// Binding the calling thread and the MPI exchange around it live in detail/binding.hpp.
//
// Numbering, as the hwloc tools print it: PUs (hardware threads) and NUMA nodes by their OS index
// (P#, what taskset, hwloc-bind --get and numactl use); packages and cores by hwloc's logical
// index (L#, as lstopo prints, unique across the node).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rankpool::detail {

/// How ranks are placed on a node (--rankpool-bind).
///  - core: one core per rank (threads_per_worker consecutive cores), compact: local rank i gets
///    the i-th place in the node's order.
///  - socket, numa, l3: places spread round-robin over packages, NUMA nodes or L3 caches, then
///    compact inside each (each rank still gets threads_per_worker cores).
///  - hwthread: as core, with hardware threads (PUs) instead of cores.
///  - none: no binding by rankpool.
enum class BindPolicy { core, socket, numa, l3, hwthread, none };

/// "core", "socket", "numa", "l3", "hwthread" or "none"; anything else throws ValueError listing
/// the valid names.
BindPolicy parse_bind_policy(std::string_view name);
const char* to_string(BindPolicy policy);

/// A set of PUs as sorted, distinct OS indexes.
using PuList = std::vector<int>;

/// "0-3,8,10-11" (the list syntax of hwloc-bind and taskset -c); "" for an empty list.
std::string to_list_string(const PuList& pus);

/// One node's topology, loaded by hwloc. Move-only.
class Topology {
 public:
  /// The machine this process runs on, restricted to what it may use (cgroup, Slurm).
  /// Throws Error if hwloc cannot read it.
  static Topology this_node();
  /// A made-up machine from an hwloc synthetic description, e.g. "pack:2 core:4 pu:2" (PU OS
  /// indexes 0, 1, ... in order). Throws ValueError for a description hwloc rejects.
  static Topology synthetic(const std::string& description);

  Topology(Topology&&) noexcept;
  Topology& operator=(Topology&&) noexcept;
  ~Topology();

  /// PUs the process may use: the whole node, or what a cgroup / Slurm cpuset leaves.
  PuList allowed_pus() const;
  /// The PUs of the logical core `core`, or {} if there is no such core.
  PuList core_pus(int core) const;
  int num_cores() const;

  /// The calling thread's binding. Only for this_node(); throws Error if the OS does not say.
  PuList thread_binding() const;
  /// Binds the calling thread (and the threads it starts later) to `pus`. Only for this_node();
  /// returns false (errno set) if the OS refuses.
  bool bind_thread(const PuList& pus) const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit Topology(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// What place() needs to know about one rank.
struct PlacementRequest {
  std::string host;     // for messages only
  int local_rank = 0;   // this rank's index among the node's ranks (ordered by pool rank)
  int local_count = 1;  // ranks on this node
  PuList allowed;       // PUs this rank may use; it is never bound outside them
  BindPolicy policy = BindPolicy::core;
  int threads_per_worker = 1;
  /// Local rank 0 is the pool's master (rank 0) and does not run tasks (master_computes off):
  /// it then gets no place of its own but a spare core (see place()).
  bool master_idle_here = false;
};

/// Where one rank runs, and why.
struct Placement {
  /// "rankpool" (bound by place()), "launcher" (the launcher's binding, kept), or "none".
  std::string binding = "none";
  PuList pus;                   // where the rank may run (OS indexes)
  std::vector<int> cores;       // cores those PUs belong to (logical indexes)
  std::vector<int> packages;    // packages they lie in (logical indexes)
  std::vector<int> numa_nodes;  // NUMA nodes local to them (OS indexes)
  /// Shares a core with a worker (an idle master on a full node).
  bool shared = false;
  /// More ranks on the node than places: nobody on this node is bound (see place()).
  bool oversubscribed = false;
  /// Non-empty when the user should be told something (oversubscription).
  std::string warning;
};

/// Describes a set of PUs: the cores, packages and NUMA nodes it touches.
Placement describe(const Topology& topology, const PuList& pus, const std::string& binding);

/// The place of one rank. Places are cut from the request's allowed PUs: units are cores (PUs
/// for hwthread) with at least one allowed PU, grouped into domains of units that share a
/// package and a NUMA node; each domain gives floor(units / threads_per_worker) places of
/// threads_per_worker consecutive units (so a place never spans two packages or NUMA nodes).
/// Places are ordered compactly (core, hwthread) or round-robin over packages, NUMA nodes or L3
/// caches (socket, numa, l3), and local rank i takes place i.
///  - An idle master (master_idle_here) takes no place: the workers (local ranks 1..n-1) take
///    places 0..n-2, and the master takes the last allowed core that no worker has, or, if every
///    core is taken, shares the node's last allowed core (shared = true).
///  - More ranks than places: nobody is bound (pus = allowed, binding "none"),
///    oversubscribed = true and a warning that names the host and the numbers.
///  - policy none: pus = allowed, binding "none".
/// Throws ValueError (naming the host and the numbers) for threads_per_worker < 1, more
/// threads_per_worker than the largest domain has units, a policy the node cannot honour (socket
/// without packages, l3 without L3 caches), or no allowed PU.
Placement place(const Topology& topology, const PlacementRequest& request);

}  // namespace rankpool::detail

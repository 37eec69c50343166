#pragma once
// Pool options: set in code, overridden by the environment (RANKPOOL_*), overridden in turn by
// the command line (--rankpool-*), so a batch script can retune a compiled program.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rankpool/detail/callable.hpp"
#include "rankpool/detail/hierarchy.hpp"
#include "rankpool/detail/scheduler.hpp"
#include "rankpool/detail/topology.hpp"

namespace rankpool {

struct PoolOptions {
  /// Ranks that run tasks (Python's processes). Default: every rank (the master computes too).
  std::optional<int> processes;
  /// Default chunksize for map/starmap (a map's own chunksize argument overrides it).
  std::optional<std::int64_t> chunksize;
  /// How a map's inputs are cut into chunks (README, "Scheduling"):
  ///  - "auto" (default): with a chunksize (this one or the map's), "dynamic" with it; without,
  ///    "guided" down to single inputs, which balances uneven task durations.
  ///  - "dynamic": chunks of exactly chunksize to whichever worker is free; default chunksize
  ///    ceil(n / (4 x processes)), as Python's Pool.
  ///  - "static": one contiguous block per process, as MPI_Scatterv.
  ///  - "guided": chunks that shrink as the inputs run out, never below chunksize (default 1).
  std::string schedule = "auto";
  /// After this many tasks (chunks) a worker re-runs the initializer to start from fresh state;
  /// 0 = never. An MPI rank cannot be replaced like Python's child process, so this is what
  /// maxtasksperchild means here.
  std::uint64_t maxtasksperchild = 0;
  /// The master computes chunks while it waits (so P ranks keep P cores busy).
  bool master_computes = true;
  /// The master's chunks run on a second thread of rank 0 while its main thread keeps handing
  /// out chunks and serving Lock/Queue requests, so workers never wait for a long task of the
  /// master. Tasks on rank 0 then run off the main thread; turn it off for tasks that need the
  /// main thread (GUI toolkits, MPI calls under MPI_THREAD_FUNNELED). Chunks shorter than
  /// about 250 us, and every chunk under isolate or rerun_stragglers, run on the main thread.
  bool master_thread = true;
  /// Chunks in flight per worker, so a worker never waits on the master.
  int window = 2;
  /// Where each rank runs (README, "Placement (hwloc)"): "core" (default: one core each,
  /// compact), "socket", "numa", "l3" (spread over those, then cores), "hwthread" or "none". A
  /// launcher's binding is kept; a node with more ranks than places binds nobody (and warns).
  std::string bind = "core";
  /// Cores each rank gets, inside one package and NUMA node; tasks read it from
  /// current_process().threads_per_worker.
  int threads_per_worker = 1;
  /// Rank 0 prints every rank's placement, one line per rank in rank order (stderr).
  bool report_binding = false;
  /// Rank 0 writes every rank's placement as JSON to this file ("" = none).
  std::string binding_json;
  /// "flat" (rank 0 feeds every worker), "node" (one leader per node, not computing, relays
  /// batches for its node's workers) or "auto" (node when the cost model says the single master
  /// saturates; README "Scheduling at scale").
  std::string hierarchy = "auto";
  /// Treat every this many consecutive ranks as one node (to test the hierarchy on one machine);
  /// 0 = the real nodes (MPI_COMM_TYPE_SHARED).
  int ranks_per_node = 0;
  /// Fault isolation (README "Fault isolation"): every chunk runs in a forked child process, so
  /// a segfault, abort(), exit() or OOM kill in a task fails only that input (TaskCrashed) and
  /// the pool goes on. Costs a fork per chunk: use chunks of milliseconds or more.
  bool isolate = false;
  /// Seconds one input may run before its process is killed (TaskCrashed, timed_out()); 0 = no
  /// limit. Needs isolate (a running function cannot be stopped otherwise): setting it turns
  /// isolation on.
  double task_timeout = 0;
  /// Stragglers: once a map's inputs are all handed out, a worker with nothing to do runs a
  /// backup copy of the oldest chunk still running elsewhere; the first copy to finish wins.
  /// Tasks must then be idempotent (a chunk may run twice; its side effects happen twice).
  bool rerun_stragglers = false;

  /// Run f(args...) once on every process before its first task (and again after every
  /// maxtasksperchild tasks). Same shipping rules as tasks.
  template <class F, class... A>
  PoolOptions& initializer(F f, A&&... args) {
    init = detail::make_shipped_call(f, std::forward<A>(args)...);
    return *this;
  }
  detail::ShippedCall init;
};

namespace detail {

/// Options after defaults, environment and command line, checked against the job's size.
struct ResolvedOptions {
  int processes = 1;
  std::optional<std::uint64_t> chunksize;
  std::optional<Policy> policy;  // none: schedule "auto" (Pool::plan_for)
  std::uint64_t maxtasksperchild = 0;
  bool master_computes = true;
  bool master_thread = true;
  int window = 2;
  BindPolicy bind = BindPolicy::core;
  int threads_per_worker = 1;
  bool report_binding = false;
  std::string binding_json;
  bool isolate = false;
  double task_timeout = 0;
  bool rerun_stragglers = false;
  HierarchyMode hierarchy = HierarchyMode::automatic;
  int ranks_per_node = 0;
  std::vector<SlotPlan> slots;  // node scheduling: the master's slots (set by run(), not options)
  bool print_help = false;
  bool print_version = false;
};

using EnvLookup = std::function<const char*(const char*)>;

/// A chunksize given by the caller, checked: ValueError unless it is at least 1.
std::uint64_t checked_chunksize(std::int64_t chunksize);

/// Applies RANKPOOL_* variables (via `env`) and --rankpool-* arguments to `code`, and checks the
/// result for a job of `ranks` ranks. Throws ValueError naming the bad value. Arguments that are
/// not rankpool's are left for the program.
ResolvedOptions resolve_options(const PoolOptions& code, int ranks,
                                const std::vector<std::string>& args, const EnvLookup& env);

/// The --rankpool-* options and RANKPOOL_* variables, for --rankpool-help.
std::string options_help();

}  // namespace detail
}  // namespace rankpool

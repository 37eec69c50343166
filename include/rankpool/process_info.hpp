#pragma once
// Where the calling code runs, like Python's multiprocessing.current_process().

#include <string>
#include <vector>

namespace rankpool {

struct ProcessInfo {
  int rank = 0;      // rank in the pool's communicator (0 = the master)
  std::string host;  // MPI processor name of the node
  std::string name;  // "MainProcess" on the master, "Worker-<rank>" on workers

  // Where it runs, set by run() once the rank is placed (README, "Placement (hwloc)"); PUs and
  // NUMA nodes by OS index (as taskset and numactl), packages and cores by hwloc logical index.
  int package = -1;        // the package (socket) it runs in; -1: several, or not known
  int numa = -1;           // the NUMA node local to it; -1: several, or not known
  std::vector<int> cores;  // the cores it may run on
  std::vector<int> pus;    // the hardware threads it may run on
  /// "rankpool" (placed by run()), "launcher" (mpirun's or srun's binding, kept) or "none".
  std::string binding;
  /// Threads a task may run on this process (--rankpool-threads-per-worker): the cores above.
  int threads_per_worker = 1;
};

/// The process running the caller: inside a task, the worker (or the master) that runs it.
const ProcessInfo& current_process();

}  // namespace rankpool

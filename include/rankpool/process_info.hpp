#pragma once
// Where the calling code runs, like Python's multiprocessing.current_process().

#include <string>

namespace rankpool {

struct ProcessInfo {
  int rank = 0;      // rank in the pool's communicator (0 = the master)
  std::string host;  // MPI processor name of the node
  std::string name;  // "MainProcess" on the master, "Worker-<rank>" on workers
};

/// The process running the caller: inside a task, the worker (or the master) that runs it.
const ProcessInfo& current_process();

}  // namespace rankpool

#pragma once
// Fault isolation (PoolOptions::isolate): a chunk runs in forked child processes, so a segfault,
// abort(), exit(), the OOM killer or a task timeout in user code fails only the item it hit.
//
// The child runs the executor exactly as the rank would (it inherits the chunk's input by
// fork), makes no MPI call, and streams one frame per item through a pipe: the item's result
// bytes or its failure. When the child dies, the item it was running is reported as crashed
// (or timed out) and, for keep-going jobs, a fresh child carries on with the next item. Results
// of the items already streamed are kept, so nothing is computed twice.

#include <string>

#include "rankpool/detail/callable.hpp"

namespace rankpool::detail {

struct IsolationConfig {
  double item_timeout = 0;  // seconds one item may run before its process is killed; 0: none
};

/// Runs the chunk described by ctx (as exec(ctx) would) in child processes. On return ctx holds
/// what exec(ctx) would have left: the results in ctx.out, ctx.failures (keep-going), or
/// ctx.failed with the failure of the first item that threw or crashed.
void run_isolated(ExecutorFn exec, TaskContext& ctx, const IsolationConfig& config);

/// "signal 11 (Segmentation fault)", "exit status 3": for messages.
std::string describe_wait_status(int signal, int exit_status);

}  // namespace rankpool::detail

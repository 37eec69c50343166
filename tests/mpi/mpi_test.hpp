#pragma once
// Helpers for MPI tests: run a pool on MPI_COMM_WORLD inside a test. The body runs on rank 0;
// the other ranks serve it. Every rank checks that run() returned the expected exit code.

#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "rankpool/rankpool.hpp"

namespace rankpool::testing {

/// Busy-waits (does not sleep), so a task costs CPU time like real work.
inline void spin_for_ms(int ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
  }
}

inline int world_size() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

inline int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

/// Ranks in use that relay instead of computing when the suite runs with hierarchical scheduling
/// forced on by the environment (ctest mpi.hierarchy.4ranks: RANKPOOL_HIERARCHY=node and
/// RANKPOOL_RANKS_PER_NODE=2); 0 otherwise.
inline int relaying_leaders(bool master_computes = true) {
  const char* mode = std::getenv("RANKPOOL_HIERARCHY");
  const char* rpn = std::getenv("RANKPOOL_RANKS_PER_NODE");
  const char* spread = std::getenv("RANKPOOL_TEST_NODES");  // two_nodes.sh: --map-by node
  if (!mode || std::string(mode) != "node" || !rpn) return 0;
  const int size = world_size();
  const int processes = master_computes ? size : size - 1;
  std::vector<int> nodes = detail::fake_nodes(size, std::max(1, std::atoi(rpn)));
  if (std::atoi(rpn) < 1) {
    if (!spread || std::atoi(spread) < 1) return 0;
    for (int r = 0; r < size; ++r) nodes[r] = r % std::atoi(spread);
  }
  if (processes < 1) return 0;
  const auto plan =
      detail::plan_hierarchy(nodes, processes, master_computes, 2, detail::HierarchyMode::node);
  return processes - plan.computing;
}

/// Runs body(pool) on rank 0 with the given options; EXPECTs run() to return `expected_code`
/// on every rank.
inline void with_pool(const PoolOptions& options, const std::function<void(Pool&)>& body,
                      int expected_code = 0) {
  int code = rankpool::run(MPI_COMM_WORLD, options, [&](Pool& pool) { body(pool); });
  EXPECT_EQ(code, expected_code) << "run() exit code on rank " << world_rank();
}

inline void with_pool(const std::function<void(Pool&)>& body) {
  with_pool(PoolOptions{}, body);
}

}  // namespace rankpool::testing

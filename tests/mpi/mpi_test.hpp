#pragma once
// Helpers for MPI tests: run a pool on MPI_COMM_WORLD inside a test. The body runs on rank 0;
// the other ranks serve it. Every rank checks that run() returned the expected exit code.

#include <gtest/gtest.h>
#include <mpi.h>

#include <chrono>
#include <functional>

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

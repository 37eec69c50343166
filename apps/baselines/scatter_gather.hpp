#pragma once
// The hand-written MPI baseline that rankpool's map is measured against: rank 0 holds the
// inputs, MPI_Scatterv hands each rank a contiguous block, every rank computes, MPI_Gatherv
// brings the results back to rank 0. The best a static split can do for uniform work.

#include <mpi.h>

#include <cstdint>
#include <vector>

namespace rankpool::baselines {

/// y[i] = f(x[i]) for all i, with x and y significant on rank 0 only. Every rank of comm calls it.
template <class F>
void scatter_compute_gather(MPI_Comm comm, const std::vector<std::int64_t>& x,
                            std::vector<std::int64_t>& y, std::int64_t n, F f) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  std::vector<int> counts(size), displs(size);
  for (int r = 0; r < size; ++r) {
    std::int64_t first = n * r / size, last = n * (r + 1) / size;
    counts[r] = static_cast<int>(last - first);
    displs[r] = static_cast<int>(first);
  }
  std::vector<std::int64_t> mine(counts[rank]);
  MPI_Scatterv(rank == 0 ? x.data() : nullptr, counts.data(), displs.data(), MPI_INT64_T,
               mine.data(), counts[rank], MPI_INT64_T, 0, comm);
  for (auto& v : mine) v = f(v);
  if (rank == 0) y.resize(n);
  MPI_Gatherv(mine.data(), counts[rank], MPI_INT64_T, rank == 0 ? y.data() : nullptr, counts.data(),
              displs.data(), MPI_INT64_T, 0, comm);
}

}  // namespace rankpool::baselines

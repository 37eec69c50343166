#pragma once
// The hand-written MPI dynamic master/worker that rankpool's dynamic map is measured against:
// what a careful programmer writes by hand in plain MPI for work that is not uniform.
//
// Rank 0 holds the inputs and hands out chunks of `chunk` consecutive inputs. Each worker keeps
// `window` chunks in flight (so it never waits for the master between chunks): the chunk is sent
// with MPI_Isend straight from the input vector, the worker computes it and sends the results
// back with MPI_Send, and the master receives them straight into the result vector. Messages
// between a pair of ranks are not overtaken, so the master knows which chunk a result belongs to
// from the worker's FIFO of chunks in flight. When no result is waiting and inputs are left, the
// master computes one chunk itself (so P ranks keep P cores busy, as rankpool's master does;
// `master_computes = false` gives the textbook master that only dispatches). A zero-length
// message with kStopTag ends each worker.

#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

namespace rankpool::baselines {

struct MasterWorkerOptions {
  std::int64_t chunk = 1;       // inputs per chunk
  int window = 2;               // chunks in flight per worker
  bool master_computes = true;  // the master computes a chunk when no result is waiting
};

/// y[i] = f(x[i]) for all i, with x and y significant on rank 0 only. Every rank of comm calls
/// it. x.size() must be n on rank 0.
template <class F>
void master_worker(MPI_Comm comm, const std::vector<std::int64_t>& x, std::vector<std::int64_t>& y,
                   std::int64_t n, F f, MasterWorkerOptions opt = {}) {
  constexpr int kTaskTag = 101, kResultTag = 102, kStopTag = 103;
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const std::int64_t chunk = std::max<std::int64_t>(1, opt.chunk);
  const int window = std::max(1, opt.window);

  if (rank != 0) {  // worker: receive a chunk, compute it, send the results back, until stopped
    std::vector<std::int64_t> buf;
    for (;;) {
      MPI_Status st;
      MPI_Probe(0, MPI_ANY_TAG, comm, &st);
      int count = 0;
      MPI_Get_count(&st, MPI_INT64_T, &count);
      buf.resize(static_cast<std::size_t>(count));
      MPI_Recv(buf.data(), count, MPI_INT64_T, 0, st.MPI_TAG, comm, MPI_STATUS_IGNORE);
      if (st.MPI_TAG == kStopTag) return;
      for (auto& v : buf) v = f(v);
      MPI_Send(buf.data(), count, MPI_INT64_T, 0, kResultTag, comm);
    }
  }

  y.resize(static_cast<std::size_t>(n));
  struct InFlight {
    std::int64_t first, count;
    MPI_Request send;
  };
  std::vector<std::deque<InFlight>> in_flight(static_cast<std::size_t>(size));
  std::int64_t next = 0, done = 0;
  auto send_next = [&](int w) {
    std::int64_t count = std::min(chunk, n - next);
    InFlight c{next, count, MPI_REQUEST_NULL};
    MPI_Isend(x.data() + next, static_cast<int>(count), MPI_INT64_T, w, kTaskTag, comm, &c.send);
    in_flight[static_cast<std::size_t>(w)].push_back(c);
    next += count;
  };
  for (int k = 0; k < window; ++k) {
    for (int w = 1; w < size && next < n; ++w) send_next(w);
  }
  while (done < n) {
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, kResultTag, comm, &flag, &st);
    const bool compute_here = !flag && next < n && (opt.master_computes || size == 1);
    if (!flag && !compute_here) {
      MPI_Probe(MPI_ANY_SOURCE, kResultTag, comm, &st);  // nothing else to do: wait
      flag = 1;
    }
    if (flag) {
      auto& fifo = in_flight[static_cast<std::size_t>(st.MPI_SOURCE)];
      InFlight c = fifo.front();
      fifo.pop_front();
      MPI_Recv(y.data() + c.first, static_cast<int>(c.count), MPI_INT64_T, st.MPI_SOURCE,
               kResultTag, comm, MPI_STATUS_IGNORE);
      MPI_Wait(&c.send, MPI_STATUS_IGNORE);  // already complete: the worker received it
      done += c.count;
      if (next < n) send_next(st.MPI_SOURCE);
    } else {
      std::int64_t first = next, count = std::min(chunk, n - next);
      next += count;
      for (std::int64_t i = first; i < first + count; ++i) y[i] = f(x[i]);
      done += count;
    }
  }
  for (int w = 1; w < size; ++w) MPI_Send(nullptr, 0, MPI_INT64_T, w, kStopTag, comm);
}

}  // namespace rankpool::baselines

#pragma once
// Transport: the only module that calls MPI for the pool's messages. A message is a Header sent
// with one MPI message, then its payload in pieces of at most 1 GiB (so payloads over 2 GiB work
// with int counts). A small payload (kInlinePayload bytes or less: an apply's argument, a result)
// travels inside the header's MPI message instead, so a round trip is one MPI message each way,
// as an MPI ping-pong is. Sends are non-blocking; the memory of a send is kept alive by a
// shared_ptr until MPI has completed it (an inlined payload is copied at once).

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "rankpool/detail/protocol.hpp"

namespace rankpool::detail {

struct ConstBytes {
  const void* data = nullptr;
  std::size_t size = 0;
};

class Transport {
 public:
  /// Duplicates `comm`, so the pool's messages never mix with the application's.
  explicit Transport(MPI_Comm comm);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm comm() const { return comm_; }
  const std::string& host() const { return host_; }

  /// Starts sending a header and its payload parts to `dest`; h.payload_size is set here from
  /// the parts. `keep_alive` owns (or keeps alive) the parts' memory until the send completes.
  void send(int dest, Header h, const std::vector<ConstBytes>& parts,
            std::shared_ptr<const void> keep_alive = {});

  /// Payloads up to this size travel inside the header's MPI message (below Open MPI's
  /// shared-memory eager limit of 4 KiB with the header).
  static constexpr std::size_t kInlinePayload = 3072;

  /// Receives one waiting header from any rank, if there is one (never blocks).
  bool try_recv_header(int& source, Header& header);

  /// Receives `size` payload bytes that follow a header from `source` (blocking: they are
  /// already on their way, or arrived inside the header's message). Read the payload before the
  /// next try_recv_header.
  void recv_payload(int source, void* dest, std::size_t size);

  /// Completes finished sends and releases their memory.
  void progress();
  bool sends_pending() const { return !pending_.empty(); }
  /// Waits (without spinning a core) until every started send completed.
  void flush();

 private:
  struct Pending {
    MPI_Request first = MPI_REQUEST_NULL;  // the header's message (with an inlined payload)
    std::vector<MPI_Request> pieces;       // a large payload's messages
    std::shared_ptr<const void> keep_alive;
    std::unique_ptr<char[]> bytes;  // the header's message
  };
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  std::string host_;
  std::vector<Pending> pending_;
  std::vector<char> inbox_;  // the last header's message, with its inlined payload
  // A receive for the next header message, posted ahead (MPI_Test on it is much cheaper than
  // MPI_Iprobe, and the message lands in place); re-posted by the try_recv_header after the one
  // that completed it, once that header's payload has been read.
  MPI_Request header_request_ = MPI_REQUEST_NULL;
  int inline_source_ = -1;     // whose payload inbox_ holds
  std::size_t inline_at_ = 0;  // next unread byte of the inlined payload in inbox_
  std::size_t inline_end_ = 0;
};

/// Waits politely: spins for 1 ms (low latency when the answer is near), then sleeps with pauses
/// growing to 1 ms, so an idle rank does not steal a core from a busy one for long.
class Backoff {
 public:
  void reset() {
    idle_since_ = {};
    pause_us_ = 0;
    spins_ = 0;
  }
  void pause();

 private:
  std::chrono::steady_clock::time_point idle_since_{};
  int pause_us_ = 0;
  unsigned spins_ = 0;  // pauses since the clock was last read
};

/// Throws CommunicationError with the MPI error string when rc is not MPI_SUCCESS.
void check_mpi(int rc, const char* what);

}  // namespace rankpool::detail

#include <algorithm>
#include <cstring>
#include <thread>

#include "rankpool/detail/transport.hpp"
#include "rankpool/error.hpp"

namespace rankpool::detail {

namespace {
constexpr int kHeaderTag = 7101;
constexpr int kPayloadTag = 7102;
constexpr std::size_t kMaxPiece = std::size_t{1} << 30;  // 1 GiB per MPI message
}  // namespace

void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw CommunicationError(std::string("rankpool: ") + what + " failed: " + std::string(text, len));
}

Transport::Transport(MPI_Comm comm) {
  check_mpi(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup");
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  MPI_Get_processor_name(name, &len);
  host_.assign(name, len);
}

Transport::~Transport() {
  try {
    flush();
  } catch (...) {
  }
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (header_request_ != MPI_REQUEST_NULL) {  // the receive posted for a header that never came
    MPI_Cancel(&header_request_);
    MPI_Wait(&header_request_, MPI_STATUS_IGNORE);
  }
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void Transport::send(int dest, Header h, const std::vector<ConstBytes>& parts,
                     std::shared_ptr<const void> keep_alive) {
  h.payload_size = 0;
  for (const auto& p : parts) h.payload_size += p.size;
  const bool inlined = h.payload_size <= kInlinePayload;
  const std::size_t first_size = sizeof(Header) + (inlined ? h.payload_size : 0);
  Pending pending;
  pending.bytes.reset(new char[first_size]);
  std::memcpy(pending.bytes.get(), &h, sizeof(Header));
  if (inlined) {
    std::size_t at = sizeof(Header);
    for (const auto& p : parts) {
      if (p.size != 0) std::memcpy(pending.bytes.get() + at, p.data, p.size);
      at += p.size;
    }
  } else {
    pending.keep_alive = std::move(keep_alive);
  }
  check_mpi(MPI_Isend(pending.bytes.get(), static_cast<int>(first_size), MPI_BYTE, dest, kHeaderTag,
                      comm_, &pending.first),
            "MPI_Isend (header)");
  if (!inlined) {
    for (const auto& p : parts) {
      auto* bytes = static_cast<const char*>(p.data);
      for (std::size_t off = 0; off < p.size; off += kMaxPiece) {
        int n = static_cast<int>(std::min(kMaxPiece, p.size - off));
        pending.pieces.emplace_back();
        check_mpi(
            MPI_Isend(bytes + off, n, MPI_BYTE, dest, kPayloadTag, comm_, &pending.pieces.back()),
            "MPI_Isend (payload)");
      }
    }
  }
  pending_.push_back(std::move(pending));
}

bool Transport::try_recv_header(int& source, Header& header) {
  if (header_request_ == MPI_REQUEST_NULL) {
    inline_source_ = -1;  // the previous header's payload has been read (or never will be)
    inbox_.resize(sizeof(Header) + kInlinePayload);
    check_mpi(MPI_Irecv(inbox_.data(), static_cast<int>(inbox_.size()), MPI_BYTE, MPI_ANY_SOURCE,
                        kHeaderTag, comm_, &header_request_),
              "MPI_Irecv (header)");
  }
  int flag = 0;
  MPI_Status status;
  check_mpi(MPI_Test(&header_request_, &flag, &status), "MPI_Test (header)");
  if (!flag) return false;
  source = status.MPI_SOURCE;
  int size = 0;
  check_mpi(MPI_Get_count(&status, MPI_BYTE, &size), "MPI_Get_count (header)");
  if (size < static_cast<int>(sizeof(Header))) {
    throw CommunicationError("rankpool: a message from rank " + std::to_string(source) + " has " +
                             std::to_string(size) + " bytes, less than a header (" +
                             std::to_string(sizeof(Header)) +
                             "); every rank must run the same build");
  }
  std::memcpy(&header, inbox_.data(), sizeof(Header));
  inline_source_ = -1;
  if (static_cast<std::size_t>(size) > sizeof(Header) || header.payload_size == 0) {
    if (header.payload_size != static_cast<std::size_t>(size) - sizeof(Header)) {
      throw CommunicationError("rankpool: a message from rank " + std::to_string(source) +
                               " carries " + std::to_string(size - sizeof(Header)) +
                               " payload bytes but its header says " +
                               std::to_string(header.payload_size));
    }
    inline_source_ = source;
    inline_at_ = sizeof(Header);
    inline_end_ = static_cast<std::size_t>(size);
  }
  return true;
}

void Transport::recv_payload(int source, void* dest, std::size_t size) {
  auto* out = static_cast<char*>(dest);
  if (source == inline_source_) {  // the payload came with its header
    if (size > inline_end_ - inline_at_) {
      throw CommunicationError("rankpool: asked for " + std::to_string(size) +
                               " payload bytes from rank " + std::to_string(source) +
                               " but its message carried " +
                               std::to_string(inline_end_ - inline_at_) + " more");
    }
    if (size != 0) std::memcpy(out, inbox_.data() + inline_at_, size);
    inline_at_ += size;
    return;
  }
  std::size_t done = 0;
  while (done < size) {
    int want = static_cast<int>(std::min(kMaxPiece, size - done));
    MPI_Status status;
    check_mpi(MPI_Recv(out + done, want, MPI_BYTE, source, kPayloadTag, comm_, &status),
              "MPI_Recv (payload)");
    int got = 0;
    MPI_Get_count(&status, MPI_BYTE, &got);
    if (got <= 0)
      throw CommunicationError("rankpool: empty payload piece from rank " + std::to_string(source));
    done += static_cast<std::size_t>(got);
  }
}

void Transport::progress() {
  auto done = [](Pending& p) {
    int flag = 0;
    check_mpi(MPI_Test(&p.first, &flag, MPI_STATUS_IGNORE), "MPI_Test");
    if (!flag) return false;
    if (p.pieces.empty()) return true;
    check_mpi(
        MPI_Testall(static_cast<int>(p.pieces.size()), p.pieces.data(), &flag, MPI_STATUSES_IGNORE),
        "MPI_Testall");
    return flag != 0;
  };
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(), done), pending_.end());
}

void Transport::flush() {
  Backoff backoff;
  for (progress(); !pending_.empty(); progress()) backoff.pause();
}

void Backoff::pause() {
  using namespace std::chrono;
  // While spinning, read the clock only every 32nd pause: a poll loop that waits for a reply
  // costs a few hundred ns a turn, and the clock read was a tenth of it.
  if (pause_us_ == 0 && spins_++ % 32 != 0) return;
  auto now = steady_clock::now();
  if (idle_since_ == steady_clock::time_point{}) idle_since_ = now;
  // Spin for the first millisecond of idleness. A shorter spin (50 us was tried) lets two ranks
  // that wait on each other fall into a state where each sleeps while the other's answer
  // arrives: Lock round trips took 150 us instead of 4 us (rankpool-bench-sync).
  if (now - idle_since_ < microseconds(1000)) return;
  // Then sleep, with pauses growing to 1 ms, so an idle rank leaves its core to busy ones.
  pause_us_ = pause_us_ == 0 ? 20 : std::min(pause_us_ * 2, 1000);
  std::this_thread::sleep_for(microseconds(pause_us_));
}

}  // namespace rankpool::detail

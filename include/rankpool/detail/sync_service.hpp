#pragma once
// The synchronisation service behind Lock, RLock, Semaphore, BoundedSemaphore, Queue and Pipe.
//
// Mechanism: the master (rank 0) hosts every object's state; an operation from a task on a
// worker is a request message on the service channel (its own duplicate of the pool's
// communicator) and the worker waits for the reply. Blocking operations wait in FIFO order at the
// master, and their timeouts are kept by the master too, so a grant can never be lost to a
// requester that gave up.
//
// Progress guarantee: requests are served whenever the master is inside any rankpool call
// (map, get, wait, join, imap iteration, any operation on these objects) and between the chunks
// the master computes itself. A wait on the master (in a pool call, or in a primitive used by a
// task the master runs) always serves requests while it waits, so a Lock held by a worker's task
// can always be released, even while the master is busy inside a map. Requests are not served
// while the master runs user code outside rankpool; while it computes one of its own chunks they
// are, as the chunk runs on the master's compute thread (with master_thread off they wait until
// the chunk ends; set master_computes=false for the lowest latency).

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "rankpool/detail/transport.hpp"

namespace rankpool::detail {

enum class SyncOp : std::uint32_t {
  sem_acquire = 1,
  sem_release = 2,
  rlock_acquire = 3,
  rlock_release = 4,
  queue_put = 5,
  queue_get = 6,
  queue_size = 7,
  queue_poll = 8,
  sem_value = 9,
};

enum class SyncStatus : std::uint32_t { ok = 0, timeout = 1, error = 2 };

struct SyncRequest {
  SyncOp op = SyncOp::sem_acquire;
  std::uint64_t object = 0;
  int rank = 0;                   // who asks (ownership of RLock)
  std::optional<double> timeout;  // seconds; nullopt waits for ever, 0 does not wait
  std::vector<char> payload;      // queue_put: the item's bytes
};

struct SyncReply {
  SyncStatus status = SyncStatus::ok;
  std::int64_t value = 0;     // queue_size, sem_value, queue_poll (0/1)
  std::vector<char> payload;  // queue_get: the item's bytes
  std::string error_type;     // status error: "ValueError", "AssertionError"
  std::string error_message;
};

/// Throws the rankpool exception a failed reply stands for (ValueError, AssertionError).
void throw_sync_error(const SyncReply& reply);

/// The state of every object, on the master. Single-threaded, driven by poll().
class SyncService {
 public:
  enum class Kind { semaphore, rlock, queue };

  /// `transport` is the service channel (a duplicate of the pool's communicator).
  explicit SyncService(Transport& transport);

  /// A semaphore with `value` permits; releases beyond `max_value` are errors (0 = unbounded).
  std::uint64_t create_semaphore(std::int64_t value, std::int64_t max_value, std::string what);
  std::uint64_t create_rlock();
  std::uint64_t create_queue(std::int64_t maxsize);

  using Respond = std::function<void(SyncReply)>;
  /// Handles a request now, or queues it until it can be granted or its timeout passes.
  void submit(SyncRequest request, Respond respond);

  /// Serves requests that arrived from workers and expires timed-out waiters. Returns whether
  /// anything happened.
  bool poll();

  /// Answers every waiting request with an error carrying `message`, and from now on every
  /// request that would have to wait too (terminate, end of run: nothing would wake it).
  void fail_waiters(const std::string& message);

 private:
  using Clock = std::chrono::steady_clock;
  struct Waiter {
    SyncRequest request;
    Respond respond;
    std::optional<Clock::time_point> deadline;
    std::uint64_t seq = 0;
  };
  struct Object {
    Kind kind = Kind::semaphore;
    std::string what;            // "Lock", "Semaphore", ... for messages
    std::int64_t value = 0;      // semaphore permits
    std::int64_t max_value = 0;  // 0: unbounded
    int owner = -1;              // rlock
    std::int64_t depth = 0;      // rlock recursion
    std::int64_t maxsize = 0;    // queue: 0 = unbounded
    std::deque<std::vector<char>> items;
    std::deque<Waiter> waiters;
  };

  Object& object(std::uint64_t id);
  /// Tries to complete a request now; returns false when it must wait.
  bool try_complete(Object& obj, SyncRequest& request, const Respond& respond);
  /// After a state change, grants waiters in FIFO order while they can be granted.
  void wake(Object& obj);
  /// Erases a waiter (keeping timed_waiters_ right); returns the next one.
  std::deque<Waiter>::iterator remove_waiter(Object& obj, std::deque<Waiter>::iterator it);
  void reply_to_rank(int rank, SyncReply reply);

  Transport& transport_;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, Object> objects_;
  std::size_t timed_waiters_ = 0;  // waiters with a deadline: poll() scans only when > 0
  std::uint64_t waiter_seq_ = 0;
  std::optional<std::string> refuse_waits_;  // set by fail_waiters
  std::vector<char> buffer_;
};

/// What a task or the master's code uses to reach the service (set by rankpool::run).
struct SyncContext {
  Transport* channel = nullptr;           // the service channel on this rank
  SyncService* service = nullptr;         // on the master only
  std::function<bool()> master_progress;  // on the master: progress the pool and the service
  /// On the master: a request from a task on the master's compute thread goes to the main
  /// thread, which owns the service (returns nullopt on any other thread).
  std::function<std::optional<SyncReply>(SyncRequest&)> relay;
};
SyncContext& sync_context();

/// Sends a request and waits for its reply (on the master: submits it and progresses the pool
/// while it waits).
SyncReply sync_call(SyncRequest request);

}  // namespace rankpool::detail

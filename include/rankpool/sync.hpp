#pragma once
// Python's multiprocessing synchronisation primitives across the ranks of a pool: Lock, RLock,
// Semaphore, BoundedSemaphore, Queue<T> and Pipe<T>. Create them on the master with the pool;
// they are small handles (trivially copyable), so pass them to tasks as arguments or captures and
// use them there, on any rank and node. The master hosts their state: see
// rankpool/detail/sync_service.hpp for the mechanism and the progress guarantee.

#include <cstdint>
#include <optional>
#include <utility>

#include "rankpool/detail/serialize.hpp"
#include "rankpool/detail/sync_service.hpp"
#include "rankpool/error.hpp"

namespace rankpool {

class Pool;

namespace detail {
SyncService& service_of(Pool& pool);
int this_rank();
SyncReply sync_op(SyncOp op, std::uint64_t object, std::optional<double> timeout = std::nullopt,
                  std::vector<char> payload = {});
}  // namespace detail

/// multiprocessing.Semaphore: `value` permits; release() may raise it above the start value.
/// BasicLockable (lock/unlock) and Lockable (try_lock), so std::lock_guard works.
class Semaphore {
 public:
  Semaphore() = default;  // unbound: assign a created one before use
  explicit Semaphore(Pool& pool, std::int64_t value = 1)
      : id_(detail::service_of(pool).create_semaphore(value, 0, "Semaphore")) {}

  /// Python's acquire(block=True, timeout=None): true when acquired.
  bool acquire(bool block = true, std::optional<double> timeout = std::nullopt) {
    auto r = detail::sync_op(detail::SyncOp::sem_acquire, id_, block ? timeout : 0.0);
    return r.status == detail::SyncStatus::ok;
  }
  void release() { detail::sync_op(detail::SyncOp::sem_release, id_); }
  /// Permits available now.
  std::int64_t get_value() const { return detail::sync_op(detail::SyncOp::sem_value, id_).value; }

  void lock() { acquire(); }
  void unlock() { release(); }
  bool try_lock() { return acquire(false); }
  std::uint64_t id() const { return id_; }

 protected:
  explicit Semaphore(std::uint64_t id) : id_(id) {}
  std::uint64_t id_ = 0;
};

/// multiprocessing.BoundedSemaphore: releasing above the start value raises ValueError.
class BoundedSemaphore : public Semaphore {
 public:
  BoundedSemaphore() = default;
  explicit BoundedSemaphore(Pool& pool, std::int64_t value = 1)
      : Semaphore(detail::service_of(pool).create_semaphore(value, value, "BoundedSemaphore")) {}
};

/// multiprocessing.Lock: one holder at a time; any process may release it; releasing an unlocked
/// Lock raises ValueError.
class Lock : public Semaphore {
 public:
  Lock() = default;
  explicit Lock(Pool& pool) : Semaphore(detail::service_of(pool).create_semaphore(1, 1, "Lock")) {}
};

/// multiprocessing.RLock: the holding rank may acquire again; only it may release
/// (AssertionError otherwise). Ownership is per rank.
class RLock {
 public:
  RLock() = default;
  explicit RLock(Pool& pool) : id_(detail::service_of(pool).create_rlock()) {}
  bool acquire(bool block = true, std::optional<double> timeout = std::nullopt) {
    auto r = detail::sync_op(detail::SyncOp::rlock_acquire, id_, block ? timeout : 0.0);
    return r.status == detail::SyncStatus::ok;
  }
  void release() { detail::sync_op(detail::SyncOp::rlock_release, id_); }
  void lock() { acquire(); }
  void unlock() { release(); }
  bool try_lock() { return acquire(false); }
  std::uint64_t id() const { return id_; }

 private:
  std::uint64_t id_ = 0;
};

/// multiprocessing.Queue<T>: FIFO across ranks; T is any type rankpool can ship. maxsize > 0
/// bounds it (put blocks while full).
template <class T>
class Queue {
 public:
  Queue() = default;
  explicit Queue(Pool& pool, std::int64_t maxsize = 0)
      : id_(detail::service_of(pool).create_queue(maxsize)) {}

  /// Python's put(item, block=True, timeout=None); throws rankpool::Full when it gives up.
  void put(const T& item, bool block = true, std::optional<double> timeout = std::nullopt) {
    auto r = detail::sync_op(detail::SyncOp::queue_put, id_, block ? timeout : 0.0,
                             detail::to_bytes(item));
    if (r.status == detail::SyncStatus::timeout) {
      throw Full("rankpool: Queue is full" +
                 std::string(block ? " (timed out waiting for room)" : ""));
    }
  }
  /// Python's get(block=True, timeout=None); throws rankpool::Empty when it gives up.
  T get(bool block = true, std::optional<double> timeout = std::nullopt) {
    auto r = detail::sync_op(detail::SyncOp::queue_get, id_, block ? timeout : 0.0);
    if (r.status == detail::SyncStatus::timeout) {
      throw Empty("rankpool: Queue is empty" +
                  std::string(block ? " (timed out waiting for an item)" : ""));
    }
    return detail::from_bytes<T>(r.payload.data(), r.payload.size());
  }
  void put_nowait(const T& item) { put(item, false); }
  T get_nowait() { return get(false); }
  std::int64_t qsize() const { return detail::sync_op(detail::SyncOp::queue_size, id_).value; }
  bool empty() const { return qsize() == 0; }
  /// Waits up to `timeout` seconds (0: just looks) for an item; true when one is there.
  bool poll(double timeout = 0.0) const {
    return detail::sync_op(detail::SyncOp::queue_poll, id_, timeout).value != 0;
  }
  std::uint64_t id() const { return id_; }

 private:
  std::uint64_t id_ = 0;
};

/// One end of a Pipe<T>: send() to the other end, recv() what it sent, poll() for data.
template <class T>
class Connection {
 public:
  Connection() = default;
  Connection(Queue<T> out, Queue<T> in, bool can_send, bool can_recv)
      : out_(out), in_(in), can_send_(can_send), can_recv_(can_recv) {}
  void send(const T& value) {
    if (!can_send_) throw ValueError("rankpool: this end of a one-way Pipe cannot send");
    out_.put(value);
  }
  T recv() {
    if (!can_recv_) throw ValueError("rankpool: this end of a one-way Pipe cannot receive");
    return in_.get();
  }
  /// Python's poll(timeout=0): whether data is waiting (waits up to `timeout` seconds).
  bool poll(double timeout = 0.0) const { return can_recv_ && in_.poll(timeout); }

 private:
  Queue<T> out_;
  Queue<T> in_;
  bool can_send_ = false;
  bool can_recv_ = false;
};

/// multiprocessing.Pipe(duplex=True): two connected ends. With duplex=false the first end only
/// receives and the second only sends, as in Python.
template <class T>
std::pair<Connection<T>, Connection<T>> Pipe(Pool& pool, bool duplex = true) {
  Queue<T> a_to_b(pool), b_to_a(pool);
  if (!duplex) {
    return {Connection<T>(a_to_b, b_to_a, false, true), Connection<T>(b_to_a, a_to_b, true, false)};
  }
  return {Connection<T>(a_to_b, b_to_a, true, true), Connection<T>(b_to_a, a_to_b, true, true)};
}

}  // namespace rankpool

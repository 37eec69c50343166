#pragma once
// Exceptions thrown by rankpool. All derive from rankpool::Error (a std::runtime_error), and
// every message says what happened and what to do about it.

#include <cstdint>
#include <stdexcept>
#include <string>

namespace rankpool {

/// Root of every exception rankpool throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A bad argument: chunksize 0, 0 processes, an unknown policy name, ... (Python's ValueError).
class ValueError : public Error {
 public:
  using Error::Error;
};

/// The pool is not in a state that allows the call: map after close(), join() while running,
/// get() of a result discarded by terminate().
class PoolStateError : public Error {
 public:
  using Error::Error;
};

/// AsyncResult::get(timeout) ran out of time (Python's multiprocessing.TimeoutError).
class TimeoutError : public Error {
 public:
  using Error::Error;
};

/// Bytes could not be encoded or decoded (truncated or corrupt message, unsupported size).
class SerializationError : public Error {
 public:
  using Error::Error;
};

/// The ranks do not run the same build of the program, or an MPI call failed.
class CommunicationError : public Error {
 public:
  using Error::Error;
};

/// Misuse that Python reports with AssertionError: join() of a process never started, start()
/// twice, releasing an RLock this process does not hold.
class AssertionError : public Error {
 public:
  using Error::Error;
};

/// Queue.get() found the queue empty (non-blocking, or after its timeout): Python's queue.Empty.
class Empty : public Error {
 public:
  using Error::Error;
};

/// Queue.put() found the queue full (non-blocking, or after its timeout): Python's queue.Full.
class Full : public Error {
 public:
  using Error::Error;
};

/// A task raised an exception on some rank. Carries the original exception's type name and
/// message, the rank and host that ran it, and the index of the input that failed.
class RemoteError : public Error {
 public:
  RemoteError(std::string type_name, std::string message, int rank, std::string host,
              std::uint64_t index);

  const std::string& type_name() const noexcept { return type_name_; }
  /// The original exception's what().
  const std::string& remote_message() const noexcept { return message_; }
  int rank() const noexcept { return rank_; }
  const std::string& host() const noexcept { return host_; }
  /// Index of the failing input within its map (0 for apply).
  std::uint64_t index() const noexcept { return index_; }
  /// Throws this error as its own most-derived type (a TaskCrashed stays a TaskCrashed).
  [[noreturn]] virtual void rethrow() const;

 protected:
  RemoteError(std::string what, std::string type_name, std::string message, int rank,
              std::string host, std::uint64_t index);

 private:
  std::string type_name_;
  std::string message_;
  int rank_;
  std::string host_;
  std::uint64_t index_;
};

/// Under isolation (PoolOptions::isolate, README "Fault isolation") the process running a task
/// died: killed by a signal (a segfault, abort(), the OOM killer, the task timeout) or it called
/// exit(). Only the affected input fails; the pool goes on.
class TaskCrashed : public RemoteError {
 public:
  TaskCrashed(std::string message, int rank, std::string host, std::uint64_t index, int signal,
              int exit_status, bool timed_out);
  /// The signal that killed the task's process, 0 when it exited.
  int signal() const noexcept { return signal_; }
  /// The status the task's process exited with (when signal() is 0).
  int exit_status() const noexcept { return exit_status_; }
  /// The task ran past PoolOptions::task_timeout and was killed.
  bool timed_out() const noexcept { return timed_out_; }
  [[noreturn]] void rethrow() const override;

 private:
  int signal_;
  int exit_status_;
  bool timed_out_;
};

}  // namespace rankpool

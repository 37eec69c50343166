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

 private:
  std::string type_name_;
  std::string message_;
  int rank_;
  std::string host_;
  std::uint64_t index_;
};

}  // namespace rankpool

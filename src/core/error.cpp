#include "rankpool/error.hpp"

#include <utility>

namespace rankpool {

namespace {
std::string describe(const std::string& type_name, const std::string& message, int rank,
                     const std::string& host, std::uint64_t index) {
  return type_name + ": " + message + " (raised by the task for input " + std::to_string(index) +
         " on rank " + std::to_string(rank) + ", host " + host + ")";
}
}  // namespace

RemoteError::RemoteError(std::string type_name, std::string message, int rank, std::string host,
                         std::uint64_t index)
    // Copies, not moves: the order in which arguments are initialised is unspecified.
    : RemoteError(describe(type_name, message, rank, host, index), type_name, message, rank, host,
                  index) {}

RemoteError::RemoteError(std::string what, std::string type_name, std::string message, int rank,
                         std::string host, std::uint64_t index)
    : Error(what),
      type_name_(std::move(type_name)),
      message_(std::move(message)),
      rank_(rank),
      host_(std::move(host)),
      index_(index) {}

void RemoteError::rethrow() const {
  throw *this;
}

TaskCrashed::TaskCrashed(std::string message, int rank, std::string host, std::uint64_t index,
                         int signal, int exit_status, bool timed_out)
    : RemoteError("rankpool::TaskCrashed: " + message + " (input " + std::to_string(index) +
                      " on rank " + std::to_string(rank) + ", host " + host + ")",
                  "rankpool::TaskCrashed", message, rank, host, index),
      signal_(signal),
      exit_status_(exit_status),
      timed_out_(timed_out) {}

void TaskCrashed::rethrow() const {
  throw *this;
}

}  // namespace rankpool

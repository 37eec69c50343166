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
    : Error(describe(type_name, message, rank, host, index)),
      type_name_(std::move(type_name)),
      message_(std::move(message)),
      rank_(rank),
      host_(std::move(host)),
      index_(index) {}

}  // namespace rankpool

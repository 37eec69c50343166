#pragma once
// Per-item outcomes (Pool::map_outcomes): each input's result or its error, instead of the
// first error ending the whole map, and a halt policy that stops issuing work after too many
// failures.

#include <cstdint>
#include <memory>
#include <utility>

#include "rankpool/error.hpp"

namespace rankpool {

/// When map_outcomes stops issuing new work. Items already running still finish; the items never
/// started come back as Outcome::Status::not_run. Zero means "no limit".
struct HaltPolicy {
  /// Stop after this many failed items.
  std::uint64_t max_failures = 0;
  /// Stop once more than this fraction (0..1) of all the map's items have failed.
  double max_failure_fraction = 0;
};

/// One input's outcome: its value, the error it raised (RemoteError, TaskCrashed), or not run
/// because the map halted first.
template <class R>
class Outcome {
 public:
  enum class Status { ok, failed, not_run };

  Outcome() = default;
  static Outcome success(R value) {
    Outcome o;
    o.status_ = Status::ok;
    o.value_ = std::move(value);
    return o;
  }
  static Outcome failure(std::shared_ptr<const RemoteError> error) {
    Outcome o;
    o.status_ = Status::failed;
    o.error_ = std::move(error);
    return o;
  }

  Status status() const noexcept { return status_; }
  bool ok() const noexcept { return status_ == Status::ok; }
  explicit operator bool() const noexcept { return ok(); }

  /// The value; for a failed item throws its error (as its own type), for an item not run
  /// throws PoolStateError.
  const R& value() const& {
    check();
    return value_;
  }
  R&& value() && {
    check();
    return std::move(value_);
  }
  /// The error of a failed item (nullptr otherwise). dynamic_cast to TaskCrashed for crashes.
  const RemoteError* error() const noexcept { return error_.get(); }

 private:
  void check() const {
    if (status_ == Status::failed) error_->rethrow();
    if (status_ == Status::not_run) {
      throw PoolStateError(
          "rankpool: this input was not run: map_outcomes halted (HaltPolicy) before reaching it");
    }
  }

  Status status_ = Status::not_run;
  R value_{};
  std::shared_ptr<const RemoteError> error_;
};

}  // namespace rankpool

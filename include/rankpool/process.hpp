#pragma once
// rankpool::Process: Python's multiprocessing.Process on a pool. start() runs target(args...) on
// a free process of the pool (queued until one is free, so there may be many more Processes than
// ranks); join() waits for it. Same shipping rules as pool tasks.

#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "rankpool/async_result.hpp"
#include "rankpool/error.hpp"
#include "rankpool/pool.hpp"
#include "rankpool/process_info.hpp"

namespace rankpool {

class Process {
 public:
  /// Where a process ran: its rank and host.
  using Where = std::pair<int, std::string>;

  template <class F, class... A>
  Process(Pool& pool, F target, A&&... args) : name_("Process-" + std::to_string(next_number())) {
    detail::require_shippable<F>();
    using Args = std::tuple<std::decay_t<A>...>;
    // The shipped callable: the target, then where it ran. Trivially copyable when F is.
    // A plain function is captured as its CodeRef (detail::portable), never as an address.
    auto run_target = [target = detail::portable(target)](const std::decay_t<A>&... a) -> Where {
      target(a...);
      return {current_process().rank, current_process().host};
    };
    start_ = [&pool, run_target, args = Args(std::forward<A>(args)...)]() {
      return pool.apply_async(run_target, args);
    };
  }

  /// Starts the process. Starting twice raises AssertionError, as in Python.
  void start() {
    if (result_) throw AssertionError("cannot start a process twice");
    result_.emplace(start_());
  }
  /// Waits until the process has finished.
  void join() {
    require_started();
    result_->wait();
  }
  /// Waits at most `timeout` seconds; returns whether it has finished.
  bool join(double timeout) {
    require_started();
    return result_->wait(timeout);
  }
  bool is_alive() const { return result_ && !result_->ready(); }
  /// None while running (or never started); 0 when target returned; 1 when it threw (see error()).
  std::optional<int> exitcode() const {
    if (!result_ || !result_->ready()) return std::nullopt;
    return result_->successful() ? 0 : 1;
  }
  /// The exception's type and message when target threw, else empty.
  std::string error() const {
    if (!exitcode() || *exitcode() == 0) return {};
    try {
      result_->get();
    } catch (const RemoteError& e) {
      return e.type_name() + ": " + e.remote_message();
    }
    return {};
  }
  const std::string& name() const { return name_; }
  /// Rank and host that ran it, once it has finished successfully.
  std::optional<Where> where() const {
    if (exitcode() != 0) return std::nullopt;
    return result_->get();
  }

 private:
  void require_started() const {
    if (!result_) throw AssertionError("can only join a started process");
  }
  static int next_number() {
    static int n = 0;
    return ++n;
  }

  std::string name_;
  std::function<AsyncResult<Where>()> start_;
  mutable std::optional<AsyncResult<Where>> result_;
};

}  // namespace rankpool

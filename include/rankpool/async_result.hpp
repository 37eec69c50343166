#pragma once
// AsyncResult<T>: the handle apply_async, map_async and starmap_async return, with Python's
// get / wait / ready / successful. Results are progressed by the caller: get() and wait() drive
// the pool (and let the master compute chunks itself) until the result is there.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "rankpool/detail/engine.hpp"
#include "rankpool/error.hpp"

namespace rankpool {

class Pool;

namespace detail {

/// Shared between a job and the AsyncResult handles that read it.
template <class T>
struct AsyncState {
  explicit AsyncState(Engine* e) : engine(e) {}
  Engine* engine;
  bool ready = false;
  bool discarded = false;  // terminate() came first
  std::optional<T> value;
  std::shared_ptr<const RemoteError> error;  // its dynamic type is kept (TaskCrashed, ...)
  std::function<void(const T&)> callback;
  std::function<void(const RemoteError&)> error_callback;

  bool settled() const { return ready || discarded; }
  void set_value(T v) {
    value.emplace(std::move(v));
    ready = true;
    if (callback) callback(*value);
  }
  void set_error(std::shared_ptr<const RemoteError> e) {
    error = std::move(e);
    ready = true;
    if (error_callback) error_callback(*error);
  }
};

inline Engine::Clock::time_point deadline_after(double seconds) {
  if (!(seconds >= 0)) throw ValueError("rankpool: a timeout must be >= 0 seconds");
  return Engine::Clock::now() + std::chrono::duration_cast<Engine::Clock::duration>(
                                    std::chrono::duration<double>(seconds));
}

}  // namespace detail

template <class T>
class AsyncResult {
 public:
  explicit AsyncResult(std::shared_ptr<detail::AsyncState<T>> state) : state_(std::move(state)) {}

  /// Waits for the result and returns it; throws the task's RemoteError, or PoolStateError when
  /// the pool was terminated first.
  T get() {
    wait();
    return value();
  }
  /// As get(), but throws TimeoutError when the result is not ready within `timeout_seconds`.
  T get(double timeout_seconds) {
    if (!wait(timeout_seconds)) {
      throw TimeoutError("rankpool: the result was not ready within " +
                         std::to_string(timeout_seconds) + " s; call get() again to keep waiting");
    }
    return value();
  }
  /// Waits until the result is ready (the master computes chunks itself meanwhile).
  void wait() {
    if (!state_->settled()) state_->engine->wait_until([s = state_.get()] { return s->settled(); });
  }
  /// Waits at most `timeout_seconds`; returns ready().
  bool wait(double timeout_seconds) {
    auto deadline = detail::deadline_after(timeout_seconds);
    if (!state_->settled()) {
      state_->engine->wait_until([s = state_.get()] { return s->settled(); }, deadline);
    }
    return state_->ready;
  }
  bool ready() const {
    if (!state_->settled()) state_->engine->poll();
    return state_->ready;
  }
  /// Whether the call completed without raising; ValueError if it is not ready yet (as Python).
  bool successful() const {
    if (!ready()) throw ValueError("rankpool: the result is not ready; call wait() first");
    return !state_->error;
  }

 private:
  friend class Pool;
  /// get() for the only holder of the result (map, apply): moves instead of copying.
  T take() {
    wait();
    return std::move(value());
  }
  T& value() const {
    if (state_->error) state_->error->rethrow();
    if (!state_->ready) {
      throw PoolStateError("rankpool: the pool was terminated before this result was ready");
    }
    return *state_->value;
  }
  std::shared_ptr<detail::AsyncState<T>> state_;
};

}  // namespace rankpool

#include "rankpool/pool.hpp"

namespace rankpool {

Pool::Pool(detail::Transport& transport, detail::Transport& channel,
           const detail::ResolvedOptions& options, const detail::ShippedCall& initializer)
    : options_(options),
      service_(channel),
      engine_(transport, detail::EngineConfig{options.processes, options.master_computes,
                                              options.window, options.isolate, options.task_timeout,
                                              options.rerun_stragglers, options.master_thread}) {
  engine_.set_hierarchy(options.slots);  // node scheduling, when run() planned it
  engine_.set_service(&service_);
  auto& sync = detail::sync_context();
  sync.service = &service_;
  sync.master_progress = [this] { return engine_.poll(); };
  sync.relay = [this](detail::SyncRequest& request) -> std::optional<detail::SyncReply> {
    if (!detail::LocalRunner::on_compute_thread()) return std::nullopt;
    return engine_.relay_sync(std::move(request));
  };
  engine_.send_init(initializer, options.maxtasksperchild);
}

Pool::~Pool() {
  try {
    if (engine_.has_jobs()) engine_.terminate();
    engine_.quiesce();  // a straggler's losing copy may still be running on a worker
    service_.fail_waiters("rankpool: the run ended while this operation waited");
    service_.poll();
  } catch (...) {
    // Nothing sensible to do in a destructor; run() reports the error that got us here.
  }
  auto& sync = detail::sync_context();
  sync.service = nullptr;
  sync.master_progress = nullptr;
  sync.relay = nullptr;
}

void Pool::require_running(const char* what) const {
  if (state_ != State::running) {
    throw PoolStateError(std::string("rankpool: Pool not running: ") + what +
                         "() was called after " +
                         (state_ == State::closed ? "close()" : "terminate()"));
  }
}

Pool::Plan Pool::plan_for(std::uint64_t n, std::optional<std::int64_t> requested) const {
  std::optional<std::uint64_t> chunksize = options_.chunksize;
  if (requested) chunksize = detail::checked_chunksize(*requested);
  if (!options_.policy) {
    // schedule "auto": a chunksize the caller chose is kept exactly (Python's chunks); without
    // one, guided chunks that shrink to single inputs at the end balance uneven tasks for a
    // few dozen chunks per worker (README, "Scheduling").
    if (chunksize) return {*chunksize, detail::Policy::dynamic};
    return {1, detail::Policy::guided};
  }
  if (chunksize) return {*chunksize, *options_.policy};
  if (*options_.policy == detail::Policy::guided) return {1, detail::Policy::guided};
  // Python's default: ceil(n / (4 x processes)).
  auto per = 4 * static_cast<std::uint64_t>(processes());
  return {std::max<std::uint64_t>(1, (n + per - 1) / per), *options_.policy};
}

void Pool::close() {
  if (state_ == State::running) state_ = State::closed;
}

void Pool::terminate() {
  state_ = State::terminated;
  engine_.terminate();
}

void Pool::join() {
  if (state_ == State::running) {
    throw PoolStateError(
        "rankpool: Pool is still running; call close() or terminate() before join()");
  }
  engine_.join();
}

}  // namespace rankpool

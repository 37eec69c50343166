#include "rankpool/detail/engine.hpp"

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "rankpool/detail/crash_report.hpp"
#include "rankpool/detail/isolation.hpp"
#include "rankpool/detail/relay.hpp"
#include "rankpool/detail/sync_service.hpp"
#include "rankpool/error.hpp"

namespace rankpool::detail {

namespace {
std::vector<int> make_slots(const EngineConfig& cfg, int ranks) {
  if (cfg.processes < 1) throw ValueError("rankpool: the pool needs at least 1 process");
  std::vector<int> slots;
  int first = cfg.master_computes ? 0 : 1;
  for (int r = first; r < first + cfg.processes; ++r) slots.push_back(r);
  if (slots.back() >= ranks) {
    throw ValueError("rankpool: " + std::to_string(cfg.processes) + " processes need " +
                     std::to_string(slots.back() + 1) + " MPI ranks but the job has " +
                     std::to_string(ranks));
  }
  return slots;
}
}  // namespace

Engine::Engine(Transport& transport, const EngineConfig& config)
    : transport_(transport),
      config_(config),
      slot_rank_(make_slots(config, transport.size())),
      scheduler_(SchedulerConfig{static_cast<int>(slot_rank_.size()), config.window,
                                 config.rerun_stragglers}) {
  set_hierarchy({});
}

void Engine::set_hierarchy(const std::vector<SlotPlan>& slots) {
  if (!jobs_.empty()) throw ValueError("rankpool: set_hierarchy after jobs were submitted");
  if (!slots.empty()) {
    slot_rank_.clear();
    for (const SlotPlan& s : slots) {
      if (s.rank < 0 || s.rank >= transport_.size()) {
        throw ValueError("rankpool: hierarchy slot for rank " + std::to_string(s.rank) +
                         " but the job has " + std::to_string(transport_.size()) + " ranks");
      }
      slot_rank_.push_back(s.rank);
    }
    scheduler_ = Scheduler(SchedulerConfig{static_cast<int>(slot_rank_.size()), config_.window});
  }
  rank_slot_.assign(static_cast<std::size_t>(transport_.size()), -1);
  share_.assign(slot_rank_.size(), 1);
  leader_.assign(slot_rank_.size(), false);
  computing_ = static_cast<int>(slot_rank_.size());
  for (std::size_t s = 0; s < slot_rank_.size(); ++s)
    rank_slot_[slot_rank_[s]] = static_cast<int>(s);
  for (std::size_t s = 0; s < slots.size(); ++s) {
    if (!slots[s].leader()) continue;
    const int fed = static_cast<int>(slots[s].workers.size());
    scheduler_.set_window(static_cast<int>(s), slots[s].window);
    share_[s] = fed;
    leader_[s] = true;
    computing_ += fed - 1;
  }
  // The master runs one chunk at a time (start_local): say so, so that the scheduler's count of
  // the chunks workers may hold (guided sizes) is the real one.
  if (config_.master_computes && !slot_rank_.empty() && slot_rank_[0] == transport_.rank()) {
    scheduler_.set_window(0, 1);
  }
}

Engine::~Engine() = default;

std::vector<TaskFailure> read_partial(PayloadSource& payload, std::uint64_t results_size,
                                      std::vector<char>& bytes) {
  bytes.resize(payload.size());
  payload.read_into(bytes.data());
  if (results_size > bytes.size()) {
    throw SerializationError("rankpool: a partial result is shorter than its results");
  }
  auto failures = from_bytes<std::vector<TaskFailure>>(bytes.data() + results_size,
                                                       bytes.size() - results_size);
  if (failures.empty()) throw SerializationError("rankpool: a partial result lists no failure");
  return failures;
}

void JobBase::receive_partial(const Chunk& c, PayloadSource& payload, std::uint64_t results_size) {
  // A job that does not keep going reports the first failure (it never asks for this).
  std::vector<char> bytes;
  fail(c, std::move(read_partial(payload, results_size, bytes).front()));
}

int Engine::slot_of_rank(int rank) const {
  int slot = rank >= 0 && rank < static_cast<int>(rank_slot_.size()) ? rank_slot_[rank] : -1;
  if (slot < 0) {
    throw CommunicationError("rankpool: unexpected message from rank " + std::to_string(rank));
  }
  return slot;
}

JobId Engine::submit(std::shared_ptr<JobBase> job, std::uint64_t items, std::uint64_t chunksize,
                     Policy policy) {
  JobId id = scheduler_.add_job(items, chunksize, policy);
  jobs_.emplace(id, job);
  dispatch();
  job->after_dispatch();
  finish_if_complete(id);  // an empty map completes at once
  return id;
}

JobId Engine::submit_stream(std::shared_ptr<JobBase> job, std::uint64_t chunksize) {
  JobId id = scheduler_.add_stream_job(chunksize);
  jobs_.emplace(id, std::move(job));
  return id;
}

void Engine::cancel(JobId job) {
  if (jobs_.count(job) == 0) return;
  scheduler_.cancel_job(job);
  finish_if_complete(job);
}

void Engine::send_init(const ShippedCall& initializer, std::uint64_t maxtasksperchild) {
  initializer_ = initializer;
  maxtasksperchild_ = maxtasksperchild;
  for (int rank : slot_rank_) {
    if (rank == transport_.rank()) continue;
    Header h;
    h.kind = MessageKind::init;
    h.aux = maxtasksperchild;
    h.exec = initializer.exec;
    h.flags = initializer.empty() ? 0 : 1;
    h.count = initializer.callable.size();
    transport_.send(rank, h,
                    {{initializer.args.data(), initializer.args.size()},
                     {initializer.callable.data(), initializer.callable.size()}},
                    std::make_shared<ShippedCall>(initializer));
  }
  if (config_.master_computes && !initializer_.empty()) {
    run_shipped_call(initializer_);  // on the main thread: tasks on rank 0 run on either
  }
}

void Engine::dispatch() {
  // Fill windows in rounds, one chunk per worker per round, so that a few chunks spread over
  // all workers instead of queueing two-deep on the first ones. A node leader's slot feeds
  // share_ workers: it takes that many per round, and its chunks go as one batch message.
  std::vector<std::vector<char>> batches;
  for (int round = 0; round < config_.window; ++round) {
    bool gave = false;
    for (int slot = 0; slot < static_cast<int>(slot_rank_.size()); ++slot) {
      int rank = slot_rank_[slot];
      if (rank == transport_.rank()) continue;  // the master's own slot: start_local
      const auto target = static_cast<std::size_t>(round + 1) * share_[slot];
      while (scheduler_.in_flight(slot) < target) {
        auto chunk = scheduler_.next_for(slot);
        if (!chunk) break;
        gave = true;
        if (!leader_[slot]) {
          send_task(rank, *chunk);
          continue;
        }
        if (batches.empty()) batches.resize(slot_rank_.size());
        send_task(rank, *chunk, &batches[slot]);
      }
    }
    if (!gave && !scheduler_.has_pending_work()) break;
  }
  for (std::size_t slot = 0; slot < batches.size(); ++slot) {
    if (batches[slot].empty()) continue;
    auto bytes = std::make_shared<std::vector<char>>(std::move(batches[slot]));
    Header h;
    h.kind = MessageKind::batch;
    transport_.send(slot_rank_[slot], h, {{bytes->data(), bytes->size()}}, bytes);
  }
}

void Engine::send_task(int rank, const Chunk& chunk, std::vector<char>* batch) {
  OutgoingTask task;
  jobs_.at(chunk.job)->prepare(chunk, task);
  Header h;
  h.kind = MessageKind::task;
  h.job = chunk.job;
  h.chunk = chunk.index;
  h.begin = chunk.begin;
  h.count = chunk.count;
  h.aux = task.callable_size;
  h.exec = task.exec;
  if (jobs_.at(chunk.job)->keep_going()) h.flags |= task_keep_going;
  if (config_.isolate) {
    h.flags |= task_isolate;
    h.timeout_ms = static_cast<std::uint64_t>(std::ceil(config_.task_timeout * 1000.0));
  }
  board_add(rank, chunk.job, chunk.index, chunk.begin, chunk.count);
  if (batch) {
    append_record(*batch, h, task.parts);  // copied: the parts' memory may go
    return;
  }
  transport_.send(rank, h, task.parts, std::move(task.keep_alive));
}

bool Engine::start_local() {
  if (!config_.master_computes || runner_.busy()) return false;
  auto chunk = scheduler_.next_for(0);
  if (!chunk) return false;
  JobBase& job = *jobs_.at(chunk->job);
  local_chunk_ = *chunk;
  note_running(chunk->job, chunk->index, chunk->begin, chunk->count);
  if (config_.isolate) {  // forks: on the main thread, like a worker's chunk
    local_apply_ = nullptr;
    try {
      run_local_isolated(job, *chunk);
    } catch (...) {
      local_apply_ = local_error_apply(job, *chunk);
    }
    finish_local();
    return true;
  }
  auto work = job.local_work(*chunk);
  // Short chunks run inline: handing one to the compute thread and back costs two thread
  // wake-ups (tens of microseconds here), more than a worker loses waiting for a short chunk.
  // local_estimate_ jumps up to a long chunk's duration at once and decays over short ones.
  // With rerun_stragglers a worker may run a backup copy of the master's chunk; the winner's
  // results are stored by the main thread, which must not race the compute thread writing the
  // same slots: the master's chunks then run inline (finished before any backup is handed out).
  const bool inline_run = !config_.master_thread || config_.rerun_stragglers ||
                          LocalRunner::on_compute_thread() || local_estimate_ < kInlineBelow;
  if (inline_run) {
    const auto start = Clock::now();
    try {
      local_apply_ = work();
    } catch (...) {
      local_apply_ = local_error_apply(job, *chunk);
    }
    note_local_duration(Clock::now() - start);
    finish_local();
    return true;
  }
  runner_.start([this, work = std::move(work)] {
    const auto start = Clock::now();
    local_apply_ = work();
    local_elapsed_ = Clock::now() - start;
  });
  return true;
}

void Engine::note_local_duration(Clock::duration d) {
  local_estimate_ = d > local_estimate_ ? d : local_estimate_ - (local_estimate_ - d) / 8;
}

JobBase::Apply Engine::local_error_apply(JobBase& job, const Chunk& c) {
  // Something escaped a local chunk outside the task itself (tasks' exceptions are caught per
  // item): it fails the chunk, as it would on a worker.
  TaskFailure failure;
  describe_current_exception(failure.type_name, failure.message);
  failure.index = c.begin;
  failure.rank = transport_.rank();
  failure.host = transport_.host();
  return [&job, c, failure]() { job.fail(c, failure); };
}

void Engine::finish_local() {
  // On the main thread, once the local chunk is done (runner_ collected, or run inline).
  if (runner_.busy()) {
    note_local_duration(local_elapsed_);
    try {
      runner_.collect();
    } catch (...) {
      local_apply_ = local_error_apply(*jobs_.at(local_chunk_.job), local_chunk_);
    }
  }
  note_running(0, 0, 0, 0);
  Chunk chunk = local_chunk_;
  JobBase::Apply apply = std::move(local_apply_);
  local_apply_ = nullptr;
  if (apply) apply();
  scheduler_.on_done(0, chunk);
  finish_if_complete(chunk.job);
  if (maxtasksperchild_ != 0 && ++local_tasks_ >= maxtasksperchild_) {
    local_tasks_ = 0;
    if (!initializer_.empty()) {
      run_shipped_call(initializer_);
    }
  }
}

void Engine::drain_local() {
  while (runner_.busy()) {
    if (!poll()) runner_.wait_finished(std::chrono::microseconds(200));
  }
}

SyncReply Engine::relay_sync(SyncRequest request) {
  struct Slot {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<SyncReply> reply;
  };
  auto slot = std::make_shared<Slot>();
  runner_.post_to_main([this, slot, request = std::move(request)]() mutable {
    service_->submit(std::move(request), [slot](SyncReply reply) {
      std::lock_guard<std::mutex> lock(slot->mutex);
      slot->reply = std::move(reply);
      slot->cv.notify_one();
    });
  });
  std::unique_lock<std::mutex> lock(slot->mutex);
  slot->cv.wait(lock, [&] { return slot->reply.has_value(); });
  return std::move(*slot->reply);
}

void Engine::run_local_isolated(JobBase& job, const Chunk& c) {
  // The chunk travels exactly as to a worker, only through memory, and runs in forked children.
  OutgoingTask task;
  job.prepare(c, task);
  std::size_t total = 0;
  for (const auto& part : task.parts) total += part.size;
  std::vector<std::max_align_t> input((total + sizeof(std::max_align_t) - 1) /
                                      sizeof(std::max_align_t));
  auto* bytes = reinterpret_cast<char*>(input.data());
  std::size_t at = 0;
  for (const auto& part : task.parts) {
    if (part.size != 0) std::memcpy(bytes + at, part.data, part.size);
    at += part.size;
  }
  std::vector<char> out;
  TaskContext ctx;
  ctx.input = bytes;
  ctx.input_size = total - task.callable_size;
  ctx.callable = bytes + ctx.input_size;
  ctx.callable_size = task.callable_size;
  ctx.begin = c.begin;
  ctx.count = c.count;
  ctx.out = &out;
  ctx.keep_going = job.keep_going();
  try {
    run_isolated(resolve_function<void(TaskContext&)>(task.exec), ctx,
                 IsolationConfig{config_.task_timeout});
  } catch (...) {
    ctx.failed = true;
    ctx.failed_index = c.begin;
    describe_current_exception(ctx.error_type, ctx.error_message);
  }
  if (ctx.failed) {
    job.fail(c, ctx.failure(transport_.rank(), transport_.host()));
  } else if (!ctx.failures.empty()) {
    for (auto& f : ctx.failures) {
      f.rank = transport_.rank();
      f.host = transport_.host();
    }
    std::uint64_t results_size = out.size();
    std::vector<char> tail = to_bytes(ctx.failures);
    out.insert(out.end(), tail.begin(), tail.end());
    PayloadSource payload(out.data(), out.size());
    job.receive_partial(c, payload, results_size);
  } else {
    PayloadSource payload(out.data(), out.size());
    job.receive(c, payload);
  }
}

void Engine::handle_batch(int source, const Header& h) {
  std::vector<char> bytes(h.payload_size);
  PayloadSource(transport_, source, h.payload_size).read_into(bytes.data());
  for_each_record(bytes.data(), bytes.size(),
                  [&](const Header& rec, const char* payload) { handle(source, rec, payload); });
}

void Engine::handle(int source, const Header& h, const char* data) {
  if (h.kind == MessageKind::batch) {
    handle_batch(source, h);
    return;
  }
  int slot = slot_of_rank(source);
  Chunk chunk{h.job, h.chunk, h.begin, h.count};
  board_remove(source, h.job, h.chunk);
  if (scheduler_.already_done(chunk)) {  // a straggler's copy that lost the race: drop it
    if (!data && h.payload_size != 0) {
      std::vector<char> dropped(h.payload_size);
      transport_.recv_payload(source, dropped.data(), dropped.size());
    }
    scheduler_.on_done(slot, chunk);
    return;
  }
  auto it = jobs_.find(h.job);
  if (it == jobs_.end()) {
    throw CommunicationError("rankpool: result for unknown job " + std::to_string(h.job) +
                             " from rank " + std::to_string(source));
  }
  PayloadSource payload = data ? PayloadSource(data, h.payload_size)
                               : PayloadSource(transport_, source, h.payload_size);
  if (h.kind == MessageKind::result) {
    it->second->receive(chunk, payload);
  } else if (h.kind == MessageKind::partial) {
    it->second->receive_partial(chunk, payload, h.aux);
  } else if (h.kind == MessageKind::error) {
    std::vector<char> bytes(h.payload_size);
    payload.read_into(bytes.data());
    it->second->fail(chunk, from_bytes<TaskFailure>(bytes.data(), bytes.size()));
  } else {
    throw CommunicationError("rankpool: unexpected message kind " +
                             std::to_string(static_cast<unsigned>(h.kind)) + " from rank " +
                             std::to_string(source));
  }
  scheduler_.on_done(slot, chunk);
  finish_if_complete(h.job);
}

void Engine::finish_if_complete(JobId id) {
  if (!scheduler_.job_complete(id)) return;
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  auto job = std::move(it->second);
  jobs_.erase(it);
  job->complete();  // may run user callbacks, which may submit more work
}

bool Engine::poll() {
  bool did = service_ != nullptr && service_->poll();
  transport_.progress();
  int source = 0;
  Header h;
  while (transport_.try_recv_header(source, h)) {
    try {
      handle(source, h);
    } catch (const SerializationError& e) {
      // A result that cannot be decoded (a type whose load() does not read what its save()
      // wrote, a corrupt message) fails its chunk like a task that threw: the caller gets the
      // error and the pool goes on; no wait (terminate(), the end of run()) hangs on a chunk
      // that would otherwise never complete.
      auto it = jobs_.find(h.job);
      if (it == jobs_.end()) throw;
      Chunk chunk{h.job, h.chunk, h.begin, h.count};
      TaskFailure failure;
      failure.type_name = "rankpool::SerializationError";
      failure.message = std::string("the master could not decode this chunk's results: ") +
                        e.what() +
                        "; check that the result type's load() reads what its save() "
                        "writes, and that every rank runs the same build";
      failure.index = h.begin;
      failure.rank = source;
      failure.host = "rank " + std::to_string(source) + "'s host";
      it->second->fail(chunk, std::move(failure));
      scheduler_.on_done(slot_of_rank(source), chunk);
      finish_if_complete(h.job);
    }
    did = true;
  }
  if (runner_.serve_posted()) did = true;
  if (runner_.busy() && runner_.finished()) {
    finish_local();
    did = true;
  }
  dispatch();
  return did;
}

bool Engine::wait_until(const std::function<bool()>& done,
                        std::optional<Clock::time_point> deadline) {
  // While the compute thread runs the master's chunk, the main thread sleeps between polls on
  // the runner (woken at once when the chunk ends or its task needs the sync service), in
  // pauses that grow from 20 to 320 us while nothing happens: a worker hears back within a few
  // hundred microseconds. (A cap of a quarter of the master's recent chunk duration, up to 2 ms,
  // was tried: no change on the imbalanced or uniform workloads at 2 ranks.)
  Backoff backoff;
  std::chrono::microseconds nap(20);
  try {
    while (!done()) {
      if (deadline && Clock::now() >= *deadline) break;
      bool did = poll();
      if (!deadline && start_local()) did = true;
      if (did) {
        backoff.reset();
        nap = std::chrono::microseconds(20);
      } else if (runner_.busy()) {
        runner_.wait_finished(nap);
        nap = std::min(nap * 2, std::chrono::microseconds(320));
      } else {
        backoff.pause();
      }
    }
  } catch (...) {
    try {
      drain_local();
    } catch (...) {
      // The first error is the one to report.
    }
    throw;
  }
  drain_local();  // no task of the master runs while the caller's code does
  return done();
}

void Engine::terminate() {
  // Tasks blocked on a Lock, Queue, ... would never finish: fail their waits so they end.
  if (service_)
    service_->fail_waiters("rankpool: the pool was terminated while this operation waited");
  std::vector<JobId> ids;
  for (auto& [id, job] : jobs_) ids.push_back(id);
  for (JobId id : ids) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) continue;
    it->second->discard();
    scheduler_.cancel_job(id);
  }
  for (JobId id : ids) finish_if_complete(id);
  quiesce();
  jobs_.clear();
}

void Engine::quiesce() {
  Backoff backoff;
  while (scheduler_.in_flight_total() > 0) {
    if (poll()) {
      backoff.reset();
    } else {
      backoff.pause();
    }
  }
}

void Engine::join() {
  wait_until([this] {
    for (auto& [id, job] : jobs_) {
      if (job->blocks_join()) return false;
    }
    return true;
  });
}

}  // namespace rankpool::detail

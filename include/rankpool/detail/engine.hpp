#pragma once
// The master's engine: owns the scheduler and the transport's master side, turns scheduler
// decisions into messages, routes results to their jobs, and computes chunks itself while the
// caller waits (so P ranks keep P cores busy). It progresses only inside pool calls (map, get,
// wait, iteration, ...), never in the background. The master's own chunks run on a compute thread
// (local_runner.hpp) while the main thread keeps feeding workers; every engine and job state
// change still happens on the main thread, and no chunk runs once a pool call has returned.

#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "rankpool/detail/callable.hpp"
#include "rankpool/detail/hierarchy.hpp"
#include "rankpool/detail/local_runner.hpp"
#include "rankpool/detail/protocol.hpp"
#include "rankpool/detail/scheduler.hpp"
#include "rankpool/detail/transport.hpp"

namespace rankpool::detail {

class SyncService;
struct SyncRequest;
struct SyncReply;

/// Where a job reads a result's payload from: a message from a rank, or bytes in memory (a chunk
/// the master ran itself in isolation).
class PayloadSource {
 public:
  PayloadSource(Transport& transport, int source, std::uint64_t size)
      : transport_(&transport), source_(source), size_(size) {}
  PayloadSource(const char* data, std::uint64_t size) : data_(data), size_(size) {}
  std::uint64_t size() const { return size_; }
  /// Reads the whole payload into dest (exactly size() bytes).
  void read_into(void* dest) {
    if (transport_) {
      transport_->recv_payload(source_, dest, size_);
    } else if (size_ != 0) {
      std::memcpy(dest, data_, size_);
    }
  }

 private:
  Transport* transport_ = nullptr;
  int source_ = 0;
  const char* data_ = nullptr;
  std::uint64_t size_;
};

/// Reads a partial result (see MessageKind::partial) into `bytes` and returns its failures; the
/// results of the other items are bytes[0, results_size). SerializationError if malformed.
std::vector<TaskFailure> read_partial(PayloadSource& payload, std::uint64_t results_size,
                                      std::vector<char>& bytes);

/// A chunk ready to send: executor, encoded callable and input parts.
struct OutgoingTask {
  CodeRef exec;
  std::vector<ConstBytes> parts;           // input bytes, then the callable's bytes
  std::uint64_t callable_size = 0;         // bytes of the last part
  std::shared_ptr<const void> keep_alive;  // keeps the parts' memory alive
};

/// One submitted piece of work (a map, an apply, an imap stream) as the engine sees it.
class JobBase {
 public:
  virtual ~JobBase() = default;
  /// Encodes chunk c for a worker.
  virtual void prepare(const Chunk& c, OutgoingTask& out) = 0;
  /// Stores the results of chunk c (the payload must be read completely).
  virtual void receive(const Chunk& c, PayloadSource& payload) = 0;
  /// Keep-going jobs: chunk c ran, some items failed. The payload holds the results of the other
  /// items (results_size bytes, in item order) and then the encoded std::vector<TaskFailure>.
  virtual void receive_partial(const Chunk& c, PayloadSource& payload, std::uint64_t results_size);
  /// A failing item does not end its chunk: the job wants every item's outcome.
  virtual bool keep_going() const { return false; }
  /// What a chunk the master ran changes besides its own result slots; run on the main thread.
  using Apply = std::function<void()>;
  /// Chunk c run on the master: called on the main thread, returns the work. The work may run on
  /// the compute thread while the main thread receives other chunks' results, so it reads the
  /// inputs, writes only chunk c's own result slots, and returns the rest (failures, ...) as an
  /// Apply (may be empty).
  using LocalWork = std::function<Apply()>;
  virtual LocalWork local_work(const Chunk& c) = 0;
  /// Chunk c failed on some rank.
  virtual void fail(const Chunk& c, TaskFailure failure) = 0;
  /// Every chunk is done: publish the result, run callbacks.
  virtual void complete() = 0;
  /// The pool was terminated before the job completed: results are discarded.
  virtual void discard() = 0;
  /// Called once the job's first chunks went out: a good moment for work the workers need not
  /// wait for (allocating and first-touching a large result vector).
  virtual void after_dispatch() {}
  /// Whether Pool::join() waits for this job (a lazy imap does not: its consumer drives it).
  virtual bool blocks_join() const { return true; }
};

struct EngineConfig {
  int processes = 1;              // ranks that run tasks (the master included when it computes)
  bool master_computes = true;    // the master runs chunks while it waits
  int window = 2;                 // chunks in flight per worker
  bool isolate = false;           // chunks run in forked children (isolation.hpp)
  double task_timeout = 0;        // isolation: seconds an item may run; 0 = no limit
  bool rerun_stragglers = false;  // idle workers run backup copies of the oldest chunks
  bool master_thread = true;      // the master's chunks run on a compute thread (not isolated)
};

class Engine {
 public:
  Engine(Transport& transport, const EngineConfig& config);
  ~Engine();

  int processes() const { return computing_; }
  const EngineConfig& config() const { return config_; }
  Scheduler& scheduler() { return scheduler_; }
  Transport& transport() { return transport_; }

  /// Hierarchical scheduling (hierarchy.hpp): the master's slots, some of them node leaders that
  /// take batches of chunks. Before any job is submitted; empty keeps one slot per process.
  void set_hierarchy(const std::vector<SlotPlan>& slots);

  /// The synchronisation service progresses with the engine (see sync_service.hpp).
  void set_service(class SyncService* service) { service_ = service; }

  JobId submit(std::shared_ptr<JobBase> job, std::uint64_t items, std::uint64_t chunksize,
               Policy policy);
  JobId submit_stream(std::shared_ptr<JobBase> job, std::uint64_t chunksize);
  /// Stops handing out a job's chunks; chunks in flight still complete (their results are given
  /// to the job, which may ignore them).
  void cancel(JobId job);

  /// Sends the initializer (may be empty) and maxtasksperchild to every worker rank in use.
  void send_init(const ShippedCall& initializer, std::uint64_t maxtasksperchild);

  /// One non-blocking step: receives every waiting result, keeps workers' windows full, and
  /// collects the master's own chunk once the compute thread finished it. Returns whether
  /// anything happened.
  bool poll();

  /// A task of the master, on the compute thread, uses a Lock, Queue, ...: the request is served
  /// by the main thread (which owns the service) and this waits for the reply.
  SyncReply relay_sync(SyncRequest request);

  using Clock = std::chrono::steady_clock;
  /// Progresses until done() is true. Without a deadline the master also computes chunks itself
  /// (when configured to); with one it only waits, so the deadline is kept. Returns done().
  bool wait_until(const std::function<bool()>& done,
                  std::optional<Clock::time_point> deadline = std::nullopt);

  /// Cancels every job, discards them, and waits for the chunks still in flight.
  void terminate();
  /// Waits until no chunk is in flight: the results of chunks whose job is gone (a straggler's
  /// losing copy) are received and dropped, so none reaches a later pool's job.
  void quiesce();
  /// Waits until no job is left (computing locally as in wait_until).
  void join();
  bool has_jobs() const { return !jobs_.empty(); }

 private:
  void dispatch();
  void send_task(int rank, const Chunk& chunk, std::vector<char>* batch = nullptr);
  bool start_local();
  void finish_local();
  void drain_local();
  JobBase::Apply local_error_apply(JobBase& job, const Chunk& c);
  void run_local_isolated(JobBase& job, const Chunk& chunk);
  void handle(int source, const Header& header, const char* data = nullptr);
  void handle_batch(int source, const Header& header);
  void finish_if_complete(JobId id);
  int slot_of_rank(int rank) const;

  Transport& transport_;
  EngineConfig config_;
  std::vector<int> slot_rank_;  // slot -> rank; slot 0 is the master when it computes
  std::vector<int> rank_slot_;  // rank -> slot, -1 for none
  std::vector<int> share_;      // slot -> workers it feeds (a leader's node; 1 otherwise)
  std::vector<bool> leader_;    // slot -> a node leader (takes batches)
  int computing_ = 0;           // ranks that run tasks (node leaders relay instead)
  Scheduler scheduler_;
  std::unordered_map<JobId, std::shared_ptr<JobBase>> jobs_;
  std::uint64_t local_tasks_ = 0;
  LocalRunner runner_;
  Chunk local_chunk_;                // the master's chunk (on the compute thread while busy)
  JobBase::Apply local_apply_;       // what its work returned (written by the compute thread)
  Clock::duration local_elapsed_{};  // how long it ran (written by the compute thread)
  // Recent duration of the master's chunks; below kInlineBelow they run on the main thread.
  // It starts at 1 ms, so the first chunks run on the compute thread.
  static constexpr Clock::duration kInlineBelow = std::chrono::microseconds(250);
  Clock::duration local_estimate_ = std::chrono::milliseconds(1);
  void note_local_duration(Clock::duration d);
  std::uint64_t maxtasksperchild_ = 0;
  ShippedCall initializer_;
  SyncService* service_ = nullptr;
};

}  // namespace rankpool::detail

#pragma once
// The chunk scheduler: decides which chunk of which job goes to which worker slot, tracks the
// chunks in flight and keeps per-worker accounting. It is plain C++ (no MPI), driven by events
// (next_for, on_done, on_worker_lost, ...), deterministic, and costs O(log J) per next_for /
// on_done / extend_job (J = jobs alive at once; plus O(window) to find a chunk among one worker's
// in-flight chunks). add_job and cancel_job of a static_block job cost O(min(n, P) log J). It never
// allocates per item (a static_block job keeps one counter per non-empty block, at most P).
//
// Serving order for next_for(w):
//   1. chunks put back by on_worker_lost (oldest job first, lowest chunk index first);
//   2. otherwise the oldest job (smallest JobId) that has a chunk w may take: for a static_block
//      job that is w's own block (or the leftover blocks of lost workers), for the other
//      policies the job's next items. Tail rule: once the dynamic and guided maps have fewer
//      chunks left to form than there are live workers, a worker with a chunk in flight gets
//      none of them; they go to workers about to be idle (static blocks, imap streams and node
//      leaders with a wider window are exempt).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

namespace rankpool::detail {

/// How a map's items are cut into chunks and handed to workers.
enum class Policy { dynamic, static_block, guided };

/// "dynamic", "static" or "guided"; anything else throws ValueError listing the valid names.
Policy parse_policy(std::string_view name);
/// Inverse of parse_policy ("static" for static_block).
const char* to_string(Policy policy);

using WorkerId = int;         // 0 .. num_workers-1
using JobId = std::uint64_t;  // assigned by the scheduler, increasing from 1

struct Chunk {
  JobId job = 0;
  std::uint64_t index = 0;  // chunk sequence number within its job, in formation order
  std::uint64_t begin = 0;  // first item index within the job
  std::uint64_t count = 0;  // number of items (>= 1)
};

inline bool operator==(const Chunk& a, const Chunk& b) {
  return a.job == b.job && a.index == b.index && a.begin == b.begin && a.count == b.count;
}
inline bool operator!=(const Chunk& a, const Chunk& b) {
  return !(a == b);
}

struct SchedulerConfig {
  int num_workers = 1;  // >= 1, else ValueError
  int window = 2;       // max chunks in flight per worker, >= 1, else ValueError
  /// Stragglers: once no job has a chunk left to hand out, a worker with nothing in flight gets
  /// a backup copy of the oldest chunk still in flight on another worker (at most one backup
  /// per chunk); the first copy to finish counts, on_done reports the other as a duplicate.
  bool speculate = false;
};

class Scheduler {
 public:
  struct WorkerStats {
    std::uint64_t chunks = 0;  // chunks completed (on_done)
    std::uint64_t items = 0;   // items in those chunks
  };

  explicit Scheduler(SchedulerConfig cfg);

  int num_workers() const { return num_workers_; }
  /// The window every worker starts with (SchedulerConfig::window).
  int window() const { return window_; }
  /// Worker w's own window (a node leader feeding k workers takes k x window chunks at once).
  /// window >= 1, else ValueError. Lowering it below w's chunks in flight only stops new ones.
  void set_window(WorkerId w, int window);
  int window(WorkerId w) const;
  /// The largest window of any worker.
  int max_window() const { return max_window_; }

  /// A job of n_items (0: complete at once) cut into chunks of (at most / at least, see Policy)
  /// chunksize items. chunksize >= 1, else ValueError.
  ///  - dynamic: chunks of exactly chunksize items (the last may be shorter), in item order, to
  ///    whichever worker asks.
  ///  - static_block: num_workers contiguous blocks as equal as possible (the first n % P blocks
  ///    one item larger); block w is cut into chunks of <= chunksize and only worker w gets them.
  ///    The untaken part of a lost worker's block is handed to any live worker instead.
  ///  - guided: chunk size max(chunksize, ceil(remaining / (2 * C))) (capped at remaining) when
  ///    the chunk is formed, C = the sum of the live workers' windows (the chunks they may hold
  ///    at once), and 4 * C for a worker that already holds a chunk (the new one waits behind
  ///    it; node leaders, with a window wider than the configured one, are exempt); items in
  ///    order.
  JobId add_job(std::uint64_t n_items, std::uint64_t chunksize, Policy policy);

  /// A streaming (imap) job of unknown length, always dynamic. extend_job(job, k) makes the next
  /// k items available (items are numbered from 0); a chunk is formed only once chunksize items
  /// are available, or fewer (the tail) after finish_input(job).
  JobId add_stream_job(std::uint64_t chunksize);
  /// ValueError for a job that is not a stream job, or after finish_input (or on overflow).
  /// No-op for a cancelled or already complete job.
  void extend_job(JobId job, std::uint64_t more_items);
  /// Idempotent. ValueError for a job that is not a stream job. No-op for a cancelled or
  /// already complete job.
  void finish_input(JobId job);

  /// If w is alive, has fewer than window(w) chunks in flight and some job has a chunk w may
  /// take (see the serving order above), form/take that chunk, record it in flight on w and
  /// return it. Otherwise std::nullopt.
  std::optional<Chunk> next_for(WorkerId w);
  /// w is alive and has fewer than window(w) chunks in flight.
  bool has_free_slot(WorkerId w) const;
  std::size_t in_flight(WorkerId w) const;
  std::size_t in_flight_total() const { return in_flight_total_; }

  /// Worker w finished chunk c (in any order among its in-flight chunks). ValueError if c is not
  /// in flight on w (never handed out, already done, handed to another worker, or w was lost).
  /// Returns whether this was the chunk's first completion: false for the copy of a chunk that
  /// already finished on another worker (speculate), whose results must be ignored.
  bool on_done(WorkerId w, const Chunk& c);
  /// The copy of c that a worker returns now is a duplicate: another copy already finished.
  bool already_done(const Chunk& c) const {
    auto it = copies_.find({c.job, c.index});
    return it != copies_.end() && it->second.done;
  }
  /// Backup copies handed out so far (speculate).
  std::uint64_t backups() const { return backups_; }

  /// Stop handing out the job's remaining chunks. Chunks in flight stay tracked until on_done;
  /// the job is complete once none is left in flight. No-op for a job already complete.
  void cancel_job(JobId job);

  /// Worker w is gone: forget its in-flight chunks and return them, sorted by (job, index).
  /// Those of jobs not cancelled are put back at the front of their job and are served before
  /// any new chunk (same Chunk values). The untaken part of w's static blocks goes to the other
  /// workers. Afterwards next_for(w) returns nullopt. Calling it again for w returns {}.
  std::vector<Chunk> on_worker_lost(WorkerId w);
  bool worker_alive(WorkerId w) const;
  int live_workers() const { return live_workers_; }

  /// All items handed out and every handed-out chunk done (or cancelled and nothing in flight).
  /// Complete jobs are forgotten at once; their ids keep answering true. ValueError for an id
  /// never issued.
  bool job_complete(JobId job) const;
  /// Some chunk could be taken now by some live worker, window limits aside.
  bool has_pending_work() const;
  /// Nothing in flight and every job complete (an open stream job waiting for input, or a job
  /// left with no live worker to run it, is not idle).
  bool idle() const { return in_flight_total_ == 0 && jobs_.empty(); }
  /// Number of jobs not yet complete.
  std::size_t active_jobs() const { return jobs_.size(); }

  /// Completed chunks/items of worker w (counted in on_done; kept after w is lost).
  const WorkerStats& stats(WorkerId w) const;

 private:
  struct Job {
    JobId id = 0;
    Policy policy = Policy::dynamic;
    bool stream = false;
    bool cancelled = false;
    bool input_finished = true;
    std::uint64_t chunksize = 1;
    std::uint64_t n_items = 0;    // total items (stream: made available so far)
    std::uint64_t next_item = 0;  // dynamic/guided/stream: first item not yet in a chunk
    std::uint64_t next_index = 0;
    std::uint64_t unissued = 0;      // items not in flight and not done (incl. requeued chunks)
    std::uint64_t in_flight = 0;     // chunks
    std::deque<Chunk> requeue;       // chunks taken back from lost workers, served first
    std::uint64_t tail_counted = 0;  // this job's part of map_chunks_left_
    // static_block only: block w = [w*q + min(w, r), +q + (w < r)), w < num_blocks.
    std::uint64_t block_q = 0;
    std::uint64_t block_r = 0;
    std::vector<std::uint64_t> block_taken;  // items of block w already cut into chunks
    std::deque<std::pair<std::uint64_t, std::uint64_t>> orphans;  // [begin, end) of lost blocks

    std::uint64_t block_begin(std::uint64_t w) const { return w * block_q + std::min(w, block_r); }
    std::uint64_t block_size(std::uint64_t w) const { return block_q + (w < block_r ? 1 : 0); }
  };

  struct Worker {
    std::vector<Chunk> in_flight;
    std::set<JobId> static_jobs;  // static_block jobs whose block for this worker has items left
    WorkerStats stats;
    int window = 1;
    bool alive = true;
  };

  bool holds_back_tail(const Job& j, const Worker& wk) const;
  void recount_tail(Job& j);
  void check_worker(WorkerId w, const char* what) const;
  Job* find_job(JobId id, const char* what);
  const Job* find_job(JobId id, const char* what) const;
  static bool can_form_shared(const Job& j);
  void update_shared(Job& j);
  Chunk form_shared(Job& j, bool queued);  // queued: it will wait behind another chunk
  Chunk form_own_block(Job& j, WorkerId w);
  static bool is_complete(const Job& j);
  void forget_if_complete(JobId id);

  int num_workers_;
  int window_;
  int max_window_;
  int live_workers_;
  std::uint64_t live_capacity_ = 0;  // the sum of the live workers' windows
  JobId next_job_id_ = 1;
  std::size_t in_flight_total_ = 0;
  std::size_t static_entries_ = 0;     // sum of workers_[w].static_jobs.size()
  std::uint64_t map_chunks_left_ = 0;  // chunks not yet formed of dynamic/guided maps (tail rule)
  std::vector<Worker> workers_;
  std::map<JobId, Job> jobs_;      // incomplete jobs only
  std::set<JobId> shared_ready_;   // jobs that can form a chunk for any live worker
  std::set<JobId> requeue_ready_;  // jobs with a non-empty requeue

  // speculate only: every chunk in flight, by (job, index).
  struct Copies {
    std::uint64_t seq = 0;  // hand-out order of the first copy (oldest first)
    WorkerId first = -1;    // the worker running the first copy
    WorkerId backup = -1;   // the worker running a backup copy, -1: none
    bool done = false;      // one copy finished; the other is still out
  };
  using ChunkKey = std::pair<JobId, std::uint64_t>;
  std::optional<Chunk> take_backup(WorkerId w);
  void track(WorkerId w, const Chunk& c);
  bool speculate_ = false;
  std::uint64_t next_seq_ = 0;
  std::uint64_t backups_ = 0;
  std::map<ChunkKey, Copies> copies_;
  std::map<std::uint64_t, std::pair<ChunkKey, Chunk>> single_;  // by seq: chunks with one copy
};

}  // namespace rankpool::detail

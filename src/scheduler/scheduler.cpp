#include "rankpool/detail/scheduler.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "rankpool/error.hpp"

namespace rankpool::detail {

namespace {

std::string describe(const Chunk& c) {
  return "{job " + std::to_string(c.job) + ", index " + std::to_string(c.index) + ", begin " +
         std::to_string(c.begin) + ", count " + std::to_string(c.count) + "}";
}

void check_chunksize(std::uint64_t chunksize, const char* what) {
  if (chunksize == 0) {
    throw ValueError(std::string(what) +
                     ": chunksize must be >= 1 (got 0): pass a positive chunksize or 0 for the "
                     "default");
  }
}

constexpr JobId kNoJob = std::numeric_limits<JobId>::max();

}  // namespace

Policy parse_policy(std::string_view name) {
  if (name == "dynamic") return Policy::dynamic;
  if (name == "static") return Policy::static_block;
  if (name == "guided") return Policy::guided;
  throw ValueError("unknown scheduling policy '" + std::string(name) +
                   "': use one of 'dynamic', 'static' or 'guided'");
}

const char* to_string(Policy policy) {
  switch (policy) {
    case Policy::dynamic:
      return "dynamic";
    case Policy::static_block:
      return "static";
    case Policy::guided:
      return "guided";
  }
  return "unknown";
}

Scheduler::Scheduler(SchedulerConfig cfg)
    : num_workers_(cfg.num_workers),
      window_(cfg.window),
      max_window_(cfg.window),
      live_workers_(cfg.num_workers),
      speculate_(cfg.speculate) {
  if (cfg.num_workers < 1) {
    throw ValueError("Scheduler: num_workers must be >= 1 (got " + std::to_string(cfg.num_workers) +
                     "): start the pool with at least one worker");
  }
  if (cfg.window < 1) {
    throw ValueError("Scheduler: window must be >= 1 (got " + std::to_string(cfg.window) +
                     "): allow at least one chunk in flight per worker");
  }
  workers_.resize(static_cast<std::size_t>(cfg.num_workers));
  for (Worker& wk : workers_) wk.window = cfg.window;
  live_capacity_ =
      static_cast<std::uint64_t>(cfg.num_workers) * static_cast<std::uint64_t>(cfg.window);
}

void Scheduler::set_window(WorkerId w, int window) {
  check_worker(w, "set_window");
  if (window < 1) {
    throw ValueError("set_window: window must be >= 1 (got " + std::to_string(window) +
                     "): allow at least one chunk in flight per worker");
  }
  Worker& wk = workers_[static_cast<std::size_t>(w)];
  int& mine = wk.window;
  const bool was_max = mine == max_window_;
  if (wk.alive) live_capacity_ = live_capacity_ - mine + window;
  mine = window;
  if (window >= max_window_) {
    max_window_ = window;
  } else if (was_max) {  // lowered the largest: look again (O(P), rare)
    max_window_ = 1;
    for (const Worker& wk : workers_) max_window_ = std::max(max_window_, wk.window);
  }
}

int Scheduler::window(WorkerId w) const {
  check_worker(w, "window");
  return workers_[static_cast<std::size_t>(w)].window;
}

void Scheduler::check_worker(WorkerId w, const char* what) const {
  if (w < 0 || w >= num_workers_) {
    throw ValueError(std::string(what) + ": unknown worker id " + std::to_string(w) +
                     ": worker ids are 0.." + std::to_string(num_workers_ - 1));
  }
}

const Scheduler::Job* Scheduler::find_job(JobId id, const char* what) const {
  if (id == 0 || id >= next_job_id_) {
    throw ValueError(
        std::string(what) + ": unknown job id " + std::to_string(id) +
        ": pass an id returned by add_job or add_stream_job (issued so far: " +
        (next_job_id_ == 1 ? std::string("none") : "1.." + std::to_string(next_job_id_ - 1)) + ")");
  }
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

Scheduler::Job* Scheduler::find_job(JobId id, const char* what) {
  return const_cast<Job*>(static_cast<const Scheduler*>(this)->find_job(id, what));
}

JobId Scheduler::add_job(std::uint64_t n_items, std::uint64_t chunksize, Policy policy) {
  check_chunksize(chunksize, "add_job");
  if (policy != Policy::dynamic && policy != Policy::static_block && policy != Policy::guided) {
    throw ValueError("add_job: invalid Policy value " + std::to_string(static_cast<int>(policy)) +
                     ": use Policy::dynamic, Policy::static_block or Policy::guided");
  }
  const JobId id = next_job_id_++;
  if (n_items == 0) return id;  // complete at once; never stored

  Job j;
  j.id = id;
  j.policy = policy;
  j.chunksize = chunksize;
  j.n_items = n_items;
  j.unissued = n_items;
  if (policy == Policy::static_block) {
    const auto p = static_cast<std::uint64_t>(num_workers_);
    j.block_q = n_items / p;
    j.block_r = n_items % p;
    const std::uint64_t num_blocks = std::min(n_items, p);  // non-empty blocks
    j.block_taken.assign(num_blocks, 0);
    for (std::uint64_t w = 0; w < num_blocks; ++w) {
      Worker& wk = workers_[w];
      if (wk.alive) {
        wk.static_jobs.insert(wk.static_jobs.end(), id);
        ++static_entries_;
      } else {
        j.orphans.emplace_back(j.block_begin(w), j.block_begin(w) + j.block_size(w));
        j.block_taken[w] = j.block_size(w);
      }
    }
  }
  auto it = jobs_.emplace(id, std::move(j)).first;
  update_shared(it->second);
  return id;
}

JobId Scheduler::add_stream_job(std::uint64_t chunksize) {
  check_chunksize(chunksize, "add_stream_job");
  const JobId id = next_job_id_++;
  Job j;
  j.id = id;
  j.policy = Policy::dynamic;
  j.stream = true;
  j.input_finished = false;
  j.chunksize = chunksize;
  jobs_.emplace(id, std::move(j));
  return id;
}

void Scheduler::extend_job(JobId job, std::uint64_t more_items) {
  Job* j = find_job(job, "extend_job");
  if (j == nullptr) return;  // complete (cancelled and drained): nothing to add to
  if (!j->stream) {
    throw ValueError("extend_job: job " + std::to_string(job) +
                     " is not a stream job: only jobs from add_stream_job can be extended");
  }
  if (j->cancelled) return;
  if (j->input_finished) {
    throw ValueError("extend_job: input of job " + std::to_string(job) +
                     " was already closed by finish_input: extend the job before finishing it");
  }
  if (more_items > std::numeric_limits<std::uint64_t>::max() - j->n_items) {
    throw ValueError("extend_job: job " + std::to_string(job) +
                     " would exceed 2^64-1 items: split the input into several jobs");
  }
  j->n_items += more_items;
  j->unissued += more_items;
  update_shared(*j);
}

void Scheduler::finish_input(JobId job) {
  Job* j = find_job(job, "finish_input");
  if (j == nullptr) return;
  if (!j->stream) {
    throw ValueError("finish_input: job " + std::to_string(job) +
                     " is not a stream job: only jobs from add_stream_job take finish_input");
  }
  if (j->cancelled || j->input_finished) return;
  j->input_finished = true;
  update_shared(*j);
  forget_if_complete(job);
}

bool Scheduler::can_form_shared(const Job& j) {
  if (j.cancelled) return false;
  if (j.policy == Policy::static_block) return !j.orphans.empty();
  const std::uint64_t left = j.n_items - j.next_item;
  if (j.stream) return left >= j.chunksize || (j.input_finished && left > 0);
  return left > 0;
}

void Scheduler::update_shared(Job& j) {
  recount_tail(j);
  if (can_form_shared(j)) {
    shared_ready_.insert(j.id);
  } else {
    shared_ready_.erase(j.id);
  }
}

Chunk Scheduler::form_shared(Job& j, bool queued) {
  Chunk c;
  c.job = j.id;
  c.index = j.next_index++;
  if (j.policy == Policy::static_block) {
    auto& range = j.orphans.front();
    c.begin = range.first;
    c.count = std::min(j.chunksize, range.second - range.first);
    range.first += c.count;
    if (range.first == range.second) j.orphans.pop_front();
  } else {
    const std::uint64_t left = j.n_items - j.next_item;
    std::uint64_t size = j.chunksize;
    if (j.policy == Policy::guided) {
      // Twice the chunks the live workers may hold at once: a queued chunk is work already
      // committed to one worker, so sizing by workers alone (OpenMP's rule, no prefetch) left
      // one worker 2.7% behind on the shared imbalanced file at 2 ranks (README). A chunk that
      // will wait behind another on a plain worker is half that again: where the cost per item
      // varies along the input (Mandelbrot rows), a full-size queued chunk left the other rank
      // idle for a quarter of the run.
      std::uint64_t div = 2 * std::max<std::uint64_t>(1, live_capacity_);
      if (queued) div *= 2;
      size = std::max(size, left / div + (left % div != 0 ? 1 : 0));
    }
    c.begin = j.next_item;
    c.count = std::min(size, left);
    j.next_item += c.count;
  }
  update_shared(j);
  return c;
}

Chunk Scheduler::form_own_block(Job& j, WorkerId w) {
  const auto b = static_cast<std::uint64_t>(w);
  const std::uint64_t size = j.block_size(b);
  Chunk c;
  c.job = j.id;
  c.index = j.next_index++;
  c.begin = j.block_begin(b) + j.block_taken[b];
  c.count = std::min(j.chunksize, size - j.block_taken[b]);
  j.block_taken[b] += c.count;
  if (j.block_taken[b] == size) {
    static_entries_ -= workers_[b].static_jobs.erase(j.id);
  }
  return c;
}

std::optional<Chunk> Scheduler::next_for(WorkerId w) {
  check_worker(w, "next_for");
  Worker& wk = workers_[static_cast<std::size_t>(w)];
  if (!wk.alive || wk.in_flight.size() >= static_cast<std::size_t>(wk.window)) return std::nullopt;

  Chunk c;
  Job* j = nullptr;
  if (!requeue_ready_.empty()) {
    j = &jobs_.at(*requeue_ready_.begin());
    c = j->requeue.front();
    j->requeue.pop_front();
    if (j->requeue.empty()) requeue_ready_.erase(j->id);
  } else {
    const JobId shared = shared_ready_.empty() ? kNoJob : *shared_ready_.begin();
    const JobId own = wk.static_jobs.empty() ? kNoJob : *wk.static_jobs.begin();
    if (shared == kNoJob && own == kNoJob) {
      return speculate_ && wk.in_flight.empty() && !has_pending_work() ? take_backup(w)
                                                                       : std::nullopt;
    }
    if (own <= shared) {  // own block before the job's leftover (orphan) blocks
      j = &jobs_.at(own);
      c = form_own_block(*j, w);
    } else {
      j = &jobs_.at(shared);
      if (holds_back_tail(*j, wk)) return std::nullopt;
      // A node leader's slot (a wider window) runs its chunks side by side, not one after another.
      c = form_shared(*j, !wk.in_flight.empty() && wk.window <= window_);
    }
  }
  j->unissued -= c.count;
  ++j->in_flight;
  wk.in_flight.push_back(c);
  ++in_flight_total_;
  if (speculate_) track(w, c);
  return c;
}

bool Scheduler::holds_back_tail(const Job& j, const Worker& wk) const {
  // The last chunks of the maps, fewer than the live workers, go only to workers with nothing in
  // flight: a busy worker holding one queued would otherwise keep a worker that is about to be
  // idle waiting (8 chunks of 250 ms on 2 ranks took 1.25 s instead of 1 s). A node leader's
  // slot (a wider window, feeding several workers), static blocks and imap streams are exempt.
  if (wk.in_flight.empty() || wk.window > window_ || j.stream) return false;
  if (j.policy == Policy::static_block) return false;
  return map_chunks_left_ < static_cast<std::uint64_t>(live_workers_);
}

void Scheduler::recount_tail(Job& j) {
  std::uint64_t left = 0;
  if (!j.cancelled && !j.stream && j.policy != Policy::static_block) {
    left = (j.n_items - j.next_item + j.chunksize - 1) / j.chunksize;
  }
  map_chunks_left_ = map_chunks_left_ - j.tail_counted + left;
  j.tail_counted = left;
}

void Scheduler::track(WorkerId w, const Chunk& c) {
  Copies copies;
  copies.seq = next_seq_++;
  copies.first = w;
  ChunkKey key{c.job, c.index};
  copies_[key] = copies;
  single_.emplace(copies.seq, std::make_pair(key, c));
}

std::optional<Chunk> Scheduler::take_backup(WorkerId w) {
  for (auto it = single_.begin(); it != single_.end();) {
    auto [key, chunk] = it->second;
    auto cit = copies_.find(key);
    auto jit = jobs_.find(key.first);
    if (cit == copies_.end() || cit->second.done || jit == jobs_.end() || jit->second.cancelled) {
      it = single_.erase(it);  // stale: finished, or its job was cancelled
      continue;
    }
    if (cit->second.first == w) {
      ++it;
      continue;
    }
    single_.erase(it);
    cit->second.backup = w;
    workers_[static_cast<std::size_t>(w)].in_flight.push_back(chunk);
    ++in_flight_total_;
    ++backups_;
    return chunk;
  }
  return std::nullopt;
}

bool Scheduler::has_free_slot(WorkerId w) const {
  check_worker(w, "has_free_slot");
  const Worker& wk = workers_[static_cast<std::size_t>(w)];
  return wk.alive && wk.in_flight.size() < static_cast<std::size_t>(wk.window);
}

std::size_t Scheduler::in_flight(WorkerId w) const {
  check_worker(w, "in_flight");
  return workers_[static_cast<std::size_t>(w)].in_flight.size();
}

bool Scheduler::on_done(WorkerId w, const Chunk& c) {
  check_worker(w, "on_done");
  Worker& wk = workers_[static_cast<std::size_t>(w)];
  auto it = std::find(wk.in_flight.begin(), wk.in_flight.end(), c);
  if (it == wk.in_flight.end()) {
    if (!wk.alive) {
      throw ValueError("on_done: worker " + std::to_string(w) +
                       " was declared lost (on_worker_lost) and its chunks were taken back: "
                       "ignore results it sends afterwards (chunk " +
                       describe(c) + ")");
    }
    throw ValueError("on_done: chunk " + describe(c) + " is not in flight on worker " +
                     std::to_string(w) +
                     ": report each chunk once, on the worker that next_for handed it to");
  }
  *it = wk.in_flight.back();
  wk.in_flight.pop_back();
  --in_flight_total_;
  if (speculate_) {
    auto cit = copies_.find({c.job, c.index});
    if (cit != copies_.end()) {
      if (cit->second.done) {  // the other copy won: this one only frees its slot
        copies_.erase(cit);
        return false;
      }
      const bool other_out = cit->second.backup >= 0;
      single_.erase(cit->second.seq);
      if (other_out) {
        cit->second.done = true;  // wait for the other copy to come back
      } else {
        copies_.erase(cit);
      }
    }
  }
  ++wk.stats.chunks;
  wk.stats.items += c.count;
  Job& j = jobs_.at(c.job);
  --j.in_flight;
  forget_if_complete(c.job);
  return true;
}

void Scheduler::cancel_job(JobId job) {
  Job* j = find_job(job, "cancel_job");
  if (j == nullptr || j->cancelled) return;
  j->cancelled = true;
  j->requeue.clear();
  requeue_ready_.erase(job);
  j->orphans.clear();
  shared_ready_.erase(job);
  for (std::size_t w = 0; w < j->block_taken.size(); ++w) {
    if (j->block_taken[w] < j->block_size(w)) {
      static_entries_ -= workers_[w].static_jobs.erase(job);
    }
  }
  j->unissued = 0;
  recount_tail(*j);
  forget_if_complete(job);
}

std::vector<Chunk> Scheduler::on_worker_lost(WorkerId w) {
  check_worker(w, "on_worker_lost");
  Worker& wk = workers_[static_cast<std::size_t>(w)];
  if (!wk.alive) return {};
  wk.alive = false;
  --live_workers_;
  live_capacity_ -= static_cast<std::uint64_t>(wk.window);

  std::vector<Chunk> lost;
  lost.swap(wk.in_flight);
  in_flight_total_ -= lost.size();
  std::sort(lost.begin(), lost.end(), [](const Chunk& a, const Chunk& b) {
    return a.job != b.job ? a.job < b.job : a.index < b.index;
  });
  // Push back to front in reverse so each job's requeue starts with its lowest index.
  for (auto it = lost.rbegin(); it != lost.rend(); ++it) {
    if (speculate_) {
      auto cit = copies_.find({it->job, it->index});
      if (cit != copies_.end()) {
        Copies& cp = cit->second;
        if (cp.done) {  // a finished chunk's leftover copy: nothing to redo
          copies_.erase(cit);
          continue;
        }
        if (cp.backup >= 0) {  // the other copy still runs: it now carries the chunk alone
          cp.first = cp.first == w ? cp.backup : cp.first;
          cp.backup = -1;
          single_.emplace(cp.seq, std::make_pair(cit->first, *it));
          continue;
        }
        single_.erase(cp.seq);
        copies_.erase(cit);
      }
    }
    Job& j = jobs_.at(it->job);
    --j.in_flight;
    if (!j.cancelled) {
      j.requeue.push_front(*it);
      j.unissued += it->count;
      requeue_ready_.insert(j.id);
    }
  }
  for (const Chunk& c : lost) forget_if_complete(c.job);

  // Hand the untaken rest of w's static blocks to everyone else.
  const auto b = static_cast<std::size_t>(w);
  for (JobId id : wk.static_jobs) {
    Job& j = jobs_.at(id);
    j.orphans.emplace_back(j.block_begin(b) + j.block_taken[b], j.block_begin(b) + j.block_size(b));
    j.block_taken[b] = j.block_size(b);
    update_shared(j);
  }
  static_entries_ -= wk.static_jobs.size();
  wk.static_jobs.clear();
  return lost;
}

bool Scheduler::worker_alive(WorkerId w) const {
  check_worker(w, "worker_alive");
  return workers_[static_cast<std::size_t>(w)].alive;
}

bool Scheduler::is_complete(const Job& j) {
  if (j.in_flight != 0) return false;
  return j.cancelled || (j.input_finished && j.unissued == 0);
}

void Scheduler::forget_if_complete(JobId id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || !is_complete(it->second)) return;
  shared_ready_.erase(id);
  requeue_ready_.erase(id);
  map_chunks_left_ -= it->second.tail_counted;
  jobs_.erase(it);
}

bool Scheduler::job_complete(JobId job) const {
  const Job* j = find_job(job, "job_complete");
  return j == nullptr || is_complete(*j);
}

bool Scheduler::has_pending_work() const {
  if (live_workers_ == 0) return false;
  return !requeue_ready_.empty() || !shared_ready_.empty() || static_entries_ != 0;
}

const Scheduler::WorkerStats& Scheduler::stats(WorkerId w) const {
  check_worker(w, "stats");
  return workers_[static_cast<std::size_t>(w)].stats;
}

}  // namespace rankpool::detail

#include "rankpool/detail/simulator.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <queue>
#include <set>
#include <string>
#include <utility>

#include "rankpool/detail/relay_queue.hpp"
#include "rankpool/detail/scheduler.hpp"
#include "rankpool/error.hpp"

namespace rankpool::detail {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

enum class Ev : std::uint8_t { arrive, worker_done, wake };

struct Event {
  double t;
  std::uint64_t seq;  // ties in time: first scheduled, first served (determinism)
  Ev kind;
  int rank;
  std::uint32_t msg;
  bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

struct Msg {
  int from = 0;
  std::vector<Chunk> chunks;
};

struct Server {
  std::deque<std::uint32_t> inbox;
  bool busy = false;
  double busy_time = 0;
};

struct Leader {
  int rank = 0;
  Server server;
  RelayQueue<Chunk> queue;
  std::vector<int> workers;
  std::vector<Chunk> results;
  Leader(int r, std::vector<int> w, int window)
      : rank(r), queue(static_cast<int>(w.size()), window), workers(std::move(w)) {}
};

struct WorkerState {
  std::deque<Chunk> inbox;
  bool busy = false;
  Chunk current;
  int parent = 0;
  int index = 0;  // among its leader's workers
};

class Sim {
 public:
  explicit Sim(const SimConfig& cfg) : cfg_(cfg), m_(cfg.model) {
    if (cfg.workers < 1) throw ValueError("simulate: workers must be >= 1");
    if (cfg.ranks_per_node < 1) throw ValueError("simulate: ranks_per_node must be >= 1");
    if (cfg.window < 1) throw ValueError("simulate: window must be >= 1");
    if (!(cfg.task_seconds > 0)) throw ValueError("simulate: task_seconds must be > 0");
    if (cfg.jitter < 0 || cfg.jitter >= 1) throw ValueError("simulate: jitter must be in [0, 1)");
    const int ranks = cfg.workers + 1;
    nodes_ = fake_nodes(ranks, cfg.ranks_per_node);
    tasks_ = cfg.tasks != 0 ? cfg.tasks
                            : static_cast<std::uint64_t>(cfg.tasks_per_worker) *
                                  static_cast<std::uint64_t>(cfg.workers);
    if (tasks_ == 0) throw ValueError("simulate: no tasks (tasks or tasks_per_worker)");
    const int n_nodes = nodes_.back() + 1;
    HierarchyMode mode = cfg.mode;
    if (mode == HierarchyMode::automatic) {
      const std::uint64_t cs = cfg.chunksize != 0 ? cfg.chunksize : default_chunksize(cfg.workers);
      mode = choose_hierarchy(mode, m_, cfg.workers, n_nodes, cfg.ranks_per_node,
                              static_cast<double>(cs) * cfg.task_seconds);
    }
    plan_ = plan_hierarchy(nodes_, cfg.workers, false, cfg.window, mode);
    chunksize_ = cfg.chunksize != 0 ? cfg.chunksize : default_chunksize(plan_.computing);
    result_.nodes = n_nodes;
  }

  SimResult run() {
    const int ranks = cfg_.workers + 1;
    Scheduler sched(SchedulerConfig{static_cast<int>(plan_.slots.size()), cfg_.window});
    sched_ = &sched;
    slot_of_rank_.assign(ranks, -1);
    leader_of_rank_.assign(ranks, -1);
    workers_.assign(ranks, WorkerState{});
    share_.assign(plan_.slots.size(), 1);
    for (std::size_t s = 0; s < plan_.slots.size(); ++s) {
      const SlotPlan& sp = plan_.slots[s];
      slot_of_rank_[sp.rank] = static_cast<int>(s);
      sched.set_window(static_cast<int>(s), sp.window);
      open_.insert(static_cast<int>(s));
      if (sp.leader()) {
        share_[s] = static_cast<int>(sp.workers.size());
        leader_of_rank_[sp.rank] = static_cast<int>(leaders_.size());
        leaders_.emplace_back(sp.rank, sp.workers, cfg_.window);
        for (std::size_t i = 0; i < sp.workers.size(); ++i) {
          workers_[sp.workers[i]].parent = sp.rank;
          workers_[sp.workers[i]].index = static_cast<int>(i);
        }
      }
    }
    for (std::uint64_t i = 0; i < tasks_; ++i) work_ += task_duration(i);
    sched.add_job(tasks_, chunksize_, Policy::dynamic);

    master_wake(0.0);
    while (!events_.empty()) {
      Event e = events_.top();
      events_.pop();
      ++result_.events;
      switch (e.kind) {
        case Ev::arrive:
          arrive(e.t, e.rank, e.msg);
          break;
        case Ev::worker_done:
          worker_done(e.t, e.rank);
          break;
        case Ev::wake:
          if (e.rank == 0) {
            master_wake(e.t);
          } else {
            leader_wake(e.t, leaders_[leader_of_rank_[e.rank]]);
          }
          break;
      }
    }

    SimResult& r = result_;
    r.mode = plan_.mode;
    r.workers = cfg_.workers;
    r.computing = plan_.computing;
    r.leaders = static_cast<int>(leaders_.size());
    r.tasks = tasks_;
    r.chunksize = chunksize_;
    r.work = work_;
    r.makespan = end_;
    r.efficiency = end_ > 0 ? work_ / (end_ * cfg_.workers) : 0;
    r.master_busy = end_ > 0 ? master_.busy_time / end_ : 0;
    for (const Leader& l : leaders_) {
      r.max_leader_busy = std::max(r.max_leader_busy, end_ > 0 ? l.server.busy_time / end_ : 0);
    }
    r.slot_items.resize(plan_.slots.size());
    for (std::size_t s = 0; s < plan_.slots.size(); ++s) {
      r.slot_items[s] = sched.stats(static_cast<int>(s)).items;
      r.items_done += r.slot_items[s];
    }
    r.scheduler_idle = sched.idle();
    sched_ = nullptr;
    return r;
  }

 private:
  std::uint64_t default_chunksize(int processes) const {
    const std::uint64_t per = 4 * static_cast<std::uint64_t>(std::max(1, processes));
    return std::max<std::uint64_t>(1, (tasks_ + per - 1) / per);
  }

  double task_duration(std::uint64_t i) const {
    if (cfg_.jitter == 0) return cfg_.task_seconds;
    const double u = static_cast<double>(splitmix64(cfg_.seed * 0x100000001b3ULL + i) >> 11) /
                     9007199254740992.0;  // [0, 1)
    return cfg_.task_seconds * (1 - cfg_.jitter + 2 * cfg_.jitter * u);
  }

  double chunk_duration(const Chunk& c) const {
    if (cfg_.jitter == 0) return cfg_.task_seconds * static_cast<double>(c.count);
    double d = 0;
    for (std::uint64_t i = c.begin; i < c.begin + c.count; ++i) d += task_duration(i);
    return d;
  }

  void push(double t, Ev kind, int rank, std::uint32_t msg = 0) {
    events_.push(Event{t, seq_++, kind, rank, msg});
  }

  std::uint32_t new_msg(int from, std::vector<Chunk> chunks) {
    std::uint32_t id;
    if (!free_.empty()) {
      id = free_.back();
      free_.pop_back();
    } else {
      id = static_cast<std::uint32_t>(msgs_.size());
      msgs_.emplace_back();
    }
    msgs_[id].from = from;
    msgs_[id].chunks = std::move(chunks);
    return id;
  }

  void send(double t, int from, int to, std::vector<Chunk> chunks, double bytes_each) {
    const bool intra = nodes_[from] == nodes_[to];
    const double bytes = bytes_each * static_cast<double>(chunks.size());
    const double delay = intra ? m_.latency_intra + bytes / m_.bandwidth_intra
                               : m_.latency_inter + bytes / m_.bandwidth_inter;
    push(t + delay, Ev::arrive, to, new_msg(from, std::move(chunks)));
  }

  void arrive(double t, int rank, std::uint32_t id) {
    if (rank == 0) {
      master_.inbox.push_back(id);
      if (!master_.busy) master_wake(t);
      return;
    }
    if (leader_of_rank_[rank] >= 0) {
      Leader& l = leaders_[leader_of_rank_[rank]];
      l.server.inbox.push_back(id);
      if (!l.server.busy) leader_wake(t, l);
      return;
    }
    WorkerState& w = workers_[rank];
    for (const Chunk& c : msgs_[id].chunks) w.inbox.push_back(c);
    free_.push_back(id);
    if (!w.busy) start(t, rank);
  }

  void start(double t, int rank) {
    WorkerState& w = workers_[rank];
    if (w.inbox.empty()) {
      w.busy = false;
      return;
    }
    w.busy = true;
    w.current = w.inbox.front();
    w.inbox.pop_front();
    push(t + chunk_duration(w.current) + m_.worker_message, Ev::worker_done, rank);
  }

  void worker_done(double t, int rank) {
    WorkerState& w = workers_[rank];
    send(t, rank, w.parent, {w.current}, m_.result_bytes);
    start(t, rank);
  }

  // Engine::poll: take every waiting result, then Engine::dispatch.
  void master_wake(double now) {
    Scheduler& s = *sched_;
    double t = now;
    const bool first = !started_;
    started_ = true;
    if (master_.inbox.empty() && !first) {
      master_.busy = false;
      return;
    }
    while (!master_.inbox.empty()) {
      const std::uint32_t id = master_.inbox.front();
      master_.inbox.pop_front();
      const Msg& msg = msgs_[id];
      const int slot = slot_of_rank_[msg.from];
      t += m_.master_message + static_cast<double>(msg.chunks.size()) * m_.master_chunk / 2;
      ++result_.master_messages;
      for (const Chunk& c : msg.chunks) s.on_done(slot, c);
      open_.insert(slot);
      free_.push_back(id);
    }
    if (s.idle() && end_ == 0) end_ = t;
    // Engine::dispatch: rounds over the slots; in round r a slot is filled up to (r + 1) x its
    // share (1 for a worker, its workers for a leader); a leader's chunks go as one batch.
    const int nslots = static_cast<int>(plan_.slots.size());
    std::vector<std::vector<Chunk>> batches;
    for (int round = 0; round < cfg_.window && s.has_pending_work(); ++round) {
      t += cfg_.master_scan_slot * nslots;
      bool gave = false;
      std::vector<int> open(open_.begin(), open_.end());
      for (int slot : open) {
        const std::size_t target = static_cast<std::size_t>((round + 1) * share_[slot]);
        const SlotPlan& sp = plan_.slots[slot];
        while (s.in_flight(slot) < target) {
          auto c = s.next_for(slot);
          if (!c) break;
          gave = true;
          ++result_.chunks;
          if (sp.leader()) {
            if (batches.empty()) batches.resize(plan_.slots.size());
            batches[slot].push_back(*c);
          } else {
            t += m_.master_message + m_.master_chunk / 2;
            ++result_.master_messages;
            send(t, 0, sp.rank, {*c}, m_.task_bytes);
          }
        }
        if (!s.has_free_slot(slot)) open_.erase(slot);
      }
      if (!gave) break;
    }
    for (std::size_t slot = 0; slot < batches.size(); ++slot) {
      if (batches[slot].empty()) continue;
      t += m_.master_message + static_cast<double>(batches[slot].size()) * m_.master_chunk / 2;
      ++result_.master_messages;
      send(t, 0, plan_.slots[slot].rank, std::move(batches[slot]), m_.task_bytes);
    }
    master_.busy = true;
    master_.busy_time += t - now;
    push(t, Ev::wake, 0);
  }

  // relay.cpp: take batches and results, hand chunks to free workers, send results on together.
  void leader_wake(double now, Leader& l) {
    if (l.server.inbox.empty()) {
      l.server.busy = false;
      return;
    }
    double t = now;
    while (!l.server.inbox.empty()) {
      const std::uint32_t id = l.server.inbox.front();
      l.server.inbox.pop_front();
      Msg& msg = msgs_[id];
      const double k = static_cast<double>(msg.chunks.size());
      t += m_.leader_message + k * m_.leader_chunk;
      if (msg.from == 0) {
        for (const Chunk& c : msg.chunks) l.queue.push(c);
      } else {
        l.queue.done(workers_[msg.from].index);
        for (const Chunk& c : msg.chunks) l.results.push_back(c);
      }
      free_.push_back(id);
    }
    while (auto next = l.queue.next()) {
      t += m_.leader_message;
      send(t, l.rank, l.workers[next->first], {next->second}, m_.task_bytes);
    }
    if (!l.results.empty()) {
      t += m_.leader_message + static_cast<double>(l.results.size()) * m_.leader_chunk;
      std::vector<Chunk> out;
      out.swap(l.results);
      send(t, l.rank, 0, std::move(out), m_.result_bytes);
    }
    l.server.busy = true;
    l.server.busy_time += t - now;
    push(t, Ev::wake, l.rank);
  }

  const SimConfig& cfg_;
  const CostModel& m_;
  std::vector<int> nodes_;
  HierarchyPlan plan_;
  std::uint64_t tasks_ = 0;
  std::uint64_t chunksize_ = 1;
  double work_ = 0;
  double end_ = 0;
  bool started_ = false;
  Scheduler* sched_ = nullptr;
  std::vector<int> slot_of_rank_, leader_of_rank_, share_;
  std::set<int> open_;  // slots with a free window (the only ones dispatch can give to)
  std::vector<Leader> leaders_;
  std::vector<WorkerState> workers_;
  Server master_;
  std::vector<Msg> msgs_;
  std::vector<std::uint32_t> free_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  std::uint64_t seq_ = 0;
  SimResult result_;
};

}  // namespace

SimResult simulate(const SimConfig& config) {
  return Sim(config).run();
}

}  // namespace rankpool::detail

// Unit tests of the MPI-free chunk scheduler (rankpool::detail::Scheduler).

#include "rankpool/detail/scheduler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "rankpool/error.hpp"

namespace rankpool::detail {
namespace {

using u64 = std::uint64_t;

Scheduler make(int workers, int window = 2) {
  return Scheduler(SchedulerConfig{workers, window});
}

Chunk chunk(JobId job, u64 index, u64 begin, u64 count) {
  return Chunk{job, index, begin, count};
}

// Expects a ValueError whose message contains `needle`.
template <typename F>
void expect_value_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected ValueError mentioning '" << needle << "'";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

u64 ceil_div(u64 a, u64 b) {
  return a / b + (a % b != 0 ? 1 : 0);
}

// Static block bounds as specified: first n % P blocks one item larger.
std::pair<u64, u64> block_of(u64 n, u64 p, u64 w) {
  const u64 q = n / p, r = n % p;
  const u64 begin = w * q + std::min(w, r);
  return {begin, begin + q + (w < r ? 1 : 0)};
}

// Drives a scheduler with a random interleaving of next_for / on_done (and optionally
// on_worker_lost) until nothing is pending and nothing is in flight. Checks invariants after
// every event and records every chunk handed out (in issue order) and every chunk done.
struct RandomDriver {
  Scheduler& s;
  std::mt19937_64 rng;
  double lose_probability = 0.0;
  int min_live = 1;  // never lose the last `min_live` workers
  std::vector<std::pair<WorkerId, Chunk>> in_flight;
  std::vector<std::pair<WorkerId, Chunk>> issued;
  std::vector<std::size_t> issued_behind;  // per issued chunk: what its worker held before it
  std::vector<Chunk> done;
  // Chunks returned by on_worker_lost and not yet re-issued, per job, in expected re-issue order.
  std::map<JobId, std::deque<Chunk>> requeued;

  RandomDriver(Scheduler& sched, u64 seed) : s(sched), rng(seed) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }

  void lose_one() {
    const WorkerId w = pick(s.num_workers());
    if (!s.worker_alive(w)) return;
    std::vector<Chunk> expected;
    for (auto it = in_flight.begin(); it != in_flight.end();) {
      if (it->first == w) {
        expected.push_back(it->second);
        it = in_flight.erase(it);
      } else {
        ++it;
      }
    }
    std::sort(expected.begin(), expected.end(), [](const Chunk& a, const Chunk& b) {
      return a.job != b.job ? a.job < b.job : a.index < b.index;
    });
    std::vector<Chunk> lost = s.on_worker_lost(w);
    ASSERT_EQ(lost, expected);
    ASSERT_FALSE(s.worker_alive(w));
    ASSERT_EQ(s.in_flight(w), 0u);
    // They go in front of those of the same job still waiting.
    for (auto it = lost.rbegin(); it != lost.rend(); ++it) requeued[it->job].push_front(*it);
  }

  void run() {
    std::size_t steps = 0;
    while (s.has_pending_work() || !in_flight.empty()) {
      ASSERT_LT(++steps, 10'000'000u) << "no progress";
      const double r = std::uniform_real_distribution<double>(0, 1)(rng);
      if (r < lose_probability && s.live_workers() > min_live) {
        lose_one();
        if (::testing::Test::HasFatalFailure()) return;
      } else if (r < 0.5 || in_flight.empty()) {
        const WorkerId w = pick(s.num_workers());
        const std::size_t before = s.in_flight(w);
        const bool had_slot = s.has_free_slot(w);
        std::optional<Chunk> c = s.next_for(w);
        if (c) {
          ASSERT_TRUE(had_slot);
          ASSERT_TRUE(s.worker_alive(w));
          ASSERT_LT(before, static_cast<std::size_t>(s.window()));
          ASSERT_EQ(s.in_flight(w), before + 1);
          ASSERT_GE(c->count, 1u);
          if (!requeued.empty()) {
            // Chunks taken back from a lost worker come before any new chunk, oldest job first.
            auto first = requeued.begin();
            ASSERT_EQ(*c, first->second.front());
            first->second.pop_front();
            if (first->second.empty()) requeued.erase(first);
          }
          in_flight.emplace_back(w, *c);
          issued.emplace_back(w, *c);
          issued_behind.push_back(before);
        } else {
          ASSERT_EQ(s.in_flight(w), before);
          // Refused although a slot is free: only possible when nothing is there for w.
          if (had_slot) {
            ASSERT_TRUE(requeued.empty());
          }
        }
        ASSERT_LE(s.in_flight(w), static_cast<std::size_t>(s.window()));
      } else {
        const std::size_t i = static_cast<std::size_t>(pick(static_cast<int>(in_flight.size())));
        const auto [w, c] = in_flight[i];
        in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(i));
        s.on_done(w, c);
        done.push_back(c);
      }
      std::size_t total = 0;
      for (WorkerId w = 0; w < s.num_workers(); ++w) total += s.in_flight(w);
      ASSERT_EQ(total, s.in_flight_total());
      ASSERT_EQ(total, in_flight.size());
    }
    ASSERT_TRUE(requeued.empty());
  }
};

// Every item of [0, n) appears in exactly one chunk of `chunks`.
void expect_exact_cover(const std::vector<Chunk>& chunks, u64 n) {
  std::vector<int> seen(n, 0);
  for (const Chunk& c : chunks) {
    ASSERT_GE(c.count, 1u);
    ASSERT_LE(c.begin + c.count, n) << "chunk past the end";
    for (u64 i = c.begin; i < c.begin + c.count; ++i) ++seen[i];
  }
  for (u64 i = 0; i < n; ++i) ASSERT_EQ(seen[i], 1) << "item " << i;
}

// --- policy names ------------------------------------------------------------------------------

TEST(SchedulerPolicy, ParseAndToStringRoundTrip) {
  EXPECT_EQ(parse_policy("dynamic"), Policy::dynamic);
  EXPECT_EQ(parse_policy("static"), Policy::static_block);
  EXPECT_EQ(parse_policy("guided"), Policy::guided);
  for (Policy p : {Policy::dynamic, Policy::static_block, Policy::guided}) {
    EXPECT_EQ(parse_policy(to_string(p)), p);
  }
  EXPECT_STREQ(to_string(Policy::static_block), "static");
}

TEST(SchedulerPolicy, UnknownNameListsValidNames) {
  for (const char* bad : {"", "Static", "static_block", "auto", "dynamic "}) {
    try {
      parse_policy(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ValueError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("dynamic"), std::string::npos) << msg;
      EXPECT_NE(msg.find("static"), std::string::npos) << msg;
      EXPECT_NE(msg.find("guided"), std::string::npos) << msg;
    }
  }
}

// --- configuration and argument errors ---------------------------------------------------------

TEST(SchedulerErrors, BadConfig) {
  expect_value_error([] { make(0); }, "num_workers");
  expect_value_error([] { make(-3); }, "num_workers");
  expect_value_error([] { make(4, 0); }, "window");
  expect_value_error([] { make(4, -1); }, "window");
  Scheduler s = make(3, 5);
  EXPECT_EQ(s.num_workers(), 3);
  EXPECT_EQ(s.window(), 5);
  EXPECT_EQ(s.live_workers(), 3);
  EXPECT_TRUE(s.idle());
  EXPECT_FALSE(s.has_pending_work());
}

TEST(SchedulerErrors, ChunksizeZero) {
  Scheduler s = make(2);
  for (Policy p : {Policy::dynamic, Policy::static_block, Policy::guided}) {
    expect_value_error([&] { s.add_job(10, 0, p); }, "chunksize must be >= 1 (got 0)");
  }
  expect_value_error([&] { s.add_stream_job(0); }, "chunksize must be >= 1");
  // Rejected calls issue no job id.
  EXPECT_EQ(s.add_job(1, 1, Policy::dynamic), 1u);
}

TEST(SchedulerErrors, UnknownWorkerId) {
  Scheduler s = make(3);
  const JobId job = s.add_job(10, 1, Policy::dynamic);
  for (WorkerId w : {-1, 3, 1000}) {
    expect_value_error([&] { s.next_for(w); }, "unknown worker id");
    expect_value_error([&] { s.on_done(w, chunk(job, 0, 0, 1)); }, "unknown worker id");
    expect_value_error([&] { s.has_free_slot(w); }, "unknown worker id");
    expect_value_error([&] { s.in_flight(w); }, "unknown worker id");
    expect_value_error([&] { s.stats(w); }, "unknown worker id");
    expect_value_error([&] { s.worker_alive(w); }, "unknown worker id");
    expect_value_error([&] { s.on_worker_lost(w); }, "unknown worker id");
  }
  EXPECT_EQ(s.in_flight_total(), 0u);
  EXPECT_EQ(s.live_workers(), 3);
}

TEST(SchedulerErrors, UnknownJobId) {
  Scheduler s = make(2);
  expect_value_error([&] { s.job_complete(0); }, "unknown job id 0");
  expect_value_error([&] { s.job_complete(1); }, "unknown job id 1");
  const JobId a = s.add_job(4, 1, Policy::dynamic);
  EXPECT_EQ(a, 1u);
  EXPECT_FALSE(s.job_complete(a));
  expect_value_error([&] { s.job_complete(2); }, "unknown job id 2");
  expect_value_error([&] { s.cancel_job(7); }, "unknown job id");
  expect_value_error([&] { s.extend_job(7, 1); }, "unknown job id");
  expect_value_error([&] { s.finish_input(7); }, "unknown job id");
}

TEST(SchedulerErrors, OnDoneOfChunkNotInFlight) {
  Scheduler s = make(2);
  const JobId job = s.add_job(10, 2, Policy::dynamic);
  const Chunk c = *s.next_for(0);
  EXPECT_EQ(c, chunk(job, 0, 0, 2));
  // Never handed out.
  expect_value_error([&] { s.on_done(0, chunk(job, 1, 2, 2)); }, "not in flight on worker 0");
  // Right chunk, wrong worker.
  expect_value_error([&] { s.on_done(1, c); }, "not in flight on worker 1");
  // Same chunk id but altered fields.
  expect_value_error([&] { s.on_done(0, chunk(job, 0, 0, 3)); }, "not in flight");
  expect_value_error([&] { s.on_done(0, chunk(job + 1, 0, 0, 2)); }, "not in flight");
  EXPECT_EQ(s.in_flight(0), 1u);
  s.on_done(0, c);
  // Twice.
  expect_value_error([&] { s.on_done(0, c); }, "not in flight");
  EXPECT_EQ(s.stats(0).chunks, 1u);
  EXPECT_EQ(s.stats(0).items, 2u);
}

// --- chunk boundaries --------------------------------------------------------------------------

TEST(SchedulerBoundaries, ZeroItemJobIsCompleteAtOnce) {
  Scheduler s = make(3);
  for (Policy p : {Policy::dynamic, Policy::static_block, Policy::guided}) {
    const JobId job = s.add_job(0, 4, p);
    EXPECT_TRUE(s.job_complete(job)) << to_string(p);
    EXPECT_FALSE(s.has_pending_work());
    EXPECT_TRUE(s.idle());
    for (WorkerId w = 0; w < 3; ++w) EXPECT_FALSE(s.next_for(w).has_value());
  }
  EXPECT_EQ(s.active_jobs(), 0u);
}

TEST(SchedulerBoundaries, OneItemJob) {
  for (Policy p : {Policy::dynamic, Policy::static_block, Policy::guided}) {
    Scheduler s = make(3);
    const JobId job = s.add_job(1, 5, p);
    EXPECT_TRUE(s.has_pending_work());
    if (p == Policy::static_block) {
      // The single item is block 0: workers 1 and 2 get nothing.
      EXPECT_FALSE(s.next_for(2).has_value());
      EXPECT_FALSE(s.next_for(1).has_value());
    }
    const std::optional<Chunk> c = s.next_for(0);
    ASSERT_TRUE(c.has_value()) << to_string(p);
    EXPECT_EQ(*c, chunk(job, 0, 0, 1)) << to_string(p);
    EXPECT_FALSE(s.has_pending_work());
    EXPECT_FALSE(s.next_for(0).has_value());
    EXPECT_FALSE(s.job_complete(job));
    EXPECT_FALSE(s.idle());
    s.on_done(0, *c);
    EXPECT_TRUE(s.job_complete(job));
    EXPECT_TRUE(s.idle());
  }
}

TEST(SchedulerBoundaries, ChunksizeLargerThanN) {
  for (Policy p : {Policy::dynamic, Policy::guided}) {
    Scheduler s = make(4);
    const JobId job = s.add_job(5, 100, p);
    EXPECT_EQ(*s.next_for(2), chunk(job, 0, 0, 5)) << to_string(p);
    EXPECT_FALSE(s.next_for(0).has_value());
  }
  Scheduler s = make(2);
  const JobId job = s.add_job(5, 100, Policy::static_block);  // blocks [0,3) and [3,5)
  EXPECT_EQ(*s.next_for(1), chunk(job, 0, 3, 2));
  EXPECT_EQ(*s.next_for(0), chunk(job, 1, 0, 3));
  EXPECT_FALSE(s.next_for(0).has_value());
  EXPECT_FALSE(s.next_for(1).has_value());
}

TEST(SchedulerBoundaries, DynamicNotDivisibleByChunksize) {
  Scheduler s = make(3, 4);
  const JobId job = s.add_job(10, 3, Policy::dynamic);
  // Items in order to whoever asks; the last chunk is shorter.
  EXPECT_EQ(*s.next_for(2), chunk(job, 0, 0, 3));
  EXPECT_EQ(*s.next_for(2), chunk(job, 1, 3, 3));  // 2 chunks left for 3 workers: busy ones wait
  EXPECT_FALSE(s.next_for(2).has_value());
  EXPECT_EQ(*s.next_for(0), chunk(job, 2, 6, 3));
  EXPECT_EQ(*s.next_for(1), chunk(job, 3, 9, 1));
  EXPECT_FALSE(s.next_for(1).has_value());
  EXPECT_EQ(s.in_flight(2), 2u);
  EXPECT_EQ(s.in_flight_total(), 4u);
}

TEST(SchedulerTail, LastChunksGoOnlyToIdleWorkers) {
  // 8 chunks, 2 workers with window 2: worker 1 may queue a second chunk while at least two
  // chunks are left, but the last one waits for a worker with nothing in flight, so a fast
  // worker never finds the work gone into a busy worker's queue.
  Scheduler s = make(2, 2);
  const JobId job = s.add_job(8, 1, Policy::dynamic);
  Chunk c0 = *s.next_for(1), c1 = *s.next_for(1), c2 = *s.next_for(0);
  EXPECT_EQ(c1, chunk(job, 1, 1, 1));
  s.on_done(1, c0);
  Chunk c3 = *s.next_for(1);  // 4 left before: queued behind c1
  s.on_done(0, c2);
  Chunk c4 = *s.next_for(0);
  s.on_done(1, c1);
  Chunk c5 = *s.next_for(1);  // 2 left before: still >= 2 workers
  s.on_done(0, c4);
  Chunk c6 = *s.next_for(0);
  s.on_done(1, c3);
  EXPECT_FALSE(s.next_for(1).has_value()) << "the last chunk went into a busy worker's queue";
  EXPECT_TRUE(s.has_pending_work());
  s.on_done(0, c6);
  EXPECT_EQ(*s.next_for(0), chunk(job, 7, 7, 1));
  s.on_done(1, c5);
  // A second map: its chunks count together with the first's, and a busy worker is held back
  // only while all the maps together have fewer chunks left than there are workers.
  const JobId two = s.add_job(2, 1, Policy::dynamic);
  EXPECT_EQ(*s.next_for(1), chunk(two, 0, 0, 1));
  EXPECT_FALSE(s.next_for(1).has_value());
  // Static blocks and imap streams are exempt.
  Scheduler t = make(2, 2);
  const JobId st = t.add_job(2, 1, Policy::static_block);
  EXPECT_EQ(*t.next_for(0), chunk(st, 0, 0, 1));
  const JobId stream = t.add_stream_job(1);
  t.extend_job(stream, 1);
  t.finish_input(stream);
  EXPECT_EQ(*t.next_for(0), chunk(stream, 0, 0, 1));
  // One worker: nothing to wait for.
  Scheduler one = make(1, 2);
  const JobId j1 = one.add_job(2, 1, Policy::dynamic);
  one.next_for(0);
  EXPECT_EQ(*one.next_for(0), chunk(j1, 1, 1, 1));
}

TEST(SchedulerBoundaries, StaticBlocksUnequalSplit) {
  Scheduler s = make(3, 8);
  // 10 items over 3 workers: [0,4), [4,7), [7,10); chunks of <= 2.
  const JobId job = s.add_job(10, 2, Policy::static_block);
  EXPECT_EQ(*s.next_for(1), chunk(job, 0, 4, 2));
  EXPECT_EQ(*s.next_for(1), chunk(job, 1, 6, 1));
  EXPECT_FALSE(s.next_for(1).has_value());  // block exhausted; others' blocks untouched
  EXPECT_TRUE(s.has_pending_work());
  EXPECT_EQ(*s.next_for(0), chunk(job, 2, 0, 2));
  EXPECT_EQ(*s.next_for(2), chunk(job, 3, 7, 2));
  EXPECT_EQ(*s.next_for(0), chunk(job, 4, 2, 2));
  EXPECT_EQ(*s.next_for(2), chunk(job, 5, 9, 1));
  EXPECT_FALSE(s.next_for(0).has_value());
  EXPECT_FALSE(s.next_for(2).has_value());
  EXPECT_FALSE(s.has_pending_work());
}

TEST(SchedulerBoundaries, StaticFewerItemsThanWorkers) {
  Scheduler s = make(5);
  const JobId job = s.add_job(3, 4, Policy::static_block);
  EXPECT_FALSE(s.next_for(3).has_value());
  EXPECT_FALSE(s.next_for(4).has_value());
  std::vector<Chunk> got;
  for (WorkerId w = 0; w < 3; ++w) {
    const std::optional<Chunk> c = s.next_for(w);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->begin, static_cast<u64>(w));
    EXPECT_EQ(c->count, 1u);
    got.push_back(*c);
  }
  EXPECT_FALSE(s.has_pending_work());
  for (WorkerId w = 0; w < 3; ++w) s.on_done(w, got[static_cast<std::size_t>(w)]);
  EXPECT_TRUE(s.job_complete(job));
}

// --- window, FIFO, static ownership ------------------------------------------------------------

TEST(SchedulerWindow, LimitRespected) {
  Scheduler s = make(2, 3);
  const JobId job = s.add_job(100, 1, Policy::dynamic);
  std::vector<Chunk> w0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(s.has_free_slot(0));
    w0.push_back(*s.next_for(0));
  }
  EXPECT_FALSE(s.has_free_slot(0));
  EXPECT_FALSE(s.next_for(0).has_value());
  EXPECT_EQ(s.in_flight(0), 3u);
  EXPECT_TRUE(s.has_pending_work());
  // Another worker is not affected.
  EXPECT_EQ(*s.next_for(1), chunk(job, 3, 3, 1));
  // Completing any one (not the oldest) frees exactly one slot.
  s.on_done(0, w0[1]);
  EXPECT_TRUE(s.has_free_slot(0));
  EXPECT_EQ(*s.next_for(0), chunk(job, 4, 4, 1));
  EXPECT_FALSE(s.next_for(0).has_value());
}

TEST(SchedulerFifo, OlderJobsServedFirst) {
  Scheduler s = make(1, 10);
  const JobId a = s.add_job(4, 2, Policy::dynamic);
  const JobId b = s.add_job(3, 2, Policy::guided);
  const JobId c = s.add_job(2, 1, Policy::static_block);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  std::vector<Chunk> order;
  while (std::optional<Chunk> ch = s.next_for(0)) order.push_back(*ch);
  const std::vector<Chunk> expected = {chunk(a, 0, 0, 2), chunk(a, 1, 2, 2), chunk(b, 0, 0, 2),
                                       chunk(b, 1, 2, 1), chunk(c, 0, 0, 1), chunk(c, 1, 1, 1)};
  EXPECT_EQ(order, expected);
}

TEST(SchedulerFifo, SkipsJobsWithNothingForThisWorker) {
  Scheduler s = make(2, 10);
  const JobId st = s.add_job(4, 1, Policy::static_block);  // [0,2) for w0, [2,4) for w1
  const JobId dy = s.add_job(3, 1, Policy::dynamic);
  // w0 drains its own block first (older job), then moves to the dynamic job.
  EXPECT_EQ(*s.next_for(0), chunk(st, 0, 0, 1));
  EXPECT_EQ(*s.next_for(0), chunk(st, 1, 1, 1));
  EXPECT_EQ(*s.next_for(0), chunk(dy, 0, 0, 1));
  // w1's block is still there and comes before the newer dynamic job.
  EXPECT_EQ(*s.next_for(1), chunk(st, 2, 2, 1));
  EXPECT_EQ(*s.next_for(0), chunk(dy, 1, 1, 1));
  EXPECT_EQ(*s.next_for(1), chunk(st, 3, 3, 1));
  // The dynamic job's last chunk waits for a worker with nothing in flight (tail rule).
  EXPECT_FALSE(s.next_for(1).has_value());
  s.on_done(1, chunk(st, 2, 2, 1));
  s.on_done(1, chunk(st, 3, 3, 1));
  EXPECT_EQ(*s.next_for(1), chunk(dy, 2, 2, 1));
  EXPECT_FALSE(s.has_pending_work());
}

TEST(SchedulerFifo, StreamWaitingForInputDoesNotBlockLaterJobs) {
  Scheduler s = make(1, 10);
  const JobId st = s.add_stream_job(4);
  const JobId dy = s.add_job(2, 1, Policy::dynamic);
  s.extend_job(st, 3);  // not enough for a chunk
  EXPECT_EQ(*s.next_for(0), chunk(dy, 0, 0, 1));
  s.extend_job(st, 1);  // now 4: the older stream job goes first again
  EXPECT_EQ(*s.next_for(0), chunk(st, 0, 0, 4));
  EXPECT_EQ(*s.next_for(0), chunk(dy, 1, 1, 1));
}

TEST(SchedulerStatic, EachWorkerGetsOnlyItsBlock) {
  for (const auto& [n, p, cs] : std::vector<std::tuple<u64, int, u64>>{
           {100, 7, 3}, {7, 7, 1}, {6, 7, 2}, {1000, 16, 1000}, {31, 4, 5}}) {
    Scheduler s = make(p, 3);
    s.add_job(n, cs, Policy::static_block);
    RandomDriver d(s, 1234 + n);
    d.run();
    ASSERT_FALSE(HasFatalFailure());
    std::vector<Chunk> all;
    std::map<WorkerId, u64> items_per_worker;
    for (const auto& [w, c] : d.issued) {
      const auto [lo, hi] = block_of(n, static_cast<u64>(p), static_cast<u64>(w));
      EXPECT_GE(c.begin, lo) << "worker " << w;
      EXPECT_LE(c.begin + c.count, hi) << "worker " << w;
      EXPECT_LE(c.count, cs);
      items_per_worker[w] += c.count;
      all.push_back(c);
    }
    for (WorkerId w = 0; w < p; ++w) {
      const auto [lo, hi] = block_of(n, static_cast<u64>(p), static_cast<u64>(w));
      EXPECT_EQ(items_per_worker[w], hi - lo);
      EXPECT_EQ(s.stats(w).items, hi - lo);
    }
    expect_exact_cover(all, n);
  }
}

// --- guided ------------------------------------------------------------------------------------

TEST(SchedulerGuided, SizesNonIncreasingAndAtLeastChunksize) {
  for (const auto& [n, p, cs] : std::vector<std::tuple<u64, int, u64>>{
           {1000, 4, 5}, {1000, 4, 1}, {17, 3, 2}, {100, 1, 7}, {5000, 64, 3}}) {
    const int window = 2;
    Scheduler s = make(p, window);
    const JobId job = s.add_job(n, cs, Policy::guided);
    RandomDriver d(s, 99 + n);
    d.run();
    ASSERT_FALSE(HasFatalFailure());
    // No worker is lost, so chunks are issued in index order.
    std::vector<Chunk> all;
    for (const auto& ic : d.issued) all.push_back(ic.second);
    u64 next = 0;
    u64 last_idle = n, last_queued = n;  // the previous sizes for an idle / a busy worker
    for (std::size_t i = 0; i < all.size(); ++i) {
      const Chunk& c = all[i];
      EXPECT_EQ(c.job, job);
      EXPECT_EQ(c.index, i);
      EXPECT_EQ(c.begin, next);  // items in order
      const u64 remaining = n - next;
      // Twice the chunks the workers may hold at once; twice that again for a chunk that waits
      // behind one its worker already holds.
      const bool queued = d.issued_behind[i] > 0;
      const u64 div = 2 * u64(p) * window * (queued ? 2 : 1);
      EXPECT_EQ(c.count, std::min(remaining, std::max(cs, ceil_div(remaining, div))))
          << "chunk " << i << (queued ? " (queued)" : "");
      if (i + 1 < all.size()) {
        EXPECT_GE(c.count, cs);
        u64& last = queued ? last_queued : last_idle;
        EXPECT_LE(c.count, last) << "chunk " << i;  // shrinking as the inputs run out
        last = c.count;
      }
      next += c.count;
    }
    EXPECT_EQ(next, n);
    // Guided must beat fixed-size chunking on chunk count for large n and small chunksize.
    if (n >= 1000 && cs == 1) {
      EXPECT_LT(all.size(), n / 4);
    }
  }
}

TEST(SchedulerGuided, FirstChunkSize) {
  Scheduler s = make(4, 1);
  const JobId job = s.add_job(1000, 5, Policy::guided);
  EXPECT_EQ(*s.next_for(0), chunk(job, 0, 0, 125));    // ceil(1000 / (2 x 4 windows of 1))
  EXPECT_EQ(*s.next_for(1), chunk(job, 1, 125, 110));  // ceil(875 / 8)
}

TEST(SchedulerGuided, SizedByTheChunksLiveWorkersMayHold) {
  // 4 workers with windows of 2: 8 chunks may be out at once, so the first is 1/16 of the job.
  Scheduler s = make(4, 2);
  const JobId job = s.add_job(1600, 1, Policy::guided);
  EXPECT_EQ(*s.next_for(0), chunk(job, 0, 0, 100));  // ceil(1600 / 16)
  // A leader's bigger window and a one-chunk master change the count: 1 + 5 + 2 + 2 = 10.
  s.set_window(0, 1);
  s.set_window(1, 5);
  EXPECT_EQ(*s.next_for(1), chunk(job, 1, 100, 75));  // ceil(1500 / 20)
  // A lost worker's window no longer counts (its chunk goes back first): 1 + 2 + 2 = 5.
  const std::vector<Chunk> back = s.on_worker_lost(1);
  ASSERT_EQ(back, std::vector<Chunk>{chunk(job, 1, 100, 75)});
  EXPECT_EQ(*s.next_for(3), chunk(job, 1, 100, 75));   // the requeued chunk, unchanged
  EXPECT_EQ(*s.next_for(2), chunk(job, 2, 175, 143));  // ceil(1425 / 10)
  // Setting a lost worker's window must not count it again.
  s.set_window(1, 7);
  s.on_done(0, chunk(job, 0, 0, 100));
  EXPECT_EQ(*s.next_for(0), chunk(job, 3, 318, 129));  // ceil(1282 / 10)
}

TEST(SchedulerGuided, AChunkThatWaitsBehindAnotherIsHalfSize) {
  // Windows 2 + 4 (a node leader) + 2 = 8: guided chunks are 1/16 of what is left.
  Scheduler s = make(3, 2);
  s.set_window(1, 4);
  const JobId job = s.add_job(1200, 1, Policy::guided);
  EXPECT_EQ(*s.next_for(1), chunk(job, 0, 0, 75));    // 1200 / 16
  EXPECT_EQ(*s.next_for(1), chunk(job, 1, 75, 71));   // ceil(1125 / 16): a leader runs its
                                                      // chunks side by side: full size
  EXPECT_EQ(*s.next_for(0), chunk(job, 2, 146, 66));  // ceil(1054 / 16): worker 0 is idle
  EXPECT_EQ(*s.next_for(0), chunk(job, 3, 212, 31));  // ceil(988 / 32): it waits behind one
  s.on_done(0, chunk(job, 2, 146, 66));
  EXPECT_EQ(*s.next_for(0), chunk(job, 4, 243, 30));  // ceil(957 / 32): still behind one
  s.on_done(0, chunk(job, 3, 212, 31));
  s.on_done(0, chunk(job, 4, 243, 30));
  EXPECT_EQ(*s.next_for(0), chunk(job, 5, 273, 58));  // ceil(927 / 16): idle again
}

// --- coverage under random interleavings -------------------------------------------------------

TEST(SchedulerCoverage, EveryItemExactlyOnceRandomInterleavings) {
  const std::vector<u64> sizes = {0, 1, 2, 3, 7, 10, 64, 97, 500};
  const std::vector<u64> chunksizes = {1, 2, 3, 10, 1000};
  const std::vector<std::pair<int, int>> shapes = {{1, 1}, {2, 2}, {3, 1}, {5, 4}, {16, 2}};
  u64 seed = 42;
  for (Policy p : {Policy::dynamic, Policy::static_block, Policy::guided}) {
    for (u64 n : sizes) {
      for (u64 cs : chunksizes) {
        for (const auto& [workers, window] : shapes) {
          Scheduler s = make(workers, window);
          const JobId job = s.add_job(n, cs, p);
          RandomDriver d(s, ++seed);
          d.run();
          ASSERT_FALSE(HasFatalFailure());
          SCOPED_TRACE(std::string(to_string(p)) + " n=" + std::to_string(n) +
                       " cs=" + std::to_string(cs) + " P=" + std::to_string(workers));
          expect_exact_cover(d.done, n);
          ASSERT_FALSE(HasFatalFailure());
          EXPECT_TRUE(s.job_complete(job));
          EXPECT_TRUE(s.idle());
          u64 items = 0, chunks = 0;
          for (WorkerId w = 0; w < workers; ++w) {
            items += s.stats(w).items;
            chunks += s.stats(w).chunks;
          }
          EXPECT_EQ(items, n);
          EXPECT_EQ(chunks, d.done.size());
          // Chunk indices are 0..k-1, each once.
          std::vector<u64> idx;
          for (const Chunk& c : d.done) idx.push_back(c.index);
          std::sort(idx.begin(), idx.end());
          for (std::size_t i = 0; i < idx.size(); ++i) EXPECT_EQ(idx[i], i);
          if (p == Policy::dynamic) {
            for (const Chunk& c : d.done) {
              EXPECT_EQ(c.begin, c.index * cs);
              EXPECT_EQ(c.count, std::min(cs, n - c.begin));
            }
          }
        }
      }
    }
  }
}

TEST(SchedulerCoverage, SeveralJobsAtOnce) {
  Scheduler s = make(6, 3);
  std::map<JobId, u64> sizes;
  sizes[s.add_job(200, 3, Policy::dynamic)] = 200;
  sizes[s.add_job(150, 4, Policy::static_block)] = 150;
  sizes[s.add_job(0, 4, Policy::static_block)] = 0;
  sizes[s.add_job(333, 2, Policy::guided)] = 333;
  sizes[s.add_job(5, 1, Policy::static_block)] = 5;
  RandomDriver d(s, 8);
  d.run();
  ASSERT_FALSE(HasFatalFailure());
  std::map<JobId, std::vector<Chunk>> per_job;
  for (const Chunk& c : d.done) per_job[c.job].push_back(c);
  for (const auto& [job, n] : sizes) {
    expect_exact_cover(per_job[job], n);
    EXPECT_TRUE(s.job_complete(job));
  }
  EXPECT_TRUE(s.idle());
}

TEST(SchedulerCoverage, RandomWorkerLossStillCompletesEveryItemOnce) {
  u64 seed = 1000;
  for (Policy p : {Policy::dynamic, Policy::static_block, Policy::guided}) {
    for (u64 n : {1u, 13u, 100u, 777u}) {
      for (int workers : {2, 5, 12}) {
        Scheduler s = make(workers, 3);
        const JobId job = s.add_job(n, 3, p);
        const JobId other = s.add_job(n / 2, 2, Policy::dynamic);
        RandomDriver d(s, ++seed);
        d.lose_probability = 0.01;
        d.run();
        ASSERT_FALSE(HasFatalFailure());
        std::vector<Chunk> a, b;
        for (const Chunk& c : d.done) (c.job == job ? a : b).push_back(c);
        SCOPED_TRACE(std::string(to_string(p)) + " n=" + std::to_string(n));
        expect_exact_cover(a, n);
        expect_exact_cover(b, n / 2);
        EXPECT_TRUE(s.job_complete(job));
        EXPECT_TRUE(s.job_complete(other));
        EXPECT_TRUE(s.idle());
      }
    }
  }
}

// --- streams -----------------------------------------------------------------------------------

TEST(SchedulerStream, ChunksFormedOnlyWhenEnoughItems) {
  Scheduler s = make(2, 10);
  const JobId job = s.add_stream_job(3);
  EXPECT_FALSE(s.job_complete(job));
  EXPECT_FALSE(s.has_pending_work());
  EXPECT_FALSE(s.idle());  // open input
  EXPECT_FALSE(s.next_for(0).has_value());
  s.extend_job(job, 2);
  EXPECT_FALSE(s.has_pending_work());
  EXPECT_FALSE(s.next_for(0).has_value());
  s.extend_job(job, 2);  // 4 available
  EXPECT_TRUE(s.has_pending_work());
  const Chunk c0 = *s.next_for(1);
  EXPECT_EQ(c0, chunk(job, 0, 0, 3));
  EXPECT_FALSE(s.next_for(0).has_value());  // 1 left, input open
  s.extend_job(job, 7);                     // 8 available: two full chunks
  const Chunk c1 = *s.next_for(0);
  const Chunk c2 = *s.next_for(0);
  EXPECT_EQ(c1, chunk(job, 1, 3, 3));
  EXPECT_EQ(c2, chunk(job, 2, 6, 3));
  EXPECT_FALSE(s.next_for(0).has_value());
  s.on_done(1, c0);
  s.on_done(0, c1);
  s.on_done(0, c2);
  EXPECT_FALSE(s.job_complete(job));  // 2 items left, input open
  s.finish_input(job);
  EXPECT_TRUE(s.has_pending_work());
  const Chunk tail = *s.next_for(1);
  EXPECT_EQ(tail, chunk(job, 3, 9, 2));
  EXPECT_FALSE(s.job_complete(job));
  s.on_done(1, tail);
  EXPECT_TRUE(s.job_complete(job));
  EXPECT_TRUE(s.idle());
}

TEST(SchedulerStream, CompleteOnlyAfterFinishInputAndAllDone) {
  Scheduler s = make(1);
  const JobId job = s.add_stream_job(2);
  s.extend_job(job, 2);
  const Chunk c = *s.next_for(0);
  s.on_done(0, c);
  EXPECT_FALSE(s.job_complete(job));  // everything done, but more input may come
  s.finish_input(job);
  EXPECT_TRUE(s.job_complete(job));
  s.finish_input(job);  // idempotent on a complete job
  EXPECT_TRUE(s.job_complete(job));
}

TEST(SchedulerStream, EmptyStream) {
  Scheduler s = make(2);
  const JobId job = s.add_stream_job(5);
  s.finish_input(job);
  EXPECT_TRUE(s.job_complete(job));
  EXPECT_TRUE(s.idle());
  EXPECT_FALSE(s.next_for(0).has_value());
}

TEST(SchedulerStream, FinishBeforeAnyChunkGivesTailOnly) {
  Scheduler s = make(1);
  const JobId job = s.add_stream_job(100);
  s.extend_job(job, 7);
  s.finish_input(job);
  s.finish_input(job);  // idempotent while in progress
  EXPECT_EQ(*s.next_for(0), chunk(job, 0, 0, 7));
  EXPECT_FALSE(s.next_for(0).has_value());
}

TEST(SchedulerStream, MisuseThrows) {
  Scheduler s = make(1);
  const JobId st = s.add_stream_job(2);
  const JobId plain = s.add_job(5, 1, Policy::dynamic);
  expect_value_error([&] { s.extend_job(plain, 1); }, "not a stream job");
  expect_value_error([&] { s.finish_input(plain); }, "not a stream job");
  s.extend_job(st, 1);
  s.finish_input(st);
  expect_value_error([&] { s.extend_job(st, 1); }, "finish_input");
  expect_value_error([&] { s.extend_job(st, 0); }, "finish_input");
}

TEST(SchedulerStream, RandomExtendInterleaving) {
  for (u64 cs : {1u, 3u, 8u}) {
    Scheduler s = make(4, 2);
    const JobId job = s.add_stream_job(cs);
    std::mt19937_64 rng(cs);
    RandomDriver d(s, cs * 17);
    u64 total = 0;
    for (int round = 0; round < 50; ++round) {
      const u64 more = rng() % 11;
      s.extend_job(job, more);
      total += more;
      d.run();  // drains every full chunk; the partial tail must wait
      ASSERT_FALSE(HasFatalFailure());
      for (const auto& ic : d.issued) EXPECT_EQ(ic.second.count, cs);
      u64 issued_items = 0;
      for (const auto& ic : d.issued) issued_items += ic.second.count;
      EXPECT_EQ(issued_items, total - total % cs);
      EXPECT_FALSE(s.job_complete(job));
    }
    s.finish_input(job);
    d.run();
    ASSERT_FALSE(HasFatalFailure());
    expect_exact_cover(d.done, total);
    EXPECT_TRUE(s.job_complete(job));
  }
}

// --- cancel ------------------------------------------------------------------------------------

TEST(SchedulerCancel, WithChunksInFlight) {
  Scheduler s = make(2, 2);
  const JobId job = s.add_job(100, 5, Policy::dynamic);
  const JobId later = s.add_job(2, 1, Policy::dynamic);
  const Chunk a = *s.next_for(0);
  const Chunk b = *s.next_for(1);
  s.cancel_job(job);
  EXPECT_FALSE(s.job_complete(job));  // two chunks still in flight
  // No more chunks of the cancelled job; the next job is served instead (its last chunk only
  // to a worker with nothing in flight: tail rule).
  EXPECT_EQ(*s.next_for(0), chunk(later, 0, 0, 1));
  EXPECT_FALSE(s.next_for(1).has_value());
  s.on_done(1, b);
  EXPECT_FALSE(s.job_complete(job));
  EXPECT_EQ(*s.next_for(1), chunk(later, 1, 1, 1));
  EXPECT_FALSE(s.has_pending_work());
  s.on_done(0, a);
  EXPECT_TRUE(s.job_complete(job));
  EXPECT_EQ(s.stats(0).items + s.stats(1).items, 10u);
  s.cancel_job(job);  // no-op on a finished job
  EXPECT_TRUE(s.job_complete(job));
}

TEST(SchedulerCancel, NothingInFlightCompletesAtOnce) {
  Scheduler s = make(3);
  const JobId st = s.add_job(30, 2, Policy::static_block);
  const JobId gd = s.add_job(30, 2, Policy::guided);
  s.cancel_job(st);
  EXPECT_TRUE(s.job_complete(st));
  s.cancel_job(gd);
  EXPECT_TRUE(s.job_complete(gd));
  EXPECT_FALSE(s.has_pending_work());
  EXPECT_TRUE(s.idle());
  for (WorkerId w = 0; w < 3; ++w) EXPECT_FALSE(s.next_for(w).has_value());
}

TEST(SchedulerCancel, StreamStoppedEarly) {
  Scheduler s = make(1, 4);
  const JobId job = s.add_stream_job(2);
  s.extend_job(job, 10);
  const Chunk c = *s.next_for(0);
  s.cancel_job(job);
  s.extend_job(job, 5);  // ignored after cancel
  s.finish_input(job);   // ignored after cancel
  EXPECT_FALSE(s.next_for(0).has_value());
  EXPECT_FALSE(s.job_complete(job));
  s.on_done(0, c);
  EXPECT_TRUE(s.job_complete(job));
  s.extend_job(job, 1);  // still ignored once forgotten
  EXPECT_TRUE(s.idle());
}

// --- worker loss -------------------------------------------------------------------------------

TEST(SchedulerWorkerLost, ReissuesSameChunksFirst) {
  Scheduler s = make(3, 2);
  const JobId job = s.add_job(20, 2, Policy::dynamic);
  const Chunk c0 = *s.next_for(0);
  const Chunk c1 = *s.next_for(1);
  const Chunk c2 = *s.next_for(0);
  EXPECT_EQ(c0, chunk(job, 0, 0, 2));
  EXPECT_EQ(c2, chunk(job, 2, 4, 2));
  s.on_done(1, c1);
  const std::vector<Chunk> lost = s.on_worker_lost(0);
  EXPECT_EQ(lost, (std::vector<Chunk>{c0, c2}));
  EXPECT_FALSE(s.worker_alive(0));
  EXPECT_FALSE(s.has_free_slot(0));
  EXPECT_EQ(s.in_flight(0), 0u);
  EXPECT_EQ(s.in_flight_total(), 0u);
  EXPECT_EQ(s.live_workers(), 2);
  EXPECT_FALSE(s.next_for(0).has_value());
  expect_value_error([&] { s.on_done(0, c0); }, "lost");
  EXPECT_TRUE(s.on_worker_lost(0).empty());  // idempotent
  EXPECT_EQ(s.live_workers(), 2);
  // Same values, lowest index first, before any new chunk.
  EXPECT_EQ(*s.next_for(2), c0);
  EXPECT_EQ(*s.next_for(1), c2);
  EXPECT_EQ(*s.next_for(1), chunk(job, 3, 6, 2));
  EXPECT_EQ(s.stats(0).chunks, 0u);
}

TEST(SchedulerWorkerLost, ReissuedBeforeNewChunksOfOlderJobs) {
  Scheduler s = make(2, 1);
  const JobId older = s.add_stream_job(1);
  const JobId newer = s.add_job(5, 1, Policy::dynamic);
  const Chunk c = *s.next_for(0);
  EXPECT_EQ(c.job, newer);
  s.extend_job(older, 3);  // the older job now has work too
  EXPECT_EQ(s.on_worker_lost(0), std::vector<Chunk>{c});
  EXPECT_EQ(*s.next_for(1), c);
}

TEST(SchedulerWorkerLost, StaticBlockOfLostWorkerGoesToOthers) {
  Scheduler s = make(3, 1);
  const JobId job = s.add_job(9, 2, Policy::static_block);  // [0,3) [3,6) [6,9)
  const Chunk a = *s.next_for(1);
  EXPECT_EQ(a, chunk(job, 0, 3, 2));
  EXPECT_EQ(s.on_worker_lost(1), std::vector<Chunk>{a});
  // Re-issued chunk first (to a worker that does not own the block), then the rest of block 1.
  EXPECT_EQ(*s.next_for(2), a);
  const Chunk b = *s.next_for(0);  // w0's own block before the orphaned rest of block 1
  EXPECT_EQ(b, chunk(job, 1, 0, 2));
  s.on_done(0, b);
  EXPECT_EQ(*s.next_for(0), chunk(job, 2, 2, 1));
  RandomDriver d(s, 5);
  d.in_flight = {{2, a}, {0, chunk(job, 2, 2, 1)}};
  d.run();
  ASSERT_FALSE(HasFatalFailure());
  std::vector<Chunk> all = d.done;
  all.push_back(b);
  expect_exact_cover(all, 9);
  EXPECT_TRUE(s.job_complete(job));
}

TEST(SchedulerWorkerLost, StaticJobAddedAfterLoss) {
  Scheduler s = make(3, 4);
  s.on_worker_lost(2);
  const JobId job = s.add_job(6, 5, Policy::static_block);  // block 2 = [4,6) has no owner
  RandomDriver d(s, 77);
  d.run();
  ASSERT_FALSE(HasFatalFailure());
  expect_exact_cover(d.done, 6);
  EXPECT_TRUE(s.job_complete(job));
  for (const auto& ic : d.issued) EXPECT_NE(ic.first, 2);
}

TEST(SchedulerWorkerLost, CancelledJobChunksNotRequeued) {
  Scheduler s = make(2, 2);
  const JobId job = s.add_job(10, 1, Policy::dynamic);
  const Chunk c = *s.next_for(0);
  s.cancel_job(job);
  EXPECT_EQ(s.on_worker_lost(0), std::vector<Chunk>{c});
  EXPECT_TRUE(s.job_complete(job));
  EXPECT_FALSE(s.next_for(1).has_value());
  EXPECT_TRUE(s.idle());
}

TEST(SchedulerWorkerLost, AllWorkersLost) {
  Scheduler s = make(2, 1);
  const JobId job = s.add_job(4, 1, Policy::dynamic);
  s.next_for(0);
  s.on_worker_lost(0);
  s.on_worker_lost(1);
  EXPECT_EQ(s.live_workers(), 0);
  EXPECT_FALSE(s.has_pending_work());  // nobody could take it
  EXPECT_FALSE(s.job_complete(job));
  EXPECT_FALSE(s.idle());  // the job is still owed
}

// --- scale -------------------------------------------------------------------------------------

TEST(SchedulerScale, BillionItemJobs) {
  const u64 n = 1'000'000'000;
  Scheduler s = make(8, 2);
  const JobId dyn = s.add_job(n, 1'000'000, Policy::dynamic);
  const JobId gui = s.add_job(n, 1, Policy::guided);
  RandomDriver d(s, 3);
  d.run();
  ASSERT_FALSE(HasFatalFailure());
  u64 dyn_items = 0, gui_items = 0, dyn_chunks = 0, gui_chunks = 0;
  for (const Chunk& c : d.done) {
    (c.job == dyn ? dyn_items : gui_items) += c.count;
    ++(c.job == dyn ? dyn_chunks : gui_chunks);
  }
  EXPECT_EQ(dyn_items, n);
  EXPECT_EQ(dyn_chunks, 1000u);
  EXPECT_EQ(gui_items, n);
  EXPECT_LT(gui_chunks, 1000u);  // geometric shrink: about 16 ln(n / 16) + 16 chunks
  EXPECT_TRUE(s.job_complete(dyn));
  EXPECT_TRUE(s.job_complete(gui));
  // A 10^9-item chunksize-1 job: take a few chunks, cancel; no per-item state involved.
  const JobId big = s.add_job(n, 1, Policy::dynamic);
  const Chunk c = *s.next_for(0);
  EXPECT_EQ(c, chunk(big, 0, 0, 1));
  s.cancel_job(big);
  s.on_done(0, c);
  EXPECT_TRUE(s.job_complete(big));
}

TEST(SchedulerScale, ManyWorkersStaticBillion) {
  const int p = 65536;
  const u64 n = 1'000'000'000;
  Scheduler s = make(p, 2);
  const JobId job = s.add_job(n, 4096, Policy::static_block);
  u64 total = 0;
  for (WorkerId w = 0; w < p; ++w) {
    const auto [lo, hi] = block_of(n, p, static_cast<u64>(w));
    const Chunk c = *s.next_for(w);
    ASSERT_EQ(c.begin, lo);
    ASSERT_EQ(c.count, std::min<u64>(4096, hi - lo));
    total += c.count;
  }
  EXPECT_EQ(s.in_flight_total(), static_cast<std::size_t>(p));
  EXPECT_GT(total, 0u);
  s.cancel_job(job);
  EXPECT_FALSE(s.has_pending_work());
  EXPECT_FALSE(s.job_complete(job));
}

TEST(SchedulerWindows, PerWorkerWindow) {
  Scheduler s = make(3, 2);
  EXPECT_EQ(s.max_window(), 2);
  s.set_window(1, 5);  // a leader feeding a node
  EXPECT_EQ(s.window(1), 5);
  EXPECT_EQ(s.window(0), 2);
  EXPECT_EQ(s.max_window(), 5);
  const JobId job = s.add_job(100, 1, Policy::dynamic);
  int taken = 0;
  while (s.next_for(1)) ++taken;
  EXPECT_EQ(taken, 5);
  EXPECT_FALSE(s.has_free_slot(1));
  EXPECT_EQ(s.in_flight(1), 5u);
  ASSERT_TRUE(s.next_for(0));
  ASSERT_TRUE(s.next_for(0));
  EXPECT_FALSE(s.next_for(0));  // the others keep the configured window
  // Lowering the largest window recomputes the maximum; chunks in flight stay tracked.
  s.set_window(1, 1);
  EXPECT_EQ(s.max_window(), 2);
  EXPECT_FALSE(s.has_free_slot(1));
  EXPECT_EQ(s.in_flight(1), 5u);
  expect_value_error([&] { s.set_window(0, 0); }, "window");
  expect_value_error([&] { s.set_window(3, 2); }, "unknown worker");
  EXPECT_FALSE(s.job_complete(job));
}

TEST(SchedulerScale, ManyWorkersDynamic) {
  const int p = 65536;
  Scheduler s = make(p, 2);
  const u64 n = 2 * static_cast<u64>(p) + 5;
  const JobId job = s.add_job(n, 1, Policy::dynamic);
  std::vector<std::pair<WorkerId, Chunk>> out;
  for (WorkerId w = 0; w < p; ++w) out.emplace_back(w, *s.next_for(w));
  // p + 5 left: a busy worker queues a second chunk only while at least p are left (tail rule).
  for (WorkerId w = 0; w < p; ++w) {
    if (auto c = s.next_for(w)) out.emplace_back(w, *c);
  }
  EXPECT_EQ(out.size(), static_cast<std::size_t>(p) + 6);
  EXPECT_EQ(s.in_flight_total(), static_cast<std::size_t>(p) + 6);
  EXPECT_FALSE(s.has_free_slot(5));
  EXPECT_TRUE(s.has_free_slot(6));
  for (const auto& [w, c] : out) s.on_done(w, c);
  for (WorkerId w = 0; w < p; ++w) ASSERT_EQ(s.stats(w).items, w < 6 ? 2u : 1u);
  EXPECT_TRUE(s.has_pending_work());
  // The p - 1 left go one each to idle workers.
  for (WorkerId w = 0; w + 1 < p; ++w) s.on_done(w, *s.next_for(w));
  EXPECT_FALSE(s.next_for(p - 1).has_value());
  EXPECT_TRUE(s.job_complete(job));
  EXPECT_TRUE(s.idle());
}

// ---- stragglers (SchedulerConfig::speculate) -----------------------------------------------

TEST(SchedulerStragglers, IdleWorkerGetsABackupOfTheOldestChunkOnlyOnceInputsRunOut) {
  Scheduler s(SchedulerConfig{3, 1, true});
  JobId j = s.add_job(3, 1, Policy::dynamic);
  auto a = s.next_for(0), b = s.next_for(1), c = s.next_for(2);
  ASSERT_TRUE(a && b && c);
  EXPECT_FALSE(s.has_pending_work());
  EXPECT_TRUE(s.on_done(2, *c));  // worker 2 is idle now: it gets a copy of the oldest chunk
  auto backup = s.next_for(2);
  ASSERT_TRUE(backup);
  EXPECT_EQ(*backup, *a);
  EXPECT_EQ(s.backups(), 1u);
  EXPECT_FALSE(s.next_for(2));         // one chunk in flight: no second backup for a busy worker
  EXPECT_TRUE(s.on_done(2, *backup));  // the backup wins
  EXPECT_TRUE(s.already_done(*a));
  EXPECT_FALSE(s.job_complete(j));  // b is still out
  auto next = s.next_for(2);        // b is the oldest chunk with a single copy
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, *b);
  EXPECT_FALSE(s.on_done(0, *a));  // the original of a comes back late: a duplicate
  EXPECT_FALSE(s.already_done(*a));
  EXPECT_TRUE(s.on_done(1, *b));   // the original of b wins this time
  EXPECT_TRUE(s.job_complete(j));  // complete although a copy of b is still out
  EXPECT_EQ(s.in_flight_total(), 1u);
  EXPECT_FALSE(s.idle());
  EXPECT_FALSE(s.on_done(2, *next));
  EXPECT_TRUE(s.idle());
}

TEST(SchedulerStragglers, NoBackupsWhileWorkIsLeftOrWhenDisabled) {
  Scheduler on(SchedulerConfig{2, 1, true});
  on.add_job(3, 1, Policy::dynamic);
  auto a = on.next_for(0);
  auto b = on.next_for(1);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(on.on_done(1, *b));
  auto c = on.next_for(1);  // new work first
  ASSERT_TRUE(c);
  EXPECT_NE(*c, *a);
  EXPECT_EQ(on.backups(), 0u);

  Scheduler off(SchedulerConfig{2, 1, false});
  off.add_job(2, 1, Policy::dynamic);
  auto x = off.next_for(0);
  auto y = off.next_for(1);
  ASSERT_TRUE(x && y);
  EXPECT_TRUE(off.on_done(1, *y));
  EXPECT_FALSE(off.next_for(1));
  EXPECT_EQ(off.backups(), 0u);
}

TEST(SchedulerStragglers, CancelledJobsGetNoBackupsAndLostCopiesAreNotRequeuedTwice) {
  Scheduler s(SchedulerConfig{3, 1, true});
  JobId j = s.add_job(2, 1, Policy::dynamic);
  auto a = s.next_for(0), b = s.next_for(1);
  ASSERT_TRUE(a && b);
  auto backup = s.next_for(2);
  ASSERT_TRUE(backup);
  EXPECT_EQ(*backup, *a);
  // The worker with the original is lost: the backup carries the chunk, nothing is requeued.
  s.on_worker_lost(0);
  EXPECT_FALSE(s.has_pending_work());
  EXPECT_TRUE(s.on_done(2, *backup));
  EXPECT_FALSE(s.job_complete(j));
  s.cancel_job(j);
  EXPECT_FALSE(s.next_for(2));  // b's job is cancelled: no backup of it
  EXPECT_TRUE(s.on_done(1, *b));
  EXPECT_TRUE(s.job_complete(j));
  EXPECT_TRUE(s.idle());
}

}  // namespace
}  // namespace rankpool::detail

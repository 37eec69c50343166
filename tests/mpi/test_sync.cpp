// Lock, RLock, Semaphore, BoundedSemaphore, Queue and Pipe across ranks.

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "mpi_test.hpp"

namespace {

using rankpool::Pool;
using rankpool::PoolOptions;
using rankpool::testing::with_pool;
using rankpool::testing::world_size;

// The state a Lock must protect: a counter in a Queue of size one. Each task takes the lock,
// reads the counter, checks that nobody else is inside (a second queue as "occupancy" flag),
// writes counter+1. Without mutual exclusion, increments are lost or the flag check fails.
struct Shared {
  rankpool::Lock lock;
  rankpool::Queue<long> counter;
  rankpool::Queue<int> inside;
};

int locked_increment(Shared s, int rounds) {
  int overlaps = 0;
  for (int i = 0; i < rounds; ++i) {
    std::lock_guard<rankpool::Lock> guard(s.lock);
    if (!s.inside.empty()) ++overlaps;  // someone else is inside the critical section
    s.inside.put(rankpool::current_process().rank);
    long v = s.counter.get();
    s.counter.put(v + 1);
    s.inside.get();
  }
  return overlaps;
}

TEST(Sync, LockGivesMutualExclusionUnderContention) {
  PoolOptions options;
  options.master_computes = false;
  if (world_size() == 1) options = PoolOptions{};
  with_pool(options, [](Pool& pool) {
    Shared s{rankpool::Lock(pool), rankpool::Queue<long>(pool), rankpool::Queue<int>(pool)};
    s.counter.put(0);
    int tasks = 4 * pool.processes();
    std::vector<std::tuple<Shared, int>> args(tasks, {s, 25});
    auto overlaps = pool.starmap(locked_increment, args, 1);
    for (int o : overlaps) EXPECT_EQ(o, 0) << "two tasks were inside the lock at once";
    EXPECT_EQ(s.counter.get(), long(tasks) * 25) << "increments were lost";
    EXPECT_TRUE(s.inside.empty());
  });
}

TEST(Sync, LockSerialisesAppendsToOneFile) {
  with_pool([](Pool& pool) {
    rankpool::Lock lock(pool);
    char path[] = "/tmp/rankpool_lock_XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    struct Job {
      rankpool::Lock lock;
      char path[64];
    } job{lock, {}};
    std::snprintf(job.path, sizeof job.path, "%s", path);
    pool.map(
        [](const std::pair<Job, int>& a) {
          rankpool::Lock lock = a.first.lock;
          std::lock_guard<rankpool::Lock> guard(lock);
          std::ofstream out(a.first.path, std::ios::app);
          // Two writes per record: interleaving would split a record across lines.
          out << "record " << a.second << " start;";
          out.flush();
          out << " end\n";
          return 0;
        },
        [&] {
          std::vector<std::pair<Job, int>> v;
          for (int i = 0; i < 40; ++i) v.push_back({job, i});
          return v;
        }(),
        1);
    std::ifstream in(path);
    std::string line;
    std::set<int> seen;
    while (std::getline(in, line)) {
      int id = -1;
      ASSERT_EQ(std::sscanf(line.c_str(), "record %d start; end", &id), 1) << line;
      EXPECT_EQ(line, "record " + std::to_string(id) + " start; end");
      seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 40u);
    std::remove(path);
  });
}

TEST(Sync, LockStates) {
  with_pool([](Pool& pool) {
    rankpool::Lock lock(pool);
    EXPECT_TRUE(lock.acquire());
    EXPECT_FALSE(lock.acquire(false)) << "a held Lock was acquired again";
    EXPECT_FALSE(lock.acquire(true, 0.05)) << "acquire with timeout succeeded on a held Lock";
    lock.release();
    EXPECT_THROW(lock.release(), rankpool::ValueError);  // released too many times
    EXPECT_TRUE(lock.try_lock());
    // A task on some process can release the master's Lock (multiprocessing.Lock allows it).
    pool.apply([](rankpool::Lock l) { l.release(); }, lock);
    EXPECT_TRUE(lock.acquire(false));
    lock.release();
  });
}

TEST(Sync, RLockIsReentrantAndOwned) {
  with_pool([](Pool& pool) {
    rankpool::RLock rlock(pool);
    EXPECT_TRUE(rlock.acquire());
    EXPECT_TRUE(rlock.acquire(false)) << "the owner could not acquire its RLock again";
    rlock.release();
    rlock.release();
    EXPECT_THROW(rlock.release(), rankpool::AssertionError);
  });
}

TEST(Sync, RLockRefusesOtherRanks) {
  if (world_size() < 2) GTEST_SKIP() << "needs a second rank";
  PoolOptions o;
  o.master_computes = false;
  with_pool(o, [](Pool& pool) {
    rankpool::RLock rlock(pool);
    rlock.acquire();
    auto [got, released] = pool.apply(
        [](rankpool::RLock l) {
          bool g = l.acquire(true, 0.05);
          bool r = true;
          try {
            l.release();
          } catch (const rankpool::AssertionError&) {
            r = false;
          }
          return std::make_pair(g, r);
        },
        rlock);
    EXPECT_FALSE(got) << "a worker acquired an RLock held by the master";
    EXPECT_FALSE(released) << "a worker released an RLock it does not hold";
    rlock.release();
    EXPECT_TRUE(pool.apply(
        [](rankpool::RLock l) {
          bool g = l.acquire(false);
          if (g) l.release();
          return g;
        },
        rlock));
  });
}

TEST(Sync, SemaphoreLimitsConcurrency) {
  PoolOptions options;
  options.master_computes = false;
  if (world_size() == 1) options = PoolOptions{};
  with_pool(options, [](Pool& pool) {
    rankpool::Semaphore sem(pool, 2);
    rankpool::Queue<int> inside(pool);
    rankpool::Lock count_lock(pool);
    struct Args {
      rankpool::Semaphore sem;
      rankpool::Queue<int> inside;
    } a{sem, inside};
    // Each task holds a permit while it records itself in `inside`; at most 2 may be there.
    auto peaks = pool.map(
        [](const Args& x) {
          rankpool::Semaphore sem = x.sem;
          std::lock_guard<rankpool::Semaphore> permit(sem);
          rankpool::Queue<int> q = x.inside;
          q.put(1);
          std::int64_t now = q.qsize();
          rankpool::testing::spin_for_ms(5);
          q.get();
          return now;
        },
        std::vector<Args>(12, a), 1);
    for (auto p : peaks) {
      EXPECT_GE(p, 1);
      EXPECT_LE(p, 2) << "more tasks than permits were inside";
    }
    EXPECT_EQ(sem.get_value(), 2);
    sem.release();  // a plain Semaphore may go above its start value
    EXPECT_EQ(sem.get_value(), 3);
  });
}

TEST(Sync, BoundedSemaphoreRejectsExtraRelease) {
  with_pool([](Pool& pool) {
    rankpool::BoundedSemaphore sem(pool, 2);
    EXPECT_TRUE(sem.acquire());
    sem.release();
    try {
      sem.release();
      ADD_FAILURE() << "no error";
    } catch (const rankpool::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("released too many times"), std::string::npos);
    }
    // From a task too.
    EXPECT_THROW(pool.apply([](rankpool::BoundedSemaphore s) { s.release(); }, sem),
                 rankpool::RemoteError);
  });
}

struct Message {  // a non-trivial type through a Queue
  std::string text;
  std::vector<int> numbers;
  std::map<std::string, double> meta;
  template <class A>
  void serialize(A& ar) {
    ar(text, numbers, meta);
  }
};

TEST(Sync, QueueCarriesNonTrivialTypesBetweenRanks) {
  with_pool([](Pool& pool) {
    rankpool::Queue<Message> q(pool);
    int n = 20;
    pool.map(
        [](const std::pair<rankpool::Queue<Message>, int>& a) {
          rankpool::Queue<Message> queue = a.first;
          queue.put(Message{"from " + std::to_string(rankpool::current_process().rank),
                            std::vector<int>(a.second, a.second),
                            {{"i", a.second * 0.5}}});
          return 0;
        },
        [&] {
          std::vector<std::pair<rankpool::Queue<Message>, int>> v;
          for (int i = 0; i < n; ++i) v.push_back({q, i});
          return v;
        }());
    EXPECT_EQ(q.qsize(), n);
    std::set<int> got;
    for (int i = 0; i < n; ++i) {
      Message m = q.get();
      ASSERT_FALSE(m.numbers.empty() && m.meta.at("i") != 0.0);
      int k = static_cast<int>(m.meta.at("i") * 2);
      EXPECT_EQ(m.numbers.size(), static_cast<std::size_t>(k));
      EXPECT_EQ(m.text.rfind("from ", 0), 0u);
      got.insert(k);
    }
    EXPECT_EQ(got.size(), static_cast<std::size_t>(n));
    EXPECT_TRUE(q.empty());
  });
}

TEST(Sync, QueueTimeoutsAndBounds) {
  with_pool([](Pool& pool) {
    rankpool::Queue<int> q(pool, 2);
    EXPECT_THROW(q.get(true, 0.05), rankpool::Empty);
    EXPECT_THROW(q.get_nowait(), rankpool::Empty);
    q.put(1);
    q.put(2);
    EXPECT_THROW(q.put(3, true, 0.05), rankpool::Full);
    EXPECT_THROW(q.put_nowait(3), rankpool::Full);
    EXPECT_EQ(q.get(), 1);
    q.put(3);
    EXPECT_EQ(q.get(), 2);
    EXPECT_EQ(q.get(), 3);
    // A worker's blocking get is served by a later put from the master (FIFO across ranks).
    auto pending = pool.apply_async([](rankpool::Queue<int> qq) { return qq.get() * 10; }, q);
    q.put(7);
    EXPECT_EQ(pending.get(), 70);
    // A worker blocked on a full queue resumes when the master makes room.
    q.put(1);
    q.put(2);
    auto producer = pool.apply_async([](rankpool::Queue<int> qq) { qq.put(99); }, q);
    EXPECT_EQ(q.get(), 1);
    producer.get();
    EXPECT_EQ(q.get(), 2);
    EXPECT_EQ(q.get(), 99);
    EXPECT_THROW(q.get(true, -1.0), rankpool::ValueError);
  });
}

TEST(Sync, PipeBothWays) {
  with_pool([](Pool& pool) {
    auto [parent, child] = rankpool::Pipe<std::string>(pool);
    EXPECT_FALSE(parent.poll());
    auto echo = pool.apply_async(
        [](rankpool::Connection<std::string> c) {
          std::string got = c.recv();
          c.send("echo: " + got);
          return got.size();
        },
        child);
    parent.send("hello");
    EXPECT_EQ(echo.get(), 5u);
    EXPECT_TRUE(parent.poll(1.0));
    EXPECT_EQ(parent.recv(), "echo: hello");
    EXPECT_FALSE(parent.poll(0.01));

    auto [reader, writer] = rankpool::Pipe<int>(pool, false);
    EXPECT_THROW(reader.send(1), rankpool::ValueError);
    EXPECT_THROW(writer.recv(), rankpool::ValueError);
    writer.send(42);
    EXPECT_EQ(reader.recv(), 42);
  });
}

TEST(Sync, BlockedTasksDoNotHangTerminate) {
  with_pool([](Pool& pool) {
    rankpool::Queue<int> never(pool);
    for (int i = 0; i < pool.processes(); ++i) {
      pool.apply_async([](rankpool::Queue<int> q) { return q.get(); }, never);
    }
    pool.terminate();  // must return: the blocked gets fail
    pool.join();
  });
}

TEST(Sync, DefaultConstructedHandleIsAnError) {
  with_pool([](Pool&) {
    rankpool::Lock unbound;
    EXPECT_THROW(unbound.acquire(), rankpool::PoolStateError);
  });
}

}  // namespace

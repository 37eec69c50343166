// The master's compute thread (PoolOptions::master_thread): the master keeps handing out chunks
// and serving Lock/Queue requests while a task of its own runs, and with the option off its tasks
// run on the main thread as before.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "mpi_test.hpp"

namespace {

using rankpool::Pool;
using rankpool::PoolOptions;
using rankpool::testing::with_pool;
using rankpool::testing::world_size;

std::thread::id g_main_thread;  // set on every rank before the pool starts
std::atomic<int> g_initialized{0};

void mark_initialized() {
  g_initialized = 1;
}

// On the master: spin until the workers have computed every other input (each leaves a file in
// `dir`). The wait calls nothing of rankpool's, so only a master that keeps handing out chunks
// while its own task runs lets the others be computed; otherwise this gives up after 20 s and
// the map fails.
int wait_for_the_others(std::string dir, int x, int others) {
  namespace fs = std::filesystem;
  if (rankpool::current_process().rank != 0) {
    std::ofstream(fs::path(dir) / std::to_string(x)).put('x');
    return 1;
  }
  const fs::path failed = fs::path(dir).concat(".failed");
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    auto files = std::distance(fs::directory_iterator(dir), fs::directory_iterator());
    if (files >= others) return 0;
    if (std::chrono::steady_clock::now() > give_up || fs::exists(failed)) {
      std::ofstream(failed).put('x');  // the master's next inputs fail at once
      throw std::runtime_error("the workers computed only " + std::to_string(files) + " of " +
                               std::to_string(others) + " inputs while the master's task ran");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

TEST(MasterThread, WorkersGetChunksWhileTheMastersTaskRuns) {
  if (world_size() < 2) GTEST_SKIP() << "needs a worker rank besides the master";
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("rankpool-master-thread-" + std::to_string(getpid()));
  with_pool([&](Pool& pool) {
    fs::remove_all(dir);
    fs::remove(fs::path(dir).concat(".failed"));
    fs::create_directories(dir);
    const int n = 24;
    std::vector<std::tuple<std::string, int, int>> args;
    for (int x = 0; x < n; ++x) args.emplace_back(dir.string(), x, n - 1);
    auto on_worker = pool.starmap(wait_for_the_others, args, 1);
    int on_master = 0;
    for (int w : on_worker) on_master += w == 0 ? 1 : 0;
    // The master's first input spins until all others are done, so it ran at most one of them
    // (none when a node hierarchy keeps rank 0 from computing).
    EXPECT_LE(on_master, 1);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), n - on_master);
    fs::remove_all(dir);
    fs::remove(fs::path(dir).concat(".failed"));
  });
}

int put_and_lock(rankpool::Queue<int> q, rankpool::Lock lock, int x) {
  std::lock_guard<rankpool::Lock> guard(lock);
  q.put(x);
  return rankpool::current_process().rank;
}

TEST(MasterThread, MastersTasksUseLocksAndQueues) {
  // A task on the compute thread reaches the service through the main thread (Engine::relay_sync).
  with_pool([](Pool& pool) {
    rankpool::Queue<int> q(pool);
    rankpool::Lock lock(pool);
    const int n = 200;
    std::vector<std::tuple<rankpool::Queue<int>, rankpool::Lock, int>> args;
    for (int x = 0; x < n; ++x) args.emplace_back(q, lock, x);
    pool.starmap(put_and_lock, args, 1);
    long sum = 0;
    for (int k = 0; k < n; ++k) sum += q.get(true, 10.0);
    EXPECT_EQ(sum, long(n) * (n - 1) / 2);
    EXPECT_TRUE(q.empty());
  });
}

bool on_main_thread(int) {
  return std::this_thread::get_id() == g_main_thread;
}

TEST(MasterThread, MastersTasksRunOffTheMainThreadOnlyWhenEnabled) {
  g_main_thread = std::this_thread::get_id();
  for (bool enabled : {true, false}) {
    PoolOptions options;
    options.master_thread = enabled;
    with_pool(options, [&](Pool& pool) {
      auto res = pool.map(
          [](int x) {
            return std::make_tuple(rankpool::current_process().rank, on_main_thread(x));
          },
          rankpool::range(0, 64), 1);
      bool first_on_master = true;
      for (const auto& [rank, main] : res) {
        if (rank != 0) {
          EXPECT_TRUE(main) << "a worker ran a task off its main thread";
        } else if (!enabled) {
          EXPECT_TRUE(main) << "master_thread=false ran a task off the main thread";
        } else if (first_on_master) {
          // The first chunk goes to the compute thread; once the master's chunks prove short
          // (under 250 us) they run inline, so later ones may be on either thread.
          EXPECT_FALSE(main) << "master_thread=true ran the master's first chunk inline";
        }
        if (rank == 0) first_on_master = false;
      }
    });
  }
}

TEST(MasterThread, InitializerStateIsSeenByTheMastersTasks) {
  // The initializer sets process-wide state (as a Python initializer sets module globals); the
  // master's tasks see it on whichever of rank 0's two threads they run.
  PoolOptions options;
  options.initializer(mark_initialized);
  with_pool(options, [](Pool& pool) {
    auto seen = pool.map(
        [](int) { return std::make_tuple(rankpool::current_process().rank, g_initialized.load()); },
        rankpool::range(0, 64), 1);
    for (const auto& [rank, initialized] : seen) {
      EXPECT_EQ(initialized, 1) << "a task on rank " << rank << " ran before the initializer";
    }
  });
  g_initialized = 0;
}

TEST(MasterThread, BoolResultsOfNeighbouringChunksStayExact) {
  // std::vector<bool> packs results into shared words: the master's chunk must not be written
  // while the main thread stores a worker's chunk next to it.
  with_pool([](Pool& pool) {
    const int n = 20000;
    auto odd = pool.map([](int x) { return x % 3 == 1; }, rankpool::range(0, n), 3);
    ASSERT_EQ(static_cast<int>(odd.size()), n);
    for (int i = 0; i < n; ++i) ASSERT_EQ(odd[i], i % 3 == 1) << "at " << i;
  });
}

TEST(MasterThread, TaskErrorIsRaisedByMapAndThePoolGoesOn) {
  // At one rank every input runs on the compute thread.
  with_pool([](Pool& pool) {
    auto boom = [](int x) {
      if (x == 5) throw std::invalid_argument("input five");
      return x;
    };
    try {
      pool.map(boom, rankpool::range(0, 64), 1);
      ADD_FAILURE() << "map returned although input 5 threw";
    } catch (const rankpool::RemoteError& e) {
      EXPECT_NE(std::string(e.what()).find("input five"), std::string::npos) << e.what();
    }
    auto sq = pool.map([](int x) { return x * x; }, rankpool::range(0, 100), 7);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(sq[i], i * i);
  });
}

}  // namespace

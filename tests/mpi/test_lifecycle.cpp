// close / terminate / join states, initializer and maxtasksperchild.

#include <chrono>
#include <utility>
#include <vector>

#include "mpi_test.hpp"

namespace {

using rankpool::Pool;
using rankpool::PoolOptions;
using rankpool::testing::spin_for_ms;
using rankpool::testing::with_pool;

TEST(Lifecycle, CloseThenJoinCompletesOutstandingWork) {
  with_pool([](Pool& pool) {
    std::vector<rankpool::AsyncResult<int>> rs;
    for (int i = 0; i < 10; ++i) rs.push_back(pool.apply_async([](int x) { return x + 1; }, i));
    pool.close();
    EXPECT_EQ(pool.state(), Pool::State::closed);
    pool.join();
    for (int i = 0; i < 10; ++i) {
      EXPECT_TRUE(rs[i].ready());
      EXPECT_EQ(rs[i].get(), i + 1);
    }
  });
}

TEST(Lifecycle, WorkAfterCloseIsRejected) {
  with_pool([](Pool& pool) {
    pool.close();
    std::vector<int> in{1, 2};
    EXPECT_THROW(pool.map([](int x) { return x; }, in), rankpool::PoolStateError);
    EXPECT_THROW(pool.apply_async([](int x) { return x; }, 1), rankpool::PoolStateError);
    EXPECT_THROW(pool.imap([](int x) { return x; }, in), rankpool::PoolStateError);
    try {
      pool.map([](int x) { return x; }, in);
    } catch (const rankpool::PoolStateError& e) {
      EXPECT_NE(std::string(e.what()).find("Pool not running"), std::string::npos) << e.what();
    }
  });
}

TEST(Lifecycle, JoinWhileRunningThrows) {
  with_pool([](Pool& pool) { EXPECT_THROW(pool.join(), rankpool::PoolStateError); });
}

TEST(Lifecycle, TerminateDiscardsPendingResults) {
  with_pool([](Pool& pool) {
    auto done = pool.apply_async([](int x) { return x; }, 1);
    EXPECT_EQ(done.get(), 1);
    std::vector<rankpool::AsyncResult<int>> pending;
    for (int i = 0; i < 4 * pool.processes() + 8; ++i) {
      pending.push_back(pool.apply_async(
          [](int x) {
            spin_for_ms(20);
            return x;
          },
          i));
    }
    pool.terminate();
    EXPECT_EQ(pool.state(), Pool::State::terminated);
    EXPECT_EQ(done.get(), 1) << "a result that was ready before terminate() stays readable";
    int discarded = 0;
    for (auto& r : pending) {
      if (r.ready()) continue;  // finished before terminate(): allowed
      ++discarded;
      EXPECT_THROW(r.get(), rankpool::PoolStateError);
    }
    EXPECT_GT(discarded, 0) << "terminate() discarded nothing although work was queued";
    pool.join();  // allowed after terminate
    EXPECT_THROW(pool.apply([](int x) { return x; }, 1), rankpool::PoolStateError);
  });
}

TEST(Lifecycle, PoolCanBeReopenedByAnotherRun) {
  with_pool([](Pool& pool) {
    pool.close();
    pool.join();
  });
  with_pool([](Pool& pool) { EXPECT_EQ(pool.apply([](int x) { return x * 2; }, 21), 42); });
}

// State a task reads, set by the initializer on every process.
int g_base = 0;
int g_init_calls = 0;
int g_tasks_since_init = 0;

void init_worker(int base) {
  g_base = base;
  ++g_init_calls;
  g_tasks_since_init = 0;
}

TEST(Lifecycle, InitializerRunsBeforeTasks) {
  PoolOptions options;
  options.initializer(init_worker, 100);
  with_pool(options, [](Pool& pool) {
    auto out = pool.map([](int x) { return x + g_base; }, rankpool::range(0, 50), 1);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(out[i], i + 100);
  });
}

TEST(Lifecycle, MaxTasksPerChildRerunsTheInitializer) {
  PoolOptions options;
  options.initializer(init_worker, 7);
  options.maxtasksperchild = 2;
  with_pool(options, [](Pool& pool) {
    auto out = pool.map([](int) { return std::make_pair(g_init_calls, ++g_tasks_since_init); },
                        rankpool::range(0, 60), 1);
    int max_inits = 0;
    for (auto& [inits, since] : out) {
      EXPECT_GE(since, 1);
      EXPECT_LE(since, 2) << "a process ran more than maxtasksperchild tasks without a fresh start";
      EXPECT_GE(inits, 1);
      max_inits = std::max(max_inits, inits);
    }
    EXPECT_GE(max_inits, 2) << "the initializer never ran again";
  });
}

TEST(Lifecycle, FailingInitializerFailsTasksClearly) {
  PoolOptions options;
  options.initializer([](int) { throw std::runtime_error("no licence"); }, 0);
  if (rankpool::testing::world_size() == 1) {
    // With one rank the master runs the initializer itself: the error ends run() with code 1.
    with_pool(
        options, [](Pool&) { ADD_FAILURE() << "body should not run"; }, rankpool::exit_exception);
    return;
  }
  options.master_computes = false;
  with_pool(options, [](Pool& pool) {
    try {
      pool.apply([](int x) { return x; }, 1);
      ADD_FAILURE() << "expected RemoteError";
    } catch (const rankpool::RemoteError& e) {
      EXPECT_NE(e.remote_message().find("initializer failed"), std::string::npos) << e.what();
      EXPECT_NE(e.remote_message().find("no licence"), std::string::npos) << e.what();
    }
  });
}

}  // namespace

namespace {

TEST(Lifecycle, RunsOnAUserCommunicator) {
  // Split the job in two halves; each half runs its own pool at the same time.
  int rank = rankpool::testing::world_rank();
  MPI_Comm half;
  MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half);
  int half_size = 0;
  MPI_Comm_size(half, &half_size);
  int code = rankpool::run(half, [&](Pool& pool) {
    EXPECT_EQ(pool.processes(), half_size);
    auto ranks =
        pool.map([](int) { return rankpool::current_process().rank; }, rankpool::range(0, 40), 1);
    for (int r : ranks) {
      EXPECT_GE(r, 0);
      EXPECT_LT(r, half_size) << "a rank outside the communicator ran a task";
    }
    auto sq = pool.map([](int x) { return x * x; }, rankpool::range(0, 10));
    EXPECT_EQ(sq[9], 81);
    return 5;
  });
  EXPECT_EQ(code, 5);
  MPI_Comm_free(&half);
}

}  // namespace

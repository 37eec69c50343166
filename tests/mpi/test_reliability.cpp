// Reliability: fault isolation (PoolOptions::isolate), per-item outcomes (map_outcomes), halt
// policies, and re-running stragglers (PoolOptions::rerun_stragglers).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpi_test.hpp"

namespace {

using rankpool::HaltPolicy;
using rankpool::Outcome;
using rankpool::Pool;
using rankpool::PoolOptions;
using rankpool::TaskCrashed;
using rankpool::testing::with_pool;
using rankpool::testing::world_size;

PoolOptions isolated() {
  PoolOptions o;
  o.isolate = true;
  return o;
}

// Crashes in three different ways on three inputs; squares the others.
long crash_on_some(long x) {
  if (x == 13) std::raise(SIGSEGV);
  if (x == 7) std::abort();
  if (x == 5) std::exit(3);
  return x * x;
}

template <class R>
int count_status(const std::vector<Outcome<R>>& v, typename Outcome<R>::Status s) {
  int n = 0;
  for (const auto& o : v) n += o.status() == s;
  return n;
}

TEST(Isolation, CrashesFailOnlyTheirOwnInput) {
  with_pool(isolated(), [](Pool& pool) {
    for (long cs : {1L, 4L, 40L}) {
      auto out = pool.map_outcomes(&crash_on_some, rankpool::range(0L, 40L), {}, cs);
      ASSERT_EQ(out.size(), 40u);
      for (long i = 0; i < 40; ++i) {
        if (i == 13 || i == 7 || i == 5) {
          ASSERT_EQ(out[i].status(), Outcome<long>::Status::failed) << "input " << i;
          auto* crash = dynamic_cast<const TaskCrashed*>(out[i].error());
          ASSERT_NE(crash, nullptr) << "input " << i << ": " << out[i].error()->what();
          EXPECT_EQ(crash->index(), static_cast<std::uint64_t>(i));
          EXPECT_FALSE(crash->timed_out());
          EXPECT_FALSE(crash->host().empty());
          if (i == 13) {
            EXPECT_EQ(crash->signal(), SIGSEGV);
          }
          if (i == 7) {
            EXPECT_EQ(crash->signal(), SIGABRT);
          }
          if (i == 5) {
            EXPECT_EQ(crash->signal(), 0);
            EXPECT_EQ(crash->exit_status(), 3);
          }
          EXPECT_THROW((void)out[i].value(), TaskCrashed);
        } else {
          ASSERT_TRUE(out[i].ok()) << "input " << i << " chunksize " << cs << ": "
                                   << (out[i].error() ? out[i].error()->what() : "not run");
          EXPECT_EQ(out[i].value(), i * i);
        }
      }
    }
  });
}

TEST(Isolation, MapRaisesTheFirstCrashAndThePoolGoesOn) {
  with_pool(isolated(), [](Pool& pool) {
    try {
      pool.map(&crash_on_some, rankpool::range(0L, 40L), 3);
      ADD_FAILURE() << "map did not throw";
    } catch (const TaskCrashed& e) {
      EXPECT_EQ(e.index(), 5u);  // the first failing input in input order
      EXPECT_EQ(e.exit_status(), 3);
      EXPECT_NE(std::string(e.what()).find("exit(3)"), std::string::npos) << e.what();
    }
    auto r = pool.apply_async(&crash_on_some, 13L);
    EXPECT_THROW(r.get(), TaskCrashed);
    // The pool still works, on every rank.
    auto squares = pool.map([](long x) { return x * x; }, rankpool::range(0L, 1000L), 7);
    for (long i = 0; i < 1000; ++i) ASSERT_EQ(squares[i], i * i);
  });
}

TEST(Isolation, ResultsMatchAnUnisolatedRun) {
  auto f = [](int x) { return std::string(static_cast<std::size_t>(x % 17), 'a' + x % 26); };
  std::vector<std::string> expected;
  for (int x = 0; x < 500; ++x) expected.push_back(f(x));
  with_pool(isolated(), [&](Pool& pool) {
    EXPECT_EQ(pool.map(f, rankpool::range(0, 500), 9), expected);
    EXPECT_EQ(pool.map([](double x) { return x / 2; }, std::vector<double>{1, 2, 3}),
              (std::vector<double>{0.5, 1, 1.5}));
    std::vector<std::string> got;
    for (auto& s : pool.imap(f, rankpool::range(0, 500), 13)) got.push_back(s);
    EXPECT_EQ(got, expected);
  });
}

TEST(Isolation, TimeoutKillsOnlyTheSlowInput) {
  PoolOptions o;
  o.task_timeout = 0.5;  // turns isolation on
  with_pool(o, [](Pool& pool) {
    auto f = [](int x) {
      if (x == 2) {
        for (;;) ::pause();  // never returns
      }
      return x + 1;
    };
    auto out = pool.map_outcomes(f, rankpool::range(0, 6), {}, 3);
    for (int i = 0; i < 6; ++i) {
      if (i == 2) {
        auto* crash = dynamic_cast<const TaskCrashed*>(out[i].error());
        ASSERT_NE(crash, nullptr);
        EXPECT_TRUE(crash->timed_out());
        EXPECT_EQ(crash->signal(), SIGKILL);
      } else {
        ASSERT_TRUE(out[i].ok()) << i;
        EXPECT_EQ(out[i].value(), i + 1);
      }
    }
  });
}

TEST(Outcomes, EveryItemGetsItsValueOrItsError) {
  with_pool([](Pool& pool) {
    auto f = [](int x) {
      if (x % 10 == 3) throw std::invalid_argument("bad " + std::to_string(x));
      return 2 * x;
    };
    for (long cs : {1L, 6L, 100L}) {
      auto out = pool.map_outcomes(f, rankpool::range(0, 100), {}, cs);
      ASSERT_EQ(out.size(), 100u);
      for (int i = 0; i < 100; ++i) {
        if (i % 10 == 3) {
          ASSERT_FALSE(out[i].ok()) << i;
          EXPECT_EQ(out[i].error()->type_name(), "std::invalid_argument");
          EXPECT_EQ(out[i].error()->remote_message(), "bad " + std::to_string(i));
          EXPECT_EQ(out[i].error()->index(), static_cast<std::uint64_t>(i));
          EXPECT_THROW((void)out[i].value(), rankpool::RemoteError);
        } else {
          ASSERT_TRUE(out[i].ok()) << i << " chunksize " << cs;
          EXPECT_EQ(out[i].value(), 2 * i);
        }
      }
    }
    auto pairs = pool.starmap_outcomes([](int a, int b) { return a / b; },
                                       std::vector<std::tuple<int, int>>{{6, 3}, {1, 1}});
    EXPECT_EQ(pairs[0].value(), 2);
    EXPECT_EQ(pairs[1].value(), 1);
    EXPECT_TRUE(pool.map_outcomes(f, std::vector<int>{}).empty());
  });
}

TEST(Outcomes, HaltAfterKFailuresStopsIssuing) {
  with_pool([](Pool& pool) {
    auto f = [](int x) {
      if (x >= 100) throw std::runtime_error("fails from 100 on");
      return x;
    };
    auto out = pool.map_outcomes(f, rankpool::range(0, 2000), HaltPolicy{3, 0}, 1);
    using S = Outcome<int>::Status;
    int ok = count_status(out, S::ok), failed = count_status(out, S::failed),
        not_run = count_status(out, S::not_run);
    EXPECT_EQ(ok + failed + not_run, 2000);
    EXPECT_GE(failed, 3);
    EXPECT_GT(not_run, 1000) << "the map did not stop issuing after 3 failures";
    for (int i = 0; i < 100; ++i) {
      // Items before the failures ran, unless the halt caught them (with few ranks it cannot).
      if (out[i].status() == S::ok) {
        EXPECT_EQ(out[i].value(), i);
      }
    }
    for (int i = 100; i < 2000; ++i) EXPECT_NE(out[i].status(), S::ok) << i;
    auto first_not_run = std::find_if(out.begin(), out.end(),
                                      [](const auto& o) { return o.status() == S::not_run; });
    ASSERT_NE(first_not_run, out.end());
    EXPECT_THROW((void)first_not_run->value(), rankpool::PoolStateError);

    auto frac = pool.map_outcomes(f, rankpool::range(0, 2000), HaltPolicy{0, 0.01}, 1);
    EXPECT_GT(count_status(frac, S::failed), 20);  // more than 1% of 2000 before it halts
    EXPECT_GT(count_status(frac, S::not_run), 1000);
    EXPECT_THROW(pool.map_outcomes(f, rankpool::range(0, 5), HaltPolicy{0, 1.5}),
                 rankpool::ValueError);
    // Without a policy every item runs.
    auto all = pool.map_outcomes(f, rankpool::range(0, 300), {}, 1);
    EXPECT_EQ(count_status(all, S::not_run), 0);
    EXPECT_EQ(count_status(all, S::failed), 200);
  });
}

// Input 0's first run straggles (until the test releases it); every run appends "x" to a log.
struct Straggler {
  char dir[128];
  long operator()(long x) const {
    std::string base(dir);
    int log = ::open((base + "/runs").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::string line = std::to_string(x) + "\n";
    if (log >= 0) {
      (void)!::write(log, line.data(), line.size());
      ::close(log);
    }
    if (x == 0) {
      int claim = ::open((base + "/claimed").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
      if (claim >= 0) {  // the first run: straggle until released (at most 60 s)
        ::close(claim);
        for (int i = 0; i < 6000 && ::access((base + "/release").c_str(), F_OK) != 0; ++i) {
          ::usleep(10000);
        }
      }
    }
    return 10 * x;
  }
};

TEST(Stragglers, AnIdleWorkerRerunsTheStragglerAndTheFirstResultWins) {
  if (world_size() < 3) GTEST_SKIP() << "needs two worker ranks besides the master";
  if (rankpool::testing::relaying_leaders(false) > 0) {
    // Backups go to an idle slot; a node leader's slot holds its whole node's chunks and is
    // never idle while they run (README, "Stragglers").
    GTEST_SKIP() << "stragglers are not re-run behind node leaders";
  }
  PoolOptions o;
  o.master_computes = false;  // the master must stay free to hand out the backup
  o.rerun_stragglers = true;
  with_pool(o, [](Pool& pool) {
    char dir[] = "/tmp/rankpool-straggler-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    Straggler f{};
    std::strncpy(f.dir, dir, sizeof f.dir - 1);
    auto out = pool.map(f, rankpool::range(0L, 8L), 1);
    std::ofstream(std::string(dir) + "/release") << "done\n";
    for (long i = 0; i < 8; ++i) EXPECT_EQ(out[i], 10 * i);
    std::ifstream runs(std::string(dir) + "/runs");
    int zero_runs = 0;
    for (std::string line; std::getline(runs, line);) zero_runs += line == "0";
    // The map returned while the first run of input 0 was still held: its result came from a
    // backup copy run by the idle worker.
    EXPECT_GE(zero_runs, 2);
    // The pool goes on (the late copy's result is dropped when it arrives).
    auto again = pool.map([](long x) { return x + 1; }, rankpool::range(0L, 100L), 3);
    for (long i = 0; i < 100; ++i) ASSERT_EQ(again[i], i + 1);
  });
}

}  // namespace

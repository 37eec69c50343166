// apply / apply_async / map_async / starmap_async: results, callbacks, wait, ready, timeouts.

#include <chrono>
#include <string>
#include <tuple>
#include <vector>

#include "mpi_test.hpp"

namespace {

using rankpool::Pool;
using rankpool::PoolOptions;
using rankpool::testing::spin_for_ms;
using rankpool::testing::with_pool;

int add(int a, int b) {
  return a + b;
}

TEST(Apply, ReturnsTheValue) {
  with_pool([](Pool& pool) {
    EXPECT_EQ(pool.apply(add, 2, 3), 5);
    EXPECT_EQ(pool.apply([](const std::string& s, int n) { return s.substr(0, n); },
                         std::string("rankpool"), 4),
              "rank");
    EXPECT_EQ(pool.apply([] { return 42; }), 42);
  });
}

TEST(Apply, AsyncHandles) {
  with_pool([](Pool& pool) {
    std::vector<rankpool::AsyncResult<int>> results;
    for (int i = 0; i < 40; ++i) results.push_back(pool.apply_async(add, i, 100));
    for (int i = 0; i < 40; ++i) EXPECT_EQ(results[i].get(), i + 100);
    // get() may be called again and returns the same value.
    EXPECT_EQ(results[7].get(), 107);
    EXPECT_TRUE(results[7].ready());
    EXPECT_TRUE(results[7].successful());
  });
}

TEST(Apply, WaitThenReady) {
  with_pool([](Pool& pool) {
    auto r = pool.apply_async([](int x) { return x * 3; }, 14);
    r.wait();
    EXPECT_TRUE(r.ready());
    EXPECT_EQ(r.get(), 42);
  });
}

TEST(Apply, SuccessfulBeforeReadyIsAnError) {
  with_pool([](Pool& pool) {
    auto r = pool.apply_async([] {
      spin_for_ms(300);
      return 1;
    });
    if (!r.ready()) {
      EXPECT_THROW(r.successful(), rankpool::ValueError);
    }
    EXPECT_EQ(r.get(), 1);
  });
}

TEST(Apply, GetWithTimeout) {
  with_pool([](Pool& pool) {
    // The task spins far longer than the timeout, so the timeout must expire first.
    auto slow = pool.apply_async([] {
      spin_for_ms(400);
      return 7;
    });
    EXPECT_THROW(slow.get(0.01), rankpool::TimeoutError);
    EXPECT_FALSE(slow.wait(0.0));
    EXPECT_EQ(slow.get(), 7);  // still there: a timeout does not cancel the task
    EXPECT_EQ(slow.get(5.0), 7);
    EXPECT_THROW(slow.get(-1.0), rankpool::ValueError);
  });
}

TEST(Apply, TupleFormWithCallbacks) {
  with_pool([](Pool& pool) {
    int seen = 0;
    std::string error;
    auto ok = pool.apply_async(add, std::tuple<int, int>{20, 22}, [&](const int& v) { seen = v; });
    EXPECT_EQ(ok.get(), 42);
    EXPECT_EQ(seen, 42) << "callback did not run on the master before get() returned";

    auto bad = pool.apply_async(
        [](int x) -> int { throw std::invalid_argument("bad " + std::to_string(x)); },
        std::tuple<int>{5}, {},
        [&](const rankpool::RemoteError& e) { error = e.remote_message(); });
    bad.wait();
    EXPECT_EQ(error, "bad 5");
    EXPECT_FALSE(bad.successful());
    EXPECT_THROW(bad.get(), rankpool::RemoteError);
  });
}

TEST(MapAsync, ResultsAndCallback) {
  with_pool([](Pool& pool) {
    std::vector<int> got;
    auto r = pool.map_async([](int x) { return x + 1; }, std::vector<int>{1, 2, 3, 4}, std::nullopt,
                            [&](const std::vector<int>& v) { got = v; });
    EXPECT_EQ(r.get(), (std::vector<int>{2, 3, 4, 5}));
    EXPECT_EQ(got, (std::vector<int>{2, 3, 4, 5}));
  });
}

TEST(MapAsync, InputsAreCopied) {
  with_pool([](Pool& pool) {
    auto r = [&] {
      std::vector<long> local{1, 2, 3};
      return pool.map_async([](long x) { return -x; }, local, 1);
    }();  // `local` is gone: map_async must have its own copy
    EXPECT_EQ(r.get(), (std::vector<long>{-1, -2, -3}));
  });
}

TEST(MapAsync, ManyInterleaved) {
  with_pool([](Pool& pool) {
    auto a = pool.map_async([](int x) { return x * 2; }, rankpool::range(0, 500), 7);
    auto b = pool.starmap_async([](int x, int y) { return x - y; },
                                std::vector<std::tuple<int, int>>{{5, 1}, {9, 3}});
    auto c = pool.apply_async(add, 1, 1);
    EXPECT_EQ(c.get(), 2);
    EXPECT_EQ(b.get(), (std::vector<int>{4, 6}));
    auto va = a.get();
    ASSERT_EQ(va.size(), 500u);
    for (int i = 0; i < 500; ++i) EXPECT_EQ(va[i], 2 * i);
  });
}

TEST(Apply, VoidTasksYieldNone) {
  with_pool([](Pool& pool) {
    auto r = pool.apply_async([](int) {}, 3);
    r.get();
    EXPECT_TRUE(r.successful());
    auto all = pool.map([](int) {}, rankpool::range(0, 10));
    EXPECT_EQ(all.size(), 10u);
    EXPECT_TRUE(all[0] == rankpool::None{});
  });
}

}  // namespace

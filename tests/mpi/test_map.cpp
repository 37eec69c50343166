// map / starmap: ordering, chunksize edges, input kinds, every scheduling policy.

#include <array>
#include <chrono>
#include <list>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "mpi_test.hpp"

namespace {

using rankpool::Pool;
using rankpool::PoolOptions;
using rankpool::testing::with_pool;
using rankpool::testing::world_size;

long square(long x) {
  return x * x;
}

struct Point {  // trivially copyable, no serialize: travels as raw bytes
  double x, y;
};

struct Labelled {  // needs cereal
  std::string label;
  std::vector<int> values;
  template <class A>
  void serialize(A& ar) {
    ar(label, values);
  }
};

std::vector<long> expected_squares(long n) {
  std::vector<long> v(n);
  for (long i = 0; i < n; ++i) v[i] = i * i;
  return v;
}

TEST(Map, SquaresInOrder) {
  with_pool([](Pool& pool) {
    std::vector<long> in(1000);
    std::iota(in.begin(), in.end(), 0L);
    EXPECT_EQ(pool.map(square, in), expected_squares(1000));
  });
}

TEST(Map, SeedExample) {
  with_pool([](Pool& pool) {
    std::vector<int> in{1, 2, 3, 4, 5};
    EXPECT_EQ(pool.map([](int x) { return x * x; }, in), (std::vector<int>{1, 4, 9, 16, 25}));
  });
}

TEST(Map, ChunksizeEdges) {
  with_pool([](Pool& pool) {
    for (long n : {0L, 1L, 2L, 7L, 97L, 1000L}) {
      std::vector<long> in(n);
      std::iota(in.begin(), in.end(), 0L);
      for (long cs : {1L, 2L, 3L, 7L, 1000L, 5000L}) {
        EXPECT_EQ(pool.map(square, in, cs), expected_squares(n))
            << "n=" << n << " chunksize=" << cs;
      }
      EXPECT_EQ(pool.map(square, in), expected_squares(n)) << "n=" << n << " default chunksize";
    }
  });
}

TEST(Map, InputKinds) {
  with_pool([](Pool& pool) {
    // rankpool::range, std::array, std::list (not random access), a const vector of strings.
    EXPECT_EQ(pool.map(square, rankpool::range(0L, 300L)), expected_squares(300));
    std::array<long, 4> arr{3, 1, 4, 1};
    EXPECT_EQ(pool.map(square, arr), (std::vector<long>{9, 1, 16, 1}));
    std::list<long> lst{5, 6, 7};
    EXPECT_EQ(pool.map(square, lst), (std::vector<long>{25, 36, 49}));
    const std::vector<std::string> words{"a", "bb", "", "dddd"};
    EXPECT_EQ(pool.map([](const std::string& s) { return s + s; }, words),
              (std::vector<std::string>{"aa", "bbbb", "", "dddddddd"}));
  });
}

TEST(Map, StructuredTypes) {
  with_pool([](Pool& pool) {
    std::vector<Point> pts;
    for (int i = 0; i < 50; ++i) pts.push_back({double(i), double(-i)});
    auto norms = pool.map([](const Point& p) { return Point{p.y, p.x}; }, pts, 3);
    ASSERT_EQ(norms.size(), pts.size());
    for (std::size_t i = 0; i < pts.size(); ++i) {
      EXPECT_EQ(norms[i].x, pts[i].y);
      EXPECT_EQ(norms[i].y, pts[i].x);
    }
    std::vector<Labelled> items;
    for (int i = 0; i < 20; ++i)
      items.push_back({"item" + std::to_string(i), std::vector<int>(i, i)});
    auto sums = pool.map(
        [](const Labelled& l) {
          return std::make_pair(l.label, std::accumulate(l.values.begin(), l.values.end(), 0));
        },
        items, 2);
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(sums[i].first, "item" + std::to_string(i));
      EXPECT_EQ(sums[i].second, i * i);
    }
    auto maps = pool.map(
        [](int n) {
          std::map<std::string, std::vector<double>> m;
          for (int i = 0; i < n; ++i) m["k" + std::to_string(i)] = std::vector<double>(i, 0.5);
          return m;
        },
        rankpool::range(0, 10));
    for (int n = 0; n < 10; ++n) {
      ASSERT_EQ(maps[n].size(), static_cast<std::size_t>(n));
      if (n > 0) {
        EXPECT_EQ(maps[n]["k" + std::to_string(n - 1)].size(), static_cast<std::size_t>(n - 1));
      }
    }
    auto flags = pool.map([](int x) { return x % 2 == 0; }, rankpool::range(0, 9));
    EXPECT_EQ(flags, (std::vector<bool>{true, false, true, false, true, false, true, false, true}));
  });
}

TEST(Map, CapturedStateTravelsByValue) {
  with_pool([](Pool& pool) {
    long offset = 1000;
    double scale = 0.5;
    auto out = pool.map([offset, scale](long x) { return (x + offset) * scale; },
                        rankpool::range(0L, 10L));
    for (long i = 0; i < 10; ++i) EXPECT_DOUBLE_EQ(out[i], (i + 1000) * 0.5);
  });
}

TEST(Map, Starmap) {
  with_pool([](Pool& pool) {
    std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}, {5, 6}, {7, 8}};
    EXPECT_EQ(pool.starmap([](int a, int b) { return a * b; }, pairs),
              (std::vector<int>{2, 12, 30, 56}));
    std::vector<std::tuple<std::string, int>> reps{{"ab", 2}, {"c", 3}};
    EXPECT_EQ(pool.starmap(
                  [](const std::string& s, int k) {
                    std::string out;
                    for (int i = 0; i < k; ++i) out += s;
                    return out;
                  },
                  reps),
              (std::vector<std::string>{"abab", "ccc"}));
  });
}

TEST(Map, EveryPolicy) {
  for (const char* policy : {"auto", "dynamic", "static", "guided"}) {
    PoolOptions options;
    options.schedule = policy;
    with_pool(options, [policy](Pool& pool) {
      for (long n : {0L, 1L, 5L, 1001L}) {
        EXPECT_EQ(pool.map(square, rankpool::range(0L, n)), expected_squares(n)) << policy;
        EXPECT_EQ(pool.map(square, rankpool::range(0L, n), 4), expected_squares(n)) << policy;
      }
    });
  }
}

TEST(Map, MasterOnlyDispatches) {
  if (world_size() < 2) GTEST_SKIP() << "needs a worker rank besides the master";
  PoolOptions options;
  options.master_computes = false;
  with_pool(options, [](Pool& pool) {
    EXPECT_EQ(pool.processes(), world_size() - 1 - rankpool::testing::relaying_leaders(false));
    auto ranks =
        pool.map([](int) { return rankpool::current_process().rank; }, rankpool::range(0, 64), 1);
    for (int r : ranks) EXPECT_NE(r, 0) << "the master computed although master_computes=false";
  });
}

TEST(Map, WorkSpreadsOverRanks) {
  if (world_size() < 2) GTEST_SKIP() << "needs a worker rank besides the master";
  PoolOptions options;
  options.master_computes = false;
  with_pool(options, [](Pool& pool) {
    // Tasks long enough that one rank cannot take them all before the others ask.
    auto ranks = pool.map(
        [](int) {
          rankpool::testing::spin_for_ms(5);
          return rankpool::current_process().rank;
        },
        rankpool::range(0, 8 * (world_size() - 1)), 1);
    std::set<int> seen(ranks.begin(), ranks.end());
    EXPECT_EQ(static_cast<int>(seen.size()),
              world_size() - 1 - rankpool::testing::relaying_leaders(false))
        << "not every worker got work";
  });
}

TEST(Map, FewerProcessesThanRanks) {
  PoolOptions options;
  options.processes = 1;
  with_pool(options, [](Pool& pool) {
    EXPECT_EQ(pool.processes(), 1);
    auto ranks =
        pool.map([](int) { return rankpool::current_process().rank; }, rankpool::range(0, 20));
    for (int r : ranks) EXPECT_EQ(r, 0);
  });
}

}  // namespace

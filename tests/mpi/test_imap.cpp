// imap / imap_unordered: order, completeness, laziness, endless inputs, errors, timeouts.

#include <algorithm>
#include <chrono>
#include <vector>

#include "mpi_test.hpp"

namespace {

using rankpool::Pool;
using rankpool::testing::with_pool;

long square(long x) {
  return x * x;
}

TEST(IMap, OrderedForEveryChunksize) {
  with_pool([](Pool& pool) {
    for (long cs : {1L, 2L, 5L, 64L, 1000L}) {
      std::vector<long> out;
      for (long v : pool.imap(square, rankpool::range(0L, 203L), cs)) out.push_back(v);
      ASSERT_EQ(out.size(), 203u) << "chunksize " << cs;
      for (long i = 0; i < 203; ++i) EXPECT_EQ(out[i], i * i) << "chunksize " << cs;
    }
  });
}

TEST(IMap, EmptyInput) {
  with_pool([](Pool& pool) {
    auto it = pool.imap(square, std::vector<long>{});
    EXPECT_FALSE(it.next().has_value());
    EXPECT_FALSE(it.next().has_value());
  });
}

TEST(IMap, UnorderedIsComplete) {
  with_pool([](Pool& pool) {
    std::vector<long> out;
    for (long v : pool.imap_unordered(square, rankpool::range(0L, 500L), 3)) out.push_back(v);
    std::sort(out.begin(), out.end());
    std::vector<long> want(500);
    for (long i = 0; i < 500; ++i) want[i] = i * i;
    EXPECT_EQ(out, want);
  });
}

TEST(IMap, EndlessInputStoppedEarly) {
  with_pool([](Pool& pool) {
    long taken = 0;
    for (long v : pool.imap(square, rankpool::count(0L), 4)) {
      EXPECT_EQ(v, taken * taken);
      if (++taken == 1000) break;
    }
    EXPECT_EQ(taken, 1000);
    // The pool is still healthy after the stream was abandoned with chunks in flight.
    EXPECT_EQ(pool.map(square, rankpool::range(0L, 5L)), (std::vector<long>{0, 1, 4, 9, 16}));
  });
}

// A generator input that counts how far it was pulled, to check laziness.
struct CountingRange {
  long* pulled;
  struct Sentinel {};
  struct iterator {
    using iterator_category = std::input_iterator_tag;
    using value_type = long;
    using difference_type = std::ptrdiff_t;
    using pointer = const long*;
    using reference = long;
    long* pulled;
    long v;
    long operator*() const { return v; }
    iterator& operator++() {
      ++v;
      *pulled = v;
      return *this;
    }
    friend bool operator!=(const iterator&, Sentinel) { return true; }
  };
  iterator begin() const { return iterator{pulled, 0}; }
  Sentinel end() const { return {}; }
};

TEST(IMap, PullsInputLazily) {
  with_pool([](Pool& pool) {
    long pulled = 0;
    {
      auto it = pool.imap(square, CountingRange{&pulled}, 2);
      for (int i = 0; i < 10; ++i) ASSERT_EQ(*it.next(), long(i) * i);
      // Bounded look-ahead: far fewer than "everything", never the whole (endless) input.
      long bound = 10 + 2 * 2 * 2 * pool.processes() * pool.options().window + 2;
      EXPECT_LE(pulled, bound);
    }
    long after = pulled;
    EXPECT_EQ(pool.apply(square, 3L), 9);
    EXPECT_EQ(pulled, after) << "input was pulled after the iterator was closed";
  });
}

TEST(IMap, ErrorRaisedAtItsPositionThenContinues) {
  with_pool([](Pool& pool) {
    auto f = [](int x) {
      if (x == 5) throw std::runtime_error("five");
      return x;
    };
    auto it = pool.imap(f, rankpool::range(0, 10), 1);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(*it.next(), i);
    try {
      it.next();
      ADD_FAILURE() << "expected RemoteError for input 5";
    } catch (const rankpool::RemoteError& e) {
      EXPECT_EQ(e.index(), 5u);
      EXPECT_EQ(e.remote_message(), "five");
    }
    for (int i = 6; i < 10; ++i) EXPECT_EQ(*it.next(), i);
    EXPECT_FALSE(it.next().has_value());
  });
}

TEST(IMap, NextWithTimeout) {
  with_pool([](Pool& pool) {
    auto it = pool.imap(
        [](int x) {
          rankpool::testing::spin_for_ms(400);
          return x;
        },
        rankpool::range(0, 1));
    EXPECT_THROW(it.next(0.01), rankpool::TimeoutError);
    EXPECT_EQ(*it.next(), 0);
    EXPECT_FALSE(it.next(1.0).has_value());
  });
}

TEST(IMap, BadChunksize) {
  with_pool([](Pool& pool) {
    EXPECT_THROW(pool.imap(square, rankpool::range(0L, 3L), 0), rankpool::ValueError);
    EXPECT_THROW(pool.imap_unordered(square, rankpool::range(0L, 3L), -2), rankpool::ValueError);
  });
}

}  // namespace

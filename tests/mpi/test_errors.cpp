// Exceptions in tasks, bad input, and run()'s exit codes.

#include <stdexcept>
#include <string>
#include <vector>

#include "mpi_test.hpp"

namespace {

using rankpool::Pool;
using rankpool::PoolOptions;
using rankpool::testing::with_pool;
using rankpool::testing::world_size;

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST(Errors, MapReportsFirstFailingInputInOrder) {
  with_pool([](Pool& pool) {
    auto f = [](int x) {
      if (x == 37 || x == 81) throw std::out_of_range("bad input " + std::to_string(x));
      return x;
    };
    for (long cs : {1L, 4L, 10L, 200L}) {
      try {
        pool.map(f, rankpool::range(0, 100), cs);
        ADD_FAILURE() << "map did not throw";
      } catch (const rankpool::RemoteError& e) {
        EXPECT_EQ(e.index(), 37u) << "chunksize " << cs;
        EXPECT_EQ(e.type_name(), "std::out_of_range");
        EXPECT_EQ(e.remote_message(), "bad input 37");
        EXPECT_GE(e.rank(), 0);
        EXPECT_LT(e.rank(), world_size());
        EXPECT_FALSE(e.host().empty());
        EXPECT_NE(std::string(e.what()).find("bad input 37"), std::string::npos);
      }
    }
    // The pool goes on working after a failed map.
    EXPECT_EQ(pool.map([](int x) { return x; }, rankpool::range(0, 3)),
              (std::vector<int>{0, 1, 2}));
  });
}

TEST(Errors, CustomExceptionTypeNameArrives) {
  with_pool([](Pool& pool) {
    try {
      pool.apply([](int) -> int { throw ConfigError("missing key"); }, 0);
      ADD_FAILURE() << "apply did not throw";
    } catch (const rankpool::RemoteError& e) {
      EXPECT_NE(e.type_name().find("ConfigError"), std::string::npos) << e.type_name();
      EXPECT_EQ(e.remote_message(), "missing key");
    }
  });
}

TEST(Errors, NonStdExceptionsArrive) {
  with_pool([](Pool& pool) {
    EXPECT_THROW(pool.apply([](int x) -> int { throw x; }, 3), rankpool::RemoteError);
    try {
      pool.apply([](int) -> int { throw "plain text"; }, 0);
    } catch (const rankpool::RemoteError& e) {
      EXPECT_EQ(e.remote_message(), "plain text");
    }
  });
}

TEST(Errors, OtherTasksAreNotLost) {
  with_pool([](Pool& pool) {
    std::vector<rankpool::AsyncResult<int>> rs;
    for (int i = 0; i < 30; ++i) {
      rs.push_back(pool.apply_async(
          [](int x) {
            if (x % 7 == 3) throw std::runtime_error("seven");
            return x;
          },
          i));
    }
    for (int i = 0; i < 30; ++i) {
      if (i % 7 == 3) {
        EXPECT_THROW(rs[i].get(), rankpool::RemoteError);
      } else {
        EXPECT_EQ(rs[i].get(), i);
      }
    }
  });
}

TEST(Errors, BadChunksize) {
  with_pool([](Pool& pool) {
    std::vector<int> in{1, 2, 3};
    auto id = [](int x) { return x; };
    EXPECT_THROW(pool.map(id, in, 0), rankpool::ValueError);
    EXPECT_THROW(pool.map(id, in, -1), rankpool::ValueError);
    EXPECT_THROW(pool.map_async(id, in, 0), rankpool::ValueError);
    EXPECT_EQ(pool.map(id, in, 1), in);  // still usable
  });
}

TEST(Errors, BadProcessCountEndsRunWithCode2) {
  PoolOptions zero;
  zero.processes = 0;
  with_pool(
      zero, [](Pool&) { ADD_FAILURE() << "body ran with processes=0"; },
      rankpool::exit_bad_options);
  PoolOptions too_many;
  too_many.processes = world_size() + 1;
  with_pool(
      too_many, [](Pool&) { ADD_FAILURE() << "body ran with too many processes"; },
      rankpool::exit_bad_options);
  PoolOptions bad_schedule;
  bad_schedule.schedule = "fastest";
  with_pool(
      bad_schedule, [](Pool&) { ADD_FAILURE() << "body ran with a bad schedule"; },
      rankpool::exit_bad_options);
}

TEST(Errors, MasterExceptionEndsEveryRankWithCode1) {
  with_pool(
      PoolOptions{},
      [](Pool& pool) {
        // Leave work in flight, then fail: no rank may hang.
        for (int i = 0; i < 10; ++i) pool.apply_async([](int x) { return x; }, i);
        throw std::logic_error("master gave up");
      },
      rankpool::exit_exception);
}

TEST(Errors, MasterReturnCodeReachesEveryRank) {
  int code = rankpool::run(MPI_COMM_WORLD, [](Pool&) { return 17; });
  EXPECT_EQ(code, 17);
}

}  // namespace

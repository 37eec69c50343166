// Worker status files of rankpool-run: a fixed-size line that round-trips, and anything else
// (torn, foreign, empty) reads as nothing.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "status.hpp"

namespace {

using namespace rankpool::taskfarm;

TEST(Status, LineRoundTrips) {
  StatusLine l;
  l.state = "running";
  l.rank = 7;
  l.task_id = "0123456789abcdef";
  l.task_pid = 4242;
  l.rank_pid = 77;
  l.beat = 123456789012ull;
  l.host = "node-17.cluster";
  std::string text = format_status(l);
  EXPECT_EQ(text.size(), status_line_bytes);
  auto back = parse_status(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->state, l.state);
  EXPECT_EQ(back->rank, l.rank);
  EXPECT_EQ(back->task_id, l.task_id);
  EXPECT_EQ(back->task_pid, l.task_pid);
  EXPECT_EQ(back->rank_pid, l.rank_pid);
  EXPECT_EQ(back->beat, l.beat);
  EXPECT_EQ(back->host, l.host);
}

TEST(Status, AnythingElseIsNothing) {
  StatusLine l;
  l.state = "running";
  l.rank = 1;
  l.task_id = "x";
  l.host = "h";
  std::string good = format_status(l);
  EXPECT_FALSE(parse_status(good.substr(0, 100)).has_value());  // torn
  EXPECT_FALSE(parse_status(std::string(status_line_bytes, ' ')).has_value());
  std::string foreign = good;
  foreign[0] = 'X';
  EXPECT_FALSE(parse_status(foreign).has_value());
  std::string path = std::string(::testing::TempDir()) + "rp_status_" + std::to_string(::getpid());
  EXPECT_FALSE(read_status(path).has_value());  // missing
  std::ofstream(path) << good;
  auto r = read_status(path);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->rank, 1);
  std::remove(path.c_str());
  EXPECT_EQ(status_path("/d", 3), "/d/rank-000003");
}

}  // namespace

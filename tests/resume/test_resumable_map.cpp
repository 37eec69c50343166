// resumable_map / resumable_starmap across ranks: the same vector as map, resuming from partial
// and torn journals, refusing other maps' and damaged journals, failures, options.

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <list>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include "../mpi/mpi_test.hpp"

namespace {

using rankpool::JournalError;
using rankpool::Pool;
using rankpool::ResumeOptions;
using rankpool::ResumeReport;
using rankpool::testing::with_pool;

long square(long x) {
  return x * x;
}

std::string label(int x) {
  return std::string(static_cast<std::size_t>((x % 5 + 5) % 5), '*') + std::to_string(x);
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
void spit(const std::string& p, const std::string& data) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
}

/// A fresh directory on the master (the body runs there), removed at the end of the test.
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/rankpool-resume-mpi-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    dir = tmpl;
  }
  ~TempDir() { std::system(("rm -rf " + dir).c_str()); }
  std::string path(const std::string& name) const { return dir + "/" + name; }
  std::string dir;
};

/// The byte offsets where the journal's chunk records start, and its size.
std::vector<std::size_t> record_offsets(const std::string& bytes) {
  auto scan = rankpool::detail::scan_resume_journal(bytes, "j");
  std::vector<std::size_t> offsets;
  for (auto r : scan.records)
    offsets.push_back(static_cast<std::size_t>(r.data() - bytes.data()) - 12);
  return offsets;
}

std::string journal_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const JournalError& e) {
    return e.what();
  }
  return "(no JournalError)";
}

std::vector<long> iota_longs(long n) {
  std::vector<long> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0L);
  return v;
}

TEST(Resumable, SameVectorAsMapAndAnswersFromACompleteJournal) {
  with_pool([](Pool& pool) {
    TempDir tmp;
    const auto in = iota_longs(5000);
    const auto expected = pool.map(square, in);
    ResumeOptions opt;
    opt.chunksize = 49;
    opt.sync_interval = 0;  // an fsync per record
    ResumeReport rep;
    EXPECT_EQ(rankpool::resumable_map(pool, square, in, tmp.path("sq"), opt, &rep), expected);
    EXPECT_EQ(rep.chunks, 103u);
    EXPECT_EQ(rep.chunks_computed, 103u);
    EXPECT_EQ(rep.chunks_from_journal, 0u);
    EXPECT_EQ(rep.syncs, 103u);
    // Again: nothing runs, the chunksize comes from the journal.
    ResumeReport again;
    EXPECT_EQ(rankpool::resumable_map(pool, square, in, tmp.path("sq"), {}, &again), expected);
    EXPECT_EQ(again.chunks_from_journal, 103u);
    EXPECT_EQ(again.chunks_computed, 0u);
    EXPECT_EQ(again.chunksize, 49u);
  });
}

TEST(Resumable, SerializedResultsStarmapListsAndEmptyInputs) {
  with_pool([](Pool& pool) {
    TempDir tmp;
    std::vector<int> in(777);
    std::iota(in.begin(), in.end(), -3);
    ResumeOptions by25;
    by25.chunksize = 25;
    EXPECT_EQ(rankpool::resumable_map(pool, label, in, tmp.path("labels"), by25),
              pool.map(label, in));
    EXPECT_EQ(rankpool::resumable_map(pool, label, in, tmp.path("labels")), pool.map(label, in));

    std::vector<std::tuple<int, int>> pairs;
    for (int i = 0; i < 300; ++i) pairs.emplace_back(i, i % 7);
    auto add = [](int a, int b) { return a + b; };
    ResumeOptions opt;
    opt.chunksize = 16;
    EXPECT_EQ(rankpool::resumable_starmap(pool, add, pairs, tmp.path("star"), opt),
              pool.starmap(add, pairs));

    std::list<long> listed(200, 3);
    auto odd = [](long x) { return x % 2 == 1; };
    EXPECT_EQ(rankpool::resumable_map(pool, odd, listed, tmp.path("list"), by25),
              std::vector<bool>(200, true));

    ResumeReport rep;
    EXPECT_TRUE(
        rankpool::resumable_map(pool, square, std::vector<long>{}, tmp.path("empty"), {}, &rep)
            .empty());
    EXPECT_EQ(rep.chunks, 0u);
  });
}

TEST(Resumable, ResumesFromPartialAndTornJournals) {
  with_pool([](Pool& pool) {
    TempDir tmp;
    const std::string j = tmp.path("partial");
    const auto in = iota_longs(1000);
    const auto expected = pool.map(square, in);
    ResumeOptions opt;
    opt.chunksize = 10;
    ASSERT_EQ(rankpool::resumable_map(pool, square, in, j, opt), expected);
    const std::string full = slurp(j);
    const auto offsets = record_offsets(full);
    ASSERT_EQ(offsets.size(), 100u);

    spit(j, full.substr(0, offsets[30]));  // 30 chunks journaled
    ResumeReport rep;
    EXPECT_EQ(rankpool::resumable_map(pool, square, in, j, {}, &rep), expected);
    EXPECT_EQ(rep.chunks_from_journal, 30u);
    EXPECT_EQ(rep.chunks_computed, 70u);
    EXPECT_EQ(rep.torn_bytes, 0u);

    spit(j, full.substr(0, offsets[51] - 3));  // the 51st record torn
    ResumeReport torn;
    EXPECT_EQ(rankpool::resumable_map(pool, square, in, j, {}, &torn), expected);
    EXPECT_EQ(torn.chunks_from_journal, 50u);
    EXPECT_EQ(torn.chunks_computed, 50u);
    EXPECT_EQ(torn.torn_bytes, offsets[51] - 3 - offsets[50]);
    EXPECT_EQ(record_offsets(slurp(j)).size(), 100u);
  });
}

TEST(Resumable, RefusesAnotherMapsJournalAndLeavesItAlone) {
  with_pool([](Pool& pool) {
    TempDir tmp;
    const std::string j = tmp.path("owned");
    auto in = iota_longs(500);
    ResumeOptions opt;
    opt.chunksize = 10;
    const long k = 3;
    auto times = [k](long x) { return x * k; };
    ASSERT_EQ(rankpool::resumable_map(pool, times, in, j, opt).at(7), 21);
    const std::string before = slurp(j);

    auto changed = in;
    changed[123] = -1;
    EXPECT_NE(journal_error([&] {
                rankpool::resumable_map(pool, times, changed, j);
              }).find("other inputs"),
              std::string::npos);
    EXPECT_NE(journal_error([&] {
                rankpool::resumable_map(pool, times, iota_longs(499), j);
              }).find("500 inputs, this call has 499"),
              std::string::npos);
    EXPECT_NE(journal_error([&] {
                rankpool::resumable_map(pool, square, in, j);
              }).find("another function"),
              std::string::npos);
    const long k2 = 4;
    auto times4 = [k2](long x) { return x * k2; };  // same type of lambda would differ too
    EXPECT_NE(journal_error([&] {
                rankpool::resumable_map(pool, times4, in, j);
              }).find("another function"),
              std::string::npos);
    std::vector<int> ints(500);
    EXPECT_NE(journal_error([&] { rankpool::resumable_map(pool, times, ints, j); }).find("type"),
              std::string::npos);
    ResumeOptions other_chunks;
    other_chunks.chunksize = 11;
    EXPECT_NE(journal_error([&] {
                rankpool::resumable_map(pool, times, in, j, other_chunks);
              }).find("chunksize 10"),
              std::string::npos);
    EXPECT_EQ(slurp(j), before);

    // A damaged middle record is an error, not a silent recomputation.
    const auto offsets = record_offsets(before);
    std::string damaged = before;
    damaged[offsets[20] + 20] ^= 0x10;
    spit(j, damaged);
    EXPECT_NE(journal_error([&] {
                rankpool::resumable_map(pool, times, in, j);
              }).find("is damaged: record 21"),
              std::string::npos);
    EXPECT_EQ(slurp(j), damaged);
  });
}

TEST(Resumable, FunctionIdKeepsCapturesInTheIdentity) {
  with_pool([](Pool& pool) {
    TempDir tmp;
    const std::string j = tmp.path("named");
    const auto in = iota_longs(300);
    ResumeOptions opt;
    opt.chunksize = 30;
    opt.function_id = "triple v1";
    const long k = 3;
    auto times = [k](long x) { return x * k; };
    ResumeReport rep;
    ASSERT_EQ(rankpool::resumable_map(pool, times, in, j, opt, &rep).at(100), 300);
    ResumeReport again;
    EXPECT_EQ(rankpool::resumable_map(pool, times, in, j, opt, &again).at(100), 300);
    EXPECT_EQ(again.chunks_from_journal, rep.chunks);
    const long k2 = 4;
    auto times4 = [k2](long x) { return x * k2; };
    EXPECT_NE(journal_error([&] {
                rankpool::resumable_map(pool, times4, in, j, opt);
              }).find("another function"),
              std::string::npos);
    EXPECT_NE(journal_error([&] {
                rankpool::resumable_map(pool, times, in, j);
              }).find("another function"),
              std::string::npos);
  });
}

TEST(Resumable, FirstFailingInputIsReportedAndTheOtherChunksAreJournaled) {
  with_pool([](Pool& pool) {
    TempDir tmp;
    const std::string j = tmp.path("fails");
    const auto in = iota_longs(100);
    ResumeOptions opt;
    opt.chunksize = 10;
    auto picky = [](long x) {
      if (x == 37 || x == 81) throw std::runtime_error("no " + std::to_string(x));
      return x;
    };
    try {
      rankpool::resumable_map(pool, picky, in, j, opt);
      ADD_FAILURE() << "no RemoteError";
    } catch (const rankpool::RemoteError& e) {
      EXPECT_EQ(e.index(), 37u);
      EXPECT_EQ(e.remote_message(), "no 37");
    }
    EXPECT_EQ(record_offsets(slurp(j)).size(), 8u);  // all chunks but 3 and 8
  });
}

TEST(Resumable, GroupedSyncAndBadOptions) {
  with_pool([](Pool& pool) {
    TempDir tmp;
    const auto in = iota_longs(200);
    ResumeOptions opt;
    opt.chunksize = 2;
    opt.sync_interval = 0.05;
    auto slow = [](long x) {
      rankpool::testing::spin_for_ms(1);
      return x + 1;
    };
    ResumeReport rep;
    auto got = rankpool::resumable_map(pool, slow, in, tmp.path("grouped"), opt, &rep);
    EXPECT_EQ(got, pool.map(slow, in));
    EXPECT_EQ(rep.chunks_computed, 100u);
    EXPECT_GE(rep.syncs, 1u);
    EXPECT_LE(rep.syncs, 100u);
    EXPECT_EQ(record_offsets(slurp(tmp.path("grouped"))).size(), 100u);

    ResumeOptions zero;
    zero.chunksize = 0;
    EXPECT_THROW(rankpool::resumable_map(pool, square, in, tmp.path("z"), zero),
                 rankpool::ValueError);
    ResumeOptions negative;
    negative.sync_interval = -1;
    EXPECT_THROW(rankpool::resumable_map(pool, square, in, tmp.path("z"), negative),
                 rankpool::ValueError);
    EXPECT_NE(journal_error([&] {
                rankpool::resumable_map(pool, square, in, tmp.path("no/such/dir/j"));
              }).find("no/such/dir/j"),
              std::string::npos);
  });
}

}  // namespace

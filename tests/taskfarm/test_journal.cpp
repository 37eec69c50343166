// The journal keeps every complete record, drops a torn or corrupt tail (whatever byte a crash
// stopped at), and refuses a journal that belongs to another owner.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "rankpool/detail/journal.hpp"

namespace {

using rankpool::JournalError;
using rankpool::detail::crc32;
using rankpool::detail::journal_frame;
using rankpool::detail::JournalWriter;
using rankpool::detail::read_journal;

std::string temp_path(const std::string& name) {
  return std::string(::testing::TempDir()) + "rp_journal_" + std::to_string(::getpid()) + "_" +
         name;
}
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

TEST(Journal, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);
}

TEST(Journal, RecordsRoundTripAcrossReopens) {
  std::string path = temp_path("roundtrip");
  std::remove(path.c_str());
  {
    JournalWriter w(path, "owner-a");
    w.append("one");
    w.append(std::string("two\0with nul", 12));
    w.commit();
    EXPECT_EQ(w.uncommitted(), 0u);
  }
  {
    rankpool::detail::JournalContents c;
    JournalWriter w(path, "owner-a", &c);
    EXPECT_EQ(c.records.size(), 2u);
    w.append("three");
  }  // the destructor commits
  auto c = read_journal(path);
  ASSERT_TRUE(c.exists);
  EXPECT_EQ(c.owner, "owner-a");
  ASSERT_EQ(c.records.size(), 3u);
  EXPECT_EQ(c.records[0], "one");
  EXPECT_EQ(c.records[1], std::string("two\0with nul", 12));
  EXPECT_EQ(c.records[2], "three");
  EXPECT_EQ(c.dropped_bytes, 0u);
  std::remove(path.c_str());
}

TEST(Journal, MissingFileReadsAsEmpty) {
  auto c = read_journal(temp_path("does-not-exist"));
  EXPECT_FALSE(c.exists);
  EXPECT_TRUE(c.records.empty());
}

TEST(Journal, TornTailAtEveryByteOfTheLastRecordIsDropped) {
  std::string path = temp_path("torn");
  std::remove(path.c_str());
  {
    JournalWriter w(path, "owner");
    w.append("first record");
    w.append("second record");
    w.commit();
  }
  const std::string good = slurp(path);
  const std::string last = journal_frame("the last record, torn by a crash");
  for (std::size_t cut = 0; cut < last.size(); ++cut) {
    spit(path, good + last.substr(0, cut));
    auto c = read_journal(path);
    ASSERT_EQ(c.records.size(), 2u) << "cut at byte " << cut;
    EXPECT_EQ(c.records[1], "second record");
    EXPECT_EQ(c.valid_bytes, good.size());
    EXPECT_EQ(c.dropped_bytes, cut) << "cut at byte " << cut;
    // Reopening for append cuts the tail, so the next record is readable after the good ones.
    {
      JournalWriter w(path, "owner");
      w.append("after restart");
      w.commit();
    }
    auto again = read_journal(path);
    ASSERT_EQ(again.records.size(), 3u) << "cut at byte " << cut;
    EXPECT_EQ(again.records[2], "after restart");
    EXPECT_EQ(again.dropped_bytes, 0u);
  }
  // The whole last record present: nothing is dropped.
  spit(path, good + last);
  EXPECT_EQ(read_journal(path).records.size(), 3u);
  std::remove(path.c_str());
}

TEST(Journal, CorruptChecksumDropsThatRecordAndTheRest) {
  std::string path = temp_path("corrupt");
  std::remove(path.c_str());
  {
    JournalWriter w(path, "owner");
    w.append("kept");
    w.append("flipped");
    w.append("after the flipped one");
  }
  std::string data = slurp(path);
  auto pos = data.find("flipped");
  ASSERT_NE(pos, std::string::npos);
  data[pos] = 'F';  // payload no longer matches its CRC
  spit(path, data);
  auto c = read_journal(path);
  ASSERT_EQ(c.records.size(), 1u);
  EXPECT_EQ(c.records[0], "kept");
  EXPECT_GT(c.dropped_bytes, 0u);
  std::remove(path.c_str());
}

TEST(Journal, WrongOwnerIsRefusedAndTheFileIsUntouched) {
  std::string path = temp_path("owner");
  std::remove(path.c_str());
  {
    JournalWriter w(path, "tasks-a");
    w.append("a record");
  }
  const std::string before = slurp(path);
  try {
    JournalWriter w(path, "tasks-b");
    FAIL() << "a journal of another owner was accepted";
  } catch (const JournalError& e) {
    EXPECT_NE(std::string(e.what()).find("belongs to another task list"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
  EXPECT_EQ(slurp(path), before);
  std::remove(path.c_str());
}

TEST(Journal, OnlyOneWriterAtATime) {
  std::string path = temp_path("lock");
  std::remove(path.c_str());
  JournalWriter first(path, "owner");
  first.append("from the first");
  // The second writer runs in another process, as a second rankpool-run would.
  pid_t pid = ::fork();
  if (pid == 0) {
    try {
      JournalWriter second(path, "owner");
    } catch (const JournalError& e) {
      ::_exit(std::string(e.what()).find("in use") != std::string::npos ? 0 : 2);
    }
    ::_exit(1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "a second writer was let in (or failed without saying the journal is in use): status "
      << status;
  first.commit();
  EXPECT_EQ(read_journal(path).records.size(), 1u);
  std::remove(path.c_str());
}

TEST(Journal, AFileThatIsNotAJournalIsRefusedAndUntouched) {
  std::string path = temp_path("notjournal");
  spit(path, "echo hello\necho world\n");
  EXPECT_THROW(read_journal(path), JournalError);
  EXPECT_THROW(JournalWriter(path, "owner"), JournalError);
  EXPECT_EQ(slurp(path), "echo hello\necho world\n");
  std::remove(path.c_str());
}

TEST(Journal, TornHeaderStartsAfresh) {
  std::string path = temp_path("tornheader");
  const std::string header = journal_frame("rankpool-journal 1\nowner");
  spit(path, header.substr(0, header.size() / 2));
  EXPECT_FALSE(read_journal(path).exists);
  {
    JournalWriter w(path, "owner");
    w.append("x");
  }
  auto c = read_journal(path);
  EXPECT_EQ(c.owner, "owner");
  ASSERT_EQ(c.records.size(), 1u);
  std::remove(path.c_str());
}

}  // namespace

// scan_journal reads in 1 MiB pieces: records that straddle them, and one larger than a piece,
// come back whole, and a torn tail after them is measured to the end of the file.
TEST(Journal, ScanStreamsRecordsAcrossItsBuffer) {
  std::string path = temp_path("scan");
  std::remove(path.c_str());
  std::vector<std::string> written;
  {
    JournalWriter w(path, "owner-s");
    for (int i = 0; i < 40; ++i) {
      written.push_back(std::string(70000 + 997 * i, static_cast<char>('a' + i % 26)));
      w.append(written.back());
    }
    written.push_back(std::string(3u << 20, 'z'));  // 3 MiB: more than one piece
    w.append(written.back());
  }
  const std::string whole = slurp(path);
  spit(path, whole + journal_frame("torn tail").substr(0, 15));
  std::vector<std::string> seen;
  auto c = rankpool::detail::scan_journal(path, [&](std::string_view r) { seen.emplace_back(r); });
  EXPECT_TRUE(c.exists);
  EXPECT_EQ(c.owner, "owner-s");
  EXPECT_TRUE(c.records.empty());
  EXPECT_EQ(seen, written);
  EXPECT_EQ(c.valid_bytes, whole.size());
  EXPECT_EQ(c.dropped_bytes, 15u);
  std::remove(path.c_str());
}

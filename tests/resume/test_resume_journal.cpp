// The resumable map's journal without MPI: the strict reader (torn tail vs damage), the header
// identity, chunk records, the input hash and the journal object's open / append / resume cycle.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "rankpool/detail/resume_journal.hpp"

namespace {

using rankpool::JournalError;
using namespace rankpool::detail;

MapIdentity sample_identity() {
  MapIdentity id;
  id.function = "0123456789abcdef";
  id.function_type = "PFllE";
  id.input_type = "l";
  id.result_type = "l";
  id.items = 2000;
  id.input_hash = 0xfeedface12345678ull;
  id.chunksize = 10;
  return id;
}

/// A journal image: the header, then `n` chunk records of 3 bytes of results each.
std::string journal_bytes(int n, std::vector<std::size_t>* offsets = nullptr) {
  std::string s = journal_frame("rankpool-journal 1\n" + encode_identity(sample_identity()));
  for (int i = 0; i < n; ++i) {
    if (offsets) offsets->push_back(s.size());
    const char res[3] = {'a', 'b', static_cast<char>('0' + i)};
    s += journal_frame(encode_chunk_record(static_cast<std::uint64_t>(i), 3, res, 3));
  }
  return s;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const JournalError& e) {
    return e.what();
  }
  return "";
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rankpool-resume-unit-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  static std::string slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  static void spit(const std::string& p, const std::string& data) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
  }
  std::string dir_;
};

TEST(ResumeScan, ReadsEveryIntactRecord) {
  std::string bytes = journal_bytes(5);
  ResumeScan scan = scan_resume_journal(bytes, "j");
  ASSERT_TRUE(scan.exists);
  EXPECT_EQ(scan.owner, encode_identity(sample_identity()));
  ASSERT_EQ(scan.records.size(), 5u);
  EXPECT_EQ(scan.torn_bytes, 0u);
  EXPECT_EQ(scan.valid_bytes, bytes.size());
  for (int i = 0; i < 5; ++i) {
    ChunkRecord r = decode_chunk_record(scan.records[i], "j", i + 1);
    EXPECT_EQ(r.chunk, static_cast<std::uint64_t>(i));
    EXPECT_EQ(r.count, 3u);
    EXPECT_EQ(r.results, std::string("ab") + static_cast<char>('0' + i));
  }
}

TEST(ResumeScan, EveryCutOfTheLastRecordIsATornTail) {
  std::vector<std::size_t> offsets;
  const std::string full = journal_bytes(4, &offsets);
  for (std::size_t cut = offsets.back() + 1; cut < full.size(); ++cut) {
    ResumeScan scan = scan_resume_journal(full.substr(0, cut), "j");
    EXPECT_EQ(scan.records.size(), 3u) << "cut at " << cut;
    EXPECT_EQ(scan.valid_bytes, offsets.back());
    EXPECT_EQ(scan.torn_bytes, cut - offsets.back());
  }
}

TEST(ResumeScan, AFlippedByteInTheLastRecordIsTornAnywhereElseDamage) {
  std::vector<std::size_t> offsets;
  const std::string full = journal_bytes(4, &offsets);
  for (std::size_t at = 0; at < full.size(); ++at) {
    std::string bytes = full;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x5a);
    if (at >= offsets.back()) {
      ResumeScan scan = scan_resume_journal(bytes, "j");
      EXPECT_EQ(scan.records.size(), 3u) << "flip at " << at;
      EXPECT_GT(scan.torn_bytes, 0u);
    } else {
      std::string msg = message_of([&] { scan_resume_journal(bytes, "j.journal"); });
      EXPECT_NE(msg, "") << "flip at " << at << " was accepted";
      if (at >= offsets.front()) {
        EXPECT_NE(msg.find("is damaged"), std::string::npos) << msg;
        EXPECT_NE(msg.find("j.journal"), std::string::npos) << msg;
      }
    }
  }
}

TEST(ResumeScan, ZeroFilledTailIsTorn) {
  std::string bytes = journal_bytes(2) + std::string(100, '\0');
  ResumeScan scan = scan_resume_journal(bytes, "j");
  EXPECT_EQ(scan.records.size(), 2u);
  EXPECT_EQ(scan.torn_bytes, 100u);
}

TEST(ResumeScan, EmptyOrTornHeaderIsNoJournal) {
  EXPECT_FALSE(scan_resume_journal("", "j").exists);
  std::string bytes = journal_bytes(0);
  ResumeScan scan = scan_resume_journal(bytes.substr(0, bytes.size() - 2), "j");
  EXPECT_FALSE(scan.exists);
}

TEST(ResumeScan, OtherFilesAreRefused) {
  EXPECT_NE(message_of([] {
              scan_resume_journal("hello world\n", "notes.txt");
            }).find("is not a rankpool journal"),
            std::string::npos);
  EXPECT_NE(
      message_of([] { scan_resume_journal("hi", "notes.txt"); }).find("is not a rankpool journal"),
      std::string::npos);
}

TEST(ResumeIdentity, RoundTripsAndRejectsOtherJournals) {
  MapIdentity id = sample_identity();
  MapIdentity back = parse_identity(encode_identity(id), "j");
  EXPECT_EQ(encode_identity(back), encode_identity(id));
  EXPECT_EQ(back.input_hash, id.input_hash);
  EXPECT_EQ(back.chunksize, 10u);
  EXPECT_NE(message_of([] { parse_identity("tasks.txt size 12", "j"); }).find("not a resumable"),
            std::string::npos);
  EXPECT_NE(
      message_of([] { parse_identity("rankpool-resumable-map 9\nitems=1", "j"); }).find("format"),
      std::string::npos);
  EXPECT_NE(message_of([] {
              parse_identity("rankpool-resumable-map 1\nitems=x", "j");
            }).find("malformed"),
            std::string::npos);
  EXPECT_NE(
      message_of([] { parse_identity("rankpool-resumable-map 1\nitems=1", "j"); }).find("missing"),
      std::string::npos);
}

TEST(ResumeIdentity, EachDifferenceIsNamed) {
  const MapIdentity j = sample_identity();
  struct Case {
    void (*change)(MapIdentity&);
    const char* expect;
  };
  const Case cases[] = {
      {[](MapIdentity& w) { w.function = "ffff"; }, "another function"},
      {[](MapIdentity& w) { w.function_type = "other"; }, "another function"},
      {[](MapIdentity& w) { w.input_type = "d"; }, "inputs of type"},
      {[](MapIdentity& w) { w.result_type = "d"; }, "results of type"},
      {[](MapIdentity& w) { w.items = 1999; }, "2000 inputs, this call has 1999"},
      {[](MapIdentity& w) { w.input_hash ^= 1; }, "other inputs"},
      {[](MapIdentity& w) { w.chunksize = 11; }, "chunksize 10"},
  };
  for (const Case& c : cases) {
    MapIdentity w = j;
    c.change(w);
    EXPECT_NE(message_of([&] { check_identity(j, w, "m.journal"); }).find(c.expect),
              std::string::npos)
        << c.expect;
  }
  MapIdentity any_chunksize = j;
  any_chunksize.chunksize = 0;
  EXPECT_EQ(message_of([&] { check_identity(j, any_chunksize, "m.journal"); }), "");
}

TEST(ResumeHash, IndependentOfSplitsAndSensitiveToBytes) {
  std::string data(1000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
  Hash64 whole;
  whole.update(data.data(), data.size());
  for (std::size_t a : {0, 1, 7, 8, 9, 500, 999}) {
    Hash64 split;
    split.update(data.data(), a);
    for (std::size_t i = a; i < data.size(); i += 3) {
      split.update(data.data() + i, std::min<std::size_t>(3, data.size() - i));
    }
    EXPECT_EQ(split.digest(), whole.digest()) << a;
  }
  std::string changed = data;
  changed[517] ^= 1;
  Hash64 other;
  other.update(changed.data(), changed.size());
  EXPECT_NE(other.digest(), whole.digest());
  Hash64 shorter;  // a trailing zero byte changes the hash
  shorter.update(data.data(), 999);
  Hash64 zero;
  zero.update("", 1);
  Hash64 empty;
  EXPECT_NE(zero.digest(), empty.digest());
}

TEST(ResumeRecord, ShortPayloadIsDamage) {
  EXPECT_NE(message_of([] { decode_chunk_record("short", "j", 3); }).find("record 3"),
            std::string::npos);
}

TEST(ResumeRecord, DefaultChunksizeGivesAbout1024Chunks) {
  EXPECT_EQ(default_resume_chunksize(0), 1u);
  EXPECT_EQ(default_resume_chunksize(1000), 1u);
  EXPECT_EQ(default_resume_chunksize(1025), 2u);
  EXPECT_EQ(default_resume_chunksize(1000000), 977u);
}

TEST_F(TempDir, JournalAppendsAndResumes) {
  const std::string p = path("m.journal");
  MapIdentity want = sample_identity();
  want.chunksize = 0;  // take the default for a new journal
  {
    ResumeJournal j(p, want, 0.0);
    EXPECT_EQ(j.identity().chunksize, default_resume_chunksize(2000));
    EXPECT_TRUE(j.records().empty());
    j.append(4, 2, std::vector<char>{'x', 'y'});
    j.append(1, 2, std::vector<char>{'z', 'w'});
    EXPECT_EQ(j.syncs(), 2u);  // sync_interval 0: one fsync per record
  }
  {
    ResumeJournal j(p, want, 0.0);
    ASSERT_EQ(j.records().size(), 2u);
    EXPECT_EQ(decode_chunk_record(j.records()[0], p, 1).chunk, 4u);
    EXPECT_EQ(decode_chunk_record(j.records()[1], p, 2).results, "zw");
  }
  // A torn last record is cut off, later appends follow the good ones.
  std::string bytes = slurp(p);
  spit(p, bytes.substr(0, bytes.size() - 3));
  {
    ResumeJournal j(p, want, 0.0);
    EXPECT_EQ(j.records().size(), 1u);
    EXPECT_EQ(j.torn_bytes(), std::size_t{12 + 16 + 2 - 3});
    j.append(1, 2, std::vector<char>{'q', 'q'});
  }
  const std::string contents = slurp(p);  // the scan's records point into it
  ResumeScan scan = scan_resume_journal(contents, p);
  ASSERT_EQ(scan.records.size(), 2u);
  EXPECT_EQ(scan.torn_bytes, 0u);
  EXPECT_EQ(decode_chunk_record(scan.records[1], p, 2).results, "qq");
}

TEST_F(TempDir, MismatchOrDamageLeavesTheFileAsItWas) {
  const std::string p = path("m.journal");
  MapIdentity want = sample_identity();
  {
    ResumeJournal j(p, want, 0.0);
    for (int c = 0; c < 3; ++c) j.append(c, 1, std::vector<char>{'r'});
  }
  const std::string before = slurp(p);
  MapIdentity other = want;
  other.input_hash ^= 2;
  EXPECT_NE(message_of([&] { ResumeJournal j(p, other, 0.0); }).find("other inputs"),
            std::string::npos);
  EXPECT_EQ(slurp(p), before);
  std::string damaged = before;
  damaged[damaged.size() - 40] ^= 1;  // inside record 2 of 3
  spit(p, damaged);
  EXPECT_NE(message_of([&] { ResumeJournal j(p, want, 0.0); }).find("is damaged"),
            std::string::npos);
  EXPECT_EQ(slurp(p), damaged);
}

TEST_F(TempDir, GroupedSyncWaitsForTheInterval) {
  const std::string p = path("g.journal");
  ResumeJournal j(p, sample_identity(), 3600.0);
  EXPECT_FALSE(j.seconds_until_sync().has_value());
  j.append(0, 1, std::vector<char>{'a'});
  j.append(1, 1, std::vector<char>{'b'});
  EXPECT_EQ(j.syncs(), 0u);
  ASSERT_TRUE(j.seconds_until_sync().has_value());
  EXPECT_GT(*j.seconds_until_sync(), 0.0);
  j.commit();
  EXPECT_EQ(j.syncs(), 1u);
  EXPECT_FALSE(j.seconds_until_sync().has_value());
}

TEST_F(TempDir, BackgroundThreadSyncsWrittenRecords) {
  const std::string p = path("b.journal");
  ResumeJournal j(p, sample_identity(), 0.05);
  j.append(0, 1, std::vector<char>{'a'});
  // No bound on the time is asserted (loaded machines); the sync must come eventually.
  for (int i = 0; i < 3000 && j.syncs() == 0; ++i) usleep(10000);
  EXPECT_EQ(j.syncs(), 1u);
  EXPECT_FALSE(j.seconds_until_sync().has_value());
  j.append(1, 1, std::vector<char>{'b'});
  for (int i = 0; i < 3000 && j.syncs() < 2; ++i) usleep(10000);
  EXPECT_EQ(j.syncs(), 2u);
}

TEST_F(TempDir, DirectoriesAndFifosAreRefusedWithoutHanging) {
  EXPECT_NE(
      message_of([&] { ResumeJournal j(dir_, sample_identity(), 0.0); }).find("not a regular file"),
      std::string::npos);
  const std::string fifo = path("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(
      message_of([&] { ResumeJournal j(fifo, sample_identity(), 0.0); }).find("not a regular file"),
      std::string::npos);
}

TEST_F(TempDir, TaskFarmJournalIsRefused) {
  const std::string p = path("tasks.journal");
  { JournalWriter w(p, "tasks.txt"); }
  EXPECT_NE(
      message_of([&] { ResumeJournal j(p, sample_identity(), 0.0); }).find("not a resumable map's"),
      std::string::npos);
}

}  // namespace

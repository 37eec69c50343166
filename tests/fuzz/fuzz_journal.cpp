// libFuzzer target: the journal reader (src/journal/journal.cpp) on arbitrary file bytes, and the
// writer -> reader round trip.
//
// Byte 0 picks the mode.
//  even: the rest is a journal file. read_journal either throws JournalError (not a journal, bad
//        header) or returns records whose framing re-encodes to exactly the valid prefix of the
//        file, with valid + dropped = file size. A JournalWriter reopening the file then cuts the
//        torn or corrupt tail off and appends after the last good record. scan_journal (the
//        streaming reader) agrees with read_journal on every file: same records, same verdict.
//  odd:  the rest describes a journal: byte 1 = owner length, then the owner, then records (a
//        length byte, then that many bytes). Written with JournalWriter and read back: the same
//        owner and records. Then the file is cut at one point, and (separately) one byte of it is
//        flipped: the reader returns exactly the records before that point (a flip in the header
//        record makes it throw JournalError), and never a changed record.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "rankpool/detail/journal.hpp"

namespace {

using rankpool::JournalError;
using rankpool::detail::journal_frame;
using rankpool::detail::JournalContents;
using rankpool::detail::JournalWriter;
using rankpool::detail::read_journal;
using rankpool::detail::scan_journal;

const std::string header_prefix = "rankpool-journal 1\n";

std::string encode(const std::string& owner, const std::vector<std::string>& records) {
  std::string out = journal_frame(header_prefix + owner);
  for (const auto& r : records) out += journal_frame(r);
  return out;
}

const rankpool_fuzz::ScratchFile& scratch() {
  static const rankpool_fuzz::ScratchFile file(".journal");
  return file;
}

void arbitrary_file(const std::string& data) {
  const auto& file = scratch();
  file.write(data);
  JournalContents c;
  std::vector<std::string> scanned;
  bool scan_threw = false;
  try {
    JournalContents s =
        scan_journal(file.path(), [&](std::string_view r) { scanned.emplace_back(r); });
    FUZZ_CHECK(s.records.empty());
    s.records = scanned;
    c = s;
  } catch (const JournalError&) {
    scan_threw = true;
  }
  JournalContents r;
  try {
    r = read_journal(file.path());
  } catch (const JournalError&) {
    FUZZ_CHECK(scan_threw);
    return;
  }
  FUZZ_CHECK(!scan_threw);
  FUZZ_CHECK(r.exists == c.exists && r.owner == c.owner && r.records == c.records);
  FUZZ_CHECK(r.valid_bytes == c.valid_bytes && r.dropped_bytes == c.dropped_bytes);
  FUZZ_CHECK(c.valid_bytes + c.dropped_bytes == data.size());
  if (!c.exists) {
    FUZZ_CHECK(c.valid_bytes == 0 && c.records.empty());
  } else {
    FUZZ_CHECK(encode(c.owner, c.records) == data.substr(0, c.valid_bytes));
  }
  // Reopen for appending: the tail goes, the records stay, a new record follows them.
  const std::string owner = c.exists ? c.owner : std::string("fuzz");
  {
    JournalWriter writer(file.path(), owner);
    writer.append("appended");
    writer.commit();
  }
  JournalContents after = read_journal(file.path());
  FUZZ_CHECK(after.exists && after.owner == owner && after.dropped_bytes == 0);
  std::vector<std::string> expected = c.records;
  expected.push_back("appended");
  FUZZ_CHECK(after.records == expected);
}

void round_trip(const std::string& spec) {
  std::size_t pos = 0;
  auto take = [&](std::size_t n) {
    n = std::min(n, spec.size() - pos);
    std::string s = spec.substr(pos, n);
    pos += n;
    return s;
  };
  if (spec.empty()) return;
  const std::size_t owner_len = static_cast<unsigned char>(spec[pos++]);
  const std::string owner = take(owner_len);
  std::vector<std::string> records;
  while (pos < spec.size()) {
    const std::size_t len = static_cast<unsigned char>(spec[pos++]);
    records.push_back(take(len));
  }
  const auto& file = scratch();
  file.remove();
  {
    JournalWriter writer(file.path(), owner);
    for (const auto& r : records) writer.append(r);
    writer.commit();
  }
  const std::string bytes = encode(owner, records);
  JournalContents c = read_journal(file.path());
  FUZZ_CHECK(c.exists && c.owner == owner && c.records == records);
  FUZZ_CHECK(c.valid_bytes == bytes.size() && c.dropped_bytes == 0);

  // Frame boundaries: ends[0] is the end of the header record, ends[i] that of record i.
  std::vector<std::size_t> ends{journal_frame(header_prefix + owner).size()};
  for (const auto& r : records) ends.push_back(ends.back() + journal_frame(r).size());
  const std::size_t point = bytes.size() == 0 ? 0 : (owner_len * 131 + spec.size()) % bytes.size();
  std::size_t whole = 0;  // frames entirely before `point`
  while (whole < ends.size() && ends[whole] <= point) ++whole;

  // A crash mid-append: the file ends at `point`.
  file.write(bytes.substr(0, point));
  c = read_journal(file.path());
  if (whole == 0) {
    FUZZ_CHECK(!c.exists && c.records.empty() && c.valid_bytes == 0);
  } else {
    const std::vector<std::string> kept(records.begin(), records.begin() + (whole - 1));
    FUZZ_CHECK(c.exists && c.owner == owner && c.records == kept);
    FUZZ_CHECK(c.valid_bytes == ends[whole - 1] && c.dropped_bytes == point - ends[whole - 1]);
  }

  // A corrupt byte at `point`: the records before its frame survive, nothing else.
  std::string flipped = bytes;
  flipped[point] = static_cast<char>(flipped[point] ^ 0x5a);
  file.write(flipped);
  try {
    c = read_journal(file.path());
  } catch (const JournalError&) {
    FUZZ_CHECK(whole == 0);  // only a damaged header record makes the journal unreadable
    return;
  }
  if (whole == 0) {  // a damaged length can make the header look torn: no journal yet
    FUZZ_CHECK(!c.exists && c.records.empty());
    return;
  }
  const std::vector<std::string> kept(records.begin(), records.begin() + (whole - 1));
  FUZZ_CHECK(c.exists && c.owner == owner && c.records == kept);
  FUZZ_CHECK(c.valid_bytes == ends[whole - 1]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 1) return 0;
  const std::string rest(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  if (bytes[0] % 2 == 0) {
    arbitrary_file(rest);
  } else {
    round_trip(rest);
  }
  return 0;
}

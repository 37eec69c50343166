#pragma once
// An append-only journal of records that survives crashes: every record is framed as
//
//   u32 magic "RPJ1" | u32 payload length | u32 CRC-32 of the payload | payload bytes
//
// (integers little-endian). The first record is a header naming what the journal belongs to (its
// owner, e.g. a hash of the task file's path); a journal whose header names another owner is
// refused. A reader returns every complete record whose checksum matches and stops at the first
// one that is torn (a crash mid-append) or corrupt, reporting how many bytes it dropped; a writer
// reopening such a journal first cuts that tail off, so new records follow the last good one.
// commit() makes appended records durable (fsync); callers may append several, then commit once.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "rankpool/error.hpp"

namespace rankpool {

/// A journal that cannot be read or written: it belongs to another owner, it is not a rankpool
/// journal, or a system call failed. The message names the file and what to do.
class JournalError : public Error {
 public:
  using Error::Error;
};

namespace detail {

/// CRC-32 (IEEE 802.3, the polynomial of zlib and PNG).
std::uint32_t crc32(const void* data, std::size_t size);

/// A record's payload is at most this long; a longer length field is treated as corruption.
inline constexpr std::uint32_t journal_max_record = 64u << 20;

struct JournalContents {
  bool exists = false;               // the file exists and holds a complete header
  std::string owner;                 // the header's owner
  std::vector<std::string> records;  // every valid record after the header, in order
  std::uint64_t valid_bytes = 0;     // length of the valid prefix (header included)
  std::uint64_t dropped_bytes = 0;   // bytes after it: a torn or corrupt tail
};

/// Reads a journal. A missing or empty file, or one whose header itself is torn, reads as
/// !exists. Throws JournalError when the file cannot be read or is not a rankpool journal.
JournalContents read_journal(const std::string& path);

/// As read_journal, but hands each valid record to `on_record` instead of keeping it (`records`
/// stays empty) and reads the file in pieces, so memory does not grow with the journal (one
/// record at a time, plus a 1 MiB buffer).
JournalContents scan_journal(const std::string& path,
                             const std::function<void(std::string_view)>& on_record);

/// Encodes one framed record (what the writer appends).
std::string journal_frame(std::string_view payload);

class JournalWriter {
 public:
  /// Opens `path` for appending, creating it with a header naming `owner` if it does not exist.
  /// An existing journal must name the same owner (JournalError otherwise, and the file is left
  /// as it was); a torn or corrupt tail is cut off first. `contents` receives what was read.
  JournalWriter(const std::string& path, const std::string& owner,
                JournalContents* contents = nullptr);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  /// Writes one record (one write(2) call, so a crash leaves at most a torn tail). Not yet
  /// durable: call commit().
  void append(std::string_view payload);
  /// fsyncs the file if anything was appended since the last commit.
  void commit();
  /// Records appended and not yet committed.
  std::size_t uncommitted() const { return uncommitted_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::size_t uncommitted_ = 0;
};

}  // namespace detail
}  // namespace rankpool

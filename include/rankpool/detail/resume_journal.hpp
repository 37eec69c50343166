#pragma once
// The journal of a resumable map (rankpool/resumable.hpp): the non-template half.
//
// It is a rankpool journal (rankpool/detail/journal.hpp: CRC-32 framed records, one writer at a
// time) whose header names the map (MapIdentity, as "key=value" lines) and whose every later
// record is one finished chunk:
//
//   u64 chunk index | u64 item count | the chunk's results, encoded as a task's results are
//   (raw bytes for arithmetic and trivially copyable types, a cereal stream otherwise)
//
// (integers little-endian). Reading is strict: only the *last* record may be torn (a crash
// mid-append: an incomplete frame, a final frame whose checksum fails, or a zero-filled tail);
// it is dropped and its chunk recomputed. A bad record with good bytes after it cannot come from
// a crash and is reported as damage (JournalError), never skipped.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "rankpool/detail/journal.hpp"

namespace rankpool::detail {

/// What a resumable map's journal belongs to. Resuming requires every field to match.
struct MapIdentity {
  std::string function;       // hex fingerprint of the function (see resumable.hpp)
  std::string function_type;  // the callable's type name (typeid), for messages
  std::string input_type;     // typeid names of the item and result types
  std::string result_type;
  std::uint64_t items = 0;       // number of inputs
  std::uint64_t input_hash = 0;  // hash64 of the encoded inputs, in order
  std::uint64_t chunksize = 0;   // items per record (0 in a request: take the journal's)
};

/// The header owner string of a resumable map journal.
std::string encode_identity(const MapIdentity& id);
/// Parses a header owner string. Throws JournalError naming `path` when the journal is not a
/// resumable map's (e.g. a rankpool-run journal) or its header is malformed.
MapIdentity parse_identity(std::string_view owner, const std::string& path);
/// Throws JournalError naming the first field in which `journal` (read from `path`) differs
/// from `wanted`; wanted.chunksize == 0 matches any chunksize.
void check_identity(const MapIdentity& journal, const MapIdentity& wanted, const std::string& path);

/// A fast non-cryptographic 64-bit hash of a byte stream; the result does not depend on how the
/// stream is split into update() calls.
class Hash64 {
 public:
  void update(const void* data, std::size_t size);
  std::uint64_t digest() const;

 private:
  void mix(std::uint64_t word);
  std::uint64_t state_ = 0x243F6A8885A308D3ull;
  std::uint64_t length_ = 0;
  unsigned char pending_[8] = {};
  std::size_t npending_ = 0;
};

/// What a strict read of a journal's bytes found.
struct ResumeScan {
  bool exists = false;  // a complete header was found
  std::string owner;
  std::vector<std::string_view> records;  // views into the scanned bytes
  std::uint64_t valid_bytes = 0;
  std::uint64_t torn_bytes = 0;  // a torn last record, dropped
};
/// Reads journal bytes strictly (see the top of this file). Throws JournalError, naming `path`,
/// the record and its offset, for damage that a crash cannot explain, and for a file that is
/// not a rankpool journal.
ResumeScan scan_resume_journal(std::string_view bytes, const std::string& path);

/// One chunk's record payload.
std::string encode_chunk_record(std::uint64_t chunk, std::uint64_t count, const char* results,
                                std::size_t size);
struct ChunkRecord {
  std::uint64_t chunk = 0;
  std::uint64_t count = 0;
  std::string_view results;
};
/// Throws JournalError (naming `path` and the record's position) when the payload is too short.
ChunkRecord decode_chunk_record(std::string_view payload, const std::string& path,
                                std::size_t record_number);

/// Items per chunk when neither the caller nor an existing journal says: about 1024 chunks.
std::uint64_t default_resume_chunksize(std::uint64_t items);

/// A resumable map's journal, open for appending (and locked against other writers).
class ResumeJournal {
 public:
  /// Reads `path` strictly and checks its identity against `wanted` (JournalError on damage or
  /// on a mismatch, leaving the file as it was), then opens it for appending, creating it if
  /// needed and cutting off a torn last record. wanted.chunksize == 0 takes the journal's, or
  /// the default for a new one. `sync_interval` <= 0: append() fsyncs every record before it
  /// returns; otherwise a background thread fsyncs written records at most that many seconds
  /// after they were written (the caller never waits for it).
  ResumeJournal(const std::string& path, MapIdentity wanted, double sync_interval);
  ~ResumeJournal();
  ResumeJournal(const ResumeJournal&) = delete;
  ResumeJournal& operator=(const ResumeJournal&) = delete;

  const MapIdentity& identity() const { return identity_; }
  /// The chunk records the journal held when opened, in file order.
  const std::vector<std::string>& records() const { return contents_.records; }
  std::uint64_t torn_bytes() const { return torn_bytes_; }
  const std::string& path() const { return writer_.path(); }

  /// Writes one chunk's record (one write(2): it survives a kill of the process at once) and
  /// fsyncs it, or leaves that to the background thread (see the constructor).
  void append(std::uint64_t chunk, std::uint64_t count, const std::vector<char>& results);
  /// fsyncs what was written (if anything was), now.
  void commit();
  /// Seconds until the background thread fsyncs written records; nullopt when none wait.
  std::optional<double> seconds_until_sync() const;
  /// fsync calls made for chunk records (by commit() and the background thread).
  std::uint64_t syncs() const;

 private:
  /// The strict read and the identity check; returns `wanted` with its chunksize resolved.
  static MapIdentity checked_identity(const std::string& path, MapIdentity wanted,
                                      std::uint64_t* torn);
  void sync_loop();
  void throw_if_sync_failed();
  using Clock = std::chrono::steady_clock;
  std::uint64_t torn_bytes_ = 0;  // before identity_, whose initializer sets it
  MapIdentity identity_;
  JournalContents contents_;
  JournalWriter writer_;
  double sync_interval_;
  // The background fsync (sync_interval_ > 0): its own descriptor of the file, and what it
  // shares with append() under mutex_.
  int sync_fd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::optional<Clock::time_point> oldest_unsynced_;
  int sync_errno_ = 0;
  std::uint64_t syncs_ = 0;
  std::thread syncer_;
};

}  // namespace rankpool::detail

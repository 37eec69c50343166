// The journal of a resumable map: see rankpool/detail/resume_journal.hpp for the format.

#include "rankpool/detail/resume_journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>

namespace rankpool::detail {

namespace {

constexpr char frame_magic[4] = {'R', 'P', 'J', '1'};
constexpr std::size_t frame_header = 12;
// Must match journal.cpp: the header record's payload is this prefix and then the owner.
constexpr std::string_view journal_header_prefix = "rankpool-journal 1\n";
constexpr std::string_view identity_first_line = "rankpool-resumable-map 1";
constexpr std::string_view identity_kind = "rankpool-resumable-map ";
constexpr std::size_t record_header = 16;

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
std::uint64_t get_u64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string afresh(const std::string& path) {
  return "; resuming would mix the results of two different maps. Pass another journal path, or "
         "delete " +
         path + " to start this map afresh";
}

/// Length of the intact frame at `pos`, or 0 when there is none.
std::size_t intact_frame_at(std::string_view bytes, std::size_t pos) {
  if (bytes.size() - pos < frame_header) return 0;
  if (std::memcmp(bytes.data() + pos, frame_magic, sizeof frame_magic) != 0) return 0;
  const std::uint32_t len = get_u32(bytes.data() + pos + 4);
  if (len > journal_max_record || bytes.size() - pos - frame_header < len) return 0;
  if (crc32(bytes.data() + pos + frame_header, len) != get_u32(bytes.data() + pos + 8)) return 0;
  return frame_header + len;
}

/// Offset of the first intact frame that starts after `pos`, or npos.
std::size_t next_intact_frame(std::string_view bytes, std::size_t pos) {
  const std::string_view magic(frame_magic, sizeof frame_magic);
  for (std::size_t at = bytes.find(magic, pos + 1); at != std::string_view::npos;
       at = bytes.find(magic, at + 1)) {
    if (intact_frame_at(bytes, at) != 0) return at;
  }
  return std::string_view::npos;
}

bool read_file(const std::string& path, std::string& out) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    throw JournalError("rankpool: resumable map journal " + path +
                       " cannot be opened for reading (" + std::strerror(errno) +
                       "); check the path and its permissions");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw JournalError("rankpool: resumable map journal " + path +
                       " is not a regular file (a directory, FIFO or device); pass a file path, "
                       "which is created if missing");
  }
  out.clear();
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      throw JournalError("rankpool: reading the resumable map journal " + path +
                         " failed: " + std::strerror(saved));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return true;
}

}  // namespace

// ---- identity -----------------------------------------------------------------------------------

std::string encode_identity(const MapIdentity& id) {
  std::string s(identity_first_line);
  s += "\nfunction=" + id.function;
  s += "\nfunction-type=" + id.function_type;
  s += "\ninput-type=" + id.input_type;
  s += "\nresult-type=" + id.result_type;
  s += "\nitems=" + std::to_string(id.items);
  s += "\ninput-hash=" + hex64(id.input_hash);
  s += "\nchunksize=" + std::to_string(id.chunksize);
  return s;
}

MapIdentity parse_identity(std::string_view owner, const std::string& path) {
  std::string_view first = owner.substr(0, owner.find('\n'));
  if (first.substr(0, identity_kind.size()) != identity_kind) {
    std::string shown(first.substr(0, 80));
    throw JournalError("rankpool: " + path +
                       " is a rankpool journal, but not a resumable map's (its header says \"" +
                       shown + "\"; rankpool-run writes such journals). Pass another journal path");
  }
  if (first != identity_first_line) {
    throw JournalError("rankpool: resumable map journal " + path + " has format \"" +
                       std::string(first) + "\", this build reads \"" +
                       std::string(identity_first_line) +
                       "\"; resume it with the build that wrote it, or delete it to start afresh");
  }
  MapIdentity id;
  bool seen[7] = {};
  auto bad = [&](const std::string& why) {
    return JournalError("rankpool: resumable map journal " + path + " has a malformed header (" +
                        why + "); delete it to start afresh");
  };
  auto number = [&](std::string_view v, const char* key, int base) {
    std::string text(v);
    char* end = nullptr;
    errno = 0;
    unsigned long long x = std::strtoull(text.c_str(), &end, base);
    if (text.empty() || errno != 0 || end != text.c_str() + text.size()) {
      throw bad(std::string("bad ") + key + " value \"" + text + "\"");
    }
    return static_cast<std::uint64_t>(x);
  };
  std::size_t pos = first.size();
  while (pos < owner.size()) {
    ++pos;  // the '\n'
    std::size_t end = owner.find('\n', pos);
    if (end == std::string_view::npos) end = owner.size();
    std::string_view line = owner.substr(pos, end - pos);
    pos = end;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) throw bad("a line without '='");
    std::string_view key = line.substr(0, eq);
    std::string_view value = line.substr(eq + 1);
    if (key == "function") {
      id.function = std::string(value), seen[0] = true;
    } else if (key == "function-type") {
      id.function_type = std::string(value), seen[1] = true;
    } else if (key == "input-type") {
      id.input_type = std::string(value), seen[2] = true;
    } else if (key == "result-type") {
      id.result_type = std::string(value), seen[3] = true;
    } else if (key == "items") {
      id.items = number(value, "items", 10), seen[4] = true;
    } else if (key == "input-hash") {
      id.input_hash = number(value, "input-hash", 16), seen[5] = true;
    } else if (key == "chunksize") {
      id.chunksize = number(value, "chunksize", 10), seen[6] = true;
    } else {
      throw bad("unknown key \"" + std::string(key) + "\"");
    }
  }
  if (!std::all_of(std::begin(seen), std::end(seen), [](bool b) { return b; })) {
    throw bad("a field is missing");
  }
  if (id.chunksize == 0) throw bad("chunksize 0");
  return id;
}

void check_identity(const MapIdentity& journal, const MapIdentity& wanted,
                    const std::string& path) {
  const std::string head = "rankpool: resumable map journal " + path + " was written for ";
  if (journal.function != wanted.function || journal.function_type != wanted.function_type) {
    throw JournalError(head + "another function (journal: " + journal.function_type + " #" +
                       journal.function + ", this call: " + wanted.function_type + " #" +
                       wanted.function +
                       "). A rebuilt program counts as another function unless "
                       "ResumeOptions::function_id names it" +
                       afresh(path));
  }
  if (journal.input_type != wanted.input_type) {
    throw JournalError(head + "inputs of type " + journal.input_type + ", this call's are " +
                       wanted.input_type + afresh(path));
  }
  if (journal.result_type != wanted.result_type) {
    throw JournalError(head + "results of type " + journal.result_type + ", this call's are " +
                       wanted.result_type + afresh(path));
  }
  if (journal.items != wanted.items) {
    throw JournalError(head + std::to_string(journal.items) + " inputs, this call has " +
                       std::to_string(wanted.items) + afresh(path));
  }
  if (journal.input_hash != wanted.input_hash) {
    throw JournalError(head + "other inputs: the " + std::to_string(wanted.items) +
                       " inputs hash to " + hex64(wanted.input_hash) + ", the journal's to " +
                       hex64(journal.input_hash) + afresh(path));
  }
  if (wanted.chunksize != 0 && journal.chunksize != wanted.chunksize) {
    throw JournalError("rankpool: resumable map journal " + path + " was written with chunksize " +
                       std::to_string(journal.chunksize) + ", this call asks for " +
                       std::to_string(wanted.chunksize) +
                       "; leave ResumeOptions::chunksize unset to take the journal's, or pass "
                       "another journal path");
  }
}

// ---- hashing ------------------------------------------------------------------------------------

void Hash64::mix(std::uint64_t word) {
  state_ = (state_ ^ word) * 0x9E3779B97F4A7C15ull;
  state_ ^= state_ >> 29;
}

void Hash64::update(const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  length_ += size;
  if (npending_ != 0) {  // top up the pending word first
    const std::size_t take = std::min(size, sizeof pending_ - npending_);
    std::memcpy(pending_ + npending_, p, take);
    npending_ += take;
    p += take;
    size -= take;
    if (npending_ != sizeof pending_) return;  // all of it went into the pending word
    std::uint64_t w;
    std::memcpy(&w, pending_, 8);
    mix(w);
    npending_ = 0;
  }
  for (; size >= 8; size -= 8, p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    mix(w);
  }
  std::memcpy(pending_, p, size);
  npending_ = size;
}

std::uint64_t Hash64::digest() const {
  Hash64 h = *this;
  std::uint64_t w = 0;
  std::memcpy(&w, h.pending_, h.npending_);
  h.mix(w ^ (static_cast<std::uint64_t>(h.npending_) << 56));
  h.mix(h.length_);
  std::uint64_t s = h.state_;
  s ^= s >> 33;
  s *= 0xFF51AFD7ED558CCDull;
  s ^= s >> 33;
  return s;
}

// ---- strict reading -----------------------------------------------------------------------------

ResumeScan scan_resume_journal(std::string_view bytes, const std::string& path) {
  ResumeScan scan;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const std::size_t len = intact_frame_at(bytes, pos);
    if (len == 0) {
      // A crash tears only the last record: a bad frame with an intact one after it is damage.
      const std::size_t next = next_intact_frame(bytes, pos);
      if (next == std::string_view::npos) {
        if (!scan.exists && pos == 0 &&
            std::memcmp(bytes.data(), frame_magic, std::min(bytes.size(), sizeof frame_magic)) !=
                0 &&
            bytes.find_first_not_of('\0') != std::string_view::npos) {
          throw JournalError("rankpool: " + path +
                             " is not a rankpool journal (it does not start with a journal "
                             "header); pass another journal path or move the file away");
        }
        break;  // torn tail
      }
      const std::string what = scan.exists ? "record " + std::to_string(scan.records.size() + 1)
                                           : std::string("the header record");
      throw JournalError("rankpool: resumable map journal " + path + " is damaged: " + what +
                         " at byte " + std::to_string(pos) +
                         " is corrupt, and intact records follow it from byte " +
                         std::to_string(next) +
                         " (a crash can only tear the last record). Move the file away to "
                         "recompute the map from scratch");
    }
    std::string_view payload = bytes.substr(pos + frame_header, len - frame_header);
    if (!scan.exists) {
      if (payload.substr(0, journal_header_prefix.size()) != journal_header_prefix) {
        throw JournalError("rankpool: " + path +
                           " is not a rankpool journal (unknown header); pass another journal "
                           "path or move the file away");
      }
      scan.owner = std::string(payload.substr(journal_header_prefix.size()));
      scan.exists = true;
    } else {
      scan.records.push_back(payload);
    }
    pos += len;
  }
  scan.valid_bytes = scan.exists ? pos : 0;
  scan.torn_bytes = bytes.size() - scan.valid_bytes;
  return scan;
}

// ---- chunk records ------------------------------------------------------------------------------

std::string encode_chunk_record(std::uint64_t chunk, std::uint64_t count, const char* results,
                                std::size_t size) {
  std::string out;
  out.reserve(record_header + size);
  put_u64(out, chunk);
  put_u64(out, count);
  out.append(results, size);
  return out;
}

ChunkRecord decode_chunk_record(std::string_view payload, const std::string& path,
                                std::size_t record_number) {
  if (payload.size() < record_header) {
    throw JournalError("rankpool: resumable map journal " + path + " is damaged: record " +
                       std::to_string(record_number) + " has " + std::to_string(payload.size()) +
                       " bytes, fewer than a chunk record's header. Move the file away to "
                       "recompute the map from scratch");
  }
  ChunkRecord r;
  r.chunk = get_u64(payload.data());
  r.count = get_u64(payload.data() + 8);
  r.results = payload.substr(record_header);
  return r;
}

std::uint64_t default_resume_chunksize(std::uint64_t items) {
  return std::max<std::uint64_t>(1, (items + 1023) / 1024);
}

// ---- the journal
// ----------------------------------------------------------------------------------

MapIdentity ResumeJournal::checked_identity(const std::string& path, MapIdentity wanted,
                                            std::uint64_t* torn) {
  std::string bytes;
  if (read_file(path, bytes)) {
    ResumeScan scan = scan_resume_journal(bytes, path);
    *torn = scan.torn_bytes;
    if (scan.exists) {
      MapIdentity journal = parse_identity(scan.owner, path);
      check_identity(journal, wanted, path);
      wanted.chunksize = journal.chunksize;
    }
  }
  if (wanted.chunksize == 0) wanted.chunksize = default_resume_chunksize(wanted.items);
  return wanted;
}

ResumeJournal::ResumeJournal(const std::string& path, MapIdentity wanted, double sync_interval)
    : identity_(checked_identity(path, std::move(wanted), &torn_bytes_)),
      writer_(path, encode_identity(identity_), &contents_),
      sync_interval_(sync_interval) {
  if (sync_interval_ > 0) {
    // fsync through a descriptor of our own: it flushes the file, whoever wrote it.
    sync_fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (sync_fd_ < 0) {
      throw JournalError("rankpool: resumable map journal " + path +
                         " cannot be opened for fsync (" + std::strerror(errno) + ")");
    }
    syncer_ = std::thread([this] { sync_loop(); });
  }
}

ResumeJournal::~ResumeJournal() {
  if (syncer_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    syncer_.join();
  }
  if (sync_fd_ >= 0) ::close(sync_fd_);
  // writer_'s destructor fsyncs whatever is still unsynced.
}

void ResumeJournal::sync_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || oldest_unsynced_.has_value(); });
    if (stop_) return;
    const auto due = *oldest_unsynced_ + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(sync_interval_));
    if (wake_.wait_until(lock, due, [this] { return stop_ || !oldest_unsynced_; })) {
      if (stop_) return;
      continue;  // commit() synced meanwhile
    }
    oldest_unsynced_.reset();  // records written from now on wait for the next round
    lock.unlock();
    const int rc = ::fsync(sync_fd_);
    const int err = rc == 0 ? 0 : errno;
    lock.lock();
    ++syncs_;
    if (err != 0 && sync_errno_ == 0) sync_errno_ = err;
  }
}

void ResumeJournal::throw_if_sync_failed() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (sync_errno_ != 0) {
    throw JournalError("rankpool: resumable map journal " + path() + ": fsync failed: " +
                       std::strerror(sync_errno_) + "; is the disk full or gone?");
  }
}

void ResumeJournal::append(std::uint64_t chunk, std::uint64_t count,
                           const std::vector<char>& results) {
  if (results.size() + record_header > journal_max_record) {
    throw JournalError("rankpool: chunk " + std::to_string(chunk) + " of a resumable map has " +
                       std::to_string(results.size()) +
                       " bytes of results, over the journal's limit of " +
                       std::to_string(journal_max_record) +
                       " bytes per record; pass a smaller ResumeOptions::chunksize (with a new "
                       "journal path)");
  }
  throw_if_sync_failed();
  writer_.append(encode_chunk_record(chunk, count, results.data(), results.size()));
  if (sync_interval_ <= 0) {
    commit();
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (!oldest_unsynced_) {
    oldest_unsynced_ = Clock::now();
    wake_.notify_all();
  }
}

void ResumeJournal::commit() {
  throw_if_sync_failed();
  if (writer_.uncommitted() == 0) return;
  writer_.commit();
  std::lock_guard<std::mutex> lock(mutex_);
  ++syncs_;
  oldest_unsynced_.reset();
  wake_.notify_all();
}

std::optional<double> ResumeJournal::seconds_until_sync() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!oldest_unsynced_) return std::nullopt;
  const double waited = std::chrono::duration<double>(Clock::now() - *oldest_unsynced_).count();
  return std::max(0.0, sync_interval_ - waited);
}

std::uint64_t ResumeJournal::syncs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return syncs_;
}

}  // namespace rankpool::detail

// The crash-safe journal: see rankpool/detail/journal.hpp for the format.

#include "rankpool/detail/journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace rankpool {
namespace detail {

namespace {

constexpr char magic[4] = {'R', 'P', 'J', '1'};
constexpr std::size_t frame_header = 12;
constexpr std::string_view header_prefix = "rankpool-journal 1\n";

std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}
std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string sys_error(const std::string& what, const std::string& path) {
  return "rankpool: journal " + path + ": " + what + " failed: " + std::strerror(errno);
}

void write_all(int fd, const std::string& data, const std::string& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw JournalError(sys_error("write", path) + "; is the disk full?");
    }
    done += static_cast<std::size_t>(n);
  }
}

void fsync_dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the file itself is synced
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::uint32_t crc32(const void* data, std::size_t size) {
  static const std::array<std::uint32_t, 256> table = make_crc_table();
  std::uint32_t c = 0xFFFFFFFFu;
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) c = table[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string journal_frame(std::string_view payload) {
  std::string out;
  out.reserve(frame_header + payload.size());
  out.append(magic, sizeof magic);
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  put_u32(out, crc32(payload.data(), payload.size()));
  out.append(payload.data(), payload.size());
  return out;
}

JournalContents read_journal(const std::string& path) {
  std::vector<std::string> records;
  JournalContents c =
      scan_journal(path, [&](std::string_view record) { records.emplace_back(record); });
  c.records = std::move(records);
  return c;
}

JournalContents scan_journal(const std::string& path,
                             const std::function<void(std::string_view)>& on_record) {
  JournalContents c;
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return c;
    throw JournalError(sys_error("open", path) + "; check the path and its permissions");
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    // A directory, a FIFO or a device (/dev/zero reads forever) cannot be locked, cut and
    // fsync'd as a journal must be (tests/bad_input: run_journal_device, run_journal_fifo).
    throw JournalError("rankpool: journal " + path +
                       " is not a regular file (a directory, FIFO or device); pass a file "
                       "path (--journal), which is created if missing");
  }
  // buf[start, buf.size()) holds bytes read but not yet consumed; `pos` is the file offset of
  // buf[start].
  std::string buf;
  std::size_t start = 0;
  std::uint64_t pos = 0, file_size = 0;
  bool eof = false;
  auto available = [&] { return buf.size() - start; };
  // Makes at least `want` bytes available unless the file ends first.
  auto fill = [&](std::size_t want) {
    while (!eof && available() < want) {
      if (start > 0) {
        buf.erase(0, start);
        start = 0;
      }
      std::size_t chunk = std::max<std::size_t>(want - buf.size(), std::size_t{1} << 20);
      std::size_t old = buf.size();
      buf.resize(old + chunk);
      ssize_t n = ::read(fd, &buf[old], chunk);
      if (n < 0 && errno == EINTR) {
        buf.resize(old);
        continue;
      }
      if (n < 0) throw JournalError(sys_error("read", path));
      buf.resize(old + static_cast<std::size_t>(n));
      file_size += static_cast<std::uint64_t>(n);
      if (n == 0) eof = true;
    }
    return available() >= want;
  };
  bool header_seen = false;
  for (;;) {
    if (!fill(1)) break;  // the end
    // A frame must start with the magic; a shorter tail that is a prefix of it is torn.
    fill(frame_header);
    const std::size_t cmp = std::min(available(), sizeof magic);
    if (std::memcmp(buf.data() + start, magic, cmp) != 0) {
      if (!header_seen) {
        throw JournalError("rankpool: " + path +
                           " is not a rankpool journal (it does not start with a journal "
                           "header); pass another --journal path or move the file away");
      }
      break;  // corrupt tail
    }
    if (available() < frame_header) break;  // torn frame header
    const std::uint32_t len = get_u32(buf.data() + start + 4);
    const std::uint32_t sum = get_u32(buf.data() + start + 8);
    if (len > journal_max_record) {
      if (!header_seen) {
        throw JournalError("rankpool: journal " + path +
                           " has a corrupt header (impossible record length); move it away to "
                           "start afresh");
      }
      break;
    }
    if (!fill(frame_header + len)) break;  // torn payload
    const char* payload = buf.data() + start + frame_header;
    if (crc32(payload, len) != sum) {
      if (!header_seen) {
        throw JournalError("rankpool: journal " + path +
                           " has a corrupt header (checksum mismatch); move it away to start "
                           "afresh");
      }
      break;  // corrupt record: it and everything after it are dropped
    }
    std::string_view record(payload, len);
    if (!header_seen) {
      if (record.substr(0, header_prefix.size()) != header_prefix) {
        throw JournalError("rankpool: " + path +
                           " is not a rankpool journal (unknown header); pass another --journal "
                           "path or move the file away");
      }
      c.owner = std::string(record.substr(header_prefix.size()));
      header_seen = true;
    } else {
      on_record(record);
    }
    start += frame_header + len;
    pos += frame_header + len;
  }
  // The dropped tail runs to the end of the file, read or not.
  while (!eof) {
    start = buf.size();
    fill(1);
  }
  c.exists = header_seen;
  c.valid_bytes = header_seen ? pos : 0;
  c.dropped_bytes = file_size - c.valid_bytes;
  return c;
}

JournalWriter::JournalWriter(const std::string& path, const std::string& owner,
                             JournalContents* contents)
    : path_(path) {
  // Scanned, not read: the records are not kept (a caller that wants them passes `contents`).
  auto scan = [&] {
    if (contents) return read_journal(path);
    return scan_journal(path, [](std::string_view) {});
  };
  JournalContents c = scan();
  if (c.exists && c.owner != owner) {
    throw JournalError("rankpool: journal " + path + " belongs to another task list (" + c.owner +
                       ", not " + owner +
                       "); pass --journal with a new path, or delete it to start afresh");
  }
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw JournalError(sys_error("open for writing", path) +
                       "; check that its directory exists and is writable");
  }
  try {
    // One writer at a time: two runs appending to one journal would interleave their records.
    // flock, not fcntl: an fcntl lock is dropped when the process closes any descriptor of the
    // file (as read_journal does).
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        throw JournalError("rankpool: journal " + path +
                           " is in use by another running process (it holds the file's lock); "
                           "wait for it to end, or stop it, then run again");
      }
      throw JournalError(sys_error("lock", path));
    }
    c = scan();  // again, now that no one else can write it
    if (c.exists && c.owner != owner) {
      throw JournalError("rankpool: journal " + path + " belongs to another task list (" + c.owner +
                         ", not " + owner + ")");
    }
    if (c.dropped_bytes > 0 || !c.exists) {
      if (::ftruncate(fd_, static_cast<off_t>(c.valid_bytes)) != 0) {
        throw JournalError(sys_error("truncate", path));
      }
    }
    if (::lseek(fd_, 0, SEEK_END) < 0) throw JournalError(sys_error("seek", path));
    if (!c.exists) {
      write_all(fd_, journal_frame(std::string(header_prefix) + owner), path);
      if (::fsync(fd_) != 0) throw JournalError(sys_error("fsync", path));
      fsync_dir_of(path);
      c.exists = true;
      c.owner = owner;
    } else if (c.dropped_bytes > 0) {
      if (::fsync(fd_) != 0) throw JournalError(sys_error("fsync", path));
    }
  } catch (...) {
    ::close(fd_);
    throw;
  }
  if (contents) *contents = std::move(c);
}

JournalWriter::~JournalWriter() {
  if (fd_ >= 0) {
    if (uncommitted_ > 0) ::fsync(fd_);
    ::close(fd_);
  }
}

void JournalWriter::append(std::string_view payload) {
  if (payload.size() > journal_max_record) {
    throw JournalError("rankpool: journal record of " + std::to_string(payload.size()) +
                       " bytes is over the limit; shorten the command");
  }
  write_all(fd_, journal_frame(payload), path_);
  ++uncommitted_;
}

void JournalWriter::commit() {
  if (uncommitted_ == 0) return;
  if (::fsync(fd_) != 0) throw JournalError(sys_error("fsync", path_));
  uncommitted_ = 0;
}

}  // namespace detail
}  // namespace rankpool

// Worker status files of rankpool-run (see status.hpp).

#include "status.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

namespace rankpool {
namespace taskfarm {

namespace {
constexpr const char* magic = "rankpool-run-status-1";
}

std::string status_path(const std::string& dir, int rank) {
  char name[32];
  std::snprintf(name, sizeof name, "/rank-%06d", rank);
  return dir + name;
}

std::string format_status(const StatusLine& l) {
  std::ostringstream s;
  s << magic << ' ' << l.state << ' ' << l.rank << ' ' << l.task_id << ' ' << l.task_pid << ' '
    << l.rank_pid << ' ' << l.beat << ' ' << l.host;
  std::string text = s.str();
  text.resize(status_line_bytes - 1, ' ');
  text.push_back('\n');
  return text;
}

std::optional<StatusLine> parse_status(const std::string& text) {
  if (text.size() != status_line_bytes || text.back() != '\n') return std::nullopt;
  std::istringstream s(text);
  std::string m;
  StatusLine l;
  long long task_pid = 0, rank_pid = 0;
  if (!(s >> m >> l.state >> l.rank >> l.task_id >> task_pid >> rank_pid >> l.beat >> l.host) ||
      m != magic) {
    return std::nullopt;
  }
  l.task_pid = static_cast<pid_t>(task_pid);
  l.rank_pid = static_cast<pid_t>(rank_pid);
  return l;
}

std::optional<StatusLine> read_status(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text(status_line_bytes, '\0');
  ssize_t n = ::pread(fd, text.data(), text.size(), 0);
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) return std::nullopt;
  return parse_status(text);
}

}  // namespace taskfarm
}  // namespace rankpool

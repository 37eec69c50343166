#pragma once
// Each worker rank's status file, OUTDIR/.rankpool-run/rank-<rank>: one fixed-size line, rewritten
// in place (pwrite) when the rank starts a task and every few seconds while it runs (a heartbeat,
// fdatasync'd so that it reaches a shared file system). Rank 0 reads these files to name the rank,
// host and process of each task in flight when the run stops or a rank is lost, and to notice a
// rank that is gone: its process is gone (same host), or its heartbeat stopped (any host).
// MPI-free; unit-tested in tests/taskfarm.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace rankpool {
namespace taskfarm {

/// Subdirectory of the output directory holding the status files (and the in-flight table).
inline constexpr const char* status_dir_name = ".rankpool-run";
/// Seconds between heartbeats of a rank running a task.
inline constexpr double heartbeat_seconds = 5;
/// Bytes of a status line (padded with spaces, ends in a newline).
inline constexpr std::size_t status_line_bytes = 256;

struct StatusLine {
  std::string state;  // "running"
  int rank = -1;
  std::string task_id;
  pid_t task_pid = 0;  // the task's shell (its process group)
  pid_t rank_pid = 0;
  std::uint64_t beat = 0;  // grows with every write
  std::string host;
};

std::string status_path(const std::string& dir, int rank);
/// Exactly status_line_bytes bytes.
std::string format_status(const StatusLine& line);
/// nullopt for anything that is not a whole status line.
std::optional<StatusLine> parse_status(const std::string& text);
/// Reads and parses a status file; nullopt when it is missing or unreadable.
std::optional<StatusLine> read_status(const std::string& path);

}  // namespace taskfarm
}  // namespace rankpool

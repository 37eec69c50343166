#pragma once
// rankpool-run's watchdog: a thread on every rank that ends the rank when its launcher (mpirun,
// orted, srun's step daemon) is gone, and on rank 0 also
//   - prints the progress line on a timer (done/total, failed, running = tasks in flight, rate,
//     ETA): a live line on a terminal, a status line every --status-interval seconds otherwise;
//   - when the run is told to stop (SIGTERM, SIGINT, SIGUSR1; mpirun's SIGTERM when a rank died),
//     writes the table of tasks in flight (rank, host, pid, task id, command) to stderr and to
//     OUTDIR/.rankpool-run/inflight, and fsyncs the journal, at once (mpirun sends SIGKILL a
//     second after its SIGTERM);
//   - notices a lost worker rank (its process gone on rank 0's host, or no heartbeat for
//     --lost-after seconds on any host), names it and its tasks, and ends the job (exit 4).

#include <cstddef>
#include <memory>
#include <string>

namespace rankpool {
namespace taskfarm {

/// "12.3s", "4m05s", "2h07m": durations in progress lines and summaries.
std::string fmt_seconds(double s, int decimals = 1);

/// Exit codes (README "Task farm", --help): also used by the watchdog.
enum Exit : int {
  exit_ok = 0,
  exit_failed = 1,
  exit_bad_input = 2,
  exit_interrupted = 3,
  exit_lost = 4,
};

/// Starts the watchdog thread (call once in main, before rankpool::run). It watches the
/// launcher only when the environment shows one (Open MPI, PMIx, PMI or Slurm variables).
void start_watchdog();
/// Stops and joins it (call before returning from main).
void stop_watchdog();

struct MasterConfig {
  std::string out_dir;       // status files live in out_dir/.rankpool-run
  std::string journal_path;  // fsync'd when the run stops
  double status_interval = 30;
  double lost_after = 120;  // seconds without a heartbeat; 0: only the same-host process check
  int first_worker = 1;     // ranks first_worker .. ranks-1 run tasks
  int ranks = 1;
  std::size_t total = 0;  // tasks to run
};

/// Rank 0's view of the run, shared with the watchdog thread. Create one in run_master; the
/// watchdog uses it while it exists.
class Master {
 public:
  explicit Master(const MasterConfig& config);
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  /// A task was handed to the pool.
  void issued(const std::string& id, const std::string& command);
  /// Its record came back; `recorded`: ok or failed (journaled), else interrupted or not run.
  void returned(const std::string& id, bool recorded, bool failed);
  /// Prints a line on stderr (moving the live line out of the way).
  void say(const std::string& line);
  /// The last progress line.
  void finish();

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace taskfarm
}  // namespace rankpool

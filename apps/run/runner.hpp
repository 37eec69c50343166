#pragma once
// What rankpool-run ships to the ranks: a task (TaskSpec) and what running it gave (TaskRecord),
// and run_task, which runs one task in a child process on whichever rank gets it.
//
// Each task runs as `/bin/sh -c COMMAND` in its own process group, stdin from /dev/null, stdout
// and stderr into OUTDIR/<id[0:2]>/<id>.out and .err (empty files are removed); the shell dies
// with its rank (parent-death signal SIGKILL). The rank's status file (status.hpp) names the task
// it runs. A timeout or a
// stop request kills the whole process group: SIGTERM, then SIGKILL `kill_after` seconds later.
//
// Stop requests reach a running task two ways: a signal (SIGTERM, SIGINT, SIGUSR1) delivered to
// the rank itself, or the stop file that rank 0 creates when it is signalled or halts (polled
// every 100 ms while a task runs; it lives in the output directory, which every rank must see).
//
// A task that ends by a stop-like signal (SIGTERM, SIGINT, SIGUSR1, SIGHUP, SIGKILL, or a shell's
// exit code 128 + one of them) while a stop is in effect (this rank or rank 0 got SIGTERM, SIGINT
// or SIGUSR1, or the launcher is gone) is *interrupted*, not failed: under Slurm's time limit or
// scancel every process of the job gets SIGTERM, the tasks' shells too, and such a task must run
// again on resume. When a task ends that way and no stop is known yet, run_task waits up to
// stop_settle_seconds for one to show (the signal may reach rank 0 a moment after the task).

#include <csignal>
#include <cstdint>
#include <string>

namespace rankpool {
namespace taskfarm {

struct TaskSpec {
  std::string id;
  std::string command;
  std::string out_dir;    // where the shard directories go
  std::string stop_file;  // exists while the run is stopping
  double timeout = 0;     // seconds per attempt; 0 = none
  double grace = 10;      // seconds a running task may go on after a stop request
  double kill_after = 2;  // seconds between SIGTERM and SIGKILL
  int retries = 0;        // extra attempts after a failure

  template <class Archive>
  void serialize(Archive& a) {
    a(id, command, out_dir, stop_file, timeout, grace, kill_after, retries);
  }
};

enum class TaskState : int {
  ok = 0,           // exit code 0
  failed = 1,       // non-zero exit, killed by a signal, timed out, or could not start
  interrupted = 2,  // killed because the run was stopping (by rankpool-run after --grace, or by
                    // the signal that stopped the run): not journaled, runs again on resume
  not_run = 3,      // the run was stopping before it started: runs on resume
};

struct TaskRecord {
  std::string id;
  std::string command;
  std::string host;
  std::string error;  // why it could not start, if so
  int rank = -1;
  int state = static_cast<int>(TaskState::not_run);
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the signal that ended it, or 0
  int attempts = 0;
  bool timed_out = false;
  double start = 0;  // seconds since the epoch
  double end = 0;
  double elapsed = 0;  // seconds, all attempts

  TaskState status() const { return static_cast<TaskState>(state); }

  template <class Archive>
  void serialize(Archive& a) {
    a(id, command, host, error, rank, state, exit_code, signal, attempts, timed_out, start, end,
      elapsed);
  }
};

/// Runs one task on this rank (see above).
TaskRecord run_task(TaskSpec spec);

/// Seconds run_task waits, after a task ended by a stop-like signal, for a stop to show.
inline constexpr double stop_settle_seconds = 2.0;
/// True for an end a stop can cause: killed by SIGTERM, SIGINT, SIGUSR1, SIGHUP or SIGKILL, or
/// a shell's exit code 128 + one of them (a shell that outlived its killed command).
bool ended_like_a_stop(const TaskRecord& r);

/// Installs the handlers every rank needs: SIGTERM/SIGINT/SIGUSR1 request a stop, SIGCHLD wakes
/// a waiting task. Call once, early in main.
void install_signal_handlers();
/// The signal that asked this rank to stop, or 0.
int stop_signal();
/// True while a stop caused by a signal is in effect: this rank got SIGTERM, SIGINT or SIGUSR1,
/// rank 0 did (its stop file says so), or this rank's launcher is gone. A halt alone is not one.
bool stopping_on_signal(const std::string& stop_file);
/// On rank 0: the stop file the signal handler creates (so other ranks learn of the stop).
void set_stop_file(const std::string& path);
/// On rank 0: halt now (kill running tasks) or soon (let them finish) without a signal.
void request_halt(bool now);
/// True when no more tasks may start (a signal, or a halt).
bool stop_issuing();
/// Kills the process group of the task this rank is running, if any (async-signal-safe; for the
/// watchdog that ends a rank whose launcher is gone).
void kill_running_task();

}  // namespace taskfarm
}  // namespace rankpool

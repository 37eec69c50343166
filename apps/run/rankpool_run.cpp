// rankpool-run: a task farm for shell commands on the pool. See `rankpool-run --help` and the
// README section "Task farm: rankpool-run".
//
//   mpirun -n 4 rankpool-run tasks.txt
//   mpirun -n 4 rankpool-run --template 'simulate --n {n} --seed {seed}' --params sweep.csv
//
// Rank 0 reads the task file and the journal, issues every task not yet completed through
// imap_unordered (chunksize 1, so the memory in use is bounded whatever the number of tasks),
// and appends each task's record to the journal as it arrives, fsync'd in batches (at most every
// 50 ms or 256 records, and always before exiting). Every rank, rank 0 included, runs tasks.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "monitor.hpp"
#include "number_check.hpp"
#include "rankpool/detail/journal.hpp"
#include "rankpool/rankpool.hpp"
#include "runner.hpp"
#include "taskfile.hpp"
#include "version_flag.hpp"

namespace {

using namespace rankpool::taskfarm;

struct Config {
  std::string task_file;
  std::string templ;
  std::string params;
  std::string journal;
  std::string output_dir;
  std::string results;
  std::string halt = "never";
  int retries = 0;
  double timeout = 0;
  double grace = 10;
  double kill_after = 2;
  double status_interval = 30;
  double lost_after = 120;
  bool retry_failed = false;
  bool resume = true;
  bool dry_run = false;
};

const char* exit_codes_text =
    "Exit codes:\n"
    "  0  every task has completed successfully (in this run or an earlier one)\n"
    "  1  some tasks failed (or a --halt policy stopped the run); see the summary\n"
    "  2  bad input: options, task file, parameter file, journal or output directory; nothing\n"
    "     was run and the journal was not changed\n"
    "  3  interrupted by SIGTERM, SIGINT or SIGUSR1: running tasks got --grace seconds, the rest\n"
    "     were killed; run the same command again to resume. A task killed by the stop (after\n"
    "     --grace, or by the signal itself: SIGTERM, SIGINT, SIGUSR1, SIGHUP, SIGKILL, or exit\n"
    "     128+those) is interrupted, not failed: not journaled, it runs again on resume\n"
    "  4  a rank was lost (its process died, or its heartbeat stopped for --lost-after\n"
    "     seconds) or the launcher is gone: the tasks in flight are listed (and in\n"
    "     OUTDIR/.rankpool-run/inflight); run the same command again to resume. (When mpirun\n"
    "     itself ends the job because a rank died, its exit code is mpirun's, e.g. 137.)\n";

using rankpool_apps::number_check;  // apps/common/number_check.hpp

void build_cli(CLI::App& app, Config& c) {
  app.description(
      "Runs each command of TASKFILE (one per line; empty lines and lines starting with # are "
      "skipped) with /bin/sh -c on the ranks of the MPI job, as many at once as there are ranks. "
      "Completed tasks are recorded in a journal (default TASKFILE.journal) and skipped when the "
      "same command runs again, so a killed or interrupted run resumes where it stopped. A task "
      "is known by its command text and occurrence, so editing the file keeps done tasks done. "
      "Output: OUTDIR/<id[0:2]>/<id>.out and .err (empty ones removed). Tasks should be "
      "idempotent: one that was running when the job was killed runs again.");
  app.add_option("TASKFILE", c.task_file, "file of shell commands, one per line");
  app.add_option("--template", c.templ,
                 "command template with {name} placeholders, filled from each row of --params "
                 "(values single-quoted for the shell); {{ and }} are literal braces");
  app.add_option("--params", c.params,
                 "parameter rows for --template: FILE.csv (header row names the columns) or "
                 "FILE.jsonl (one JSON object per line)");
  app.add_option("--journal", c.journal, "journal path (default: TASKFILE.journal)");
  app.add_option("--output-dir", c.output_dir,
                 "where task output goes (default: TASKFILE.out); must be visible to all ranks");
  app.add_option("--results", c.results,
                 "write every task record of this run as JSON lines; status ok, failed, or "
                 "interrupted (killed by a stop: by --grace running out, or by the stop signal "
                 "itself, e.g. Slurm's SIGTERM to every process; not journaled, runs on resume)");
  app.add_option("--retries", c.retries, "run a failing task up to N more times (default 0)")
      ->check(number_check(false));
  app.add_option("--timeout", c.timeout,
                 "kill a task's process group after SECONDS per attempt (default: none)")
      ->check(number_check(false));
  app.add_option("--grace", c.grace,
                 "on SIGTERM/SIGINT/SIGUSR1, seconds running tasks may go on (default 10)")
      ->check(number_check(false));
  app.add_option("--kill-after", c.kill_after,
                 "seconds from SIGTERM to SIGKILL when a task is killed (default 2)")
      ->check(number_check(false));
  app.add_option("--halt", c.halt,
                 "stop on failures: never (default), now,fail=K | soon,fail=K | now,fail=P% | "
                 "soon,fail=P% (now kills running tasks, soon lets them finish)");
  app.add_flag("--resume", c.resume, "skip tasks the journal records as done (the default)");
  app.add_flag("--retry-failed", c.retry_failed, "also rerun tasks the journal records as failed");
  app.add_flag("--dry-run", c.dry_run, "print the tasks that would run, run nothing");
  app.add_option("--status-interval", c.status_interval,
                 "seconds between status lines when stderr is not a terminal (default 30)")
      ->check(number_check(true));
  app.add_option("--lost-after", c.lost_after,
                 "a rank running a task whose heartbeat stops for SECONDS is lost: the job ends "
                 "(exit 4) naming it and its tasks (default 120; 0: off; a rank whose process is "
                 "gone on rank 0's host is lost at once)")
      ->check(number_check(false));
  app.footer(std::string(exit_codes_text) +
             "\nRank options (--rankpool-*) are rankpool's; see --rankpool-help.\n");
}

struct HaltPolicy {
  bool enabled = false;
  bool now = false;
  bool percent = false;
  double threshold = 0;
};

HaltPolicy parse_halt(const std::string& text) {
  HaltPolicy h;
  if (text == "never" || text.empty()) return h;
  auto bad = [&] {
    return InputError("rankpool-run: bad --halt '" + text +
                      "'; use never, now,fail=K, soon,fail=K, now,fail=P% or soon,fail=P%");
  };
  auto comma = text.find(',');
  if (comma == std::string::npos) throw bad();
  std::string when = text.substr(0, comma), rule = text.substr(comma + 1);
  if (when != "now" && when != "soon") throw bad();
  if (rule.rfind("fail=", 0) != 0) throw bad();
  std::string value = rule.substr(5);
  h.enabled = true;
  h.now = when == "now";
  if (!value.empty() && value.back() == '%') {
    h.percent = true;
    value.pop_back();
  }
  char* end = nullptr;
  h.threshold = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(h.threshold > 0) || (h.percent && h.threshold > 100)) {
    throw bad();
  }
  return h;
}

std::string absolute(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf)) return buf;
  return path;
}

std::string describe_end(const TaskRecord& r) {
  if (!r.error.empty()) return r.error;
  std::string s;
  if (r.timed_out) s = "timed out, ";
  if (r.signal)
    return s + "killed by signal " + std::to_string(r.signal) + " (" +
           std::string(strsignal(r.signal)) + ")";
  return s + "exit " + std::to_string(r.exit_code);
}

nlohmann::json to_json(const TaskRecord& r) {
  nlohmann::json j = {{"id", r.id},
                      {"command", r.command},
                      {"status", r.status() == TaskState::ok       ? "ok"
                                 : r.status() == TaskState::failed ? "failed"
                                                                   : "interrupted"},
                      {"rank", r.rank},
                      {"host", r.host},
                      {"start", r.start},
                      {"end", r.end},
                      {"elapsed", r.elapsed},
                      {"attempts", r.attempts}};
  if (r.signal) {
    j["signal"] = r.signal;
  } else {
    j["exit"] = r.exit_code;
  }
  if (r.timed_out) j["timed_out"] = true;
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

/// What the journal records as finished: a sorted array of (task id as a 64-bit number, ok),
/// 16 bytes per task, the last record of a task winning. Commands are not kept.
class DoneSet {
 public:
  void add(const std::string& id_hex, bool ok) {
    std::uint64_t id = 0;
    if (parse_id(id_hex, id)) entries_.push_back({id, ok});
  }
  void seal() {
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const Entry& a, const Entry& b) { return a.id < b.id; });
    // Keep the last record of each id (stable sort: the last is the latest).
    std::vector<Entry> out;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (i + 1 < entries_.size() && entries_[i + 1].id == entries_[i].id) continue;
      out.push_back(entries_[i]);
    }
    entries_.swap(out);
    entries_.shrink_to_fit();
  }
  /// 0: not finished before, 1: ok, 2: failed.
  int find(const std::string& id_hex) const {
    std::uint64_t id = 0;
    if (!parse_id(id_hex, id)) return 0;
    auto it = std::lower_bound(entries_.begin(), entries_.end(), id,
                               [](const Entry& e, std::uint64_t v) { return e.id < v; });
    if (it == entries_.end() || it->id != id) return 0;
    return it->ok ? 1 : 2;
  }

 private:
  struct Entry {
    std::uint64_t id;
    bool ok;
  };
  static bool parse_id(const std::string& hex, std::uint64_t& out) {
    if (hex.size() != 16) return false;
    char* end = nullptr;
    out = std::strtoull(hex.c_str(), &end, 16);
    return end == hex.c_str() + hex.size();
  }
  std::vector<Entry> entries_;
};

/// Calls on_task for every task of the input (task file or template sweep), streaming.
using TaskSource = std::function<void(const std::function<void(Task&&)>&)>;

/// The tasks still to run, read by a thread from the task source and handed over through a
/// bounded queue: rank 0 holds a few hundred tasks at a time, whatever the number of tasks.
class TaskProducer {
 public:
  TaskProducer(TaskSource source, std::function<bool(const Task&)> wanted)
      : thread_([this, source = std::move(source), wanted = std::move(wanted)] {
          try {
            source([&](Task&& t) {
              if (!wanted(t)) return;
              std::unique_lock<std::mutex> lock(mu_);
              room_.wait(lock, [&] { return queue_.size() < capacity || cancel_; });
              if (cancel_) throw Cancelled{};
              queue_.push_back(std::move(t));
              ready_.notify_one();
            });
          } catch (const Cancelled&) {
          } catch (...) {
            std::lock_guard<std::mutex> lock(mu_);
            error_ = std::current_exception();
          }
          std::lock_guard<std::mutex> lock(mu_);
          finished_ = true;
          ready_.notify_one();
        }) {}
  ~TaskProducer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancel_ = true;
      room_.notify_one();
    }
    thread_.join();
  }
  TaskProducer(const TaskProducer&) = delete;
  TaskProducer& operator=(const TaskProducer&) = delete;

  /// The next task, or nullopt at the end; rethrows what the reader threw.
  std::optional<Task> next() {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [&] { return !queue_.empty() || finished_; });
    if (queue_.empty()) {
      if (error_) std::rethrow_exception(error_);
      return std::nullopt;
    }
    Task t = std::move(queue_.front());
    queue_.pop_front();
    // The reader refills in batches: one wake-up per capacity/2 tasks, not one per task.
    if (queue_.size() == capacity / 2) room_.notify_one();
    return t;
  }

 private:
  struct Cancelled {};
  static constexpr std::size_t capacity = 256;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<Task> queue_;
  bool finished_ = false, cancel_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts once the rest is built
};

/// The not-yet-completed tasks as a lazy range of TaskSpecs. It ends early once the run must stop
/// issuing (a signal or a halt), which is how imap_unordered is told to stop.
class PendingRange {
 public:
  PendingRange(TaskProducer* producer, const TaskSpec* base, Master* master)
      : producer_(producer), base_(base), master_(master) {}

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = TaskSpec;
    using difference_type = std::ptrdiff_t;
    using pointer = const TaskSpec*;
    using reference = TaskSpec;

    iterator() = default;
    explicit iterator(PendingRange* r) : r_(r) {}
    TaskSpec operator*() const {
      const Task& t = *r_->peek();
      TaskSpec s = *r_->base_;
      s.id = t.id;
      s.command = t.command;
      r_->master_->issued(t.id, t.command);
      return s;
    }
    iterator& operator++() {
      r_->current_.reset();
      return *this;
    }
    friend bool operator==(const iterator& a, const iterator& b) { return a.done() == b.done(); }
    friend bool operator!=(const iterator& a, const iterator& b) { return !(a == b); }

   private:
    bool done() const { return !r_ || stop_issuing() || !r_->peek(); }
    PendingRange* r_ = nullptr;
  };

  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  const std::optional<Task>& peek() {
    if (!current_ && !ended_) {
      current_ = producer_->next();
      ended_ = !current_;
    }
    return current_;
  }
  TaskProducer* producer_;
  const TaskSpec* base_;
  Master* master_;
  std::optional<Task> current_;
  bool ended_ = false;
};

void ensure_writable_dir(const std::string& dir, const char* what) {
  // mkdir -p
  std::string partial;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      throw InputError("rankpool-run: cannot create the " + std::string(what) + " " + dir + " (" +
                       partial + ": " + std::strerror(errno) +
                       "); pass a writable one with --output-dir");
    }
  }
  std::string probe = dir + "/.rankpool-run.probe." + std::to_string(::getpid());
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw InputError("rankpool-run: the " + std::string(what) + " " + dir + " is not writable (" +
                     std::strerror(errno) + "); pass a writable one with --output-dir");
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

int run_master(rankpool::Pool& pool, const Config& cfg, bool master_computes) {
  // ---- input: everything is checked before anything is written ------------------------------
  HaltPolicy halt = parse_halt(cfg.halt);
  TaskSource tasks;
  std::string source;
  if (!cfg.templ.empty() || !cfg.params.empty()) {
    if (cfg.templ.empty() || cfg.params.empty()) {
      throw InputError("rankpool-run: --template and --params go together; give both");
    }
    if (!cfg.task_file.empty()) {
      throw InputError("rankpool-run: give either TASKFILE or --template with --params, not both");
    }
    tasks = [templ = cfg.templ, params = cfg.params](const std::function<void(Task &&)>& f) {
      for_each_template_task(templ, params, f);
    };
    source = cfg.params;
  } else {
    if (cfg.task_file.empty()) {
      throw InputError(
          "rankpool-run: no task file; usage: rankpool-run TASKFILE [options] (see "
          "--help)");
    }
    tasks = [path = cfg.task_file](const std::function<void(Task &&)>& f) {
      for_each_task(path, f);
    };
    source = cfg.task_file;
  }
  const std::string source_abs = absolute(source);
  char owner_hash[17];
  std::snprintf(owner_hash, sizeof owner_hash, "%016llx",
                static_cast<unsigned long long>(fnv1a64(source_abs)));
  const std::string owner = std::string("source ") + owner_hash + " " + source_abs;
  const std::string journal_path = cfg.journal.empty() ? source + ".journal" : cfg.journal;
  const std::string out_dir = cfg.output_dir.empty() ? source + ".out" : cfg.output_dir;

  // The journal, one record at a time: only the ids and outcomes are kept (DoneSet).
  // Errors in the input are reported before those of the journal.
  DoneSet done_before;
  std::exception_ptr journal_error;
  rankpool::detail::JournalContents previous;
  try {
    previous = rankpool::detail::scan_journal(journal_path, [&](std::string_view rec) {
      try {
        auto j = nlohmann::json::parse(rec);
        done_before.add(j.at("id").get<std::string>(), j.at("status").get<std::string>() == "ok");
      } catch (const nlohmann::json::exception&) {
        // a record this version cannot read: ignored, the task runs again
      }
    });
    if (previous.exists && previous.owner != owner) {
      throw rankpool::JournalError(
          "rankpool-run: journal " + journal_path + " belongs to another task file (" +
          previous.owner + "); pass --journal with a new path, or delete it to start afresh");
    }
  } catch (const rankpool::JournalError&) {
    journal_error = std::current_exception();
    done_before = DoneSet();
  }
  done_before.seal();
  auto wanted = [&done_before, retry = cfg.retry_failed](const Task& t) {
    int before = done_before.find(t.id);
    return before == 0 || (before == 2 && retry);
  };
  // A first pass over the input checks all of it and counts (nothing is kept); a second pass,
  // while the tasks run, issues them.
  std::size_t total = 0, already_ok = 0, already_failed = 0;
  tasks([&](Task&& t) {
    int before = done_before.find(t.id);
    if (before == 1) {
      ++already_ok;
    } else if (before == 2 && !cfg.retry_failed) {
      ++already_failed;
    } else {
      ++total;
      if (cfg.dry_run && !journal_error) std::printf("%s\t%s\n", t.id.c_str(), t.command.c_str());
    }
  });
  if (journal_error) std::rethrow_exception(journal_error);

  if (cfg.dry_run) {
    std::fprintf(stderr,
                 "rankpool-run: dry run: %zu tasks would run (%zu done before, %zu failed before "
                 "and kept; --retry-failed reruns them)\n",
                 total, already_ok, already_failed);
    return exit_ok;
  }

  ensure_writable_dir(out_dir, "output directory");
  std::FILE* results = nullptr;
  if (!cfg.results.empty()) {
    results = std::fopen(cfg.results.c_str(), "w");
    if (!results) {
      throw InputError("rankpool-run: cannot write --results " + cfg.results + ": " +
                       std::strerror(errno));
    }
  }
  std::unique_ptr<rankpool::detail::JournalWriter> journal;
  try {
    journal = std::make_unique<rankpool::detail::JournalWriter>(journal_path, owner);
  } catch (...) {
    if (results) std::fclose(results);
    throw;
  }
  if (previous.dropped_bytes > 0) {
    std::fprintf(stderr,
                 "rankpool-run: note: dropped a torn or corrupt tail of %llu bytes from %s (a "
                 "crash mid-write); the tasks it held run again\n",
                 static_cast<unsigned long long>(previous.dropped_bytes), journal_path.c_str());
  }

  // ---- run ------------------------------------------------------------------------------------
  const std::string stop_file = out_dir + "/.rankpool-run.stop";
  set_stop_file(stop_file);
  TaskSpec base;
  base.out_dir = out_dir;
  base.stop_file = stop_file;
  base.timeout = cfg.timeout;
  base.grace = cfg.grace;
  base.kill_after = cfg.kill_after;
  base.retries = cfg.retries;

  MasterConfig mc;
  mc.out_dir = out_dir;
  mc.journal_path = journal_path;
  mc.status_interval = cfg.status_interval;
  mc.lost_after = cfg.lost_after;
  mc.first_worker = master_computes ? 0 : 1;
  mc.ranks = mc.first_worker + pool.processes();
  mc.total = total;
  Master master(mc);

  std::size_t finished = 0, ok = 0, failed = 0, interrupted = 0;
  std::vector<TaskRecord> slowest;   // the 5 slowest, slowest first
  std::vector<TaskRecord> failures;  // the first 20
  std::vector<TaskRecord> stopped;   // the first 20 interrupted
  bool halted = false;
  using Clock = std::chrono::steady_clock;
  auto last_commit = Clock::now();

  std::fprintf(stderr,
               "rankpool-run: %zu tasks to run on %d processes (%zu done before, %zu failed "
               "before%s); journal %s, output %s\n",
               total, pool.processes(), already_ok, already_failed,
               cfg.retry_failed ? ", rerun" : " and kept", journal_path.c_str(), out_dir.c_str());
  TaskProducer producer(tasks, wanted);
  PendingRange range(&producer, &base, &master);
  for (TaskRecord r : pool.imap_unordered(rankpool::taskfarm::run_task, range, 1)) {
    // Killed by the signal that stopped the run, which reached rank 0 after the task's rank had
    // settled on failed (run_task waits stop_settle_seconds): interrupted all the same.
    if (r.status() == TaskState::failed && stop_signal() != 0 && ended_like_a_stop(r)) {
      r.state = static_cast<int>(TaskState::interrupted);
    }
    const bool recorded = r.status() == TaskState::ok || r.status() == TaskState::failed;
    if (r.status() == TaskState::interrupted) {
      ++interrupted;
      if (stopped.size() < 20) stopped.push_back(r);
      if (results) std::fprintf(results, "%s\n", to_json(r).dump().c_str());
    }
    if (recorded) {
      const std::string line = to_json(r).dump();
      journal->append(line);
      ++finished;
      if (r.status() == TaskState::ok) {
        ++ok;
      } else {
        ++failed;
        if (failures.size() < 20) failures.push_back(r);
      }
      if (results) std::fprintf(results, "%s\n", line.c_str());
      if (slowest.size() < 5 || r.elapsed > slowest.back().elapsed) {
        slowest.push_back(r);
        std::sort(slowest.begin(), slowest.end(),
                  [](const TaskRecord& a, const TaskRecord& b) { return a.elapsed > b.elapsed; });
        if (slowest.size() > 5) slowest.pop_back();
      }
    }
    // Recorded (written) before it leaves the in-flight table.
    master.returned(r.id, recorded, r.status() == TaskState::failed);
    if (!recorded) continue;
    auto now = Clock::now();
    if (journal->uncommitted() >= 256 || now - last_commit >= std::chrono::milliseconds(50)) {
      journal->commit();
      last_commit = now;
    }
    if (halt.enabled && !halted && r.status() == TaskState::failed) {
      bool trip = halt.percent
                      ? (finished >= 3 && 100.0 * static_cast<double>(failed) >=
                                              halt.threshold * static_cast<double>(finished))
                      : static_cast<double>(failed) >= halt.threshold;
      if (trip) {
        halted = true;
        char line[200];
        std::snprintf(
            line, sizeof line, "rankpool-run: halting (%s): %zu of %zu finished tasks failed",
            halt.now ? "now: killing running tasks" : "soon: letting running tasks finish", failed,
            finished);
        master.say(line);
        request_halt(halt.now);
      }
    }
  }
  journal->commit();
  journal.reset();
  if (results) std::fclose(results);
  ::unlink(stop_file.c_str());
  master.finish();

  // ---- summary --------------------------------------------------------------------------------
  const std::size_t not_run = total - finished;
  const int sig = stop_signal();
  std::fprintf(stderr,
               "rankpool-run: %zu ok, %zu failed, %zu not run (%zu interrupted) of %zu; "
               "%zu done and %zu failed before\n",
               ok, failed, not_run, interrupted, total, already_ok, already_failed);
  if (!slowest.empty()) {
    std::fprintf(stderr, "rankpool-run: slowest:");
    for (const auto& r : slowest) {
      std::fprintf(stderr, "\n  %s  %s  %s", fmt_seconds(r.elapsed, 2).c_str(), r.id.c_str(),
                   r.command.substr(0, 100).c_str());
    }
    std::fprintf(stderr, "\n");
  }
  if (!failures.empty()) {
    std::fprintf(stderr, "rankpool-run: failed (output in %s/<id[0:2]>/<id>.err):\n",
                 out_dir.c_str());
    for (const auto& r : failures) {
      std::fprintf(stderr, "  %s  %s on rank %d (%s), %d attempt%s: %s\n", r.id.c_str(),
                   describe_end(r).c_str(), r.rank, r.host.c_str(), r.attempts,
                   r.attempts == 1 ? "" : "s", r.command.substr(0, 200).c_str());
    }
    if (failed > failures.size()) {
      std::fprintf(stderr, "  ... and %zu more (see the journal or --results)\n",
                   failed - failures.size());
    }
  }
  if (!stopped.empty()) {
    std::fprintf(stderr,
                 "rankpool-run: interrupted (killed by the stop, not journaled; they run again on "
                 "resume):\n");
    for (const auto& r : stopped) {
      std::fprintf(stderr, "  %s  %s on rank %d (%s): %s\n", r.id.c_str(), describe_end(r).c_str(),
                   r.rank, r.host.c_str(), r.command.substr(0, 200).c_str());
    }
    if (interrupted > stopped.size()) {
      std::fprintf(stderr, "  ... and %zu more\n", interrupted - stopped.size());
    }
  }
  if (sig) {
    std::fprintf(stderr,
                 "rankpool-run: interrupted by signal %d (%s): %zu tasks not run; run the same "
                 "command again to resume\n",
                 sig, strsignal(sig), not_run);
    return exit_interrupted;
  }
  if (halted || failed > 0 || already_failed > 0) return exit_failed;
  return exit_ok;
}

/// Drops rankpool's own --rankpool-* options (rankpool::run reads them) from what CLI11 parses.
std::vector<std::string> own_args(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--rankpool-", 0) == 0) {
      bool takes_value = a.find('=') == std::string::npos && a != "--rankpool-help" &&
                         a != "--rankpool-version" && a != "--rankpool-report-binding";
      if (takes_value && i + 1 < argc) ++i;
      continue;
    }
    args.push_back(std::move(a));
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-run")) return 0;
  Config cfg;
  CLI::App app("rankpool-run");
  build_cli(app, cfg);
  std::string cli_error;
  try {
    auto args = own_args(argc, argv);
    std::reverse(args.begin(), args.end());
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    cli_error = std::string("rankpool-run: ") + e.what() + " (see rankpool-run --help)";
  }
  install_signal_handlers();
  start_watchdog();
  struct StopWatchdog {
    ~StopWatchdog() { stop_watchdog(); }
  } stop_watchdog_at_exit;
  // Rank 0 only coordinates (when there are other ranks): it must see each result as it arrives
  // to journal it, halt on failures and report progress, which it cannot do while it waits for a
  // task of its own. --rankpool-master-computes 1 makes it run tasks too.
  rankpool::PoolOptions options;
  options.master_computes = false;
  return rankpool::run(argc, argv, options, [&](rankpool::Pool& pool) -> int {
    if (!cli_error.empty()) {
      std::fprintf(stderr, "%s\n", cli_error.c_str());
      return exit_bad_input;
    }
    try {
      return run_master(pool, cfg, pool.options().master_computes);
    } catch (const InputError& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return exit_bad_input;
    } catch (const rankpool::JournalError& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return exit_bad_input;
    }
  });
}

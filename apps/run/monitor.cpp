// rankpool-run's watchdog thread (see monitor.hpp).

#include "monitor.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <mpi.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "rankpool/rankpool.hpp"
#include "runner.hpp"
#include "status.hpp"

namespace rankpool {
namespace taskfarm {

namespace {

double now_steady() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string fmt_seconds(double s, int decimals) {
  char buf[64];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.*fs", decimals, s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600,
                  (static_cast<int>(s) / 60) % 60);
  }
  return buf;
}

struct Master::State {
  MasterConfig cfg;
  std::mutex mu;                                          // everything below
  std::unordered_map<std::string, std::string> inflight;  // task id -> command
  std::size_t done = 0, failed = 0;
  bool tty = ::isatty(2) != 0;
  bool dirty = false;  // a live line is on the terminal
  double start = now_steady();
  double last_line = 0;
  double next_lost_check = 0;
  bool stop_reported = false;
  std::string status_dir;
  std::string host;
  struct Seen {
    std::uint64_t beat = 0;
    double beat_at = 0;  // when rank 0 first saw this beat
    bool alive_seen = false;
  };
  std::map<int, Seen> seen;

  void clear_line() {
    if (dirty) std::fprintf(stderr, "\r\033[K");
    dirty = false;
  }

  void progress(double t, bool force) {
    double every = tty ? 0.2 : cfg.status_interval;
    if (!force && t - last_line < every) return;
    last_line = t;
    double elapsed = std::max(1e-9, t - start);
    double rate = static_cast<double>(done) / elapsed;
    std::string eta = rate > 0 && done < cfg.total
                          ? fmt_seconds(static_cast<double>(cfg.total - done) / rate)
                          : "-";
    // In flight: handed to the pool and not back. Each process runs one at a time; the rest wait
    // in the pool's queue (it keeps a few per process so that none waits for rank 0).
    const std::size_t processes = static_cast<std::size_t>(cfg.ranks - cfg.first_worker);
    const std::size_t running = std::min(inflight.size(), processes);
    char line[256];
    std::snprintf(line, sizeof line,
                  "rankpool-run: %zu/%zu done, %zu failed, %zu running, %zu queued, %.1f tasks/s, "
                  "ETA %s, %s elapsed",
                  done, cfg.total, failed, running, inflight.size() - running, rate, eta.c_str(),
                  fmt_seconds(elapsed).c_str());
    if (tty) {
      std::fprintf(stderr, "\r%s\033[K", line);
      dirty = true;
    } else {
      std::fprintf(stderr, "%s\n", line);
    }
    std::fflush(stderr);
  }

  struct Row {
    int rank = -1;
    std::string host;
    long long rank_pid = 0, task_pid = 0;
    bool lost = false;
    std::string why;
  };

  /// Reads the status files: which rank runs which task in flight, and which ranks are lost.
  std::unordered_map<std::string, Row> scan(double t, std::vector<Row>& lost) {
    std::unordered_map<std::string, Row> where;
    for (int r = cfg.first_worker; r < cfg.ranks; ++r) {
      auto st = read_status(status_path(status_dir, r));
      if (!st || st->rank != r) continue;
      Seen& s = seen[r];
      if (st->beat != s.beat || s.beat_at == 0) {
        s.beat = st->beat;
        s.beat_at = t;
      }
      Row row;
      row.rank = r;
      row.host = st->host;
      row.rank_pid = st->rank_pid;
      row.task_pid = st->task_pid;
      const bool holds_task = inflight.count(st->task_id) != 0;
      if (st->host == host && st->rank_pid > 0) {
        if (::kill(st->rank_pid, 0) == 0 || errno == EPERM) {
          s.alive_seen = true;
        } else if (errno == ESRCH && s.alive_seen && holds_task) {
          row.lost = true;
          row.why = "its process " + std::to_string(st->rank_pid) + " is gone";
        }
      }
      if (!row.lost && holds_task && cfg.lost_after > 0 && t - s.beat_at > cfg.lost_after) {
        row.lost = true;
        row.why = "no heartbeat for " + fmt_seconds(t - s.beat_at);
      }
      if (row.lost) lost.push_back(row);
      if (holds_task) where[st->task_id] = row;
    }
    return where;
  }

  /// The in-flight table, on stderr and in status_dir/inflight (JSON lines).
  void report(const std::string& headline, const std::unordered_map<std::string, Row>& where) {
    clear_line();
    std::string file = status_dir + "/inflight";
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::fprintf(stderr, "rankpool-run: %s; %zu task%s in flight%s\n", headline.c_str(),
                 inflight.size(), inflight.size() == 1 ? "" : "s",
                 inflight.empty() ? "" : (" (also in " + file + ")").c_str());
    std::vector<std::pair<std::string, std::string>> rows(inflight.begin(), inflight.end());
    auto rank_of = [&](const std::string& id) {
      auto it = where.find(id);
      return it == where.end() ? 1 << 30 : it->second.rank;
    };
    std::sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
      return std::make_pair(rank_of(a.first), a.first) < std::make_pair(rank_of(b.first), b.first);
    });
    std::size_t shown = 0;
    for (const auto& [id, command] : rows) {
      auto it = where.find(id);
      nlohmann::json j = {{"id", id}, {"command", command}};
      char head[256];
      if (it != where.end()) {
        const Row& r = it->second;
        j["rank"] = r.rank;
        j["host"] = r.host;
        j["rank_pid"] = r.rank_pid;
        j["task_pid"] = r.task_pid;
        if (r.lost) j["lost"] = r.why;
        std::snprintf(head, sizeof head, "rank %d on %s (pid %lld, task pid %lld)%s", r.rank,
                      r.host.c_str(), r.rank_pid, r.task_pid, r.lost ? " LOST" : "");
      } else {
        j["rank"] = nullptr;
        std::snprintf(head, sizeof head, "queued, not started");
      }
      if (f)
        std::fprintf(f, "%s\n",
                     j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      if (++shown <= 50) {
        std::fprintf(stderr, "  %s: task %s: %s\n", head, id.c_str(),
                     command.substr(0, 200).c_str());
      }
    }
    if (shown > 50) std::fprintf(stderr, "  ... and %zu more (see %s)\n", shown - 50, file.c_str());
    std::fflush(stderr);
    if (f) std::fclose(f);
  }

  void sync_journal() {
    // Any descriptor of the file will do: fsync flushes the file, not the descriptor.
    int fd = ::open(cfg.journal_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
  }

  /// One watchdog round on rank 0.
  void tick(double t) {
    std::lock_guard<std::mutex> lock(mu);
    if (stop_signal() != 0 && !stop_reported) {
      // mpirun sends SIGKILL a second after SIGTERM: the table and the journal first.
      stop_reported = true;
      sync_journal();
      std::vector<Row> lost;
      auto where = scan(t, lost);
      int sig = stop_signal();
      std::string headline = "stopping on signal " + std::to_string(sig) + " (" +
                             std::string(strsignal(sig)) + "), journal synced";
      for (const Row& r : lost) {
        headline +=
            "; rank " + std::to_string(r.rank) + " on " + r.host + " is lost (" + r.why + ")";
      }
      report(headline, where);
    }
    if (t >= next_lost_check) {
      next_lost_check = t + 0.5;
      std::vector<Row> lost;
      auto where = scan(t, lost);
      if (!lost.empty()) {
        sync_journal();
        std::string headline;
        for (const Row& r : lost) {
          if (!headline.empty()) headline += "; ";
          headline +=
              "rank " + std::to_string(r.rank) + " on " + r.host + " is lost (" + r.why + ")";
        }
        headline += "; ending the job (exit 4): run the same command again to resume";
        report(headline, where);
        // The main thread is waiting for results that will never come; MPI_Abort ends every
        // rank under mpirun and srun alike.
        MPI_Abort(MPI_COMM_WORLD, exit_lost);
        std::_Exit(exit_lost);
      }
    }
    progress(t, false);
  }

  void on_launcher_lost(pid_t launcher) {
    std::unique_lock<std::mutex> lock(mu, std::try_to_lock);  // never wait for the main thread
    sync_journal();
    if (lock.owns_lock()) {
      std::unordered_map<std::string, Row> where;
      report("the launcher (pid " + std::to_string(launcher) +
                 ") is gone; ending this rank (exit 4): run the same command again to resume",
             where);
    }
  }
};

namespace {

std::mutex g_master_mu;  // guards g_master and its use by the watchdog
Master::State* g_master = nullptr;
std::atomic<bool> g_quit{false};
std::thread g_thread;

bool launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "SLURM_STEP_ID"}) {
    if (std::getenv(v)) return true;
  }
  return false;
}

void watch(pid_t launcher) {
  while (!g_quit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (launcher > 1 && ::getppid() != launcher) {
      // Reparented: mpirun (or orted, or slurmstepd) is gone, and with it the job. Without this
      // the rank would run on, holding the journal's lock, until it tried to talk to it.
      kill_running_task();
      {
        std::unique_lock<std::mutex> lock(g_master_mu, std::try_to_lock);
        if (lock.owns_lock() && g_master) g_master->on_launcher_lost(launcher);
      }
      std::_Exit(exit_lost);
    }
    std::lock_guard<std::mutex> lock(g_master_mu);
    if (g_master) g_master->tick(now_steady());
  }
}

}  // namespace

void start_watchdog() {
  ::signal(SIGPIPE, SIG_IGN);  // stderr may be a pipe to a launcher that is gone
  pid_t launcher = launched() ? ::getppid() : 0;
  g_thread = std::thread(watch, launcher);
}

void stop_watchdog() {
  g_quit = true;
  if (g_thread.joinable()) g_thread.join();
}

Master::Master(const MasterConfig& config) : state_(std::make_unique<State>()) {
  state_->cfg = config;
  state_->status_dir = config.out_dir + "/" + status_dir_name;
  state_->host = current_process().host;
  ::mkdir(state_->status_dir.c_str(), 0755);
  // Status files of an earlier run would name tasks that run again now.
  if (DIR* d = ::opendir(state_->status_dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind("rank-", 0) == 0 || name == "inflight") {
        ::unlink((state_->status_dir + "/" + name).c_str());
      }
    }
    ::closedir(d);
  }
  std::lock_guard<std::mutex> lock(g_master_mu);
  g_master = state_.get();
}

Master::~Master() {
  std::lock_guard<std::mutex> lock(g_master_mu);
  g_master = nullptr;
}

void Master::issued(const std::string& id, const std::string& command) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->inflight.emplace(id, command);
}

void Master::returned(const std::string& id, bool recorded, bool failed) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->inflight.erase(id);
  if (recorded) ++state_->done;
  if (failed) ++state_->failed;
}

void Master::say(const std::string& line) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->clear_line();
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

void Master::finish() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->progress(now_steady(), true);
  if (state_->dirty) std::fprintf(stderr, "\n");
  state_->dirty = false;
}

}  // namespace taskfarm
}  // namespace rankpool

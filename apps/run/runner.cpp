// Runs one rankpool-run task in a child process (see runner.hpp).

#include "runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <bitset>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "rankpool/rankpool.hpp"
#include "status.hpp"

extern char** environ;

namespace rankpool {
namespace taskfarm {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
volatile std::sig_atomic_t g_halt = 0;       // 1 soon, 2 now
volatile std::sig_atomic_t g_abandoned = 0;  // the rank is ending (its launcher is gone)
int g_wake[2] = {-1, -1};
char g_stop_file[4096] = {0};

void wake() {
  if (g_wake[1] >= 0) {
    char c = 0;
    [[maybe_unused]] ssize_t n = ::write(g_wake[1], &c, 1);
  }
}

void write_stop_file(const char* mode) {
  if (!g_stop_file[0]) return;
  int fd = ::open(g_stop_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  [[maybe_unused]] ssize_t n = ::write(fd, mode, std::strlen(mode));
  ::close(fd);
}

// The stop file's contents: "signal" (drain: rank 0 got a stop signal), "drain" (a --halt soon),
// "now" (a --halt now), "now signal" (a --halt now after a stop signal).
extern "C" void on_stop_signal(int sig) {
  int saved = errno;
  if (!g_stop_signal) g_stop_signal = sig;
  write_stop_file(g_halt == 2 ? "now signal\n" : "signal\n");  // async-signal-safe
  wake();
  errno = saved;
}

extern "C" void on_child(int) {
  int saved = errno;
  wake();
  errno = saved;
}

double now_epoch() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}
double now_steady() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

/// Reads the stop file into buf (NUL-terminated); false when there is none.
bool read_stop_file(const std::string& stop_file, char (&buf)[16]) {
  std::memset(buf, 0, sizeof buf);
  int fd = ::open(stop_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  [[maybe_unused]] ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  return true;
}

/// 0: go on; 1: drain (grace, then kill); 2: kill now.
int stop_mode(const std::string& stop_file) {
  if (g_halt == 2) return 2;
  if (g_stop_signal) return 1;
  char buf[16];
  if (!read_stop_file(stop_file, buf)) return 0;
  return std::strncmp(buf, "now", 3) == 0 ? 2 : 1;
}

bool is_stop_like(int sig) {
  return sig == SIGTERM || sig == SIGINT || sig == SIGUSR1 || sig == SIGHUP || sig == SIGKILL;
}

void drain_wake_pipe() {
  char buf[256];
  while (::read(g_wake[0], buf, sizeof buf) > 0) {
  }
}

struct Attempt {
  int status = 0;
  bool timed_out = false;
  bool interrupted = false;
  std::string error;
};

/// Starts `/bin/sh -c COMMAND` in its own process group, stdin from /dev/null, stdout and stderr
/// into `out` and `err`, rankpool-run's signal handlers back to their defaults, and SIGKILL as its
/// parent-death signal (a rank killed with kill -9 takes its task's shell with it instead of
/// leaving it running unrecorded). vfork, as posix_spawn does, so the cost does not grow with
/// the rank's memory; every signal is blocked meanwhile so no handler runs in the child.
pid_t spawn_shell(const std::string& command, const std::string& out, const std::string& err,
                  std::string& error) {
  const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
  const pid_t parent = ::getpid();
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  volatile int child_errno = 0;
  volatile const char* child_what = nullptr;
  pid_t pid = ::vfork();
  if (pid == 0) {
    // The child: only system calls from here to execve (the memory is the parent's).
    for (int s : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGCHLD, SIGPIPE, SIGQUIT, SIGHUP}) {
      ::signal(s, SIG_DFL);
    }
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the rank died already
    int fd = ::open("/dev/null", O_RDONLY);
    if (fd < 0 || ::dup2(fd, 0) < 0) {
      child_errno = errno;
      child_what = "/dev/null";
      ::_exit(127);
    }
    if (fd != 0) ::close(fd);
    const std::string* files[2] = {&out, &err};
    for (int target = 1; target <= 2; ++target) {
      fd = ::open(files[target - 1]->c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || ::dup2(fd, target) < 0) {
        child_errno = errno;
        child_what = files[target - 1]->c_str();
        ::_exit(127);
      }
      if (fd != target) ::close(fd);
    }
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    ::execve("/bin/sh", const_cast<char* const*>(argv), environ);
    child_errno = errno;
    child_what = "/bin/sh";
    ::_exit(127);
  }
  int saved = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    error = std::string("could not start /bin/sh: ") + std::strerror(saved);
    return -1;
  }
  if (child_errno != 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    error = std::string("could not start /bin/sh: ") +
            (child_what ? const_cast<const char*>(child_what) : "") + ": " +
            std::strerror(child_errno);
    return -1;
  }
  return pid;
}

/// This rank's status file, OUTDIR/.rankpool-run/rank-<rank>: one fixed-size line that rank 0
/// reads to learn which rank runs which task, and whether the rank still lives (status.hpp).
class StatusFile {
 public:
  void running(const std::string& dir, const std::string& id, pid_t task, bool sync) {
    if (dir != dir_) open(dir);
    if (fd_ < 0) return;
    ++beat_;
    StatusLine line;
    line.state = "running";
    line.task_id = id;
    line.task_pid = task;
    line.rank_pid = ::getpid();
    line.beat = beat_;
    line.rank = current_process().rank;
    line.host = current_process().host;
    std::string text = format_status(line);
    [[maybe_unused]] ssize_t n = ::pwrite(fd_, text.data(), text.size(), 0);
    if (sync) ::fdatasync(fd_);
  }

 private:
  void open(const std::string& dir) {
    if (fd_ >= 0) ::close(fd_);
    dir_ = dir;
    ::mkdir(dir.c_str(), 0755);
    std::string path = status_path(dir, current_process().rank);
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  }
  std::string dir_;
  int fd_ = -1;
  std::uint64_t beat_ = 0;
};

StatusFile g_status;
std::atomic<pid_t> g_task_group{0};

Attempt run_once(const TaskSpec& spec, const std::string& out, const std::string& err) {
  Attempt a;
  pid_t pid = spawn_shell(spec.command, out, err, a.error);
  if (pid < 0) {
    a.error += " (output files " + out + ", " + err + ")";
    a.status = -1;
    return a;
  }
  g_task_group = pid;
  const std::string status_dir = spec.out_dir + "/" + status_dir_name;
  g_status.running(status_dir, spec.id, pid, false);
  double next_beat = now_steady() + heartbeat_seconds;

  const double started = now_steady();
  const double timeout_at = spec.timeout > 0 ? started + spec.timeout : 0;
  double stop_at = 0;  // when a stop request ends the grace period
  double kill_at = 0;  // when SIGKILL follows SIGTERM
  bool term_sent = false, stop_seen = false;
  double next_stop_check = started + 0.1;  // run_task looked just before this attempt
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      a.status = status;
      break;
    }
    const double t = now_steady();
    if (t >= next_beat) {  // rank 0 watches this to tell a lost rank from a slow task
      g_status.running(status_dir, spec.id, pid, true);
      next_beat = t + heartbeat_seconds;
    }
    if (!stop_seen && t >= next_stop_check) {
      int mode = stop_mode(spec.stop_file);
      next_stop_check = t + 0.1;
      if (mode != 0) {
        stop_seen = true;
        stop_at = mode == 2 ? t : t + spec.grace;
      }
    }
    if (!term_sent) {
      bool stop_now = stop_seen && t >= stop_at;
      bool time_up = timeout_at > 0 && t >= timeout_at;
      if (stop_now || time_up) {
        ::kill(-pid, SIGTERM);
        ::kill(-pid, SIGCONT);  // a stopped group must wake to die
        term_sent = true;
        kill_at = t + spec.kill_after;
        if (stop_now) {
          a.interrupted = true;
        } else {
          a.timed_out = true;
        }
      }
    } else if (t >= kill_at) {
      ::kill(-pid, SIGKILL);
      kill_at = t + 1e9;
    }
    // Sleep until the child exits (SIGCHLD), a signal arrives, or the next deadline.
    double wait = stop_seen ? 1.0 : std::max(0.0, next_stop_check - t);
    if (!term_sent && stop_seen) wait = std::min(wait, std::max(0.0, stop_at - t));
    if (!term_sent && timeout_at > 0) wait = std::min(wait, std::max(0.0, timeout_at - t));
    if (term_sent) wait = std::min(wait, std::max(0.0, kill_at - t));
    struct pollfd p = {g_wake[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait * 1000) + 1) > 0) drain_wake_pipe();
  }
  // Whatever the task left behind in its group goes too when it was killed.
  if (term_sent) ::kill(-pid, SIGKILL);
  g_task_group = 0;
  return a;
}

void remove_if_empty(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && st.st_size == 0) ::unlink(path.c_str());
}

}  // namespace

void install_signal_handlers() {
  if (g_wake[0] < 0) {
    if (::pipe2(g_wake, O_NONBLOCK | O_CLOEXEC) != 0) g_wake[0] = g_wake[1] = -1;
  }
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sa.sa_handler = on_stop_signal;
  for (int s : {SIGTERM, SIGINT, SIGUSR1}) ::sigaction(s, &sa, nullptr);
  sa.sa_handler = on_child;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  ::sigaction(SIGCHLD, &sa, nullptr);
}

int stop_signal() {
  return g_stop_signal;
}

void set_stop_file(const std::string& path) {
  if (path.size() >= sizeof g_stop_file) return;
  ::unlink(path.c_str());  // a stale one from a killed run
  std::memcpy(g_stop_file, path.c_str(), path.size() + 1);
  if (g_stop_signal) write_stop_file("signal\n");
}

void request_halt(bool now) {
  if (g_halt >= (now ? 2 : 1)) return;
  g_halt = now ? 2 : 1;
  if (g_stop_signal) {
    write_stop_file(now ? "now signal\n" : "signal\n");
  } else {
    write_stop_file(now ? "now\n" : "drain\n");
  }
  wake();
}

bool stopping_on_signal(const std::string& stop_file) {
  if (g_stop_signal || g_abandoned) return true;
  char buf[16];
  return read_stop_file(stop_file, buf) && std::strstr(buf, "signal") != nullptr;
}

bool ended_like_a_stop(const TaskRecord& r) {
  if (!r.error.empty() || r.timed_out) return false;
  if (r.signal != 0) return is_stop_like(r.signal);
  return r.exit_code > 128 && is_stop_like(r.exit_code - 128);
}

void kill_running_task() {
  g_abandoned = 1;  // what it ends with is not the task's doing: not a failure, not recorded
  pid_t group = g_task_group;
  if (group > 0) ::kill(-group, SIGKILL);
}

bool stop_issuing() {
  return g_stop_signal != 0 || g_halt != 0;
}

TaskRecord run_task(TaskSpec spec) {
  TaskRecord rec;
  rec.id = spec.id;
  rec.command = spec.command;
  rec.rank = current_process().rank;
  rec.host = current_process().host;
  rec.start = now_epoch();
  // Queued behind a stop request: leave it for the resume.
  if (stop_mode(spec.stop_file) != 0) {
    rec.state = static_cast<int>(TaskState::not_run);
    rec.end = rec.start;
    return rec;
  }
  try {
    const std::string dir = spec.out_dir + "/" + spec.id.substr(0, 2);
    // Each shard directory is created once per rank (a system call saved per task).
    static std::string made_in;
    static std::bitset<256> made;
    if (made_in != spec.out_dir) {
      made_in = spec.out_dir;
      made.reset();
    }
    const unsigned shard =
        static_cast<unsigned>(std::strtoul(spec.id.substr(0, 2).c_str(), nullptr, 16)) & 255u;
    if (!made[shard]) {
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        throw std::runtime_error("cannot create " + dir + ": " + std::strerror(errno));
      }
      made[shard] = true;
    }
    const std::string out = dir + "/" + spec.id + ".out";
    const std::string err = dir + "/" + spec.id + ".err";
    const double t0 = now_steady();
    for (int attempt = 1; attempt <= spec.retries + 1; ++attempt) {
      rec.attempts = attempt;
      Attempt a = run_once(spec, out, err);
      rec.timed_out = a.timed_out;
      rec.error = a.error;
      if (!a.error.empty()) {
        rec.state = static_cast<int>(TaskState::failed);
        rec.exit_code = 127;
        break;
      }
      if (WIFEXITED(a.status)) {
        rec.exit_code = WEXITSTATUS(a.status);
        rec.signal = 0;
      } else if (WIFSIGNALED(a.status)) {
        rec.exit_code = -1;
        rec.signal = WTERMSIG(a.status);
      }
      if (a.interrupted || g_abandoned) {
        rec.state = static_cast<int>(TaskState::interrupted);
        break;
      }
      // Killed by the signal that stops the run (Slurm signals every process of the job, the
      // task's shell too): interrupted, so that a resume runs it again. The signal may reach
      // rank 0 (and so the stop file) a moment after the task: wait a little for it.
      if (ended_like_a_stop(rec)) {
        const double settle_until = now_steady() + stop_settle_seconds;
        bool stopping = stopping_on_signal(spec.stop_file);
        while (!stopping && now_steady() < settle_until) {
          struct pollfd p = {g_wake[0], POLLIN, 0};
          if (::poll(&p, 1, 50) > 0) drain_wake_pipe();
          stopping = stopping_on_signal(spec.stop_file);
        }
        if (stopping) {
          rec.state = static_cast<int>(TaskState::interrupted);
          break;
        }
      }
      rec.state =
          static_cast<int>(rec.exit_code == 0 && !a.timed_out ? TaskState::ok : TaskState::failed);
      if (rec.status() == TaskState::ok || stop_mode(spec.stop_file) != 0) break;
    }
    rec.elapsed = now_steady() - t0;
    remove_if_empty(out);
    remove_if_empty(err);
  } catch (const std::exception& e) {
    rec.state = static_cast<int>(TaskState::failed);
    rec.exit_code = 127;
    rec.error = e.what();
  }
  rec.end = now_epoch();
  return rec;
}

}  // namespace taskfarm
}  // namespace rankpool

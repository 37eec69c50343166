// Runs one rankpool-run task in a child process (see runner.hpp).

#include "runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>

#include "rankpool/rankpool.hpp"

extern char** environ;

namespace rankpool {
namespace taskfarm {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
volatile std::sig_atomic_t g_halt = 0;  // 1 soon, 2 now
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

extern "C" void on_stop_signal(int sig) {
  int saved = errno;
  if (!g_stop_signal) g_stop_signal = sig;
  write_stop_file("drain\n");  // open/write/close are async-signal-safe
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

/// 0: go on; 1: drain (grace, then kill); 2: kill now.
int stop_mode(const std::string& stop_file) {
  if (g_halt == 2) return 2;
  if (g_stop_signal) return 1;
  int fd = ::open(stop_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[8] = {0};
  [[maybe_unused]] ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  return std::strncmp(buf, "now", 3) == 0 ? 2 : 1;
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

Attempt run_once(const TaskSpec& spec, const std::string& out, const std::string& err) {
  Attempt a;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  sigset_t defaults, empty;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int s : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGCHLD, SIGPIPE, SIGQUIT, SIGHUP})
    sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setpgroup(&attr, 0);  // its own process group, so a kill reaches all of it
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  const char* argv[] = {"sh", "-c", spec.command.c_str(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    a.error = std::string("could not start /bin/sh: ") + std::strerror(rc) + " (output files " +
              out + ", " + err + ")";
    a.status = -1;
    return a;
  }

  const double started = now_steady();
  const double timeout_at = spec.timeout > 0 ? started + spec.timeout : 0;
  double stop_at = 0;  // when a stop request ends the grace period
  double kill_at = 0;  // when SIGKILL follows SIGTERM
  bool term_sent = false, stop_seen = false;
  double next_stop_check = 0;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      a.status = status;
      break;
    }
    const double t = now_steady();
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
  if (g_stop_signal) write_stop_file("drain\n");
}

void request_halt(bool now) {
  if (g_halt >= (now ? 2 : 1)) return;
  g_halt = now ? 2 : 1;
  write_stop_file(now ? "now\n" : "drain\n");
  wake();
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
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      throw std::runtime_error("cannot create " + dir + ": " + std::strerror(errno));
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
      if (a.interrupted) {
        rec.state = static_cast<int>(TaskState::interrupted);
        break;
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

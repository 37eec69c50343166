#include "rankpool/detail/isolation.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "rankpool/error.hpp"

namespace rankpool::detail {

namespace {

// What a child sends for each item, then once at the end.
enum class FrameType : std::uint8_t {
  item = 1,          // payload: the item's result bytes
  item_failed = 2,   // payload: its TaskFailure (keep-going)
  chunk_failed = 3,  // payload: the TaskFailure that ended the chunk
  done = 4,          // the child finished the chunk
};

struct FrameHeader {
  FrameType type = FrameType::done;
  std::uint64_t index = 0;  // position in the chunk
  std::uint64_t size = 0;   // payload bytes
};

// ---- child side (no MPI, no exceptions escape, ends with _exit) ----------------------------

void write_all(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(126);  // the parent is gone: nothing to report to
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void send_frame(int fd, FrameType type, std::uint64_t index, const char* data, std::size_t size) {
  FrameHeader h{type, index, size};
  write_all(fd, &h, sizeof h);
  if (size > 0) write_all(fd, data, size);
}

struct ChildHook {
  int fd = -1;
  std::size_t failures_sent = 0;
};

void stream_item(TaskContext& ctx, std::uint64_t i, std::size_t from, std::size_t to) {
  auto* hook = static_cast<ChildHook*>(ctx.hook);
  if (ctx.failures.size() > hook->failures_sent) {
    std::vector<char> bytes = to_bytes(ctx.failures.back());
    ++hook->failures_sent;
    send_frame(hook->fd, FrameType::item_failed, i, bytes.data(), bytes.size());
  } else {
    send_frame(hook->fd, FrameType::item, i, ctx.out->data() + from, to - from);
  }
}

[[noreturn]] void child_main(ExecutorFn exec, const TaskContext& parent_ctx, int fd,
                             std::uint64_t first) {
  // A crash must end this process with its real signal, not run the rank's crash report.
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTERM, SIGINT, SIGUSR1, SIGPIPE}) {
    std::signal(sig, SIG_DFL);
  }
  std::vector<char> out;
  TaskContext ctx;
  ctx.input = parent_ctx.input;
  ctx.input_size = parent_ctx.input_size;
  ctx.callable = parent_ctx.callable;
  ctx.callable_size = parent_ctx.callable_size;
  ctx.begin = parent_ctx.begin;
  ctx.count = parent_ctx.count;
  ctx.keep_going = parent_ctx.keep_going;
  ctx.first = first;
  ctx.out = &out;
  ChildHook hook{fd, 0};
  ctx.hook = &hook;
  ctx.on_item = &stream_item;
  try {
    exec(ctx);
  } catch (...) {  // the executor catches the items' exceptions; this is a decoding failure
    ctx.failed = true;
    ctx.failed_index = ctx.begin + first;
    describe_current_exception(ctx.error_type, ctx.error_message);
  }
  if (ctx.failed) {
    TaskFailure failure;
    failure.type_name = ctx.error_type;
    failure.message = ctx.error_message;
    failure.index = ctx.failed_index;
    std::vector<char> bytes = to_bytes(failure);
    send_frame(fd, FrameType::chunk_failed, ctx.failed_index - ctx.begin, bytes.data(),
               bytes.size());
  }
  send_frame(fd, FrameType::done, ctx.count, nullptr, 0);
  std::fflush(nullptr);  // what the task printed (the parent flushed before fork)
  _exit(0);
}

// ---- parent side ------------------------------------------------------------------------------

using Clock = std::chrono::steady_clock;

class ChildReader {
 public:
  ChildReader(int fd, pid_t pid) : fd_(fd), pid_(pid) {}

  // Reads frames until the child is done, dies, or an item runs past `timeout` seconds.
  // Returns false when the child ended without a done frame (died, or was killed here).
  template <class OnFrame>
  bool run(double timeout, OnFrame&& on_frame) {
    auto deadline = next_deadline(timeout);
    for (;;) {
      int wait_ms = 100;  // also look at the child now and then: grandchildren may hold the pipe
      if (deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
        if (left.count() <= 0) {
          timed_out_ = true;
          kill_group();
          return false;
        }
        wait_ms = static_cast<int>(std::min<long long>(wait_ms, left.count() + 1));
      }
      pollfd p{fd_, POLLIN, 0};
      int rc = ::poll(&p, 1, wait_ms);
      if (rc < 0 && errno != EINTR) return fail_io("poll");
      bool eof = false;
      if (rc > 0) eof = !drain();
      bool progressed = false;
      while (auto frame = next_frame()) {
        progressed = true;
        if (frame->first.type == FrameType::done) return true;
        on_frame(frame->first, frame->second);
      }
      if (progressed) deadline = next_deadline(timeout);
      if (eof) return false;
      if (rc == 0 && child_exited()) {
        while (drain()) {
        }
        while (auto frame = next_frame()) {
          if (frame->first.type == FrameType::done) return true;
          on_frame(frame->first, frame->second);
        }
        return false;
      }
    }
  }

  bool timed_out() const { return timed_out_; }

  // Waits for the child (after run) and returns its wait status.
  int reap() {
    if (!reaped_) {
      while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
    }
    return status_;
  }

  void kill_group() {
    ::kill(-pid_, SIGKILL);  // the task's process group: what it started dies with it
    ::kill(pid_, SIGKILL);
  }

 private:
  static std::optional<Clock::time_point> next_deadline(double timeout) {
    if (timeout <= 0) return std::nullopt;
    return Clock::now() +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout));
  }

  // Reads what is available; false at end of file.
  bool drain() {
    char chunk[65536];
    for (;;) {
      ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n > 0) {
        buffer_.insert(buffer_.end(), chunk, chunk + n);
        continue;
      }
      if (n == 0) return false;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      return fail_io("read");
    }
  }

  std::optional<std::pair<FrameHeader, std::vector<char>>> next_frame() {
    std::size_t avail = buffer_.size() - offset_;
    if (avail < sizeof(FrameHeader)) return compact();
    FrameHeader h;
    std::memcpy(&h, buffer_.data() + offset_, sizeof h);
    if (avail < sizeof h + h.size) return compact();
    const char* p = buffer_.data() + offset_ + sizeof h;
    std::pair<FrameHeader, std::vector<char>> frame{h, std::vector<char>(p, p + h.size)};
    offset_ += sizeof h + h.size;
    return frame;
  }

  std::nullopt_t compact() {
    if (offset_ > 0) {
      buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(offset_));
      offset_ = 0;
    }
    return std::nullopt;
  }

  bool child_exited() {
    if (reaped_) return true;
    pid_t r = ::waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) reaped_ = true;
    return reaped_;
  }

  bool fail_io(const char* what) {
    kill_group();
    throw CommunicationError(std::string("rankpool: ") + what +
                             " on an isolated task's pipe failed: " + std::strerror(errno));
  }

  int fd_;
  pid_t pid_;
  std::vector<char> buffer_;
  std::size_t offset_ = 0;
  bool timed_out_ = false;
  bool reaped_ = false;
  int status_ = 0;
};

TaskFailure crash_failure(const TaskContext& ctx, std::uint64_t position, int status,
                          bool timed_out, double timeout) {
  TaskFailure f;
  f.type_name = "rankpool::TaskCrashed";
  f.index = ctx.begin + position;
  if (timed_out) {
    f.kind = FailureKind::timed_out;
    f.signal = SIGKILL;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", timeout);
    f.message = std::string("the task ran longer than the task timeout of ") + buf +
                " s and was killed (its whole process group)";
  } else {
    f.kind = FailureKind::crashed;
    f.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    f.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    f.message = "the task's process died (" + describe_wait_status(f.signal, f.exit_status) +
                ") before the task returned";
  }
  return f;
}

}  // namespace

std::string describe_wait_status(int signal, int exit_status) {
  if (signal != 0) {
    const char* name = ::strsignal(signal);
    return "killed by signal " + std::to_string(signal) + " (" + (name ? name : "unknown") + ")";
  }
  return "it called exit(" + std::to_string(exit_status) + ")";
}

void run_isolated(ExecutorFn exec, TaskContext& ctx, const IsolationConfig& config) {
  ctx.out->clear();
  ctx.failures.clear();
  ctx.failed = false;
  std::uint64_t next = ctx.first;
  std::fflush(nullptr);  // else the child would print the parent's buffered output again
  while (next < ctx.count) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw CommunicationError(std::string("rankpool: could not create a pipe for an isolated "
                                           "task: ") +
                               std::strerror(errno) + "; raise the open-files limit (ulimit -n)");
    }
    pid_t pid = ::fork();
    if (pid < 0) {
      int err = errno;
      ::close(fds[0]);
      ::close(fds[1]);
      throw Error(std::string("rankpool: fork() failed for an isolated task: ") +
                  std::strerror(err) +
                  "; the node is out of processes or memory (run fewer ranks per node, or turn "
                  "isolation off)");
    }
    if (pid == 0) {
      ::close(fds[0]);
      ::setpgid(0, 0);
      child_main(exec, ctx, fds[1], next);
    }
    ::setpgid(pid, pid);  // also here: whichever runs first, the group exists before a kill
    ::close(fds[1]);
    ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    ChildReader reader(fds[0], pid);
    std::optional<TaskFailure> chunk_failure;
    bool done = false;
    try {
      done = reader.run(
          config.item_timeout, [&](const FrameHeader& h, const std::vector<char>& payload) {
            switch (h.type) {
              case FrameType::item:
                ctx.out->insert(ctx.out->end(), payload.begin(), payload.end());
                next = h.index + 1;
                break;
              case FrameType::item_failed:
                ctx.failures.push_back(from_bytes<TaskFailure>(payload.data(), payload.size()));
                next = h.index + 1;
                break;
              case FrameType::chunk_failed:
                chunk_failure = from_bytes<TaskFailure>(payload.data(), payload.size());
                break;
              default:
                throw CommunicationError("rankpool: an isolated task sent a malformed frame");
            }
          });
    } catch (...) {
      ::close(fds[0]);
      reader.kill_group();
      reader.reap();
      throw;
    }
    ::close(fds[0]);
    int status = reader.reap();
    if (done) {
      if (chunk_failure) {
        ctx.fail_with(*chunk_failure);
        ctx.out->clear();
      }
      return;
    }
    // The child died (or was killed) while running the item at `next`.
    if (!reader.timed_out()) ::kill(-pid, SIGKILL);  // leftovers of its process group
    TaskFailure crash = crash_failure(ctx, next, status, reader.timed_out(), config.item_timeout);
    if (ctx.keep_going) {
      ctx.failures.push_back(std::move(crash));
      ++next;
      continue;
    }
    ctx.fail_with(crash);
    ctx.out->clear();
    return;
  }
}

}  // namespace rankpool::detail

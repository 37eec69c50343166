#include "rankpool/detail/crash_report.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <memory>
#include <string>

namespace rankpool::detail {

namespace {

constexpr int kDepth = 64;  // chunks remembered per rank on the master's board

struct Entry {
  std::atomic<std::uint64_t> job{0};
  std::atomic<std::uint64_t> chunk{0};
  std::atomic<std::uint64_t> begin{0};
  std::atomic<std::uint64_t> count{0};  // 0: free
};

struct State {
  int rank = 0;
  std::vector<std::string> hosts;
  std::unique_ptr<Entry[]> board;  // [rank * kDepth + k], master only
  int ranks = 0;
  Entry running;
  std::vector<int> installed;       // signals whose handler is ours
  struct sigaction previous[65]{};  // what was there before (a handler of Open MPI's, ...)
};

std::atomic<State*> g_state{nullptr};

const int kFatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV, segmentation fault";
    case SIGBUS:
      return "SIGBUS, bus error";
    case SIGFPE:
      return "SIGFPE, arithmetic error";
    case SIGILL:
      return "SIGILL, illegal instruction";
    case SIGABRT:
      return "SIGABRT, abort()";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "a signal";
  }
}

// A line built without allocating (usable in a signal handler).
class Line {
 public:
  void add(const char* s) {
    while (*s && len_ < sizeof buf_) buf_[len_++] = *s++;
  }
  void add(const std::string& s) { add(s.c_str()); }
  void add(std::uint64_t v) {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0 && len_ < sizeof buf_) buf_[len_++] = digits[--n];
  }
  void write_out() const {
    std::size_t done = 0;
    while (done < len_) {
      ssize_t w = ::write(2, buf_ + done, len_ - done);
      if (w <= 0) return;
      done += static_cast<std::size_t>(w);
    }
  }

 private:
  char buf_[8192];
  std::size_t len_ = 0;
};

const char* host_of(const State& s, int rank) {
  if (rank >= 0 && rank < static_cast<int>(s.hosts.size())) return s.hosts[rank].c_str();
  return "?";
}

void add_chunk(Line& line, const Entry& e) {
  std::uint64_t begin = e.begin.load(std::memory_order_relaxed);
  std::uint64_t count = e.count.load(std::memory_order_relaxed);
  line.add("job ");
  line.add(e.job.load(std::memory_order_relaxed));
  line.add(" chunk ");
  line.add(e.chunk.load(std::memory_order_relaxed));
  line.add(" (inputs ");
  line.add(begin);
  line.add("..");
  line.add(begin + count - 1);
  line.add(")");
}

// Appends the in-flight chunks of every rank; returns whether there were any.
bool add_board(Line& line, const State& s) {
  bool any = false;
  if (s.running.count.load(std::memory_order_relaxed) != 0) {
    line.add(" rank ");
    line.add(static_cast<std::uint64_t>(s.rank));
    line.add(" (host ");
    line.add(host_of(s, s.rank));
    line.add("): ");
    add_chunk(line, s.running);
    line.add(";");
    any = true;
  }
  for (int r = 0; r < s.ranks && s.board; ++r) {
    bool first = true;
    for (int k = 0; k < kDepth; ++k) {
      const Entry& e = s.board[static_cast<std::size_t>(r) * kDepth + k];
      if (e.count.load(std::memory_order_relaxed) == 0) continue;
      line.add(first ? " rank " : ", ");
      if (first) {
        line.add(static_cast<std::uint64_t>(r));
        line.add(" (host ");
        line.add(host_of(s, r));
        line.add("): ");
        first = false;
      }
      add_chunk(line, e);
    }
    if (!first) line.add(";");
    any = any || !first;
  }
  return any;
}

// Hands the signal on to what was installed before (Open MPI prints a backtrace), or to the
// default action: the process dies of it either way.
void reraise(int sig) {
  State* s = g_state.load();
  if (s && sig > 0 && sig < 65) {
    ::sigaction(sig, &s->previous[sig], nullptr);
  } else {
    std::signal(sig, SIG_DFL);
  }
  ::raise(sig);
}

void on_fatal(int sig) {
  State* s = g_state.load();
  if (s) {
    Line line;
    line.add("rankpool: rank ");
    line.add(static_cast<std::uint64_t>(s->rank));
    line.add(" (host ");
    line.add(host_of(*s, s->rank));
    line.add(") died of signal ");
    line.add(static_cast<std::uint64_t>(sig));
    line.add(" (");
    line.add(signal_name(sig));
    line.add(")");
    if (s->running.count.load(std::memory_order_relaxed) != 0) {
      line.add(" while running ");
      add_chunk(line, s->running);
      line.add(
          "; the launcher will end the job. Run those inputs alone to debug them, or set "
          "PoolOptions::isolate (--rankpool-isolate) so that a crash fails only its input");
    } else {
      line.add(" outside any task");
    }
    line.add("\n");
    line.write_out();
  }
  reraise(sig);
}

void on_term(int sig) {
  State* s = g_state.load();
  // A program that handles SIGTERM itself (rankpool-run drains) says what it does; the report is
  // for a master about to die of it.
  const bool dies = s && sig > 0 && sig < 65 && !(s->previous[sig].sa_flags & SA_SIGINFO) &&
                    s->previous[sig].sa_handler == SIG_DFL;
  if (dies) {
    Line line;
    line.add("rankpool: rank 0 got ");
    line.add(signal_name(sig));
    line.add(
        ": the launcher is ending the job (a rank died, the time limit passed, or it was "
        "cancelled); in flight:");
    if (!add_board(line, *s)) line.add(" nothing");
    line.add("\n");
    line.write_out();
  }
  reraise(sig);
}

void install(State& s, int sig, void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
  if (::sigaction(sig, &sa, &s.previous[sig]) == 0) s.installed.push_back(sig);
}

}  // namespace

void install_crash_report(int rank, const std::vector<std::string>& hosts) {
  uninstall_crash_report();
  auto* s = new State;  // lives until uninstall (a handler may read it at any time)
  s->rank = rank;
  s->hosts = hosts;
  if (rank == 0) {
    s->ranks = static_cast<int>(hosts.size());
    s->board.reset(new Entry[static_cast<std::size_t>(s->ranks) * kDepth]);
  }
  g_state.store(s);
  for (int sig : kFatal) install(*s, sig, &on_fatal);
  if (rank == 0) install(*s, SIGTERM, &on_term);
}

void uninstall_crash_report() {
  State* s = g_state.exchange(nullptr);
  if (!s) return;
  for (int sig : s->installed) {
    struct sigaction cur {};
    if (::sigaction(sig, nullptr, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
        (cur.sa_handler == &on_fatal || cur.sa_handler == &on_term)) {
      ::sigaction(sig, &s->previous[sig], nullptr);  // only ours: a newer handler stays
    }
  }
  delete s;  // no handler of ours is installed any more
}

void note_running(std::uint64_t job, std::uint64_t chunk, std::uint64_t begin,
                  std::uint64_t count) {
  State* s = g_state.load(std::memory_order_relaxed);
  if (!s) return;
  s->running.count.store(0, std::memory_order_relaxed);
  s->running.job.store(job, std::memory_order_relaxed);
  s->running.chunk.store(chunk, std::memory_order_relaxed);
  s->running.begin.store(begin, std::memory_order_relaxed);
  s->running.count.store(count, std::memory_order_release);
}

void board_add(int rank, std::uint64_t job, std::uint64_t chunk, std::uint64_t begin,
               std::uint64_t count) {
  State* s = g_state.load(std::memory_order_relaxed);
  if (!s || !s->board || rank < 0 || rank >= s->ranks || count == 0) return;
  Entry* row = &s->board[static_cast<std::size_t>(rank) * kDepth];
  for (int k = 0; k < kDepth; ++k) {
    if (row[k].count.load(std::memory_order_relaxed) != 0) continue;
    row[k].job.store(job, std::memory_order_relaxed);
    row[k].chunk.store(chunk, std::memory_order_relaxed);
    row[k].begin.store(begin, std::memory_order_relaxed);
    row[k].count.store(count, std::memory_order_release);
    return;
  }  // more than kDepth in flight on one rank (a node leader's batch): the rest go unlisted
}

void board_remove(int rank, std::uint64_t job, std::uint64_t chunk) {
  State* s = g_state.load(std::memory_order_relaxed);
  if (!s || !s->board || rank < 0 || rank >= s->ranks) return;
  Entry* row = &s->board[static_cast<std::size_t>(rank) * kDepth];
  for (int k = 0; k < kDepth; ++k) {
    if (row[k].count.load(std::memory_order_relaxed) != 0 &&
        row[k].job.load(std::memory_order_relaxed) == job &&
        row[k].chunk.load(std::memory_order_relaxed) == chunk) {
      row[k].count.store(0, std::memory_order_relaxed);
      return;
    }
  }
}

}  // namespace rankpool::detail

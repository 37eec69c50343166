#pragma once
// The scaling driver's workloads (../shared/bench/README.md, plus Mandelbrot rows and Monte Carlo
// pi), each a function from one 64-bit input to one 64-bit result, so that rankpool and the
// hand-written MPI peers run exactly the same code. Instrumented tasks record, per process, the
// time they spent computing (busy), when the last one ended, and the CPUs they ran on.

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

namespace rankpool_scaling {

using Clock = std::chrono::steady_clock;

/// Seconds on the node's monotonic clock (the same clock for every process of a node).
inline double now_s() {
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

enum class Kind : int { busy_wait = 0, mandelbrot = 1, pi = 2 };

/// What one task does; trivially copyable, so a rankpool task captures it by value.
struct TaskSpec {
  Kind kind = Kind::busy_wait;
  bool record = true;  // record busy time (false for warm-up runs)
  int mandel_width = 1000, mandel_height = 1000, mandel_iter = 1000;
  std::int64_t pi_samples = 100000;
};

/// This process's record of the instrumented tasks it ran since reset_stats().
struct TaskStats {
  double busy = 0;         // seconds inside task bodies
  double last_end = 0;     // now_s() when the last task ended (0: none ran)
  double max_task = 0;     // the longest task, seconds
  std::int64_t tasks = 0;  // tasks run
  std::string cpus;        // CPU affinity at the first task ("" until one ran)
};
inline TaskStats& stats() {
  static TaskStats s;
  return s;
}
inline void reset_stats() {
  stats() = TaskStats{};
}

/// The calling thread's CPU affinity as a list, e.g. "0-1" or "2".
inline std::string affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return "?";
  std::string out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    int e = c;
    while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, &set)) ++e;
    if (!out.empty()) out += ',';
    out += std::to_string(c);
    if (e > c) out += '-' + std::to_string(e);
    c = e;
  }
  return out;
}

/// tiny: f(x) = x * x (not instrumented: timing 1 ns of work would cost more than the work).
inline std::int64_t square(std::int64_t x) {
  return x * x;
}

/// Spins on the monotonic clock for `us` microseconds (never sleeps) and returns `us`.
inline std::int64_t busy_wait_us(std::int64_t us) {
  auto start = Clock::now();
  auto until = start + std::chrono::microseconds(us);
  while (Clock::now() < until) {
  }
  return us;
}

/// Row `row` of a width x height picture of [-2, 1] x [-1.5, 1.5]: the sum of the escape
/// iteration counts (at most `iter` each) over the row.
inline std::int64_t mandelbrot_row(std::int64_t row, int width, int height, int iter) {
  const double ci = -1.5 + 3.0 * static_cast<double>(row) / height;
  std::int64_t total = 0;
  for (int col = 0; col < width; ++col) {
    const double cr = -2.0 + 3.0 * col / width;
    double zr = 0, zi = 0;
    int k = 0;
    while (k < iter && zr * zr + zi * zi <= 4.0) {
      const double t = zr * zr - zi * zi + cr;
      zi = 2 * zr * zi + ci;
      zr = t;
      ++k;
    }
    total += k;
  }
  return total;
}

/// Monte Carlo pi, task `index`: how many of `samples` points of the unit square (splitmix64
/// seeded by the index, so every implementation draws the same points) fall in the quarter disc.
inline std::int64_t pi_hits(std::int64_t index, std::int64_t samples) {
  std::uint64_t s = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(index + 1);
  auto next = [&s] {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  std::int64_t hits = 0;
  for (std::int64_t i = 0; i < samples; ++i) {
    const double x = static_cast<double>(next() >> 11) * 0x1.0p-53;
    const double y = static_cast<double>(next() >> 11) * 0x1.0p-53;
    hits += (x * x + y * y <= 1.0) ? 1 : 0;
  }
  return hits;
}

/// One instrumented task: runs the work and, when spec.record, adds it to this process's stats.
inline std::int64_t run_task(const TaskSpec& spec, std::int64_t x) {
  const double t0 = spec.record ? now_s() : 0;
  std::int64_t r = 0;
  switch (spec.kind) {
    case Kind::busy_wait:
      r = busy_wait_us(x);
      break;
    case Kind::mandelbrot:
      r = mandelbrot_row(x, spec.mandel_width, spec.mandel_height, spec.mandel_iter);
      break;
    case Kind::pi:
      r = pi_hits(x, spec.pi_samples);
      break;
  }
  if (spec.record) {
    const double t1 = now_s();
    TaskStats& s = stats();
    if (s.tasks == 0) s.cpus = affinity();
    s.busy += t1 - t0;
    s.last_end = t1;
    s.max_task = std::max(s.max_task, t1 - t0);
    ++s.tasks;
  }
  return r;
}

}  // namespace rankpool_scaling

#pragma once
// The master's compute thread. The master runs chunks of its own while the caller waits; if it ran
// them on its main thread, a 20 ms task would leave every worker that finished its window idle
// for up to 20 ms (nothing hands out chunks meanwhile). Instead the main thread keeps MPI to itself
// (MPI_THREAD_FUNNELED), receives results and refills windows, while this one thread runs the
// master's chunk. One piece of work at a time; the main thread collects it and applies its
// effects (scheduler, job state) itself, so the engine stays single-threaded.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rankpool::detail {

class LocalRunner {
 public:
  using Work = std::function<void()>;

  LocalRunner() = default;
  LocalRunner(const LocalRunner&) = delete;
  LocalRunner& operator=(const LocalRunner&) = delete;
  /// Stops the thread (waiting for running work).
  ~LocalRunner();

  /// Starts `work` on the compute thread (created on first use). Only when !busy().
  void start(Work work);
  /// Work was started and not yet collected.
  bool busy() const { return busy_; }
  /// The started work has finished (a cheap check).
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  /// Waits until the started work finished, a request was posted, or `timeout` passed; returns
  /// finished().
  bool wait_finished(std::chrono::microseconds timeout);
  /// After finished(): busy() becomes false; rethrows an exception that escaped the work.
  void collect();

  /// From the compute thread: queues `request` to run on the main thread (the next time the
  /// engine progresses) and wakes the main thread if it waits in wait_finished.
  void post_to_main(Work request);
  /// Main thread: runs the queued requests; returns whether there were any.
  bool serve_posted();

  /// The calling thread is a compute thread (a task of the master runs on it).
  static bool on_compute_thread();

 private:
  void loop();

  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;  // work arrived or stop
  std::condition_variable finished_cv_;
  Work work_;                 // guarded by mutex_
  std::vector<Work> posted_;  // guarded by mutex_
  std::atomic<bool> has_posted_{false};
  bool stop_ = false;         // guarded by mutex_
  std::exception_ptr error_;  // guarded by mutex_
  std::atomic<bool> finished_{false};
  bool busy_ = false;  // main thread only
};

}  // namespace rankpool::detail

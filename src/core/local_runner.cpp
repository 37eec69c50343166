#include "rankpool/detail/local_runner.hpp"

#include <utility>

#include "rankpool/error.hpp"

namespace rankpool::detail {

namespace {
thread_local bool t_compute_thread = false;
}  // namespace

bool LocalRunner::on_compute_thread() {
  return t_compute_thread;
}

LocalRunner::~LocalRunner() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void LocalRunner::loop() {
  t_compute_thread = true;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || work_; });
    if (!work_) return;  // stop, nothing left to run
    Work work = std::move(work_);
    work_ = nullptr;
    lock.unlock();
    std::exception_ptr error;
    try {
      work();
    } catch (...) {
      error = std::current_exception();
    }
    work = nullptr;  // what it captured goes on this thread, before the main thread looks
    lock.lock();
    error_ = error;
    finished_.store(true, std::memory_order_release);
    finished_cv_.notify_one();
  }
}

void LocalRunner::start(Work work) {
  if (busy_) throw PoolStateError("rankpool: internal error: the compute thread is busy");
  if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
  {
    std::lock_guard<std::mutex> lock(mutex_);
    finished_.store(false, std::memory_order_relaxed);
    error_ = nullptr;
    work_ = std::move(work);
  }
  busy_ = true;
  wake_.notify_one();
}

bool LocalRunner::wait_finished(std::chrono::microseconds timeout) {
  if (finished()) return true;
  std::unique_lock<std::mutex> lock(mutex_);
  finished_cv_.wait_for(
      lock, timeout, [this] { return finished() || has_posted_.load(std::memory_order_relaxed); });
  return finished();
}

void LocalRunner::collect() {
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    error = std::exchange(error_, nullptr);
  }
  busy_ = false;
  finished_.store(false, std::memory_order_relaxed);
  if (error) std::rethrow_exception(error);
}

void LocalRunner::post_to_main(Work request) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    posted_.push_back(std::move(request));
    has_posted_.store(true, std::memory_order_release);
  }
  finished_cv_.notify_one();
}

bool LocalRunner::serve_posted() {
  if (!has_posted_.load(std::memory_order_acquire)) return false;
  std::vector<Work> requests;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requests.swap(posted_);
    has_posted_.store(false, std::memory_order_relaxed);
  }
  for (auto& request : requests) request();
  return !requests.empty();
}

}  // namespace rankpool::detail

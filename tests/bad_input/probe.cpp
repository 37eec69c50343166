// rankpool-bad-input-probe: misuses rankpool's API in one named way, so that the bad-input
// catalogue (tests/bad_input/cases.json) can check what a user sees: the message run() prints,
// the exit code, and that no rank crashes or hangs.
//
//   mpirun -n 2 rankpool-bad-input-probe CASE [--rankpool-* options]
//
// Every case runs inside rankpool::run, as a user's program would; an exception escaping the
// case is printed by run() ("rankpool: error: <type>: <message>") and every rank exits 1.
// Cases named options_* set a bad PoolOptions value in code instead (run() exits 2).

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "rankpool/process.hpp"
#include "rankpool/rankpool.hpp"
#include "rankpool/sync.hpp"

namespace {

using rankpool::Pool;

// A result type whose load() does not read what save() wrote: its bytes cannot be decoded.
struct Undecodable {
  long value = 0;
  template <class Archive>
  void save(Archive& a) const {
    a(value);
  }
  template <class Archive>
  void load(Archive& a) {
    std::string text;  // reads the long's bytes as a string length
    a(text);
    value = static_cast<long>(text.size());
  }
};

// Something thrown that is not a std::exception.
struct NotAnException {
  int code;
};

void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

int slow_identity(int x) {
  sleep_ms(300);
  return x;
}

void throwing_initializer() {
  throw std::runtime_error("cannot open the model file");
}

void nothing(int) {}

using Case = std::function<int(Pool&)>;

const std::map<std::string, Case>& cases() {
  static const std::map<std::string, Case> list = {
      // ---- the pool's life cycle ----
      {"map_after_close",
       [](Pool& pool) {
         pool.close();
         pool.map([](int x) { return x; }, std::vector<int>{1, 2, 3});
         return 0;
       }},
      {"apply_after_terminate",
       [](Pool& pool) {
         pool.terminate();
         pool.apply([](int x) { return x; }, 1);
         return 0;
       }},
      {"imap_after_close",
       [](Pool& pool) {
         pool.close();
         for (int r : pool.imap([](int x) { return x; }, std::vector<int>{1, 2})) (void)r;
         return 0;
       }},
      {"join_while_running",
       [](Pool& pool) {
         pool.join();
         return 0;
       }},
      {"get_after_terminate",
       [](Pool& pool) {
         auto r = pool.apply_async(slow_identity, 1);
         pool.terminate();
         return r.get();
       }},
      {"get_timeout",
       [](Pool& pool) {
         auto r = pool.apply_async(slow_identity, 1);
         return r.get(0.01);
       }},
      {"get_negative_timeout",
       [](Pool& pool) {
         auto r = pool.apply_async([](int x) { return x; }, 1);
         return r.get(-1.0);
       }},
      // ---- bad arguments ----
      {"map_chunksize_zero",
       [](Pool& pool) {
         pool.map([](int x) { return x; }, std::vector<int>{1, 2, 3}, 0);
         return 0;
       }},
      {"imap_chunksize_negative",
       [](Pool& pool) {
         for (int r : pool.imap([](int x) { return x; }, std::vector<int>{1, 2}, -4)) (void)r;
         return 0;
       }},
      // ---- tasks that fail ----
      {"task_throws",
       [](Pool& pool) {
         pool.map(
             [](int x) {
               if (x == 5) throw std::out_of_range("no such key " + std::to_string(x));
               return x;
             },
             rankpool::range(0, 8), 1);
         return 0;
       }},
      {"task_throws_non_std",
       [](Pool& pool) {
         pool.map(
             [](int x) {
               if (x == 3) throw NotAnException{x};
               return x;
             },
             rankpool::range(0, 8), 1);
         return 0;
       }},
      {"task_throws_int",
       [](Pool& pool) {
         pool.apply([](int x) -> int { throw x; }, 7);
         return 0;
       }},
      {"result_undecodable",
       [](Pool& pool) {
         pool.map([](int x) { return Undecodable{x}; }, rankpool::range(0, 6), 1);
         return 0;
       }},
      {"initializer_throws",
       [](Pool& pool) {
         pool.map([](int x) { return x; }, rankpool::range(0, 4), 1);
         return 0;
       }},
      {"callback_throws",
       [](Pool& pool) {
         auto r = pool.apply_async(
             [](int x) { return x; }, std::make_tuple(1),
             [](const int&) { throw std::logic_error("the callback rejected the result"); });
         r.wait();
         return 0;
       }},
      // ---- processes, locks, queues, pipes ----
      {"process_start_twice",
       [](Pool& pool) {
         rankpool::Process p(pool, nothing, 1);
         p.start();
         p.start();
         return 0;
       }},
      {"process_join_unstarted",
       [](Pool& pool) {
         rankpool::Process p(pool, nothing, 1);
         p.join();
         return 0;
       }},
      {"lock_release_unlocked",
       [](Pool& pool) {
         rankpool::Lock lock(pool);
         lock.release();
         return 0;
       }},
      {"rlock_release_not_held",
       [](Pool& pool) {
         rankpool::RLock lock(pool);
         lock.release();
         return 0;
       }},
      {"bounded_semaphore_over_release",
       [](Pool& pool) {
         rankpool::BoundedSemaphore s(pool, 2);
         s.release();
         return 0;
       }},
      {"semaphore_negative",
       [](Pool& pool) {
         rankpool::Semaphore s(pool, -1);
         return 0;
       }},
      {"lock_unbound",
       [](Pool&) {
         rankpool::Lock lock;  // default-constructed: never created with a pool
         lock.acquire();
         return 0;
       }},
      {"lock_unbound_in_task",
       [](Pool& pool) {
         pool.apply(
             [](int) {
               rankpool::Lock lock;
               lock.acquire();
               return 0;
             },
             0);
         return 0;
       }},
      {"queue_get_empty",
       [](Pool& pool) {
         rankpool::Queue<int> q(pool);
         return q.get_nowait();
       }},
      {"queue_put_full",
       [](Pool& pool) {
         rankpool::Queue<int> q(pool, 1);
         q.put(1);
         q.put(2, true, 0.05);
         return 0;
       }},
      {"queue_get_negative_timeout",
       [](Pool& pool) {
         rankpool::Queue<int> q(pool);
         return q.get(true, -1.0);
       }},
      {"pipe_one_way_send",
       [](Pool& pool) {
         auto ends = rankpool::Pipe<int>(pool, false);
         ends.first.send(1);  // the first end of a one-way pipe only receives
         return 0;
       }},
      // ---- bad PoolOptions set in code (main() sets them; the body must not run) ----
      {"options_processes_zero", [](Pool&) { return 0; }},
      {"options_processes_too_many", [](Pool&) { return 0; }},
      {"options_schedule", [](Pool&) { return 0; }},
      {"options_window_zero", [](Pool&) { return 0; }},
      {"options_bind", [](Pool&) { return 0; }},
      {"options_threads_per_worker", [](Pool&) { return 0; }},
  };
  return list;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !cases().count(argv[1])) {
    std::fprintf(stderr, "usage: rankpool-bad-input-probe CASE; cases:");
    for (const auto& c : cases()) std::fprintf(stderr, " %s", c.first.c_str());
    std::fprintf(stderr, "\n");
    return 64;
  }
  const std::string which = argv[1];
  rankpool::PoolOptions options;
  if (which == "options_processes_zero") options.processes = 0;
  if (which == "options_processes_too_many") options.processes = 1000;
  if (which == "options_schedule") options.schedule = "fastest";
  if (which == "options_window_zero") options.window = 0;
  if (which == "options_bind") options.bind = "everywhere";
  if (which == "options_threads_per_worker") options.threads_per_worker = 0;
  if (which == "initializer_throws") options.initializer(throwing_initializer);
  const Case& body = cases().at(which);
  return rankpool::run(argc, argv, options, [&](Pool& pool) {
    int code = body(pool);
    if (which.rfind("options_", 0) == 0) {
      std::fprintf(stderr, "probe: the body ran although the options are invalid\n");
      return 70;
    }
    return code;
  });
}

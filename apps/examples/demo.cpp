// rankpool-demo: a short guided tour of rankpool's Pool, one pool over every MPI rank.
//
//   mpirun -n 4 rankpool-demo
//
// Each step prints a heading, the output (Python-style, as the tutorials that rankpool follows
// print it) and which ranks ran its tasks. Every output is checked against its expected value;
// the last line says how many checks passed, and the exit code is non-zero if any failed.

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

namespace {

// ---- tasks --------------------------------------------------------------------------------
// Every task spins a little so that the work spreads over the ranks, and reports the rank that
// ran it along with its value.

struct Tagged {  // trivially copyable: travels as raw bytes
  long value;
  int rank;
};

void spin(int milliseconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(milliseconds);
  while (std::chrono::steady_clock::now() < until) {
  }
}

constexpr int task_ms = 20;

long square(long x) {
  return x * x;
}
long cube(long x) {
  return x * x * x;
}
long fourth(long x) {
  return x * x * x * x;
}
long fifth(long x) {
  return x * x * x * x * x;
}

/// f(x), tagged with the rank that computed it.
template <long (*F)(long)>
Tagged tagged(long x) {
  spin(task_ms);
  return {F(x), rankpool::current_process().rank};
}

Tagged tagged_power(long base, long exponent) {
  spin(task_ms);
  long result = 1;
  for (long i = 0; i < exponent; ++i) result *= base;
  return {result, rankpool::current_process().rank};
}

long checked_sqrt_floor(long x) {
  if (x < 0) throw std::domain_error("cannot take the square root of " + std::to_string(x));
  long r = 0;
  while ((r + 1) * (r + 1) <= x) ++r;
  return r;
}

// ---- the tour's bookkeeping -----------------------------------------------------------------

struct Tour {
  int passed = 0;
  int failed = 0;
  int step = 0;

  void heading(const std::string& title) { py::print("\n[" + std::to_string(++step) + "]", title); }

  template <class T>
  void output(const T& value) {
    py::print("    " + py::str(value));
  }

  template <class T>
  void check(const T& got, const T& expected) {
    if (got == expected) {
      ++passed;
    } else {
      ++failed;
      py::print("    CHECK FAILED: got " + py::repr(got) + ", expected " + py::repr(expected));
    }
  }
  void check(bool ok, const std::string& what) {
    if (ok) {
      ++passed;
    } else {
      ++failed;
      py::print("    CHECK FAILED: " + what);
    }
  }

  /// Prints the output values and the ranks that computed them; returns the values.
  std::vector<long> show(const std::vector<Tagged>& results) {
    std::vector<long> values;
    std::set<int> ranks;
    for (const auto& r : results) {
      values.push_back(r.value);
      ranks.insert(r.rank);
    }
    output(values);
    ran_on(ranks);
    return values;
  }
  void ran_on(const std::set<int>& ranks) {
    py::print("    ran on ranks " + py::repr(std::vector<int>(ranks.begin(), ranks.end())));
  }
};

int tour(rankpool::Pool& pool) {
  Tour t;
  const auto& me = rankpool::current_process();
  py::print("rankpool " + std::string(rankpool::version_string) + " demo: a Pool of " +
            std::to_string(pool.processes()) + " processes; the master is rank " +
            std::to_string(me.rank) + " (" + me.name + ") on " + me.host);

  // 1. map: results in input order.
  t.heading("map: square over [1, 2, 3, 4, 5]");
  auto squares = t.show(pool.map(tagged<square>, std::vector<long>{1, 2, 3, 4, 5}));
  t.check(squares, std::vector<long>{1, 4, 9, 16, 25});

  t.heading("map: cube over [10, 11, 12, 5, 4, 3]");
  auto cubes = t.show(pool.map(tagged<cube>, std::vector<long>{10, 11, 12, 5, 4, 3}));
  t.check(cubes, std::vector<long>{1000, 1331, 1728, 125, 64, 27});

  // 2. apply_async: one task each, submitted without waiting, collected with get().
  t.heading("apply_async: four functions, one task each, then get()");
  std::vector<rankpool::AsyncResult<Tagged>> handles;
  handles.push_back(pool.apply_async(tagged<square>, 11L));
  handles.push_back(pool.apply_async(tagged<cube>, 12L));
  handles.push_back(pool.apply_async(tagged<fourth>, 10L));
  handles.push_back(pool.apply_async(tagged<fifth>, 13L));
  std::vector<Tagged> applied;
  for (auto& h : handles) applied.push_back(h.get());
  t.check(t.show(applied), std::vector<long>{121, 1728, 10000, 371293});

  // 3. map_async with a callback, run on the master when the whole map is done.
  t.heading("map_async with a callback: square over [2, 4, 6, 8, 10]");
  std::vector<long> from_callback;
  int callbacks = 0;
  auto async_map = pool.map_async(tagged<square>, std::vector<long>{2, 4, 6, 8, 10}, std::nullopt,
                                  [&](const std::vector<Tagged>& results) {
                                    ++callbacks;
                                    for (const auto& r : results) from_callback.push_back(r.value);
                                  });
  async_map.wait();
  py::print("    callback got " + py::repr(from_callback));
  t.check(t.show(async_map.get()), std::vector<long>{4, 16, 36, 64, 100});
  t.check(callbacks == 1 && from_callback == std::vector<long>{4, 16, 36, 64, 100},
          "the callback ran once with the results");

  // 4. imap: lazy, in input order; here over an endless input.
  t.heading("imap: cubes of 1, 2, 3, ... (an endless input), first 8");
  std::vector<Tagged> lazy;
  for (const Tagged& r : pool.imap(tagged<cube>, rankpool::count(1L))) {
    lazy.push_back(r);
    if (lazy.size() == 8) break;
  }
  t.check(t.show(lazy), std::vector<long>{1, 8, 27, 64, 125, 216, 343, 512});

  // 5. imap_unordered: in completion order, so only the sorted results are checked.
  t.heading("imap_unordered: squares of 1..8, in completion order");
  std::vector<Tagged> unordered;
  for (const Tagged& r : pool.imap_unordered(tagged<square>, rankpool::range(1L, 9L))) {
    unordered.push_back(r);
  }
  auto arrival = t.show(unordered);
  std::sort(arrival.begin(), arrival.end());
  py::print("    sorted: " + py::repr(arrival));
  t.check(arrival, std::vector<long>{1, 4, 9, 16, 25, 36, 49, 64});

  // 6. starmap: each input is a tuple of arguments.
  t.heading("starmap: power over [(11, 2), (12, 3), (10, 4), (13, 5)]");
  std::vector<std::tuple<long, long>> pairs{{11, 2}, {12, 3}, {10, 4}, {13, 5}};
  t.check(t.show(pool.starmap(tagged_power, pairs)), std::vector<long>{121, 1728, 10000, 371293});

  // 7. errors: a task's exception comes back as a RemoteError, to get() and to error_callback.
  t.heading("errors: apply_async of a task that throws, with an error_callback");
  std::string reported;
  auto failing = pool.apply_async(
      checked_sqrt_floor, std::tuple{-4L}, [](const long&) {},
      [&](const rankpool::RemoteError& e) {
        reported = e.type_name() + ": " + e.remote_message();
      });
  failing.wait();
  py::print("    error_callback got " + reported);
  try {
    failing.get();
    t.check(false, "get() did not throw");
  } catch (const rankpool::RemoteError& e) {
    py::print("    get() threw RemoteError from rank " + std::to_string(e.rank()) + ": " +
              e.remote_message());
    t.check(e.type_name(), std::string("std::domain_error"));
  }
  t.check(reported, std::string("std::domain_error: cannot take the square root of -4"));
  t.check(!failing.successful(), "successful() is False");
  t.check(pool.apply(checked_sqrt_floor, 49L), 7L);  // the pool carries on

  // 8. work spread: many short tasks, one at a time, over every process.
  const int n_tasks = 8 * pool.processes();
  t.heading("work spread: " + std::to_string(n_tasks) + " tasks of " + std::to_string(task_ms) +
            " ms, chunksize 1");
  auto ranks = pool.map(
      [](int) {
        spin(task_ms);
        return rankpool::current_process().rank;
      },
      rankpool::range(n_tasks), 1);
  std::map<int, int> per_rank;
  for (int r : ranks) ++per_rank[r];
  py::print("    tasks per rank " + py::repr(per_rank));
  t.check(static_cast<int>(ranks.size()), n_tasks);

  // 9. close and join: no more work may be submitted; join waits for what is outstanding.
  t.heading("close and join");
  auto last = pool.map_async(tagged<square>, rankpool::range(0L, 4L));
  pool.close();
  pool.join();
  py::print("    joined; the last map_async is ready: " + py::repr(last.ready()));
  t.check(last.ready(), "join() waited for the outstanding map_async");
  try {
    pool.map(square, std::vector<long>{1});
    t.check(false, "map() after close() did not throw");
  } catch (const rankpool::PoolStateError&) {
    py::print("    map() after close() throws PoolStateError");
    t.check(true, "map() after close() throws PoolStateError");
  }

  py::print("");
  if (t.failed == 0) {
    py::print("demo finished: " + std::to_string(t.passed) + " checks passed");
    return 0;
  }
  py::print("demo FAILED: " + std::to_string(t.failed) + " of " +
            std::to_string(t.passed + t.failed) + " checks failed");
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-demo")) return 0;
  return rankpool::run(argc, argv, tour);
}

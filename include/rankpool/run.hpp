#pragma once
// The entry point. All ranks run the same main (SPMD) and call run(): rank 0 runs `fn` with the
// Pool, every other rank serves tasks until fn returns. Every rank then returns fn's exit code.
//
//   int main(int argc, char** argv) {
//     return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
//       auto squares = pool.map([](long x) { return x * x; }, rankpool::range(0L, 10L));
//     });
//   }
//
// fn may return void (exit code 0) or int. An exception escaping fn is printed on rank 0 and
// every rank returns 1. Bad options print a message and every rank returns 2; ranks running
// different builds of the program return 3.

#include <mpi.h>

#include <functional>
#include <type_traits>
#include <utility>

#include "rankpool/options.hpp"
#include "rankpool/pool.hpp"

namespace rankpool {

using MainFn = std::function<int(Pool&)>;

/// Exit codes run() returns besides fn's own.
enum ExitCode : int { exit_exception = 1, exit_bad_options = 2, exit_build_mismatch = 3 };

namespace detail {
/// Initialises MPI if needed (and then finalises it), uses MPI_COMM_WORLD.
int run_main(int argc, char** argv, const PoolOptions& options, const MainFn& fn);
/// Uses the caller's communicator; MPI must be initialised; argv may be empty.
int run_on(MPI_Comm comm, int argc, char** argv, const PoolOptions& options, const MainFn& fn);

template <class Fn>
MainFn as_main(Fn&& fn) {
  return [f = std::forward<Fn>(fn)](Pool& pool) mutable -> int {
    if constexpr (std::is_void_v<std::invoke_result_t<Fn&, Pool&>>) {
      f(pool);
      return 0;
    } else {
      return static_cast<int>(f(pool));
    }
  };
}
}  // namespace detail

template <class Fn>
int run(int argc, char** argv, const PoolOptions& options, Fn&& fn) {
  return detail::run_main(argc, argv, options, detail::as_main(std::forward<Fn>(fn)));
}
template <class Fn>
int run(int argc, char** argv, Fn&& fn) {
  return run(argc, argv, PoolOptions{}, std::forward<Fn>(fn));
}
/// On a communicator of an existing MPI code (every rank of `comm` must call it).
template <class Fn>
int run(MPI_Comm comm, const PoolOptions& options, Fn&& fn) {
  return detail::run_on(comm, 0, nullptr, options, detail::as_main(std::forward<Fn>(fn)));
}
template <class Fn>
int run(MPI_Comm comm, Fn&& fn) {
  return run(comm, PoolOptions{}, std::forward<Fn>(fn));
}

}  // namespace rankpool

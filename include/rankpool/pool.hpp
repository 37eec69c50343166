#pragma once
// rankpool::Pool: Python's multiprocessing.Pool over the ranks of an MPI job. The master (rank 0)
// holds the Pool; the other ranks serve its tasks. Obtain it from rankpool::run().

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "rankpool/async_result.hpp"
#include "rankpool/detail/engine.hpp"
#include "rankpool/detail/jobs.hpp"
#include "rankpool/detail/sync_service.hpp"
#include "rankpool/error.hpp"
#include "rankpool/imap.hpp"
#include "rankpool/options.hpp"
#include "rankpool/outcome.hpp"

namespace rankpool {

template <class T>
using Callback = std::function<void(const T&)>;
using ErrorCallback = std::function<void(const RemoteError&)>;

namespace detail {
/// Keeps a parameter out of template argument deduction (std::type_identity is C++20).
template <class T>
struct type_identity {
  using type = T;
};
template <class T>
using nondeduced_t = typename type_identity<T>::type;

template <class T>
struct is_tuple : std::false_type {};
template <class... A>
struct is_tuple<std::tuple<A...>> : std::true_type {};
}  // namespace detail

class Pool {
 public:
  enum class State { running, closed, terminated };

  /// Built by rankpool::run() on the master.
  Pool(detail::Transport& transport, detail::Transport& channel,
       const detail::ResolvedOptions& options, const detail::ShippedCall& initializer);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// Ranks that run tasks (the master included when it computes).
  int processes() const { return engine_.processes(); }
  State state() const { return state_; }
  const detail::ResolvedOptions& options() const { return options_; }
  /// The state behind Lock, Queue, ... (see sync.hpp).
  detail::SyncService& sync_service() { return service_; }

  // ---- map family -------------------------------------------------------------------------

  /// f applied to every input, results in input order. Any range: vector, array,
  /// rankpool::range(a, b), list, ... Throws the RemoteError of the first failing input.
  template <class F, class Range>
  auto map(F f, const Range& inputs, std::optional<std::int64_t> chunksize = std::nullopt) {
    return map_impl<false>(f, inputs, chunksize).take();
  }
  /// map with each input a tuple whose elements are f's arguments.
  template <class F, class Range>
  auto starmap(F f, const Range& inputs, std::optional<std::int64_t> chunksize = std::nullopt) {
    return map_impl<true>(f, inputs, chunksize).take();
  }
  /// map without waiting. The inputs are copied (moved when passed as rvalues).
  template <class F, class Range,
            class R = detail::item_result_t<F, detail::range_value_t<Range>, false>>
  AsyncResult<std::vector<R>> map_async(
      F f, Range&& inputs, std::optional<std::int64_t> chunksize = std::nullopt,
      detail::nondeduced_t<Callback<std::vector<R>>> callback = {},
      ErrorCallback error_callback = {}) {
    return map_async_impl<false>(f, std::forward<Range>(inputs), chunksize, std::move(callback),
                                 std::move(error_callback));
  }
  template <class F, class Range,
            class R = detail::item_result_t<F, detail::range_value_t<Range>, true>>
  AsyncResult<std::vector<R>> starmap_async(
      F f, Range&& inputs, std::optional<std::int64_t> chunksize = std::nullopt,
      detail::nondeduced_t<Callback<std::vector<R>>> callback = {},
      ErrorCallback error_callback = {}) {
    return map_async_impl<true>(f, std::forward<Range>(inputs), chunksize, std::move(callback),
                                std::move(error_callback));
  }

  /// Every input's outcome, in input order: its value, or the error it raised (RemoteError;
  /// TaskCrashed under isolation), instead of the first error ending the map. `halt` stops
  /// issuing work after too many failures; inputs never started come back as not_run.
  template <class F, class Range>
  auto map_outcomes(F f, const Range& inputs, HaltPolicy halt = {},
                    std::optional<std::int64_t> chunksize = std::nullopt) {
    return outcomes_impl<false>(f, inputs, halt, chunksize);
  }
  /// map_outcomes with each input a tuple whose elements are f's arguments.
  template <class F, class Range>
  auto starmap_outcomes(F f, const Range& inputs, HaltPolicy halt = {},
                        std::optional<std::int64_t> chunksize = std::nullopt) {
    return outcomes_impl<true>(f, inputs, halt, chunksize);
  }

  // ---- apply family -----------------------------------------------------------------------

  /// f(args...) on some process; waits for the result.
  template <class F, class... A>
  auto apply(F f, A&&... args) {
    return apply_async(f, std::forward<A>(args)...).take();
  }
  /// f(args...) without waiting.
  template <
      class F, class... A,
      std::enable_if_t<
          (sizeof...(A) == 0 ||
           !detail::is_tuple<std::decay_t<std::tuple_element_t<0, std::tuple<A..., int>>>>::value),
          int> = 0>
  auto apply_async(F f, A&&... args) {
    return apply_async(f, std::make_tuple(std::forward<A>(args)...));
  }
  /// Python's apply_async(func, args, callback, error_callback): the tuple's elements are f's
  /// arguments.
  template <class F, class... A,
            class R = detail::item_result_t<F, std::tuple<std::decay_t<A>...>, true>>
  AsyncResult<R> apply_async(F f, std::tuple<A...> args,
                             detail::nondeduced_t<Callback<R>> callback = {},
                             ErrorCallback error_callback = {}) {
    using Tuple = std::tuple<std::decay_t<A>...>;
    using Source = detail::SingleSource<Tuple>;
    require_running("apply_async");
    auto state = make_state<R>(std::move(callback), std::move(error_callback));
    auto job = std::make_shared<detail::MapJob<F, Source, true, R>>(
        f, Source(Tuple(std::move(args))), state,
        +[](std::vector<R>&& v) -> R { return std::move(v.front()); });
    engine_.submit(job, 1, 1, detail::Policy::dynamic);
    return AsyncResult<R>(state);
  }

  // ---- imap family ------------------------------------------------------------------------

  /// Lazy, ordered results; pulls input on demand (endless inputs work). chunksize default 1.
  template <class F, class Range>
  auto imap(F f, Range&& inputs, std::int64_t chunksize = 1) {
    return imap_impl<false>(f, std::forward<Range>(inputs), chunksize, true);
  }
  /// As imap, results in completion order.
  template <class F, class Range>
  auto imap_unordered(F f, Range&& inputs, std::int64_t chunksize = 1) {
    return imap_impl<false>(f, std::forward<Range>(inputs), chunksize, false);
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /// No more work may be submitted; outstanding work still completes.
  void close();
  /// Stops at once: undispatched work is dropped, results not yet ready are discarded (their
  /// get() throws PoolStateError). Chunks already running on workers finish and are ignored.
  void terminate();
  /// Waits for all outstanding work. Only after close() or terminate(), as in Python.
  void join();

 private:
  void require_running(const char* what) const;
  /// How a map of n inputs is cut: the chunksize and policy handed to the scheduler.
  struct Plan {
    std::uint64_t chunksize;
    detail::Policy policy;
  };
  Plan plan_for(std::uint64_t n, std::optional<std::int64_t> requested) const;

  template <class R>
  std::shared_ptr<detail::AsyncState<R>> make_state(Callback<R> cb, ErrorCallback ecb) {
    auto state = std::make_shared<detail::AsyncState<R>>(&engine_);
    state->callback = std::move(cb);
    state->error_callback = std::move(ecb);
    return state;
  }

  template <bool Star, class F, class Source, class R>
  AsyncResult<std::vector<R>> submit_map(F f, Source source, std::optional<std::int64_t> chunksize,
                                         Callback<std::vector<R>> cb, ErrorCallback ecb) {
    auto state = make_state<std::vector<R>>(std::move(cb), std::move(ecb));
    auto job = std::make_shared<detail::MapJob<F, Source, Star, std::vector<R>>>(
        f, std::move(source), state, +[](std::vector<R>&& v) { return std::move(v); });
    std::uint64_t n = job->size();
    const Plan plan = plan_for(n, chunksize);
    engine_.submit(job, n, plan.chunksize, plan.policy);
    return AsyncResult<std::vector<R>>(state);
  }

  // map and starmap: the inputs are read in place (the call waits before returning).
  template <bool Star, class F, class Range>
  auto map_impl(F f, const Range& inputs, std::optional<std::int64_t> chunksize) {
    detail::require_shippable<F>();
    using T = detail::range_value_t<const Range>;
    using R = detail::item_result_t<F, T, Star>;
    require_running(Star ? "starmap" : "map");
    if constexpr (detail::is_random_access_range<const Range>::value) {
      return submit_map<Star, F, detail::RangeSource<const Range&>, R>(
          f, detail::RangeSource<const Range&>(inputs), chunksize, {}, {});
    } else {
      return submit_map<Star, F, detail::RangeSource<std::vector<T>>, R>(
          f,
          detail::RangeSource<std::vector<T>>(std::vector<T>(std::begin(inputs), std::end(inputs))),
          chunksize, {}, {});
    }
  }

  template <bool Star, class F, class Range>
  auto outcomes_impl(F f, const Range& inputs, HaltPolicy halt,
                     std::optional<std::int64_t> chunksize) {
    detail::require_shippable<F>();
    using T = detail::range_value_t<const Range>;
    using R = detail::item_result_t<F, T, Star>;
    require_running(Star ? "starmap_outcomes" : "map_outcomes");
    auto run = [&](auto source) {
      using Job = detail::OutcomeJob<F, decltype(source), Star>;
      auto state = make_state<std::vector<Outcome<R>>>({}, {});
      auto job = std::make_shared<Job>(f, std::move(source), state, engine_, halt);
      std::uint64_t n = job->size();
      const Plan plan = plan_for(n, chunksize);
      engine_.submit(job, n, plan.chunksize, plan.policy);
      return AsyncResult<std::vector<Outcome<R>>>(state).take();
    };
    if constexpr (detail::is_random_access_range<const Range>::value) {
      return run(detail::RangeSource<const Range&>(inputs));
    } else {
      return run(detail::RangeSource<std::vector<T>>(
          std::vector<T>(std::begin(inputs), std::end(inputs))));
    }
  }

  template <bool Star, class F, class Range, class R>
  AsyncResult<std::vector<R>> map_async_impl(F f, Range&& inputs,
                                             std::optional<std::int64_t> chunksize,
                                             Callback<std::vector<R>> cb, ErrorCallback ecb) {
    detail::require_shippable<F>();
    using Stored = std::decay_t<Range>;
    using T = detail::range_value_t<Stored>;
    require_running(Star ? "starmap_async" : "map_async");
    if constexpr (detail::is_random_access_range<Stored>::value) {
      return submit_map<Star, F, detail::RangeSource<Stored>, R>(
          f, detail::RangeSource<Stored>(Stored(std::forward<Range>(inputs))), chunksize,
          std::move(cb), std::move(ecb));
    } else {
      return submit_map<Star, F, detail::RangeSource<std::vector<T>>, R>(
          f,
          detail::RangeSource<std::vector<T>>(std::vector<T>(std::begin(inputs), std::end(inputs))),
          chunksize, std::move(cb), std::move(ecb));
    }
  }

  template <bool Star, class F, class Range>
  auto imap_impl(F f, Range&& inputs, std::int64_t chunksize, bool ordered) {
    detail::require_shippable<F>();
    using Stored = std::decay_t<Range>;
    using Job = detail::StreamJob<F, Stored, Star>;
    using R = typename Job::R;
    require_running(ordered ? "imap" : "imap_unordered");
    auto job = std::make_shared<Job>(f, Stored(std::forward<Range>(inputs)), engine_,
                                     detail::checked_chunksize(chunksize), ordered);
    job->start();
    return IMapIterator<R>(std::shared_ptr<detail::StreamJobBase<R>>(job));
  }

  detail::ResolvedOptions options_;
  detail::SyncService service_;
  detail::Engine engine_;
  State state_ = State::running;
};

}  // namespace rankpool

#pragma once
// The typed jobs behind the Pool's calls: MapJob (map, starmap, apply and their async forms)
// and StreamJob (imap, imap_unordered). They encode chunks, store results in input order and
// publish them; the Engine drives them.

#include <cstring>
#include <deque>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "rankpool/async_result.hpp"
#include "rankpool/detail/callable.hpp"
#include "rankpool/detail/engine.hpp"
#include "rankpool/detail/memory.hpp"
#include "rankpool/outcome.hpp"
#include "rankpool/process_info.hpp"

namespace rankpool::detail {

template <class Range>
using range_value_t = std::decay_t<decltype(*std::begin(std::declval<Range&>()))>;

template <class Range, class = void>
struct is_random_access_range : std::false_type {};
template <class Range>
struct is_random_access_range<
    Range, std::enable_if_t<std::is_base_of_v<std::random_access_iterator_tag,
                                              typename std::iterator_traits<decltype(std::begin(
                                                  std::declval<Range&>()))>::iterator_category>>>
    : std::true_type {};

template <class Range, class = void>
struct has_contiguous_data : std::false_type {};
template <class Range>
struct has_contiguous_data<
    Range, std::enable_if_t<std::is_same_v<
               std::decay_t<decltype(*std::data(std::declval<Range&>()))>, range_value_t<Range>>>>
    : std::true_type {};

/// The exception a failure is raised as where its result is read: a TaskCrashed for a process
/// that died or timed out (isolation), else a RemoteError carrying the task's exception.
inline std::shared_ptr<const RemoteError> to_remote_error(TaskFailure f) {
  if (f.kind != FailureKind::exception) {
    return std::make_shared<TaskCrashed>(std::move(f.message), f.rank, std::move(f.host), f.index,
                                         f.signal, f.exit_status, f.kind == FailureKind::timed_out);
  }
  return std::make_shared<RemoteError>(std::move(f.type_name), std::move(f.message), f.rank,
                                       std::move(f.host), f.index);
}

/// The failure of the item being run on the master itself.
inline TaskFailure local_failure(std::uint64_t index) {
  TaskFailure f;
  describe_current_exception(f.type_name, f.message);
  f.index = index;
  f.rank = current_process().rank;
  f.host = current_process().host;
  return f;
}

/// A random-access input, held by reference (map, which waits) or by value (async calls).
template <class Range>
class RangeSource {
 public:
  using value_type = range_value_t<std::remove_reference_t<Range>>;
  explicit RangeSource(Range r) : range_(std::forward<Range>(r)) {}
  std::uint64_t size() const {
    return static_cast<std::uint64_t>(std::distance(std::begin(range_), std::end(range_)));
  }
  decltype(auto) get(std::uint64_t i) const {
    return *(std::begin(range_) + static_cast<std::ptrdiff_t>(i));
  }
  /// The inputs as one array of raw bytes, when they are (for zero-copy sends).
  const value_type* raw_data() const {
    if constexpr (has_contiguous_data<const std::remove_reference_t<Range>>::value &&
                  is_raw_array_v<value_type>) {
      return std::data(range_);
    } else {
      return nullptr;
    }
  }

 private:
  Range range_;
};

/// apply's single argument tuple.
template <class Tuple>
class SingleSource {
 public:
  using value_type = Tuple;
  explicit SingleSource(Tuple t) : value_(std::move(t)) {}
  std::uint64_t size() const { return 1; }
  const Tuple& get(std::uint64_t) const { return value_; }
  const Tuple* raw_data() const { return nullptr; }

 private:
  Tuple value_;
};

/// Compile-time checks of a task's input and result types, with messages that say what to do.
template <class T, class R>
constexpr bool check_task_types() {
  static_assert(std::is_default_constructible_v<R>,
                "rankpool: task results must be default-constructible (they are decoded into "
                "a vector)");
  static_assert(is_serializable_v<T>,
                "rankpool: the input type cannot be serialized; give it a cereal serialize() "
                "function or make it trivially copyable");
  static_assert(is_serializable_v<R>,
                "rankpool: the result type cannot be serialized; give it a cereal serialize() "
                "function or make it trivially copyable");
  return true;
}

/// Encodes chunk c of a random-access source: raw inputs go zero-copy (kept alive by `owner`),
/// others are encoded into a buffer.
template <class Source>
void prepare_from_source(const Source& source, const Chunk& c, OutgoingTask& out,
                         std::shared_ptr<const void> owner) {
  using T = typename Source::value_type;
  if (const T* raw = source.raw_data()) {
    out.parts.push_back({raw + c.begin, c.count * sizeof(T)});  // zero-copy from the input
    out.keep_alive = std::move(owner);
  } else {
    auto bytes = std::make_shared<std::vector<char>>();
    encode_inputs<T>([&](std::uint64_t i) -> decltype(auto) { return source.get(i); }, c.begin,
                     c.count, *bytes);
    out.parts.push_back({bytes->data(), bytes->size()});
    out.keep_alive = std::make_shared<
        std::pair<std::shared_ptr<std::vector<char>>, std::shared_ptr<const void>>>(
        bytes, std::move(owner));
  }
}

/// Both job kinds share the callable, its executor and its shipping bytes.
template <class F, class T, bool Star>
class CallableHolder {
 public:
  using R = item_result_t<F, T, Star>;
  static_assert(check_task_types<T, R>());

  explicit CallableHolder(F f) : f_(f), exec_(code_ref_of(&execute_chunk<F, T, Star>)) {
    encode_callable(f_, callable_bytes_);
  }

 protected:
  /// Appends the callable to an outgoing task.
  void finish_task(OutgoingTask& out) const {
    out.exec = exec_;
    out.parts.push_back({callable_bytes_.data(), callable_bytes_.size()});
    out.callable_size = callable_bytes_.size();
  }
  /// Reads a chunk's results into dest[0 .. count) (an iterator into a std::vector<R>).
  template <class It>
  static void read_results(PayloadSource& payload, It dest, std::uint64_t count) {
    if constexpr (is_raw_array_v<R>) {
      if (payload.size() != count * sizeof(R)) {
        throw SerializationError("rankpool: a result payload has " +
                                 std::to_string(payload.size()) + " bytes, expected " +
                                 std::to_string(count * sizeof(R)));
      }
      if (count != 0) payload.read_into(&*dest);  // zero-copy: straight into the result vector
    } else {
      std::vector<char> bytes(payload.size());
      payload.read_into(bytes.data());
      Reader reader(bytes.data(), bytes.size());
      for (std::uint64_t i = 0; i < count; ++i, ++dest) {
        R value{};
        reader(value);
        *dest = std::move(value);
      }
      if (reader.remaining() != 0) {
        throw SerializationError("rankpool: a result payload has trailing bytes");
      }
    }
  }
  /// Where a chunk run on the master puts its results while the main thread may be writing
  /// other chunks' results into the same vector: straight into their slots (distinct elements),
  /// except bool, whose std::vector packs bits that neighbouring chunks share; those go through
  /// a buffer that store() copies in on the main thread.
  class LocalSlots {
   public:
    LocalSlots(std::vector<R>& results, std::uint64_t begin, std::uint64_t count)
        : results_(results), begin_(begin) {
      if constexpr (std::is_same_v<R, bool>) buffer_.resize(count);
    }
    template <class V>
    void put(std::uint64_t i, V&& value) {
      if constexpr (std::is_same_v<R, bool>) {
        buffer_[i] = static_cast<bool>(value);
      } else {
        results_[begin_ + i] = std::forward<V>(value);
      }
    }
    void store() {
      if constexpr (std::is_same_v<R, bool>) {
        for (std::size_t i = 0; i < buffer_.size(); ++i) results_[begin_ + i] = buffer_[i] != 0;
      }
    }

   private:
    std::vector<R>& results_;
    std::uint64_t begin_;
    std::vector<char> buffer_;
  };

  /// Runs items on the master; returns the failure of the first item that threw.
  template <class Get, class Put>
  std::optional<TaskFailure> run_items(const Chunk& c, Get&& get, Put&& put) {
    std::uint64_t i = 0;
    try {
      for (; i < c.count; ++i) put(i, invoke_item<F, T, Star>(f_, get(i)));
    } catch (...) {
      return local_failure(c.begin + i);
    }
    return std::nullopt;
  }

  F f_;
  CodeRef exec_;
  std::vector<char> callable_bytes_;
};

/// map / starmap / apply: a known number of items; the result is Finish(results).
template <class F, class Source, bool Star, class Out>
class MapJob : public JobBase,
               public CallableHolder<F, typename Source::value_type, Star>,
               public std::enable_shared_from_this<MapJob<F, Source, Star, Out>> {
  using T = typename Source::value_type;
  using Base = CallableHolder<F, T, Star>;

 public:
  using R = typename Base::R;
  using Finish = Out (*)(std::vector<R>&&);

  MapJob(F f, Source source, std::shared_ptr<AsyncState<Out>> state, Finish finish)
      : Base(f), source_(std::move(source)), state_(std::move(state)), finish_(finish) {}
  std::uint64_t size() const { return source_.size(); }

  // The result vector is allocated (and its pages touched) while the first chunks travel.
  void after_dispatch() override { resize_large(results_, source_.size()); }

  void prepare(const Chunk& c, OutgoingTask& out) override {
    prepare_from_source(source_, c, out, this->shared_from_this());
    this->finish_task(out);
  }
  void receive(const Chunk& c, PayloadSource& payload) override {
    this->read_results(payload, results_.begin() + static_cast<std::ptrdiff_t>(c.begin), c.count);
  }
  LocalWork local_work(const Chunk& c) override {
    return [self = this->shared_from_this(), c]() -> Apply {
      auto slots = std::make_shared<typename Base::LocalSlots>(self->results_, c.begin, c.count);
      auto failure = self->run_items(
          c, [&](std::uint64_t i) -> decltype(auto) { return self->source_.get(c.begin + i); },
          [&](std::uint64_t i, auto&& r) { slots->put(i, std::forward<decltype(r)>(r)); });
      return [self, c, slots, failure]() {
        slots->store();
        if (failure) self->fail(c, *failure);
      };
    };
  }
  void fail(const Chunk&, TaskFailure failure) override {
    // Python's map reports the first failing input in input order.
    if (!failure_ || failure.index < failure_->index) failure_ = std::move(failure);
  }
  void complete() override {
    if (state_->discarded) return;
    if (failure_) {
      state_->set_error(to_remote_error(std::move(*failure_)));
    } else {
      state_->set_value(finish_(std::move(results_)));
    }
  }
  void discard() override {
    if (!state_->ready) state_->discarded = true;
  }

 private:
  Source source_;
  std::shared_ptr<AsyncState<Out>> state_;
  Finish finish_;
  std::vector<R> results_;
  std::optional<TaskFailure> failure_;
};

/// map_outcomes: every item's value or error (keep-going chunks), stopping early by HaltPolicy.
template <class F, class Source, bool Star>
class OutcomeJob : public JobBase,
                   public CallableHolder<F, typename Source::value_type, Star>,
                   public std::enable_shared_from_this<OutcomeJob<F, Source, Star>> {
  using T = typename Source::value_type;
  using Base = CallableHolder<F, T, Star>;

 public:
  using R = typename Base::R;
  using Out = std::vector<Outcome<R>>;

  OutcomeJob(F f, Source source, std::shared_ptr<AsyncState<Out>> state, Engine& engine,
             HaltPolicy halt)
      : Base(f),
        source_(std::move(source)),
        state_(std::move(state)),
        engine_(engine),
        halt_(halt) {
    if (!(halt.max_failure_fraction >= 0 && halt.max_failure_fraction <= 1)) {
      throw ValueError("rankpool: HaltPolicy::max_failure_fraction must be in [0, 1]");
    }
  }
  std::uint64_t size() const { return source_.size(); }
  bool keep_going() const override { return true; }

  void after_dispatch() override {
    results_.resize(source_.size());
    status_.assign(source_.size(), not_run);
  }
  void prepare(const Chunk& c, OutgoingTask& out) override {
    prepare_from_source(source_, c, out, this->shared_from_this());
    this->finish_task(out);
  }
  void receive(const Chunk& c, PayloadSource& payload) override {
    this->read_results(payload, results_.begin() + static_cast<std::ptrdiff_t>(c.begin), c.count);
    std::fill_n(status_.begin() + static_cast<std::ptrdiff_t>(c.begin), c.count, ok);
  }
  void receive_partial(const Chunk& c, PayloadSource& payload,
                       std::uint64_t results_size) override {
    std::vector<char> bytes;
    auto failures = read_partial(payload, results_size, bytes);
    std::vector<bool> failed(c.count, false);
    for (const auto& f : failures) {
      if (f.index < c.begin || f.index >= c.begin + c.count) {
        throw SerializationError("rankpool: a partial result names an item outside its chunk");
      }
      failed[f.index - c.begin] = true;
    }
    // The values of the items that succeeded, in order, decoded into their slots.
    std::vector<R> values(c.count - failures.size());
    PayloadSource part(bytes.data(), results_size);
    this->read_results(part, values.begin(), values.size());
    std::size_t next = 0;
    for (std::uint64_t i = 0; i < c.count; ++i) {
      if (failed[i]) continue;
      results_[c.begin + i] = std::move(values[next++]);
      status_[c.begin + i] = ok;
    }
    for (auto& f : failures) record_failure(c, std::move(f));
  }
  LocalWork local_work(const Chunk& c) override {
    return [self = this->shared_from_this(), c]() -> Apply {
      auto slots = std::make_shared<typename Base::LocalSlots>(self->results_, c.begin, c.count);
      auto failures = std::make_shared<std::vector<TaskFailure>>();
      for (std::uint64_t i = 0; i < c.count; ++i) {
        std::uint64_t index = c.begin + i;
        try {
          slots->put(i, invoke_item<F, T, Star>(self->f_, self->source_.get(index)));
          self->status_[index] = ok;  // one byte per item: no neighbour shares it
        } catch (...) {
          failures->push_back(local_failure(index));
        }
      }
      return [self, c, slots, failures]() {
        slots->store();
        for (auto& f : *failures) self->record_failure(c, std::move(f));
      };
    };
  }
  void fail(const Chunk& c, TaskFailure failure) override {
    // The whole chunk could not run (its input could not be decoded, the initializer failed):
    // every item of it not yet done gets this error.
    for (std::uint64_t i = 0; i < c.count; ++i) {
      if (status_[c.begin + i] != not_run) continue;
      TaskFailure f = failure;
      f.index = c.begin + i;
      record_failure(c, std::move(f));
    }
  }
  void complete() override {
    if (state_->discarded) return;
    Out out(results_.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (status_[i] == ok) {
        out[i] = Outcome<R>::success(std::move(results_[i]));
      } else if (status_[i] == failed) {
        out[i] = Outcome<R>::failure(to_remote_error(std::move(failures_.at(i))));
      }
    }
    state_->set_value(std::move(out));
  }
  void discard() override {
    if (!state_->ready) state_->discarded = true;
  }

 private:
  enum ItemStatus : std::uint8_t { not_run = 0, ok = 1, failed = 2 };

  void record_failure(const Chunk& c, TaskFailure f) {
    std::uint64_t index = f.index;
    status_[index] = failed;
    failures_[index] = std::move(f);
    if (halted_) return;
    std::uint64_t n = failures_.size();
    bool too_many = halt_.max_failures != 0 && n >= halt_.max_failures;
    bool too_large =
        halt_.max_failure_fraction > 0 &&
        static_cast<double>(n) > halt_.max_failure_fraction * static_cast<double>(source_.size());
    if (too_many || too_large) {
      halted_ = true;
      engine_.cancel(c.job);  // chunks in flight still finish and are recorded
    }
  }

  Source source_;
  std::shared_ptr<AsyncState<Out>> state_;
  Engine& engine_;
  HaltPolicy halt_;
  bool halted_ = false;
  std::vector<R> results_;
  std::vector<std::uint8_t> status_;
  std::map<std::uint64_t, TaskFailure> failures_;
};

/// What imap yields: values, or a failure raised when the consumer reaches it.
template <class R>
class StreamJobBase : public JobBase {
 public:
  /// The next result (nullopt at the end); throws RemoteError for a failed chunk, TimeoutError
  /// when a deadline is given and passes.
  virtual std::optional<R> next(std::optional<Engine::Clock::time_point> deadline) = 0;
  /// Stop pulling input; chunks in flight are drained and dropped.
  virtual void stop() = 0;
  bool blocks_join() const override { return false; }
};

/// imap / imap_unordered over any input range, endless ones included: input is pulled only as
/// results are consumed, with at most `max_ahead` chunks pulled and not yet consumed.
template <class F, class Range, bool Star>
class StreamJob : public StreamJobBase<item_result_t<F, range_value_t<Range>, Star>>,
                  public CallableHolder<F, range_value_t<Range>, Star>,
                  public std::enable_shared_from_this<StreamJob<F, Range, Star>> {
  using T = range_value_t<Range>;
  using Base = CallableHolder<F, T, Star>;

 public:
  using R = typename Base::R;

  StreamJob(F f, Range range, Engine& engine, std::uint64_t chunksize, bool ordered)
      : Base(f),
        range_(std::move(range)),
        it_(std::begin(range_)),
        engine_(engine),
        chunksize_(chunksize),
        ordered_(ordered),
        max_ahead_(std::max<std::uint64_t>(
            2, 2 * static_cast<std::uint64_t>(engine.processes() * engine.config().window))) {}

  void start() {
    id_ = engine_.submit_stream(this->shared_from_this(), chunksize_);
    refill();
    engine_.poll();
  }

  void prepare(const Chunk& c, OutgoingTask& out) override {
    const auto& items = inputs_.at(c.begin);
    auto bytes = std::make_shared<std::vector<char>>();
    encode_inputs<T>([&](std::uint64_t i) -> const T& { return items[i - c.begin]; }, c.begin,
                     c.count, *bytes);
    out.parts.push_back({bytes->data(), bytes->size()});
    out.keep_alive =
        std::make_shared<std::pair<std::shared_ptr<std::vector<char>>, std::shared_ptr<StreamJob>>>(
            bytes, this->shared_from_this());
    this->finish_task(out);
  }
  void receive(const Chunk& c, PayloadSource& payload) override {
    Outcome o{c.begin, std::vector<R>(c.count), std::nullopt};
    this->read_results(payload, o.values.begin(), c.count);
    store(std::move(o));
  }
  JobBase::LocalWork local_work(const Chunk& c) override {
    // The chunk's inputs are copied here, on the main thread: the input map may change while
    // the work runs, and the entry must stay for prepare() (a straggler's backup copy).
    auto items = std::make_shared<std::vector<T>>(inputs_.at(c.begin));
    return [self = this->shared_from_this(), c, items]() -> JobBase::Apply {
      auto o = std::make_shared<Outcome>(Outcome{c.begin, std::vector<R>(c.count), std::nullopt});
      o->failure = self->run_items(
          c, [&](std::uint64_t i) -> const T& { return (*items)[i]; },
          [&](std::uint64_t i, auto&& r) { o->values[i] = std::forward<decltype(r)>(r); });
      return [self, o]() { self->store(std::move(*o)); };
    };
  }
  void fail(const Chunk& c, TaskFailure failure) override {
    store(Outcome{c.begin, std::vector<R>(c.count), std::move(failure)});
  }
  void complete() override {}  // the consumer sees the end through exhausted()
  void discard() override { stopped_ = true; }

  std::optional<R> next(std::optional<Engine::Clock::time_point> deadline) override {
    for (;;) {
      if (pos_ < current_.size()) return std::move(current_[pos_++]);
      if (stopped_) return std::nullopt;
      auto ready = [this] {
        refill();
        return has_outcome() || exhausted();
      };
      if (!engine_.wait_until(ready, deadline)) {
        throw TimeoutError(
            "rankpool: imap's next result was not ready in time; call next() "
            "again to keep waiting");
      }
      if (!has_outcome()) return std::nullopt;  // exhausted
      Outcome o = pop_outcome();
      if (o.failure) to_remote_error(std::move(*o.failure))->rethrow();
      current_ = std::move(o.values);
      pos_ = 0;
    }
  }
  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    engine_.cancel(id_);
    inputs_.clear();
  }

 private:
  struct Outcome {
    std::uint64_t begin = 0;
    std::vector<R> values;
    std::optional<TaskFailure> failure;
  };

  void refill() {
    while (!stopped_ && !input_done_ && pulled_ - consumed_ < max_ahead_) {
      std::vector<T> items;
      items.reserve(chunksize_);
      while (items.size() < chunksize_ && it_ != std::end(range_)) {
        items.push_back(*it_);
        ++it_;
      }
      std::uint64_t n = items.size();
      if (n > 0) {
        inputs_.emplace(next_item_, std::move(items));
        next_item_ += n;
        ++pulled_;
        engine_.scheduler().extend_job(id_, n);
      }
      if (n < chunksize_) {
        input_done_ = true;
        engine_.scheduler().finish_input(id_);
      }
    }
  }
  void store(Outcome o) {
    if (stopped_) return;
    inputs_.erase(o.begin);
    if (ordered_) {
      ready_.emplace(o.begin, std::move(o));
    } else {
      arrived_.push_back(std::move(o));
    }
  }
  bool has_outcome() const { return ordered_ ? ready_.count(next_begin_) > 0 : !arrived_.empty(); }
  Outcome pop_outcome() {
    Outcome o;
    if (ordered_) {
      auto node = ready_.extract(next_begin_);
      o = std::move(node.mapped());
    } else {
      o = std::move(arrived_.front());
      arrived_.pop_front();
    }
    next_begin_ = o.begin + o.values.size();
    ++consumed_;
    return o;
  }
  bool exhausted() const { return input_done_ && consumed_ == pulled_; }

  Range range_;
  decltype(std::begin(std::declval<Range&>())) it_;
  Engine& engine_;
  std::uint64_t chunksize_;
  bool ordered_;
  std::uint64_t max_ahead_;
  JobId id_ = 0;
  std::uint64_t next_item_ = 0;   // index of the next item to pull
  std::uint64_t next_begin_ = 0;  // first item of the next chunk to yield (ordered)
  std::uint64_t pulled_ = 0;      // chunks pulled from the input
  std::uint64_t consumed_ = 0;    // chunks handed to the consumer
  bool input_done_ = false;
  bool stopped_ = false;
  std::map<std::uint64_t, std::vector<T>> inputs_;  // by first item: chunks not yet done
  std::map<std::uint64_t, Outcome> ready_;          // ordered: done, not yet consumed
  std::deque<Outcome> arrived_;                     // unordered: in completion order
  std::vector<R> current_;
  std::size_t pos_ = 0;
};

}  // namespace rankpool::detail

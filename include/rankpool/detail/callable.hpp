#pragma once
// What can be shipped to another rank, and how a chunk runs there.
//
// A callable travels as bytes: a plain function as a CodeRef (module + offset, safe under ASLR);
// a lambda or function object as the raw bytes of its captures (so they must be trivially
// copyable). On the receiving rank an *executor*, a function template instantiated for the
// callable's type and the argument and result types, rebuilds the callable, decodes the inputs,
// runs them and encodes the results. The executor itself travels as a CodeRef.

#include <cstdint>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "rankpool/detail/code_ref.hpp"
#include "rankpool/detail/memory.hpp"
#include "rankpool/detail/protocol.hpp"
#include "rankpool/detail/serialize.hpp"

namespace rankpool {
/// What a task that returns void yields (Python's None).
struct None {
  friend bool operator==(None, None) { return true; }
};
}  // namespace rankpool

namespace rankpool::detail {

template <class F>
inline constexpr bool is_function_pointer_v =
    std::is_pointer_v<F>&& std::is_function_v<std::remove_pointer_t<F>>;

/// Plain functions, captureless lambdas, and function objects whose state is trivially copyable.
template <class F>
inline constexpr bool is_shippable_v = is_function_pointer_v<F> ||
                                       (std::is_class_v<F> && std::is_trivially_copyable_v<F>);

template <class F>
constexpr void require_shippable() {
  static_assert(is_shippable_v<F>,
                "rankpool can ship only plain functions, captureless lambdas, and lambdas or "
                "function objects whose captures are trivially copyable (they are sent by value "
                "as raw bytes). Pass strings, vectors and other owning data as task arguments "
                "instead of capturing them, and do not pass std::function.");
}

/// Appends the bytes that stand for `f` on another rank.
template <class F>
void encode_callable(const F& f, std::vector<char>& out) {
  require_shippable<F>();
  if constexpr (is_function_pointer_v<F>) {
    CodeRef ref = code_ref_of(f);
    out.insert(out.end(), reinterpret_cast<const char*>(&ref),
               reinterpret_cast<const char*>(&ref) + sizeof ref);
  } else {
    out.insert(out.end(), reinterpret_cast<const char*>(&f),
               reinterpret_cast<const char*>(&f) + sizeof(F));
  }
}

/// A plain function as a value that can be captured by a shipped lambda: it holds the function's
/// CodeRef, not its address (an address means nothing in another rank's process).
template <class Fn>
class PortableFunction;
template <class R, class... P>
class PortableFunction<R (*)(P...)> {
 public:
  explicit PortableFunction(R (*f)(P...)) : ref_(code_ref_of(f)) {}
  template <class... A>
  R operator()(A&&... args) const {
    return resolve_function<R(P...)>(ref_)(std::forward<A>(args)...);
  }

 private:
  CodeRef ref_;
};

/// `f` in a form that may be captured by value in a shipped lambda.
template <class F>
auto portable(F f) {
  require_shippable<F>();
  if constexpr (is_function_pointer_v<F>) {
    return PortableFunction<F>(f);
  } else {
    return f;
  }
}

/// The callable rebuilt from its bytes (see encode_callable).
template <class F>
class DecodedCallable {
 public:
  DecodedCallable(const char* bytes, std::size_t size) {
    if constexpr (is_function_pointer_v<F>) {
      CodeRef ref;
      check(size, sizeof ref);
      std::memcpy(&ref, bytes, sizeof ref);
      fn_ = resolve_function<std::remove_pointer_t<F>>(ref);
    } else {
      check(size, sizeof(F));
      std::memcpy(storage_, bytes, sizeof(F));  // F is trivially copyable: its bytes are it
    }
  }
  F& get() {
    if constexpr (is_function_pointer_v<F>) {
      return fn_;
    } else {
      return *std::launder(reinterpret_cast<F*>(storage_));
    }
  }

 private:
  static void check(std::size_t got, std::size_t want) {
    if (got != want) {
      throw SerializationError("rankpool: callable bytes have the wrong size (" +
                               std::to_string(got) + " instead of " + std::to_string(want) +
                               "); every rank must run the same build");
    }
  }
  // Lambdas are not default-constructible: a class callable lives in raw storage.
  std::conditional_t<is_function_pointer_v<F>, F, char> fn_{};
  alignas(F) unsigned char storage_[is_function_pointer_v<F> ? 1 : sizeof(F)]{};
};

/// What an executor sees of one chunk.
struct TaskContext {
  const char* input = nullptr;  // encoded inputs (raw array or cereal stream)
  std::size_t input_size = 0;
  const char* callable = nullptr;
  std::size_t callable_size = 0;
  std::uint64_t begin = 0;  // index of the first item within its job
  std::uint64_t count = 0;
  std::vector<char>* out = nullptr;  // encoded results replace its contents
  // Set when an item threw (or, isolated, its process died); results are then discarded.
  bool failed = false;
  std::uint64_t failed_index = 0;
  std::string error_type;
  std::string error_message;
  FailureKind failed_kind = FailureKind::exception;
  int failed_signal = 0;
  int failed_exit_status = 0;
  // Keep-going jobs (map_outcomes): an item that throws is recorded in `failures` (index, type,
  // message) and the chunk goes on; `out` then holds the results of the other items only.
  bool keep_going = false;
  std::vector<TaskFailure> failures;
  // Start at this position in the chunk (isolation restarts after the item that crashed).
  std::uint64_t first = 0;
  // Called after each item (i: position in the chunk) with the bytes of `out` its result took,
  // [from, to) (empty when it failed): isolation streams each result to its parent from here.
  void (*on_item)(TaskContext& ctx, std::uint64_t i, std::size_t from, std::size_t to) = nullptr;
  void* hook = nullptr;  // for on_item

  /// Marks the chunk failed with f (index, type, message, how).
  void fail_with(const TaskFailure& f) {
    failed = true;
    failed_index = f.index;
    error_type = f.type_name;
    error_message = f.message;
    failed_kind = f.kind;
    failed_signal = f.signal;
    failed_exit_status = f.exit_status;
  }
  /// The chunk's failure as reported to the master by `rank` on `host`.
  TaskFailure failure(int rank, const std::string& host) const {
    return TaskFailure{error_type, error_message, failed_index,  rank,
                       host,       failed_kind,   failed_signal, failed_exit_status};
  }
};

using ExecutorFn = void (*)(TaskContext&);

/// A readable name for the exception currently being handled (and its message).
void describe_current_exception(std::string& type_name, std::string& message);

/// Can an array of T travel (and be written in place) as raw bytes? bool is excluded because
/// std::vector<bool> is not contiguous.
template <class T>
inline constexpr bool is_raw_array_v = is_raw_v<T> && !std::is_same_v<T, bool>;

template <class F, class T, bool Star>
decltype(auto) invoke_item(F& f, const T& item) {
  if constexpr (Star) {
    if constexpr (std::is_void_v<decltype(std::apply(f, item))>) {
      std::apply(f, item);
      return None{};
    } else {
      return std::apply(f, item);
    }
  } else {
    if constexpr (std::is_void_v<decltype(f(item))>) {
      f(item);
      return None{};
    } else {
      return f(item);
    }
  }
}

template <class F, class T, bool Star>
using item_result_t =
    std::decay_t<decltype(invoke_item<F, T, Star>(std::declval<F&>(), std::declval<const T&>()))>;

/// Encodes items [first, first + count) of a random-access source as a chunk's input bytes.
template <class T, class Get>
void encode_inputs(Get&& get, std::uint64_t first, std::uint64_t count, std::vector<char>& out) {
  if constexpr (is_raw_array_v<T>) {
    out.resize(count * sizeof(T));
    auto* dst = reinterpret_cast<T*>(out.data());
    for (std::uint64_t i = 0; i < count; ++i) dst[i] = get(first + i);
  } else {
    Writer w(out);
    for (std::uint64_t i = 0; i < count; ++i) w(static_cast<const T&>(get(first + i)));
  }
}

/// Runs one chunk: F applied to each input T (unpacked as arguments when Star), results R.
template <class F, class T, bool Star>
void execute_chunk(TaskContext& ctx) {
  using R = item_result_t<F, T, Star>;
  DecodedCallable<F> callable(ctx.callable, ctx.callable_size);
  F& f = callable.get();
  std::uint64_t i = 0;
  try {
    if (ctx.first > ctx.count) throw ValueError("rankpool: a chunk cannot start past its end");
    if constexpr (is_raw_array_v<R>) {
      resize_large(*ctx.out, (ctx.count - ctx.first) * sizeof(R));  // written below
    } else {
      ctx.out->clear();
    }
    Writer writer(*ctx.out);
    std::size_t written = 0;  // results stored (raw R: their slots are contiguous)
    auto emit = [&](const R& r) {
      if constexpr (is_raw_array_v<R>) {
        std::memcpy(ctx.out->data() + written * sizeof(R), &r, sizeof(R));
      } else {
        writer(r);
      }
      ++written;
    };
    auto end_of_out = [&]() -> std::size_t {
      if constexpr (is_raw_array_v<R>) {
        return written * sizeof(R);
      } else {
        return ctx.out->size();
      }
    };
    // The plain path (a map: stop at the first failure, no hook) stays a tight loop.
    const bool plain = !ctx.keep_going && ctx.on_item == nullptr;
    auto run = [&](const T& item) {
      if (plain) {
        emit(invoke_item<F, T, Star>(f, item));
        return;
      }
      std::size_t from = end_of_out();
      if (!ctx.keep_going) {
        emit(invoke_item<F, T, Star>(f, item));
      } else {
        try {
          emit(invoke_item<F, T, Star>(f, item));
        } catch (...) {
          TaskFailure failure;
          describe_current_exception(failure.type_name, failure.message);
          failure.index = ctx.begin + i;
          ctx.failures.push_back(std::move(failure));
        }
      }
      if (ctx.on_item) ctx.on_item(ctx, i, from, end_of_out());
    };
    if constexpr (is_raw_array_v<T>) {
      if (ctx.input_size != ctx.count * sizeof(T)) {
        throw SerializationError("rankpool: chunk input has " + std::to_string(ctx.input_size) +
                                 " bytes, expected " + std::to_string(ctx.count * sizeof(T)));
      }
      // The buffer is aligned by the receiver; copy per item keeps this safe if it were not.
      for (i = ctx.first; i < ctx.count; ++i) {
        T item;
        std::memcpy(&item, ctx.input + i * sizeof(T), sizeof(T));
        run(item);
      }
    } else {
      Reader reader(ctx.input, ctx.input_size);
      for (i = 0; i < ctx.count; ++i) {
        T item{};
        reader(item);
        if (i >= ctx.first) run(item);
      }
    }
    if constexpr (is_raw_array_v<R>) ctx.out->resize(written * sizeof(R));  // keep-going holes
  } catch (...) {
    ctx.failed = true;
    ctx.failed_index = ctx.begin + i;
    describe_current_exception(ctx.error_type, ctx.error_message);
    ctx.out->clear();
  }
}

/// Runs an initializer: F called with the decoded argument tuple Args.
template <class F, class Args>
void execute_initializer(TaskContext& ctx) {
  DecodedCallable<F> callable(ctx.callable, ctx.callable_size);
  Args args{};
  Reader reader(ctx.input, ctx.input_size);
  reader(args);
  std::apply(callable.get(), args);
}

/// A callable with its executor and arguments, ready to ship (used for initializers).
struct ShippedCall {
  CodeRef exec;
  std::vector<char> callable;
  std::vector<char> args;
  ExecutorFn local = nullptr;  // the same executor, for the master itself
  bool empty() const { return local == nullptr; }
};

template <class F, class... A>
ShippedCall make_shipped_call(F f, A&&... args) {
  require_shippable<F>();
  using Args = std::tuple<std::decay_t<A>...>;
  static_assert(std::is_invocable_v<F&, std::decay_t<A>&...>,
                "rankpool: the initializer cannot be called with the given arguments");
  ShippedCall call;
  call.local = &execute_initializer<F, Args>;
  call.exec = code_ref_of(call.local);
  encode_callable(f, call.callable);
  Writer w(call.args);
  w(Args(std::forward<A>(args)...));
  return call;
}

/// Runs a ShippedCall here (the executor runs exactly as on a worker).
void run_shipped_call(const ShippedCall& call);

}  // namespace rankpool::detail

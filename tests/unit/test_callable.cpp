// Function shipping without MPI: code references, callable bytes, executors run on bytes.

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "rankpool/detail/callable.hpp"
#include "rankpool/detail/code_ref.hpp"
#include "rankpool/error.hpp"

namespace {

using namespace rankpool::detail;

long triple(long x) {
  return 3 * x;
}

TEST(CodeRef, RoundTripsFunctionAddresses) {
  CodeRef ref = code_ref_of(&triple);
  EXPECT_NE(ref.module, 0u);
  EXPECT_EQ(resolve_function<long(long)>(ref), &triple);
  // A function of another module (libstdc++/libc) resolves too.
  CodeRef libc = code_ref_of(&std::strlen);
  EXPECT_NE(libc.module, ref.module);
  EXPECT_EQ(resolve_function<std::size_t(const char*)>(libc), &std::strlen);
}

TEST(CodeRef, UnknownModuleIsACommunicationError) {
  CodeRef bogus{0x1234567890abcdefull, 16};
  EXPECT_THROW(resolve_address(bogus), rankpool::CommunicationError);
}

TEST(CodeRef, FingerprintIsStable) {
  EXPECT_EQ(build_fingerprint(), build_fingerprint());
}

TEST(Shippable, Classification) {
  auto captureless = [](int x) { return x; };
  int k = 3;
  auto by_value = [k](int x) { return x + k; };
  std::string s;
  auto owning = [s](int x) { return x + static_cast<int>(s.size()); };
  static_assert(is_shippable_v<decltype(&triple)>);
  static_assert(is_shippable_v<decltype(captureless)>);
  static_assert(is_shippable_v<decltype(by_value)>);
  static_assert(!is_shippable_v<decltype(owning)>);
  static_assert(!is_shippable_v<std::function<int(int)>>);
  (void)owning;
  SUCCEED();
}

template <class F, class T, bool Star = false>
std::vector<char> run_chunk(F f, const std::vector<T>& items, TaskContext& ctx) {
  std::vector<char> callable, input, out;
  encode_callable(f, callable);
  encode_inputs<T>([&](std::uint64_t i) -> const T& { return items[i]; }, 0, items.size(), input);
  ctx.input = input.data();
  ctx.input_size = input.size();
  ctx.callable = callable.data();
  ctx.callable_size = callable.size();
  ctx.begin = 100;
  ctx.count = items.size();
  ctx.out = &out;
  execute_chunk<F, T, Star>(ctx);
  return out;
}

TEST(Executor, RawInputsAndResults) {
  TaskContext ctx;
  auto out = run_chunk(&triple, std::vector<long>{1, 2, 3}, ctx);
  ASSERT_FALSE(ctx.failed);
  ASSERT_EQ(out.size(), 3 * sizeof(long));
  std::vector<long> got(3);
  std::memcpy(got.data(), out.data(), out.size());
  EXPECT_EQ(got, (std::vector<long>{3, 6, 9}));
}

TEST(Executor, CapturesTravelAsBytes) {
  std::string suffix_storage = "!";  // not captured: only a char is
  char suffix = suffix_storage[0];
  TaskContext ctx;
  auto out = run_chunk([suffix](const std::string& s) { return s + suffix; },
                       std::vector<std::string>{"a", "bc"}, ctx);
  ASSERT_FALSE(ctx.failed);
  Reader r(out.data(), out.size());
  std::string a, b;
  r(a)(b);
  EXPECT_EQ(a, "a!");
  EXPECT_EQ(b, "bc!");
}

TEST(Executor, StarUnpacksTuples) {
  TaskContext ctx;
  auto times = [](int a, int b) { return a * b; };
  auto out = run_chunk<decltype(times), std::tuple<int, int>, true>(times, {{2, 3}, {4, 5}}, ctx);
  ASSERT_FALSE(ctx.failed);
  std::vector<int> got(2);
  std::memcpy(got.data(), out.data(), out.size());
  EXPECT_EQ(got, (std::vector<int>{6, 20}));
}

TEST(Executor, ExceptionRecordsItemIndexAndType) {
  TaskContext ctx;
  auto out = run_chunk(
      [](int x) {
        if (x == 2) throw std::domain_error("two");
        return x;
      },
      std::vector<int>{0, 1, 2, 3}, ctx);
  EXPECT_TRUE(ctx.failed);
  EXPECT_EQ(ctx.failed_index, 102u);  // begin (100) + position 2
  EXPECT_EQ(ctx.error_type, "std::domain_error");
  EXPECT_EQ(ctx.error_message, "two");
  EXPECT_TRUE(out.empty());
}

TEST(Executor, WrongCallableSizeIsRejected) {
  std::vector<char> callable(3), out;
  std::vector<char> input(sizeof(long));
  TaskContext ctx;
  ctx.input = input.data();
  ctx.input_size = input.size();
  ctx.callable = callable.data();
  ctx.callable_size = callable.size();
  ctx.count = 1;
  ctx.out = &out;
  EXPECT_THROW((execute_chunk<long (*)(long), long, false>(ctx)), rankpool::SerializationError);
}

int g_init_value = 0;
void set_value(int v, const std::string& s) {
  g_init_value = v + static_cast<int>(s.size());
}

TEST(ShippedCall, RunsWithItsArguments) {
  auto call = make_shipped_call(&set_value, 40, std::string("ab"));
  EXPECT_FALSE(call.empty());
  run_shipped_call(call);
  EXPECT_EQ(g_init_value, 42);
  // Resolving the executor from its CodeRef gives the same function (what a worker does).
  EXPECT_EQ(resolve_function<void(TaskContext&)>(call.exec), call.local);
}

TEST(DescribeException, Kinds) {
  std::string type, message;
  try {
    throw std::invalid_argument("x");
  } catch (...) {
    describe_current_exception(type, message);
  }
  EXPECT_EQ(type, "std::invalid_argument");
  EXPECT_EQ(message, "x");
  try {
    throw 7;
  } catch (...) {
    describe_current_exception(type, message);
  }
  EXPECT_EQ(type, "int");
}

}  // namespace

// libFuzzer target: the message decoder (rankpool/detail/serialize.hpp) on arbitrary bytes.
//
// Input: byte 0 picks what to decode, byte 1 (for result payloads) how many items; the rest is
// the message. Properties:
//   * decoding never crashes, over-reads or hits undefined behaviour; bad bytes throw
//     rankpool::SerializationError (never another exception type);
//   * round trip: whatever decodes, encodes back to exactly the same bytes (the binary encoding
//     is canonical for these types), and decodes again to an equal value.
// Decoded as the master does: TaskFailure (an error message) and std::vector<TaskFailure> with
// from_bytes; result payloads as CallableHolder::read_results does (count values with one Reader,
// then no bytes left over).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "fuzz_common.hpp"
#include "rankpool/detail/protocol.hpp"
#include "rankpool/detail/serialize.hpp"
#include "rankpool/error.hpp"

namespace {

using rankpool::SerializationError;
using rankpool::detail::from_bytes;
using rankpool::detail::Reader;
using rankpool::detail::TaskFailure;
using rankpool::detail::to_bytes;
using rankpool::detail::Writer;

bool same(const TaskFailure& a, const TaskFailure& b) {
  return to_bytes(a) == to_bytes(b);
}
bool same(const std::vector<TaskFailure>& a, const std::vector<TaskFailure>& b) {
  return to_bytes(a) == to_bytes(b);
}
// Same encoding, not operator==: a decoded NaN is not == to itself but must round-trip.
template <class T>
bool same(const T& a, const T& b) {
  return to_bytes(a) == to_bytes(b);
}

/// A bitwise (trivially copyable, no cereal function) result type without padding bytes.
struct Pod {
  std::int32_t a;
  std::uint32_t b;
  double c;
};
bool same(const Pod& x, const Pod& y) {
  return std::memcmp(&x, &y, sizeof(Pod)) == 0;
}

/// One value occupying all of [data, data + size).
template <class T>
void decode_one(const char* data, std::size_t size) {
  T value{};
  try {
    value = from_bytes<T>(data, size);
  } catch (const SerializationError&) {
    return;  // rejected, as it should be
  }
  std::vector<char> again = to_bytes(value);
  FUZZ_CHECK(again.size() == size);
  FUZZ_CHECK(size == 0 || std::memcmp(again.data(), data, size) == 0);
  FUZZ_CHECK(same(from_bytes<T>(again), value));
}

/// `count` values read in a row, then nothing left: a chunk's result payload.
template <class R>
void decode_results(const char* data, std::size_t size, std::size_t count) {
  std::vector<R> values;
  try {
    Reader reader(data, size);
    for (std::size_t i = 0; i < count; ++i) {
      R value{};
      reader(value);
      values.push_back(std::move(value));
    }
    if (reader.remaining() != 0) return;  // the engine throws "trailing bytes" here
  } catch (const SerializationError&) {
    return;
  }
  std::vector<char> again;
  {
    Writer writer(again);
    for (const R& v : values) writer(v);
  }
  // Bytes our encoder never writes may still decode (a map or set with a repeated key keeps one,
  // a bool byte of 2 reads as true): the decoded values must then encode canonically, never
  // larger, and decode to the same values again.
  FUZZ_CHECK(again.size() <= size);
  Reader reader(again.data(), again.size());
  for (const R& v : values) {
    R w{};
    reader(w);
    FUZZ_CHECK(same(w, v));
  }
  FUZZ_CHECK(reader.remaining() == 0);
}

using Variant = std::variant<std::int64_t, std::string, std::vector<std::uint8_t>>;
using Tuple = std::tuple<int, std::optional<std::string>, std::pair<double, std::set<int>>>;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 2) return 0;
  const unsigned which = bytes[0] % 10;
  const std::size_t count = bytes[1] % 8;
  const char* data = reinterpret_cast<const char*>(bytes) + 2;
  const std::size_t n = size - 2;
  try {
    switch (which) {
      case 0:
        decode_one<TaskFailure>(data, n);
        break;
      case 1:
        decode_one<std::vector<TaskFailure>>(data, n);
        break;
      case 2:
        decode_results<std::string>(data, n, count);
        break;
      case 3:
        decode_results<std::vector<double>>(data, n, count);
        break;
      case 4:
        decode_results<std::map<std::string, std::int32_t>>(data, n, count);
        break;
      case 5:
        decode_results<Variant>(data, n, count);
        break;
      case 6:
        decode_results<Tuple>(data, n, count);
        break;
      case 7:
        decode_results<Pod>(data, n, count);
        break;
      case 8:
        decode_results<std::vector<bool>>(data, n, count);
        break;
      case 9:
        decode_results<std::optional<std::int16_t>>(data, n, count);
        break;
    }
  } catch (const rankpool::Error& e) {
    // Only SerializationError is expected from decoding; any other rankpool::Error is a bug.
    std::fprintf(stderr, "unexpected rankpool::Error: %s\n", e.what());
    FUZZ_CHECK(!"a decoder threw a rankpool::Error other than SerializationError");
  }
  // Any other exception escapes: libFuzzer reports it as a crash (uncaught exception).
  return 0;
}

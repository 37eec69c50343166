// Unit tests for rankpool/detail/serialize.hpp (no MPI).

#include "rankpool/detail/serialize.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bitset>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <limits>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "rankpool/error.hpp"

namespace rp_test {

// ---------------------------------------------------------------------------------------------
// Test types
// ---------------------------------------------------------------------------------------------

// Trivially copyable, no serialize function, with padding.
struct MyPod {
  std::int32_t id;
  double value;
  char tag[6];
  std::uint8_t flags;
};
bool operator==(const MyPod& a, const MyPod& b) {
  return a.id == b.id && a.value == b.value && std::memcmp(a.tag, b.tag, sizeof(a.tag)) == 0 &&
         a.flags == b.flags;
}
bool operator<(const MyPod& a, const MyPod& b) {
  return a.id < b.id;
}

MyPod MakePod(std::int32_t id) {
  MyPod p{};
  p.id = id;
  p.value = id * 1.5 - 0.25;
  std::memcpy(p.tag, "ab\0cd", 6);
  p.tag[4] = static_cast<char>('a' + (id % 26 + 26) % 26);
  p.flags = static_cast<std::uint8_t>(id * 7);
  return p;
}

// No padding, so its object representation is fully determined by its values.
struct NoPad {
  std::int32_t a;
  std::int32_t b;
};

struct DerivedPod : NoPad {
  std::int64_t c;
};

union Number {
  std::int64_t i;
  double d;
};

struct Empty {};

struct WithArrayMember {
  std::array<std::int16_t, 3> xs;
  std::uint64_t y;
};

struct WithPointer {
  const int* p;
  int n;
};

enum Color { kRed = 1, kGreen = 2, kBlue = 40000 };
enum class Small : std::uint8_t { kA = 0, kB = 255 };
enum class Wide : std::int64_t { kNeg = -(std::int64_t{1} << 50), kPos = std::int64_t{1} << 60 };

// Trivially copyable with a member serialize that writes only `a`: proves the member function is
// used and the type is not sent bitwise.
struct PodWithMemberSerialize {
  std::int32_t a;
  std::int32_t b;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(a);
  }
};

// Same with a non-member serialize.
struct PodWithNonMemberSerialize {
  std::int16_t a;
  std::int64_t b;
};
template <class Archive>
void serialize(Archive& ar, PodWithNonMemberSerialize& p) {
  ar(p.a);
}

// Member save/load that widen to 64 bits and offset the value.
struct PodWithSaveLoad {
  std::int32_t v;
  template <class Archive>
  void save(Archive& ar) const {
    ar(static_cast<std::int64_t>(v) + 1000);
  }
  template <class Archive>
  void load(Archive& ar) {
    std::int64_t w = 0;
    ar(w);
    v = static_cast<std::int32_t>(w - 1000);
  }
};

// Non-member template save/load: more specialized than the generic bitwise pair.
struct PodWithNonMemberSaveLoad {
  std::int32_t v;
};
template <class Archive>
void save(Archive& ar, const PodWithNonMemberSaveLoad& p) {
  ar(std::string("nm"), p.v);
}
template <class Archive>
void load(Archive& ar, PodWithNonMemberSaveLoad& p) {
  std::string marker;
  ar(marker, p.v);
  if (marker != "nm") throw std::runtime_error("bad marker");
}

// Non-member non-template save/load for the binary archives only.
struct PodWithExactSaveLoad {
  std::uint8_t v;
};
void save(cereal::BinaryOutputArchive& ar, const PodWithExactSaveLoad& p) {
  ar(static_cast<std::uint32_t>(p.v) * 3u);
}
void load(cereal::BinaryInputArchive& ar, PodWithExactSaveLoad& p) {
  std::uint32_t w = 0;
  ar(w);
  p.v = static_cast<std::uint8_t>(w / 3u);
}

// Non-member save_minimal/load_minimal.
struct Celsius {
  float degrees;
};
template <class Archive>
std::int64_t save_minimal(const Archive&, const Celsius& c) {
  return static_cast<std::int64_t>(c.degrees * 100.0f);
}
template <class Archive>
void load_minimal(const Archive&, Celsius& c, const std::int64_t& v) {
  c.degrees = static_cast<float>(v) / 100.0f;
}

// Versioned member serialize: `b` is only written from version 3 on.
struct VersionedPod {
  std::int32_t a;
  std::int32_t b;
  template <class Archive>
  void serialize(Archive& ar, const std::uint32_t version) {
    ar(a);
    if (version >= 3) ar(b);
  }
};

// Not trivially copyable, private member serialize.
class Person {
 public:
  Person() = default;
  Person(std::string name, std::vector<int> scores, std::optional<MyPod> pod)
      : name_(std::move(name)), scores_(std::move(scores)), pod_(pod) {}
  bool operator==(const Person& o) const {
    return name_ == o.name_ && scores_ == o.scores_ && pod_ == o.pod_;
  }

 private:
  friend class cereal::access;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name_, scores_, pod_);
  }
  std::string name_;
  std::vector<int> scores_;
  std::optional<MyPod> pod_;
};

// Not trivially copyable and no serialize: cannot be shipped.
struct NotShippable {
  std::string s;
};

// Save throws, to test Writer's rollback.
struct ThrowsOnSave {
  bool cereal_error;
  template <class Archive>
  void save(Archive& ar) const {
    ar(std::int32_t{42});
    if (cereal_error) throw cereal::Exception("boom from save");
    throw std::logic_error("plain error from save");
  }
  template <class Archive>
  void load(Archive&) {}
};

}  // namespace rp_test

CEREAL_CLASS_VERSION(rp_test::VersionedPod, 3)

namespace rp_test {
namespace {

using rankpool::SerializationError;
using rankpool::detail::from_bytes;
using rankpool::detail::is_bitwise_v;
using rankpool::detail::is_raw_v;
using rankpool::detail::is_serializable_v;
using rankpool::detail::Reader;
using rankpool::detail::to_bytes;
using rankpool::detail::Writer;

// ---------------------------------------------------------------------------------------------
// Compile-time classification
// ---------------------------------------------------------------------------------------------

static_assert(std::is_trivially_copyable_v<MyPod>);
static_assert(is_bitwise_v<MyPod>);
static_assert(is_bitwise_v<const MyPod>);
static_assert(is_bitwise_v<NoPad>);
static_assert(is_bitwise_v<DerivedPod>);
static_assert(is_bitwise_v<Number>);
static_assert(is_bitwise_v<Empty>);
static_assert(is_bitwise_v<WithArrayMember>);
static_assert(is_bitwise_v<WithPointer>);

static_assert(!is_bitwise_v<volatile MyPod>);
static_assert(!is_bitwise_v<MyPod*>);
static_assert(!is_bitwise_v<MyPod[2]>);
static_assert(!is_bitwise_v<int>);
static_assert(!is_bitwise_v<double>);
static_assert(!is_bitwise_v<bool>);
static_assert(!is_bitwise_v<Color>);
static_assert(!is_bitwise_v<Small>);
static_assert(!is_bitwise_v<std::pair<int, int>>);
static_assert(!is_bitwise_v<std::array<int, 3>>);
static_assert(!is_bitwise_v<std::array<MyPod, 3>>);
static_assert(!is_bitwise_v<std::optional<int>>);
static_assert(!is_bitwise_v<std::optional<MyPod>>);
static_assert(!is_bitwise_v<std::tuple<>>);
static_assert(!is_bitwise_v<std::tuple<int, MyPod>>);
static_assert(!is_bitwise_v<std::variant<int, float>>);
static_assert(!is_bitwise_v<std::monostate>);
static_assert(!is_bitwise_v<std::complex<double>>);
static_assert(!is_bitwise_v<std::chrono::seconds>);
static_assert(!is_bitwise_v<std::chrono::system_clock::time_point>);
static_assert(!is_bitwise_v<std::bitset<10>>);
static_assert(!is_bitwise_v<std::atomic<int>>);
static_assert(!is_bitwise_v<std::less<int>>);
static_assert(!is_bitwise_v<std::string_view>);
static_assert(!is_bitwise_v<std::reference_wrapper<int>>);
static_assert(!is_bitwise_v<std::string>);
static_assert(!is_bitwise_v<std::vector<int>>);
static_assert(!is_bitwise_v<cereal::BinaryData<int*>>);
static_assert(!is_bitwise_v<cereal::SizeTag<std::uint64_t>>);
static_assert(!is_bitwise_v<PodWithMemberSerialize>);
static_assert(!is_bitwise_v<PodWithNonMemberSerialize>);
static_assert(!is_bitwise_v<PodWithSaveLoad>);
static_assert(!is_bitwise_v<PodWithNonMemberSaveLoad>);
static_assert(!is_bitwise_v<PodWithExactSaveLoad>);
static_assert(!is_bitwise_v<Celsius>);
static_assert(!is_bitwise_v<VersionedPod>);
static_assert(!is_bitwise_v<Person>);
static_assert(!is_bitwise_v<NotShippable>);
// The user types above are trivially copyable: the exclusion comes from their functions.
static_assert(std::is_trivially_copyable_v<PodWithMemberSerialize>);
static_assert(std::is_trivially_copyable_v<PodWithNonMemberSaveLoad>);
static_assert(std::is_trivially_copyable_v<Celsius>);
static_assert(std::is_trivially_copyable_v<std::optional<int>>);
static_assert(std::is_trivially_copyable_v<std::array<int, 3>>);

static_assert(is_raw_v<int>);
static_assert(is_raw_v<const int>);
static_assert(is_raw_v<bool>);
static_assert(is_raw_v<char>);
static_assert(is_raw_v<long double>);
static_assert(is_raw_v<Color>);
static_assert(is_raw_v<Small>);
static_assert(is_raw_v<Wide>);
static_assert(is_raw_v<MyPod>);
static_assert(is_raw_v<Number>);
static_assert(!is_raw_v<int*>);
static_assert(!is_raw_v<std::pair<int, int>>);
static_assert(!is_raw_v<std::array<int, 3>>);
static_assert(!is_raw_v<std::optional<int>>);
static_assert(!is_raw_v<std::string>);
static_assert(!is_raw_v<PodWithMemberSerialize>);
static_assert(!is_raw_v<PodWithNonMemberSaveLoad>);
static_assert(!is_raw_v<Celsius>);

static_assert(is_serializable_v<int>);
static_assert(is_serializable_v<Color>);
static_assert(is_serializable_v<MyPod>);
static_assert(is_serializable_v<const MyPod&>);
static_assert(is_serializable_v<std::string>);
static_assert(is_serializable_v<std::vector<MyPod>>);
static_assert(is_serializable_v<std::map<int, MyPod>>);
static_assert(
    is_serializable_v<std::vector<std::map<std::string, std::pair<int, std::optional<MyPod>>>>>);
static_assert(is_serializable_v<std::variant<std::monostate, int, MyPod>>);
static_assert(is_serializable_v<std::tuple<>>);
static_assert(is_serializable_v<std::complex<float>>);
static_assert(is_serializable_v<std::chrono::milliseconds>);
static_assert(is_serializable_v<PodWithMemberSerialize>);
static_assert(is_serializable_v<PodWithNonMemberSerialize>);
static_assert(is_serializable_v<PodWithSaveLoad>);
static_assert(is_serializable_v<PodWithNonMemberSaveLoad>);
static_assert(is_serializable_v<PodWithExactSaveLoad>);
static_assert(is_serializable_v<Celsius>);
static_assert(is_serializable_v<VersionedPod>);
static_assert(is_serializable_v<Person>);
static_assert(!is_serializable_v<int*>);
static_assert(!is_serializable_v<NotShippable>);
static_assert(!is_serializable_v<std::string_view>);
static_assert(!is_serializable_v<std::vector<int*>>);
static_assert(!is_serializable_v<std::vector<std::string_view>>);
static_assert(!is_serializable_v<std::map<int, NotShippable>>);
static_assert(!is_serializable_v<std::optional<NotShippable>>);
static_assert(!is_serializable_v<std::pair<int, int*>>);
static_assert(!is_serializable_v<std::tuple<int, std::vector<NotShippable>>>);
static_assert(!is_serializable_v<std::variant<int, NotShippable>>);

TEST(SerializeTraits, RuntimeViewMatchesStaticAsserts) {
  // Same facts as above, evaluated where a failure would be reported by name.
  EXPECT_TRUE(is_bitwise_v<MyPod>);
  EXPECT_FALSE((is_bitwise_v<std::pair<int, int>>));
  EXPECT_FALSE((is_bitwise_v<std::array<int, 3>>));
  EXPECT_FALSE(is_bitwise_v<std::optional<int>>);
  EXPECT_FALSE(is_bitwise_v<PodWithMemberSerialize>);
  EXPECT_TRUE(is_raw_v<Color>);
  EXPECT_FALSE(is_raw_v<std::string>);
  EXPECT_FALSE(is_serializable_v<std::vector<int*>>);
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

template <class T>
T RoundTrip(const T& value) {
  const std::vector<char> bytes = to_bytes(value);
  return from_bytes<T>(bytes.data(), bytes.size());
}

template <class T>
void ExpectRoundTrip(const T& value) {
  EXPECT_EQ(RoundTrip(value), value);
}

std::uint64_t ReadU64(const std::vector<char>& bytes, std::size_t offset) {
  std::uint64_t v = 0;
  std::memcpy(&v, bytes.data() + offset, sizeof v);
  return v;
}

// Every strict prefix of `bytes` must fail to decode as T with a "truncated message" error.
template <class T>
void ExpectEveryPrefixTruncated(const std::vector<char>& bytes) {
  ASSERT_FALSE(bytes.empty());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    // Copy into an exactly-sized buffer so ASan catches any read past the prefix.
    std::vector<char> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    try {
      (void)from_bytes<T>(prefix.data(), prefix.size());
      ADD_FAILURE() << "prefix of length " << n << " of " << bytes.size() << " decoded";
    } catch (const SerializationError& e) {
      EXPECT_NE(std::string(e.what()).find("truncated message"), std::string::npos)
          << "prefix " << n << ": " << e.what();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Scalars, enums, strings
// ---------------------------------------------------------------------------------------------

TEST(SerializeRoundTrip, Arithmetic) {
  ExpectRoundTrip(std::numeric_limits<std::int8_t>::min());
  ExpectRoundTrip(std::numeric_limits<std::uint8_t>::max());
  ExpectRoundTrip(std::numeric_limits<std::int16_t>::min());
  ExpectRoundTrip(std::numeric_limits<std::int32_t>::min());
  ExpectRoundTrip(std::numeric_limits<std::uint32_t>::max());
  ExpectRoundTrip(std::numeric_limits<std::int64_t>::min());
  ExpectRoundTrip(std::numeric_limits<std::uint64_t>::max());
  ExpectRoundTrip(true);
  ExpectRoundTrip(false);
  ExpectRoundTrip('\0');
  ExpectRoundTrip(3.5f);
  ExpectRoundTrip(-1.0e300);
  ExpectRoundTrip(std::numeric_limits<double>::infinity());
  ExpectRoundTrip(std::numeric_limits<double>::denorm_min());
  ExpectRoundTrip(1.0L / 3.0L);
  EXPECT_EQ(to_bytes(std::int32_t{7}).size(), 4u);
  EXPECT_EQ(to_bytes(std::uint64_t{7}).size(), 8u);
  EXPECT_EQ(to_bytes(true).size(), 1u);
}

TEST(SerializeRoundTrip, FloatingPointBitsPreserved) {
  const double values[] = {std::nan("0x5"), -0.0, -std::numeric_limits<double>::infinity()};
  for (double v : values) {
    const double back = RoundTrip(v);
    EXPECT_EQ(std::memcmp(&v, &back, sizeof v), 0) << v;
  }
}

TEST(SerializeRoundTrip, Enums) {
  ExpectRoundTrip(kRed);
  ExpectRoundTrip(kBlue);
  ExpectRoundTrip(Small::kB);
  ExpectRoundTrip(Wide::kNeg);
  ExpectRoundTrip(Wide::kPos);
  EXPECT_EQ(to_bytes(Small::kB).size(), sizeof(Small));
  EXPECT_EQ(to_bytes(Wide::kPos).size(), sizeof(Wide));
  ExpectRoundTrip(std::vector<Color>{kGreen, kRed, kBlue});
  ExpectRoundTrip(std::map<Small, Wide>{{Small::kA, Wide::kNeg}, {Small::kB, Wide::kPos}});
}

TEST(SerializeRoundTrip, Strings) {
  ExpectRoundTrip(std::string());
  ExpectRoundTrip(std::string("hello, world"));
  ExpectRoundTrip(std::string(10000, 'z'));
  ExpectRoundTrip(std::u32string(U"\u00e9t\u00e9"));
  ExpectRoundTrip(std::wstring(L"wide"));
}

TEST(SerializeRoundTrip, StringWithEmbeddedNulBytes) {
  const std::string s("a\0b\0\0c\0", 7);
  ASSERT_EQ(s.size(), 7u);
  const std::string back = RoundTrip(s);
  EXPECT_EQ(back.size(), 7u);
  EXPECT_EQ(back, s);
  ExpectRoundTrip(std::vector<std::string>{std::string("\0", 1), std::string(), s});
  ExpectRoundTrip(std::map<std::string, std::string>{{std::string("k\0", 2), s}});
}

TEST(SerializeFormat, LengthsAreSixtyFourBit) {
  const std::vector<char> bytes = to_bytes(std::string("abc"));
  ASSERT_EQ(bytes.size(), 8u + 3u);
  EXPECT_EQ(ReadU64(bytes, 0), 3u);
  EXPECT_EQ(std::string(bytes.data() + 8, 3), "abc");
  const std::vector<char> vbytes = to_bytes(std::vector<std::int16_t>{1, 2, 3, 4, 5});
  ASSERT_EQ(vbytes.size(), 8u + 10u);
  EXPECT_EQ(ReadU64(vbytes, 0), 5u);
}

// ---------------------------------------------------------------------------------------------
// Standard containers
// ---------------------------------------------------------------------------------------------

TEST(SerializeRoundTrip, SequenceContainers) {
  ExpectRoundTrip(std::vector<int>{1, -2, 3});
  ExpectRoundTrip(std::vector<bool>{true, false, true, true, false});
  ExpectRoundTrip(std::vector<std::string>{"x", "", "yz"});
  ExpectRoundTrip(std::deque<double>{1.5, -2.25});
  ExpectRoundTrip(std::list<std::string>{"a", "bb", "ccc"});
  ExpectRoundTrip(std::forward_list<int>{5, 4, 3});
  ExpectRoundTrip(std::array<int, 3>{7, 8, 9});
  ExpectRoundTrip(std::array<std::string, 2>{"p", "q"});
}

TEST(SerializeRoundTrip, AssociativeContainers) {
  ExpectRoundTrip(std::map<std::string, int>{{"one", 1}, {"two", 2}});
  {
    // cereal re-inserts with emplace_hint, so elements with equal keys may come back in another
    // order; the contents must be the same.
    const std::multimap<int, std::string> mm{{1, "a"}, {1, "b"}, {2, "c"}, {1, "d"}};
    const auto back = RoundTrip(mm);
    std::vector<std::pair<int, std::string>> expected(mm.begin(), mm.end());
    std::vector<std::pair<int, std::string>> got(back.begin(), back.end());
    std::sort(expected.begin(), expected.end());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, expected);
  }
  ExpectRoundTrip(std::unordered_map<int, std::string>{{1, "x"}, {-5, "y"}, {9, ""}});
  ExpectRoundTrip(std::set<std::string>{"k", "a", "z"});
  ExpectRoundTrip(std::multiset<int>{3, 3, 1});
  ExpectRoundTrip(std::unordered_set<std::uint64_t>{1, 2, 1ull << 60});
}

TEST(SerializeRoundTrip, PairTupleOptionalVariant) {
  ExpectRoundTrip(std::pair<int, std::string>{4, "four"});
  ExpectRoundTrip(std::tuple<int, double, std::string>{1, 2.5, "three"});
  ExpectRoundTrip(std::tuple<>{});
  EXPECT_TRUE(to_bytes(std::tuple<>{}).empty());
  EXPECT_NO_THROW((from_bytes<std::tuple<>>(nullptr, 0)));
  ExpectRoundTrip(std::optional<int>{5});
  ExpectRoundTrip(std::optional<int>{});
  ExpectRoundTrip(std::optional<std::string>{"opt"});
  using V = std::variant<std::monostate, int, std::string, MyPod>;
  ExpectRoundTrip(V{});
  ExpectRoundTrip(V{17});
  ExpectRoundTrip(V{std::string("alt")});
  ExpectRoundTrip(V{MakePod(3)});
  EXPECT_EQ(RoundTrip(V{std::string("alt")}).index(), 2u);
}

TEST(SerializeRoundTrip, OtherStdTypes) {
  ExpectRoundTrip(std::complex<double>{1.5, -2.5});
  ExpectRoundTrip(std::chrono::nanoseconds{123456789012345});
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(RoundTrip(now), now);
  ExpectRoundTrip(std::bitset<70>{}.set(0).set(69).set(33));
  std::atomic<int> a{42};
  const std::vector<char> bytes = to_bytes(a);
  std::atomic<int> b{0};
  Reader(bytes.data(), bytes.size())(b);
  EXPECT_EQ(b.load(), 42);
}

TEST(SerializeRoundTrip, EmptyContainers) {
  ExpectRoundTrip(std::vector<int>{});
  ExpectRoundTrip(std::vector<MyPod>{});
  ExpectRoundTrip(std::vector<std::string>{});
  ExpectRoundTrip(std::map<int, int>{});
  ExpectRoundTrip(std::unordered_map<std::string, MyPod>{});
  ExpectRoundTrip(std::set<int>{});
  ExpectRoundTrip(std::deque<MyPod>{});
  ExpectRoundTrip(std::list<int>{});
  ExpectRoundTrip(std::optional<std::vector<int>>{std::vector<int>{}});
  EXPECT_EQ(to_bytes(std::vector<int>{}).size(), 8u);
  EXPECT_EQ(ReadU64(to_bytes(std::map<int, int>{}), 0), 0u);
  // A non-empty destination is replaced, not appended to.
  const std::vector<char> bytes = to_bytes(std::vector<int>{});
  std::vector<int> target{1, 2, 3};
  Reader(bytes.data(), bytes.size())(target);
  EXPECT_TRUE(target.empty());
}

TEST(SerializeRoundTrip, NestedCombinations) {
  using Inner = std::map<std::string, std::pair<int, std::optional<MyPod>>>;
  std::vector<Inner> v(3);
  v[0]["a"] = {1, MakePod(1)};
  v[0]["b"] = {2, std::nullopt};
  v[2][std::string("\0z", 2)] = {-3, MakePod(-3)};
  ExpectRoundTrip(v);

  using Deep =
      std::map<int, std::vector<std::tuple<std::string, std::optional<std::vector<MyPod>>,
                                           std::variant<int, MyPod, std::deque<std::string>>>>>;
  Deep d;
  d[1].emplace_back("x", std::vector<MyPod>{MakePod(5), MakePod(6)}, MakePod(7));
  d[1].emplace_back("", std::nullopt, 9);
  d[-4].emplace_back("y", std::vector<MyPod>{}, std::deque<std::string>{"q", ""});
  d[8];
  ExpectRoundTrip(d);

  std::unordered_map<std::string, std::list<std::set<std::pair<int, std::string>>>> u;
  u["k"].push_back({{1, "a"}, {0, "b"}});
  u["k"].emplace_back();
  u[""];
  ExpectRoundTrip(u);
}

// ---------------------------------------------------------------------------------------------
// Trivially copyable structs without serialize functions
// ---------------------------------------------------------------------------------------------

TEST(SerializeBitwise, TopLevelIsObjectBytes) {
  const NoPad p{0x01020304, -7};
  const std::vector<char> bytes = to_bytes(p);
  ASSERT_EQ(bytes.size(), sizeof(NoPad));
  EXPECT_EQ(std::memcmp(bytes.data(), &p, sizeof p), 0);
  const NoPad back = from_bytes<NoPad>(bytes.data(), bytes.size());
  EXPECT_EQ(back.a, p.a);
  EXPECT_EQ(back.b, p.b);

  EXPECT_EQ(to_bytes(MakePod(1)).size(), sizeof(MyPod));
  ExpectRoundTrip(MakePod(12));
}

TEST(SerializeBitwise, OtherShapes) {
  DerivedPod d{};
  d.a = 1;
  d.b = 2;
  d.c = -3;
  const DerivedPod d2 = RoundTrip(d);
  EXPECT_EQ(d2.a, 1);
  EXPECT_EQ(d2.b, 2);
  EXPECT_EQ(d2.c, -3);

  Number n{};
  n.d = 2.75;
  EXPECT_EQ(RoundTrip(n).d, 2.75);

  EXPECT_EQ(to_bytes(Empty{}).size(), sizeof(Empty));
  EXPECT_EQ(RoundTrip(std::vector<Empty>(4)).size(), 4u);

  const WithArrayMember w{{1, -2, 3}, 1ull << 63};
  const WithArrayMember w2 = RoundTrip(w);
  EXPECT_EQ(w2.xs, w.xs);
  EXPECT_EQ(w2.y, w.y);
}

TEST(SerializeBitwise, PointersAreCopiedAsBits) {
  // Documented behaviour: the pointer value travels unchanged (meaningless on another rank).
  static const int target = 5;
  const WithPointer w{&target, 3};
  const WithPointer back = RoundTrip(w);
  EXPECT_EQ(back.p, &target);
  EXPECT_EQ(back.n, 3);
}

TEST(SerializeBitwise, InsideContainers) {
  const std::vector<MyPod> v{MakePod(1), MakePod(2), MakePod(-3)};
  ExpectRoundTrip(v);
  EXPECT_EQ(to_bytes(v).size(), 8u + 3u * sizeof(MyPod));
  ExpectRoundTrip(std::map<int, MyPod>{{1, MakePod(10)}, {2, MakePod(20)}});
  ExpectRoundTrip(std::map<MyPod, std::string>{{MakePod(1), "one"}, {MakePod(2), "two"}});
  ExpectRoundTrip(std::unordered_map<std::string, MyPod>{{"a", MakePod(4)}});
  ExpectRoundTrip(std::optional<MyPod>{MakePod(8)});
  ExpectRoundTrip(std::optional<MyPod>{});
  ExpectRoundTrip(std::tuple<MyPod, int, MyPod>{MakePod(1), 2, MakePod(3)});
  ExpectRoundTrip(std::pair<MyPod, std::string>{MakePod(6), "six"});
  ExpectRoundTrip(std::array<MyPod, 2>{MakePod(1), MakePod(2)});
  ExpectRoundTrip(std::deque<MyPod>{MakePod(1)});
  ExpectRoundTrip(std::list<MyPod>{MakePod(1), MakePod(9)});
  ExpectRoundTrip(std::set<MyPod>{MakePod(3), MakePod(1)});
  const std::vector<NoPad> np{{1, 2}, {3, 4}};
  const std::vector<NoPad> np2 = RoundTrip(np);
  ASSERT_EQ(np2.size(), 2u);
  EXPECT_EQ(np2[1].a, 3);
  EXPECT_EQ(np2[1].b, 4);
}

// ---------------------------------------------------------------------------------------------
// User types with their own cereal functions
// ---------------------------------------------------------------------------------------------

TEST(SerializeUserTypes, MemberSerializeIsUsed) {
  const PodWithMemberSerialize p{11, 99};
  const std::vector<char> bytes = to_bytes(p);
  EXPECT_EQ(bytes.size(), sizeof(std::int32_t));  // only `a`, not the object bytes
  const auto back = from_bytes<PodWithMemberSerialize>(bytes.data(), bytes.size());
  EXPECT_EQ(back.a, 11);
  EXPECT_EQ(back.b, 0);  // not serialized: value-initialized
  const std::vector<PodWithMemberSerialize> v{{1, 2}, {3, 4}};
  EXPECT_EQ(to_bytes(v).size(), 8u + 2u * sizeof(std::int32_t));
  const auto v2 = RoundTrip(v);
  ASSERT_EQ(v2.size(), 2u);
  EXPECT_EQ(v2[1].a, 3);
}

TEST(SerializeUserTypes, NonMemberSerializeIsUsed) {
  const PodWithNonMemberSerialize p{-5, 1234};
  EXPECT_EQ(to_bytes(p).size(), sizeof(std::int16_t));
  const auto back = RoundTrip(p);
  EXPECT_EQ(back.a, -5);
  EXPECT_EQ(back.b, 0);
  const auto m = RoundTrip(std::map<int, PodWithNonMemberSerialize>{{1, {7, 8}}});
  EXPECT_EQ(m.at(1).a, 7);
}

TEST(SerializeUserTypes, MemberSaveLoadIsUsed) {
  const PodWithSaveLoad p{-42};
  const std::vector<char> bytes = to_bytes(p);
  ASSERT_EQ(bytes.size(), sizeof(std::int64_t));
  std::int64_t raw = 0;
  std::memcpy(&raw, bytes.data(), sizeof raw);
  EXPECT_EQ(raw, 958);
  EXPECT_EQ(RoundTrip(p).v, -42);
  EXPECT_EQ(RoundTrip(std::optional<PodWithSaveLoad>{PodWithSaveLoad{5}})->v, 5);
}

TEST(SerializeUserTypes, NonMemberSaveLoadIsUsed) {
  const PodWithNonMemberSaveLoad p{77};
  EXPECT_EQ(to_bytes(p).size(), 8u + 2u + 4u);
  EXPECT_EQ(RoundTrip(p).v, 77);
  const auto v = RoundTrip(std::vector<PodWithNonMemberSaveLoad>{{1}, {2}});
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1].v, 2);

  const PodWithExactSaveLoad q{80};
  const std::vector<char> qbytes = to_bytes(q);
  ASSERT_EQ(qbytes.size(), 4u);
  std::uint32_t w = 0;
  std::memcpy(&w, qbytes.data(), 4);
  EXPECT_EQ(w, 240u);
  EXPECT_EQ(RoundTrip(q).v, 80);
}

TEST(SerializeUserTypes, SaveLoadMinimalIsUsed) {
  const Celsius c{21.5f};
  EXPECT_EQ(to_bytes(c).size(), sizeof(std::int64_t));
  EXPECT_FLOAT_EQ(RoundTrip(c).degrees, 21.5f);
  EXPECT_FLOAT_EQ(RoundTrip(std::vector<Celsius>{{-3.25f}})[0].degrees, -3.25f);
}

TEST(SerializeUserTypes, VersionedSerialize) {
  const VersionedPod p{4, 5};
  // uint32 class version + a + b (b is written because the version is 3).
  EXPECT_EQ(to_bytes(p).size(), 12u);
  const auto back = RoundTrip(p);
  EXPECT_EQ(back.a, 4);
  EXPECT_EQ(back.b, 5);
}

TEST(SerializeUserTypes, NonTrivialClassWithPrivateSerialize) {
  const Person p("Ada", {1, 2, 3}, MakePod(1815));
  ExpectRoundTrip(p);
  ExpectRoundTrip(std::vector<Person>{p, Person(), Person("", {}, std::nullopt)});
  ExpectRoundTrip(std::map<std::string, Person>{{"x", p}});
}

// ---------------------------------------------------------------------------------------------
// Writer / Reader
// ---------------------------------------------------------------------------------------------

TEST(SerializeWriterReader, SeveralValuesInOrder) {
  std::vector<char> out{'P', 'R'};  // existing content is kept
  Writer writer(out);
  writer(std::int32_t{-9})(std::string("two"))(std::vector<MyPod>{MakePod(3)});
  writer(kBlue);
  EXPECT_EQ(writer.size(), out.size());
  ASSERT_EQ(out.size(), 2u + 4u + (8u + 3u) + (8u + sizeof(MyPod)) + sizeof(Color));
  EXPECT_EQ(out[0], 'P');
  EXPECT_EQ(out[1], 'R');

  Reader reader(out.data() + 2, out.size() - 2);
  EXPECT_EQ(reader.position(), 0u);
  EXPECT_EQ(reader.size(), out.size() - 2);
  std::int32_t i = 0;
  std::string s;
  std::vector<MyPod> v;
  Color c = kRed;
  reader(i);
  EXPECT_EQ(i, -9);
  EXPECT_EQ(reader.position(), 4u);
  reader(s)(v);
  EXPECT_EQ(s, "two");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], MakePod(3));
  EXPECT_EQ(reader.remaining(), sizeof(Color));
  reader(c);
  EXPECT_EQ(c, kBlue);
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_EQ(reader.position(), out.size() - 2);
  std::int32_t extra = 0;
  EXPECT_THROW(reader(extra), SerializationError);
}

TEST(SerializeWriterReader, WriterRollsBackOnFailure) {
  std::vector<char> out;
  Writer writer(out);
  writer(std::int16_t{3});
  ASSERT_EQ(out.size(), 2u);
  try {
    writer(ThrowsOnSave{true});
    ADD_FAILURE() << "expected a throw";
  } catch (const SerializationError& e) {
    EXPECT_NE(std::string(e.what()).find("boom from save"), std::string::npos) << e.what();
  }
  EXPECT_EQ(out.size(), 2u);
  // Other exceptions pass through unchanged, with the same rollback.
  EXPECT_THROW(writer(std::vector<ThrowsOnSave>{ThrowsOnSave{false}}), std::logic_error);
  EXPECT_EQ(out.size(), 2u);
  writer(std::int16_t{4});
  EXPECT_EQ(out.size(), 4u);
  Reader reader(out.data(), out.size());
  std::int16_t a = 0;
  std::int16_t b = 0;
  reader(a)(b);
  EXPECT_EQ(a, 3);
  EXPECT_EQ(b, 4);
}

TEST(SerializeWriterReader, ReaderDoesNotCopyOrOverrun) {
  // The reader decodes from exactly [data, data + size); a larger backing buffer is untouched.
  std::vector<char> bytes = to_bytes(std::int32_t{0x11223344});
  bytes.push_back('!');
  Reader reader(bytes.data(), 4);
  std::int32_t v = 0;
  reader(v);
  EXPECT_EQ(v, 0x11223344);
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_THROW(reader(v), SerializationError);
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

TEST(SerializeErrors, EveryPrefixIsTruncated) {
  ExpectEveryPrefixTruncated<std::int64_t>(to_bytes(std::int64_t{-1}));
  ExpectEveryPrefixTruncated<std::string>(to_bytes(std::string("hello")));
  ExpectEveryPrefixTruncated<MyPod>(to_bytes(MakePod(2)));
  ExpectEveryPrefixTruncated<std::vector<MyPod>>(to_bytes(std::vector<MyPod>{MakePod(1)}));
  ExpectEveryPrefixTruncated<std::vector<std::string>>(
      to_bytes(std::vector<std::string>{"", "ab", ""}));

  using Nested = std::vector<std::map<std::string, std::pair<int, std::optional<MyPod>>>>;
  Nested n(2);
  n[0]["k"] = {1, MakePod(4)};
  n[1]["l"] = {2, std::nullopt};
  n[1][""] = {3, MakePod(5)};
  ExpectEveryPrefixTruncated<Nested>(to_bytes(n));

  using V = std::variant<int, std::string, MyPod>;
  ExpectEveryPrefixTruncated<V>(to_bytes(V{std::string("var")}));
  ExpectEveryPrefixTruncated<Person>(to_bytes(Person("Bob", {4, 5}, MakePod(6))));
  ExpectEveryPrefixTruncated<VersionedPod>(to_bytes(VersionedPod{1, 2}));
}

TEST(SerializeErrors, TruncationMessageSaysWhere) {
  const std::vector<char> bytes = to_bytes(std::string("hello"));  // 8 + 5 bytes
  ASSERT_EQ(bytes.size(), 13u);
  try {
    (void)from_bytes<std::string>(bytes.data(), 10);
    ADD_FAILURE() << "expected a throw";
  } catch (const SerializationError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("truncated message: needed 3 more bytes at offset 8 of 10"),
              std::string::npos)
        << what;
  }
  try {
    (void)from_bytes<std::int32_t>(nullptr, 0);
    ADD_FAILURE() << "expected a throw";
  } catch (const SerializationError& e) {
    EXPECT_NE(std::string(e.what()).find("needed 4 more bytes at offset 0 of 0"), std::string::npos)
        << e.what();
  }
}

TEST(SerializeErrors, SerializationErrorIsARankpoolError) {
  EXPECT_THROW((void)from_bytes<double>("abc", 3), rankpool::Error);
  EXPECT_THROW((void)from_bytes<double>("abc", 3), std::runtime_error);
}

TEST(SerializeErrors, TrailingGarbage) {
  std::vector<char> bytes = to_bytes(std::int32_t{5});
  bytes.push_back('x');
  try {
    (void)from_bytes<std::int32_t>(bytes.data(), bytes.size());
    ADD_FAILURE() << "expected a throw";
  } catch (const SerializationError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("trailing bytes"), std::string::npos) << what;
    EXPECT_NE(what.find("1 left over"), std::string::npos) << what;
  }
  // The same bytes without the extra byte decode fine.
  EXPECT_EQ(from_bytes<std::int32_t>(bytes.data(), bytes.size() - 1), 5);

  std::vector<char> s = to_bytes(std::string("abc"));
  s.insert(s.end(), {'\0', '\0', '\0'});
  EXPECT_THROW((void)from_bytes<std::string>(s.data(), s.size()), SerializationError);
  std::vector<char> p = to_bytes(MakePod(3));
  p.push_back('\0');
  EXPECT_THROW((void)from_bytes<MyPod>(p), SerializationError);
  std::vector<char> e = to_bytes(std::vector<int>{});
  e.push_back('\0');
  EXPECT_THROW((void)from_bytes<std::vector<int>>(e), SerializationError);
}

TEST(SerializeErrors, CorruptVariantIndex) {
  using V = std::variant<int, double>;
  std::vector<char> bytes = to_bytes(V{3});
  ASSERT_EQ(bytes.size(), 4u + 4u);  // int32 index + int
  const std::int32_t bad_index = 7;
  std::memcpy(bytes.data(), &bad_index, sizeof bad_index);
  try {
    (void)from_bytes<V>(bytes);
    ADD_FAILURE() << "expected a throw";
  } catch (const SerializationError& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt message"), std::string::npos) << e.what();
  }
}

// A bool (also the flag of an optional, the bits of a vector<bool>) must be 0 or 1: copying any
// other byte into a bool is undefined behaviour (tests/fuzz/corpus/fuzz_decode/regression_bool).
TEST(SerializeErrors, CorruptBool) {
  std::vector<char> b = to_bytes(true);
  ASSERT_EQ(b.size(), 1u);
  b[0] = 7;
  EXPECT_THROW((void)from_bytes<bool>(b), SerializationError);

  std::vector<char> o = to_bytes(std::optional<std::int16_t>(5));
  ASSERT_EQ(o.size(), 3u);  // engaged flag + value
  o[0] = 2;
  try {
    (void)from_bytes<std::optional<std::int16_t>>(o);
    ADD_FAILURE() << "expected a throw";
  } catch (const SerializationError& e) {
    EXPECT_NE(std::string(e.what()).find("a bool is encoded as 2"), std::string::npos) << e.what();
  }

  std::vector<char> v = to_bytes(std::vector<bool>{true, false});
  v.back() = static_cast<char>(0xff);
  EXPECT_THROW((void)from_bytes<std::vector<bool>>(v), SerializationError);
  v.back() = 1;
  EXPECT_EQ(from_bytes<std::vector<bool>>(v), (std::vector<bool>{true, true}));
}

TEST(SerializeErrors, CorruptHugeLength) {
  std::vector<char> s = to_bytes(std::string("abc"));
  const std::uint64_t huge = ~std::uint64_t{0} - 5;
  std::memcpy(s.data(), &huge, sizeof huge);
  EXPECT_THROW((void)from_bytes<std::string>(s), SerializationError);

  std::vector<char> v = to_bytes(std::vector<std::int32_t>{1, 2});
  const std::uint64_t too_many = std::uint64_t{1} << 62;
  std::memcpy(v.data(), &too_many, sizeof too_many);
  EXPECT_THROW((void)from_bytes<std::vector<std::int32_t>>(v), SerializationError);

  // A count larger than the bytes left is refused before anything is allocated for it: every
  // element takes at least one byte (tests/fuzz/fuzz_decode: otherwise 2^40 strings are
  // allocated for a 16-byte message, and AddressSanitizer aborts).
  std::vector<char> w = to_bytes(std::vector<std::string>{"ab"});
  const std::uint64_t many = std::uint64_t{1} << 40;
  std::memcpy(w.data(), &many, sizeof many);
  try {
    (void)from_bytes<std::vector<std::string>>(w);
    ADD_FAILURE() << "expected a throw";
  } catch (const SerializationError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated message: needed 1099511627766 more bytes at "
                                         "offset 8 of 18"),
              std::string::npos)
        << e.what();
  }

  // A length that fits in memory but exceeds the message is a truncation.
  std::vector<char> t = to_bytes(std::vector<std::int32_t>{1, 2});
  const std::uint64_t three = 3;
  std::memcpy(t.data(), &three, sizeof three);
  try {
    (void)from_bytes<std::vector<std::int32_t>>(t);
    ADD_FAILURE() << "expected a throw";
  } catch (const SerializationError& e) {
    EXPECT_NE(std::string(e.what()).find("needed 4 more bytes at offset 8 of 16"),
              std::string::npos)
        << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// Payloads over 2 GiB
// ---------------------------------------------------------------------------------------------

std::uint64_t MemAvailableBytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemAvailable:", 0) == 0) {
      std::istringstream fields(line.substr(13));
      std::uint64_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  return 0;
}

constexpr std::uint64_t kEightGiB = std::uint64_t{8} << 30;
constexpr std::size_t kLargeSize = (std::size_t{1} << 31) + 17;
const std::size_t kProbes[] = {0,
                               1,
                               (std::size_t{1} << 30) + 3,
                               (std::size_t{1} << 31) - 1,
                               std::size_t{1} << 31,
                               kLargeSize - 1};

char ProbeValue(std::size_t i) {
  return static_cast<char>((i * 131 + 7) % 251);
}

TEST(SerializeLarge, StringOverTwoGiB) {
  const std::uint64_t available = MemAvailableBytes();
  if (available < kEightGiB) {
    GTEST_SKIP() << "needs 8 GiB of MemAvailable, have " << (available >> 20) << " MiB";
  }
  std::vector<char> bytes;
  {
    std::string s(kLargeSize, 'x');
    for (std::size_t i : kProbes) s[i] = ProbeValue(i);
    bytes = to_bytes(s);
  }  // free the original before decoding
  ASSERT_EQ(bytes.size(), 8 + kLargeSize);
  EXPECT_EQ(ReadU64(bytes, 0), kLargeSize);
  const std::string back = from_bytes<std::string>(bytes);
  ASSERT_EQ(back.size(), kLargeSize);
  for (std::size_t i : kProbes) EXPECT_EQ(back[i], ProbeValue(i)) << "at " << i;
  EXPECT_EQ(back[2], 'x');
  EXPECT_EQ(back[(std::size_t{1} << 31) + 5], 'x');
}

TEST(SerializeLarge, VectorOverTwoGiBInsideTuple) {
  const std::uint64_t available = MemAvailableBytes();
  if (available < kEightGiB) {
    GTEST_SKIP() << "needs 8 GiB of MemAvailable, have " << (available >> 20) << " MiB";
  }
  using T = std::tuple<std::int32_t, std::vector<char>, std::string>;
  std::vector<char> bytes;
  {
    T value{-1, std::vector<char>(kLargeSize, 'y'), "tail"};
    for (std::size_t i : kProbes) std::get<1>(value)[i] = ProbeValue(i);
    bytes = to_bytes(value);
  }
  ASSERT_EQ(bytes.size(), 4 + 8 + kLargeSize + 8 + 4);
  const T back = from_bytes<T>(bytes);
  EXPECT_EQ(std::get<0>(back), -1);
  ASSERT_EQ(std::get<1>(back).size(), kLargeSize);
  for (std::size_t i : kProbes) EXPECT_EQ(std::get<1>(back)[i], ProbeValue(i)) << "at " << i;
  EXPECT_EQ(std::get<1>(back)[kLargeSize - 2], 'y');
  EXPECT_EQ(std::get<2>(back), "tail");
}

}  // namespace
}  // namespace rp_test

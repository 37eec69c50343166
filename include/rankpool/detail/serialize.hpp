#pragma once
// Byte encoding of task arguments and results (header-only).
//
// Everything travels as a cereal binary archive (cereal::BinaryOutputArchive /
// cereal::BinaryInputArchive): native byte order and layout, every length a 64-bit
// cereal::size_type, so payloads above 2 GiB work. All ranks must therefore run the same build
// of the program on machines with the same architecture.
//
// What can be shipped:
//   * arithmetic types and enums (cereal's own rules);
//   * std::string, vector, array, pair, tuple, optional, variant, map, multimap, unordered_map,
//     set, multiset, unordered_set, deque, list, forward_list, complex, bitset, atomic,
//     chrono::duration / time_point, and any nesting of these (the cereal headers for them are
//     included here, users need not include them). std::multimap / multiset: cereal does not
//     keep the relative order of elements with equal keys;
//   * user types with a cereal `serialize` (member or non-member), `save`/`load` pair or
//     `save_minimal`/`load_minimal` pair, versioned or not; these are always used when present;
//   * "bitwise" types: trivially copyable classes/unions with NO cereal function at all. They
//     are written and read as their raw object bytes (cereal::binary_data), also when nested
//     inside containers (std::vector<MyPod>, std::map<int, MyPod>, std::optional<MyPod>, ...).
//
// The bitwise rule, precisely: is_bitwise_v<T> is true iff T (cv-unqualified, not volatile)
//   - is a class or union type,
//   - is trivially copyable,
//   - is not a std type cereal already serializes (std::array, optional, pair, tuple, variant,
//     monostate, complex, bitset, atomic, less, chrono::duration, chrono::time_point),
//   - is not one of cereal's own helper types (BinaryData, SizeTag, NameValuePair, ...),
//   - is not a std type that only refers to memory elsewhere (std::string_view,
//     std::reference_wrapper, std::initializer_list, std::type_index): those are rejected at
//     compile time instead of silently sending addresses,
//   - has no member serialize/save/load/save_minimal/load_minimal and no non-member
//     serialize/save_minimal/load_minimal or versioned save/load (cereal::traits),
//   - and cereal's overload resolution for a non-member save(ar, t) / load(ar, t) picks the
//     generic bitwise functions declared below (a user's own non-member save/load for T is more
//     specialized, wins, and makes T non-bitwise).
// A type that is not bitwise and has no cereal function of its own cannot be shipped;
// is_serializable_v<T> is false and Writer/Reader reject it at compile time.
//
// WARNING: a bitwise type is copied byte for byte. If it holds pointers (raw pointers,
// iterators, const char* names, ...), the pointer values arrive unchanged on the other rank and
// are meaningless there. Give such a type a cereal serialize function, or send the pointed-to
// data instead. Padding bytes are copied too (their values are unspecified).

#include <cereal/archives/binary.hpp>
#include <cereal/cereal.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/atomic.hpp>
#include <cereal/types/base_class.hpp>
#include <cereal/types/bitset.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/complex.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/forward_list.hpp>
#include <cereal/types/functional.hpp>
#include <cereal/types/list.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <array>
#include <atomic>
#include <bitset>
#include <chrono>
#include <complex>
#include <cstddef>
#include <cstring>
#include <deque>
#include <forward_list>
#include <functional>
#include <initializer_list>
#include <istream>
#include <list>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <ostream>
#include <set>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "rankpool/error.hpp"

namespace rankpool::detail {

// ---------------------------------------------------------------------------------------------
// Type classification
// ---------------------------------------------------------------------------------------------

/// True for std types that cereal serializes itself and that may be trivially copyable.
template <class T>
struct is_cereal_std_type : std::false_type {};
template <class T, std::size_t N>
struct is_cereal_std_type<std::array<T, N>> : std::true_type {};
template <class T>
struct is_cereal_std_type<std::optional<T>> : std::true_type {};
template <class A, class B>
struct is_cereal_std_type<std::pair<A, B>> : std::true_type {};
template <class... Ts>
struct is_cereal_std_type<std::tuple<Ts...>> : std::true_type {};
template <class... Ts>
struct is_cereal_std_type<std::variant<Ts...>> : std::true_type {};
template <>
struct is_cereal_std_type<std::monostate> : std::true_type {};
template <class T>
struct is_cereal_std_type<std::complex<T>> : std::true_type {};
template <std::size_t N>
struct is_cereal_std_type<std::bitset<N>> : std::true_type {};
template <class T>
struct is_cereal_std_type<std::atomic<T>> : std::true_type {};
template <class T>
struct is_cereal_std_type<std::less<T>> : std::true_type {};
template <class R, class P>
struct is_cereal_std_type<std::chrono::duration<R, P>> : std::true_type {};
template <class C, class D>
struct is_cereal_std_type<std::chrono::time_point<C, D>> : std::true_type {};

/// True for cereal's own (trivially copyable) helper types, which its archives handle.
template <class T>
struct is_cereal_helper_type
    : std::bool_constant<std::is_base_of_v<cereal::detail::NameValuePairCore, T> ||
                         std::is_base_of_v<cereal::detail::DeferredDataCore, T> ||
                         std::is_base_of_v<cereal::traits::detail::BaseCastBase, T>> {};
template <class T>
struct is_cereal_helper_type<cereal::BinaryData<T>> : std::true_type {};
template <class T>
struct is_cereal_helper_type<cereal::SizeTag<T>> : std::true_type {};
template <class K, class V>
struct is_cereal_helper_type<cereal::MapItem<K, V>> : std::true_type {};

/// True for trivially copyable std types that only refer to memory elsewhere; they are neither
/// bitwise nor serializable (sending them would send addresses).
template <class T>
struct is_std_reference_type : std::false_type {};
template <class C, class Tr>
struct is_std_reference_type<std::basic_string_view<C, Tr>> : std::true_type {};
template <class T>
struct is_std_reference_type<std::reference_wrapper<T>> : std::true_type {};
template <class T>
struct is_std_reference_type<std::initializer_list<T>> : std::true_type {};
template <>
struct is_std_reference_type<std::type_index> : std::true_type {};

/// True if cereal finds a serialization function of T's own other than a non-member
/// unversioned save/load (those are checked by overload resolution, see is_bitwise below).
template <class T>
struct has_cereal_function
    : std::bool_constant<
          cereal::traits::has_member_serialize<T, cereal::BinaryOutputArchive>::value ||
          cereal::traits::has_member_versioned_serialize<T, cereal::BinaryOutputArchive>::value ||
          cereal::traits::has_non_member_serialize<T, cereal::BinaryOutputArchive>::value ||
          cereal::traits::has_non_member_versioned_serialize<T,
                                                             cereal::BinaryOutputArchive>::value ||
          cereal::traits::has_member_serialize<T, cereal::BinaryInputArchive>::value ||
          cereal::traits::has_member_versioned_serialize<T, cereal::BinaryInputArchive>::value ||
          cereal::traits::has_non_member_serialize<T, cereal::BinaryInputArchive>::value ||
          cereal::traits::has_non_member_versioned_serialize<T,
                                                             cereal::BinaryInputArchive>::value ||
          cereal::traits::has_member_save<T, cereal::BinaryOutputArchive>::value ||
          cereal::traits::has_member_versioned_save<T, cereal::BinaryOutputArchive>::value ||
          cereal::traits::has_non_member_versioned_save<T, cereal::BinaryOutputArchive>::value ||
          cereal::traits::has_member_load<T, cereal::BinaryInputArchive>::value ||
          cereal::traits::has_member_versioned_load<T, cereal::BinaryInputArchive>::value ||
          cereal::traits::has_non_member_versioned_load<T, cereal::BinaryInputArchive>::value ||
          cereal::traits::has_member_save_minimal<T, cereal::BinaryOutputArchive>::value ||
          cereal::traits::has_member_versioned_save_minimal<T,
                                                            cereal::BinaryOutputArchive>::value ||
          cereal::traits::has_non_member_save_minimal<T, cereal::BinaryOutputArchive>::value ||
          cereal::traits::has_non_member_versioned_save_minimal<
              T, cereal::BinaryOutputArchive>::value ||
          cereal::traits::has_member_load_minimal<T, cereal::BinaryInputArchive>::value ||
          cereal::traits::has_member_versioned_load_minimal<T, cereal::BinaryInputArchive>::value ||
          cereal::traits::has_non_member_load_minimal<T, cereal::BinaryInputArchive>::value ||
          cereal::traits::has_non_member_versioned_load_minimal<
              T, cereal::BinaryInputArchive>::value> {};

/// Everything in the bitwise rule except the non-member save/load check. The checks run lazily
/// in this order, so cereal's traits are only consulted for trivially copyable class types that
/// are not excluded by name. The generic save/load below are constrained on this.
template <class T>
struct is_bitwise_candidate
    : std::conjunction<std::bool_constant<std::is_class_v<T> || std::is_union_v<T>>,
                       std::negation<std::is_const<T>>, std::negation<std::is_volatile<T>>,
                       std::is_trivially_copyable<T>, std::negation<is_cereal_std_type<T>>,
                       std::negation<is_cereal_helper_type<T>>,
                       std::negation<is_std_reference_type<T>>,
                       std::negation<has_cereal_function<T>>> {};

/// Return type of the generic bitwise save/load, so that overload resolution can tell whether
/// they (and not a user's non-member save/load) are the ones cereal will call.
struct BitwiseTag {};

}  // namespace rankpool::detail

namespace cereal {

/// Saves a bitwise type (see rankpool::detail::is_bitwise_v) as its raw object bytes.
template <class Archive, class T>
inline std::enable_if_t<std::conjunction_v<std::is_same<Archive, BinaryOutputArchive>,
                                           ::rankpool::detail::is_bitwise_candidate<T>>,
                        ::rankpool::detail::BitwiseTag>
CEREAL_SAVE_FUNCTION_NAME(Archive& ar, const T& value) {
  ar(binary_data(std::addressof(value), sizeof(T)));
  return {};
}

/// Loads a bitwise type (see rankpool::detail::is_bitwise_v) from its raw object bytes.
template <class Archive, class T>
inline std::enable_if_t<std::conjunction_v<std::is_same<Archive, BinaryInputArchive>,
                                           ::rankpool::detail::is_bitwise_candidate<T>>,
                        ::rankpool::detail::BitwiseTag>
CEREAL_LOAD_FUNCTION_NAME(Archive& ar, T& value) {
  ar(binary_data(std::addressof(value), sizeof(T)));
  return {};
}

/// Loads a bool from its one byte, refusing any byte but 0 and 1. cereal's own load copies the
/// byte into the bool, and a bool holding another value is undefined behaviour: a corrupt
/// message could do that through any bool, std::optional or std::vector<bool> (found by
/// tests/fuzz/fuzz_decode). A non-template function, so overload resolution prefers it to
/// cereal's template for arithmetic types. (Bools inside bitwise types are still copied as bytes.)
inline void CEREAL_LOAD_FUNCTION_NAME(BinaryInputArchive& ar, bool& value) {
  static_assert(sizeof(bool) == 1, "rankpool: a bool is expected to be one byte");
  unsigned char byte = 0;
  ar.loadBinary(&byte, 1);
  if (byte > 1) {
    throw Exception("a bool is encoded as " + std::to_string(byte) + ", not as 0 or 1");
  }
  value = byte == 1;
}

}  // namespace cereal

namespace rankpool::detail {

/// Overload resolution exactly as cereal performs it (ordinary lookup of cereal's save/load
/// plus argument-dependent lookup), telling whether the generic bitwise functions win.
namespace bitwise_probe {

using cereal::CEREAL_LOAD_FUNCTION_NAME;
using cereal::CEREAL_SAVE_FUNCTION_NAME;

template <class T, class = void>
struct save_is_bitwise : std::false_type {};
template <class T>
struct save_is_bitwise<
    T, std::enable_if_t<std::is_same_v<decltype(CEREAL_SAVE_FUNCTION_NAME(
                                           std::declval<cereal::BinaryOutputArchive&>(),
                                           std::declval<const T&>())),
                                       BitwiseTag>>> : std::true_type {};

template <class T, class = void>
struct load_is_bitwise : std::false_type {};
template <class T>
struct load_is_bitwise<T, std::enable_if_t<std::is_same_v<
                              decltype(CEREAL_LOAD_FUNCTION_NAME(
                                  std::declval<cereal::BinaryInputArchive&>(), std::declval<T&>())),
                              BitwiseTag>>> : std::true_type {};

}  // namespace bitwise_probe

/// See the rule at the top of this file.
template <class T>
struct is_bitwise : std::conjunction<std::negation<std::is_volatile<T>>,
                                     is_bitwise_candidate<std::remove_const_t<T>>,
                                     bitwise_probe::save_is_bitwise<std::remove_const_t<T>>,
                                     bitwise_probe::load_is_bitwise<std::remove_const_t<T>>> {};

/// True if T travels as its raw object bytes (through the generic cereal save/load above).
template <class T>
inline constexpr bool is_bitwise_v = is_bitwise<T>::value;

/// True if an array of T can travel as raw bytes with memcpy: arithmetic, enum or bitwise.
template <class T>
inline constexpr bool is_raw_v = std::is_arithmetic_v<std::remove_cv_t<T>> ||
                                 std::is_enum_v<std::remove_cv_t<T>> || is_bitwise_v<T>;

/// True if cereal has exactly one way to save T to, and one way to load T from, a binary
/// archive (this includes bitwise types, through the functions above).
template <class T>
struct cereal_binary_serializable
    : std::bool_constant<
          cereal::traits::is_output_serializable<T, cereal::BinaryOutputArchive>::value &&
          cereal::traits::is_input_serializable<T, cereal::BinaryInputArchive>::value> {};

template <class T>
struct is_serializable;

/// cereal's own check for a template says nothing about its elements (cereal's std::vector<T>
/// save exists for every T), so std containers are checked element by element.
template <class Outer, class... Inner>
struct is_serializable_all
    : std::conjunction<cereal_binary_serializable<Outer>, is_serializable<Inner>...> {};

template <class T>
struct is_serializable
    : std::disjunction<std::bool_constant<is_raw_v<T>>,
                       // cereal declares a serialize for raw pointers that only static_asserts.
                       std::conjunction<std::negation<std::is_pointer<T>>,
                                        std::negation<std::is_member_pointer<T>>,
                                        cereal_binary_serializable<T>>> {};
template <class T, class A>
struct is_serializable<std::vector<T, A>> : is_serializable_all<std::vector<T, A>, T> {};
template <class T, class A>
struct is_serializable<std::deque<T, A>> : is_serializable_all<std::deque<T, A>, T> {};
template <class T, class A>
struct is_serializable<std::list<T, A>> : is_serializable_all<std::list<T, A>, T> {};
template <class T, class A>
struct is_serializable<std::forward_list<T, A>> : is_serializable_all<std::forward_list<T, A>, T> {
};
template <class T, std::size_t N>
struct is_serializable<std::array<T, N>> : is_serializable_all<std::array<T, N>, T> {};
template <class T>
struct is_serializable<std::optional<T>> : is_serializable_all<std::optional<T>, T> {};
template <class A, class B>
struct is_serializable<std::pair<A, B>> : is_serializable_all<std::pair<A, B>, A, B> {};
template <class... Ts>
struct is_serializable<std::tuple<Ts...>> : is_serializable_all<std::tuple<Ts...>, Ts...> {};
template <class... Ts>
struct is_serializable<std::variant<Ts...>> : is_serializable_all<std::variant<Ts...>, Ts...> {};
template <class K, class C, class A>
struct is_serializable<std::set<K, C, A>> : is_serializable_all<std::set<K, C, A>, K> {};
template <class K, class C, class A>
struct is_serializable<std::multiset<K, C, A>> : is_serializable_all<std::multiset<K, C, A>, K> {};
template <class K, class H, class E, class A>
struct is_serializable<std::unordered_set<K, H, E, A>>
    : is_serializable_all<std::unordered_set<K, H, E, A>, K> {};
template <class K, class V, class C, class A>
struct is_serializable<std::map<K, V, C, A>> : is_serializable_all<std::map<K, V, C, A>, K, V> {};
template <class K, class V, class C, class A>
struct is_serializable<std::multimap<K, V, C, A>>
    : is_serializable_all<std::multimap<K, V, C, A>, K, V> {};
template <class K, class V, class H, class E, class A>
struct is_serializable<std::unordered_map<K, V, H, E, A>>
    : is_serializable_all<std::unordered_map<K, V, H, E, A>, K, V> {};

/// Best-effort compile-time check for static_asserts: T is raw, or cereal can both save and
/// load it with the binary archives (std containers are checked element by element).
template <class T>
inline constexpr bool is_serializable_v =
    is_serializable<std::remove_cv_t<std::remove_reference_t<T>>>::value;

// ---------------------------------------------------------------------------------------------
// Stream buffers
// ---------------------------------------------------------------------------------------------

/// A std::streambuf that appends everything written to it to a std::vector<char>.
class VectorAppendBuffer final : public std::streambuf {
 public:
  explicit VectorAppendBuffer(std::vector<char>& out) : out_(&out) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (n > 0) out_->insert(out_->end(), s, s + n);
    return n > 0 ? n : 0;
  }

  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    out_->push_back(traits_type::to_char_type(c));
    return c;
  }

 private:
  std::vector<char>* out_;
};

/// A read-only std::streambuf over [data, data + size), read in place. Remembers the first read
/// that asked for more bytes than were left, to report it.
class MemoryReadBuffer final : public std::streambuf {
 public:
  MemoryReadBuffer(const char* data, std::size_t size)
      : begin_(data), cur_(data), end_(data + size) {}

  std::size_t position() const { return static_cast<std::size_t>(cur_ - begin_); }
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - cur_); }
  std::size_t size() const { return static_cast<std::size_t>(end_ - begin_); }

  /// Details of the first short read, if any.
  bool short_read() const { return short_read_; }
  std::size_t short_read_offset() const { return short_offset_; }
  std::size_t short_read_requested() const { return short_requested_; }
  std::size_t short_read_available() const { return short_available_; }
  /// Records a read of `wanted` bytes here as short, without reading (a length that cannot fit).
  void refuse_read(std::size_t wanted) { note_short(wanted, remaining()); }

 protected:
  std::streamsize xsgetn(char* s, std::streamsize n) override {
    if (n <= 0) return 0;
    const auto wanted = static_cast<std::size_t>(n);
    const std::size_t available = remaining();
    const std::size_t got = wanted < available ? wanted : available;
    if (got < wanted) note_short(wanted, available);
    if (got > 0) std::memcpy(s, cur_, got);
    cur_ += got;
    return static_cast<std::streamsize>(got);
  }

  void note_short(std::size_t wanted, std::size_t available) {
    if (short_read_) return;  // the first one is reported
    short_read_ = true;
    short_offset_ = position();
    short_requested_ = wanted;
    short_available_ = available;
  }

  int_type underflow() override {
    return cur_ == end_ ? traits_type::eof() : traits_type::to_int_type(*cur_);
  }

  int_type uflow() override {
    return cur_ == end_ ? traits_type::eof() : traits_type::to_int_type(*cur_++);
  }

  std::streamsize showmanyc() override {
    return cur_ == end_ ? -1 : static_cast<std::streamsize>(remaining());
  }

 private:
  const char* begin_;
  const char* cur_;
  const char* end_;
  bool short_read_ = false;
  std::size_t short_offset_ = 0;
  std::size_t short_requested_ = 0;
  std::size_t short_available_ = 0;
};

/// The buffer the innermost Reader of this thread is decoding from, while it decodes.
inline thread_local MemoryReadBuffer* active_read_buffer = nullptr;

}  // namespace rankpool::detail

namespace cereal {

/// Loads a container's or string's element count, refusing a count larger than the bytes left in
/// the message (while a Reader decodes) as a truncated message: a corrupt count would otherwise
/// be allocated and filled before the short read shows (gigabytes for a 20-byte message, or an
/// abort under AddressSanitizer, whose operator new cannot throw; found by tests/fuzz/fuzz_decode).
/// Limitation: elements that encode to no bytes at all (std::monostate, std::tuple<>, empty classes
/// with an empty serialize) cannot be decoded in a container with more elements than bytes follow.
/// Non-template, so overload resolution prefers it to cereal's serialize template for SizeTag.
inline void CEREAL_SERIALIZE_FUNCTION_NAME(BinaryInputArchive& ar, SizeTag<size_type&>& tag) {
  ar(tag.size);
  auto* buffer = ::rankpool::detail::active_read_buffer;
  if (buffer != nullptr && tag.size > buffer->remaining()) {
    buffer->refuse_read(static_cast<std::size_t>(tag.size));
    throw Exception("a length of " + std::to_string(tag.size) + " exceeds the " +
                    std::to_string(buffer->remaining()) + " bytes left in the message");
  }
}

}  // namespace cereal

namespace rankpool::detail {

// ---------------------------------------------------------------------------------------------
// Writer / Reader
// ---------------------------------------------------------------------------------------------

/// Appends the binary encoding of values to a std::vector<char>. Any number of values may be
/// written; read them back in the same order with Reader. If encoding a value throws, `out` is
/// restored to its size before that value. Not copyable or movable (it refers to `out`).
class Writer {
 public:
  explicit Writer(std::vector<char>& out)
      : out_(&out), buffer_(out), stream_(&buffer_), archive_(stream_) {}
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  template <class T>
  Writer& operator()(const T& value) {
    static_assert(is_serializable_v<T>,
                  "rankpool: this type cannot be serialized; give it a cereal serialize "
                  "function (or save/load), or make it trivially copyable");
    const std::size_t mark = out_->size();
    try {
      archive_(value);
    } catch (const cereal::Exception& e) {
      out_->resize(mark);
      throw SerializationError(std::string("cannot encode value: ") + e.what());
    } catch (...) {
      out_->resize(mark);
      throw;
    }
    return *this;
  }

  /// Total size of the output vector (including bytes it held before this Writer).
  std::size_t size() const { return out_->size(); }

 private:
  std::vector<char>* out_;
  VectorAppendBuffer buffer_;
  std::ostream stream_;
  cereal::BinaryOutputArchive archive_;
};

/// Reads values back, in order, from [data, data + size) without copying the buffer. Throws
/// SerializationError on a short read (truncated message) or corrupt data; after a throw the
/// Reader's position is unspecified and it should not be used further.
class Reader {
 public:
  Reader(const char* data, std::size_t size)
      : buffer_(data, size), stream_(&buffer_), archive_(stream_) {}
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  template <class T>
  Reader& operator()(T& value) {
    static_assert(!std::is_const_v<T>, "rankpool: cannot read into a const object");
    static_assert(is_serializable_v<T>,
                  "rankpool: this type cannot be serialized; give it a cereal serialize "
                  "function (or save/load), or make it trivially copyable");
    const std::size_t start = buffer_.position();
    struct Active {  // active_read_buffer is ours while decoding (Readers may nest)
      MemoryReadBuffer* saved = active_read_buffer;
      explicit Active(MemoryReadBuffer* b) { active_read_buffer = b; }
      ~Active() { active_read_buffer = saved; }
    } active(&buffer_);
    try {
      archive_(value);
    } catch (const cereal::Exception& e) {
      throw_decode_error(start, e.what());
    } catch (const std::length_error& e) {
      throw SerializationError(
          "corrupt message: a length decoded between offsets " + std::to_string(start) + " and " +
          std::to_string(buffer_.position()) + " of " + std::to_string(buffer_.size()) +
          " exceeds the container's maximum size (" + e.what() + ")");
    } catch (const std::bad_alloc&) {
      throw SerializationError(
          "corrupt message or out of memory: allocating storage for a length decoded between "
          "offsets " +
          std::to_string(start) + " and " + std::to_string(buffer_.position()) + " of " +
          std::to_string(buffer_.size()) + " failed");
    }
    return *this;
  }

  /// Bytes consumed so far.
  std::size_t position() const { return buffer_.position(); }
  /// Bytes not consumed yet.
  std::size_t remaining() const { return buffer_.remaining(); }
  /// Size of the whole input.
  std::size_t size() const { return buffer_.size(); }

 private:
  [[noreturn]] void throw_decode_error(std::size_t start, const char* what) const {
    if (buffer_.short_read()) {
      throw SerializationError(
          "truncated message: needed " +
          std::to_string(buffer_.short_read_requested() - buffer_.short_read_available()) +
          " more bytes at offset " + std::to_string(buffer_.short_read_offset()) + " of " +
          std::to_string(buffer_.size()) + " (a read of " +
          std::to_string(buffer_.short_read_requested()) + " bytes with " +
          std::to_string(buffer_.short_read_available()) + " left)");
    }
    throw SerializationError("corrupt message: decoding the value that starts at offset " +
                             std::to_string(start) + " of " + std::to_string(buffer_.size()) +
                             " failed: " + what);
  }

  MemoryReadBuffer buffer_;
  std::istream stream_;
  cereal::BinaryInputArchive archive_;
};

/// The binary encoding of one value.
template <class T>
std::vector<char> to_bytes(const T& value) {
  std::vector<char> out;
  {
    Writer writer(out);
    writer(value);
  }
  return out;
}

/// Decodes one value that must occupy exactly [data, data + size). Throws SerializationError if
/// bytes are missing (truncated message), left over, or corrupt.
template <class T>
T from_bytes(const char* data, std::size_t size) {
  static_assert(std::is_default_constructible_v<T>,
                "rankpool: from_bytes needs a default-constructible type");
  T value{};
  Reader reader(data, size);
  reader(value);
  if (reader.remaining() != 0) {
    throw SerializationError("trailing bytes in message: the value decoded from the first " +
                             std::to_string(reader.position()) + " bytes, but the message has " +
                             std::to_string(size) + " bytes (" +
                             std::to_string(reader.remaining()) + " left over)");
  }
  return value;
}

/// Convenience overload for a whole byte vector.
template <class T>
T from_bytes(const std::vector<char>& bytes) {
  return from_bytes<T>(bytes.data(), bytes.size());
}

}  // namespace rankpool::detail

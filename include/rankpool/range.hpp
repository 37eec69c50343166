#pragma once
// Integer ranges for inputs: range(a, b) is Python's range(a, b) (random access, not stored);
// count(a) is itertools.count(a), an endless input for imap.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>

namespace rankpool {

template <class Int>
class IotaIterator {
 public:
  using iterator_category = std::random_access_iterator_tag;
  using value_type = Int;
  using difference_type = std::ptrdiff_t;
  using pointer = void;
  using reference = Int;

  IotaIterator() = default;
  explicit IotaIterator(Int v) : v_(v) {}
  Int operator*() const { return v_; }
  Int operator[](difference_type n) const { return static_cast<Int>(v_ + n); }
  IotaIterator& operator++() {
    ++v_;
    return *this;
  }
  IotaIterator operator++(int) {
    auto t = *this;
    ++v_;
    return t;
  }
  IotaIterator& operator--() {
    --v_;
    return *this;
  }
  IotaIterator operator--(int) {
    auto t = *this;
    --v_;
    return t;
  }
  IotaIterator& operator+=(difference_type n) {
    v_ = static_cast<Int>(v_ + n);
    return *this;
  }
  IotaIterator& operator-=(difference_type n) {
    v_ = static_cast<Int>(v_ - n);
    return *this;
  }
  friend IotaIterator operator+(IotaIterator it, difference_type n) { return it += n; }
  friend IotaIterator operator+(difference_type n, IotaIterator it) { return it += n; }
  friend IotaIterator operator-(IotaIterator it, difference_type n) { return it -= n; }
  friend difference_type operator-(IotaIterator a, IotaIterator b) {
    return static_cast<difference_type>(a.v_) - static_cast<difference_type>(b.v_);
  }
  friend bool operator==(IotaIterator a, IotaIterator b) { return a.v_ == b.v_; }
  friend bool operator!=(IotaIterator a, IotaIterator b) { return a.v_ != b.v_; }
  friend bool operator<(IotaIterator a, IotaIterator b) { return a.v_ < b.v_; }
  friend bool operator>(IotaIterator a, IotaIterator b) { return a.v_ > b.v_; }
  friend bool operator<=(IotaIterator a, IotaIterator b) { return a.v_ <= b.v_; }
  friend bool operator>=(IotaIterator a, IotaIterator b) { return a.v_ >= b.v_; }

 private:
  Int v_{};
};

template <class Int>
class IotaRange {
 public:
  IotaRange(Int first, Int last) : first_(first), last_(last < first ? first : last) {}
  IotaIterator<Int> begin() const { return IotaIterator<Int>(first_); }
  IotaIterator<Int> end() const { return IotaIterator<Int>(last_); }
  std::size_t size() const { return static_cast<std::size_t>(last_ - first_); }
  bool empty() const { return first_ == last_; }

 private:
  Int first_, last_;
};

/// Python's range(first, last): the integers first, first+1, ..., last-1.
template <class Int>
IotaRange<Int> range(Int first, Int last) {
  return IotaRange<Int>(first, last);
}
/// Python's range(n).
template <class Int>
IotaRange<Int> range(Int n) {
  return IotaRange<Int>(Int{0}, n);
}

/// An endless input: first, first+1, ... (never reaches its end; for imap).
template <class Int>
class CountRange {
 public:
  struct Sentinel {
    friend bool operator==(const IotaIterator<Int>&, Sentinel) { return false; }
    friend bool operator!=(const IotaIterator<Int>&, Sentinel) { return true; }
  };
  explicit CountRange(Int first) : first_(first) {}
  IotaIterator<Int> begin() const { return IotaIterator<Int>(first_); }
  Sentinel end() const { return {}; }

 private:
  Int first_;
};

/// itertools.count(first).
template <class Int>
CountRange<Int> count(Int first = 0) {
  return CountRange<Int>(first);
}

}  // namespace rankpool

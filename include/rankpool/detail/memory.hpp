#pragma once
// Memory helpers for large buffers.

#include <cstddef>
#include <type_traits>
#include <vector>

namespace rankpool::detail {

/// Asks the kernel to back [data, data + size) with transparent huge pages where it can (a no-op
/// for small ranges or where THP is off). First touch of a fresh 80 MB result vector then costs
/// ~40 page faults instead of ~20,000.
void advise_huge_pages(void* data, std::size_t size);

/// v.resize(n) for a fresh, large vector, with huge pages advised before the first touch.
template <class T, class A>
void resize_large(std::vector<T, A>& v, std::size_t n) {
  if constexpr (!std::is_same_v<T, bool>) {  // std::vector<bool> has no data()
    if (v.capacity() < n && n * sizeof(T) >= (std::size_t{4} << 20)) {
      v.reserve(n);
      advise_huge_pages(v.data(), n * sizeof(T));
    }
  }
  v.resize(n);
}

}  // namespace rankpool::detail

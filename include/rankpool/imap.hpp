#pragma once
// IMapIterator<R>: what imap and imap_unordered return. A lazy range: input is pulled only as
// results are consumed, so an endless input runs in constant memory. Leaving it early (break,
// destruction) stops pulling input and drops the chunks still in flight.

#include <iterator>
#include <memory>
#include <optional>
#include <utility>

#include "rankpool/detail/jobs.hpp"

namespace rankpool {

template <class R>
class IMapIterator {
 public:
  explicit IMapIterator(std::shared_ptr<detail::StreamJobBase<R>> job) : job_(std::move(job)) {}
  IMapIterator(IMapIterator&&) noexcept = default;
  IMapIterator& operator=(IMapIterator&& other) noexcept {
    if (this != &other) {
      close();
      job_ = std::move(other.job_);
    }
    return *this;
  }
  ~IMapIterator() { close(); }

  /// The next result, or nullopt at the end. A failed task raises its RemoteError here, at its
  /// position; iteration may go on after it.
  std::optional<R> next() { return job_ ? job_->next(std::nullopt) : std::nullopt; }
  /// As next(), but throws TimeoutError when nothing arrives within `timeout_seconds`.
  std::optional<R> next(double timeout_seconds) {
    return job_ ? job_->next(detail::deadline_after(timeout_seconds)) : std::nullopt;
  }
  /// Stops early: no more input is pulled.
  void close() {
    if (job_) job_->stop();
  }

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    using pointer = const R*;
    using reference = const R&;

    iterator() = default;
    explicit iterator(IMapIterator* owner) : owner_(owner) { advance(); }
    const R& operator*() const { return *current_; }
    const R* operator->() const { return &*current_; }
    iterator& operator++() {
      advance();
      return *this;
    }
    void operator++(int) { advance(); }
    friend bool operator==(const iterator& a, const iterator& b) { return a.done() == b.done(); }
    friend bool operator!=(const iterator& a, const iterator& b) { return !(a == b); }

   private:
    void advance() { current_ = owner_->next(); }
    bool done() const { return !current_.has_value(); }
    IMapIterator* owner_ = nullptr;
    std::optional<R> current_;
  };

  /// Range-for support: `for (auto& r : pool.imap(f, inputs))`.
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  std::shared_ptr<detail::StreamJobBase<R>> job_;
};

}  // namespace rankpool

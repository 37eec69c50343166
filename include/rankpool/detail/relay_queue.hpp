#pragma once
// A node leader's decision (relay.cpp), shared with the simulator: chunks taken from the master
// wait here in arrival order and go to the node's worker with the fewest chunks in flight (the
// lowest index on a tie), up to `window` each. Plain C++, no MPI.

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

namespace rankpool::detail {

template <class Item>
class RelayQueue {
 public:
  RelayQueue(int workers, int window)
      : window_(static_cast<std::size_t>(window < 1 ? 1 : window)),
        in_flight_(static_cast<std::size_t>(workers < 0 ? 0 : workers), 0) {}

  void push(Item item) { pending_.push_back(std::move(item)); }

  /// The next item and the worker (index into the node's workers) it goes to, or nullopt when
  /// nothing waits or every worker's window is full.
  std::optional<std::pair<int, Item>> next() {
    if (pending_.empty()) return std::nullopt;
    std::size_t best = in_flight_.size();
    for (std::size_t w = 0; w < in_flight_.size(); ++w) {
      if (in_flight_[w] < window_ &&
          (best == in_flight_.size() || in_flight_[w] < in_flight_[best]))
        best = w;
    }
    if (best == in_flight_.size()) return std::nullopt;
    ++in_flight_[best];
    std::pair<int, Item> out{static_cast<int>(best), std::move(pending_.front())};
    pending_.pop_front();
    return out;
  }

  /// Worker w finished one item.
  void done(int w) {
    auto& n = in_flight_.at(static_cast<std::size_t>(w));
    if (n > 0) --n;
  }

  std::size_t pending() const { return pending_.size(); }
  std::size_t in_flight(int w) const { return in_flight_.at(static_cast<std::size_t>(w)); }

 private:
  std::size_t window_;
  std::vector<std::size_t> in_flight_;
  std::deque<Item> pending_;
};

}  // namespace rankpool::detail

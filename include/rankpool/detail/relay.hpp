#pragma once
// Hierarchical scheduling's messages and a node leader's loop (README "Scheduling at scale").
// A batch message (MessageKind::batch) carries records: each a Header, its payload_size set,
// followed by that many payload bytes. Rank 0 sends a leader batches of task messages; the leader
// hands each task to one of its node's workers (RelayQueue: fewest in flight first, `window`
// each), and the workers answer the leader as they would answer rank 0. The leader sends their
// results (and errors) to rank 0 in batches: all that arrived since its last send. init and
// shutdown from rank 0 are forwarded to every worker of the node; a leader runs no task itself.

#include <cstddef>
#include <cstring>
#include <vector>

#include "rankpool/detail/transport.hpp"
#include "rankpool/error.hpp"

namespace rankpool::detail {

/// Appends one record (h with payload_size set from parts, then the parts' bytes) to out.
void append_record(std::vector<char>& out, Header h, const std::vector<ConstBytes>& parts);

/// Calls f(header, payload) for every record of a batch payload; CommunicationError when the
/// bytes are not a whole number of records.
template <class F>
void for_each_record(const char* data, std::size_t size, F&& f) {
  std::size_t at = 0;
  while (at < size) {
    Header h;
    if (size - at < sizeof(Header)) {
      throw CommunicationError("rankpool: a batch message ends inside a record header");
    }
    std::memcpy(&h, data + at, sizeof(Header));
    at += sizeof(Header);
    if (size - at < h.payload_size) {
      throw CommunicationError("rankpool: a batch message ends inside a record's payload");
    }
    f(static_cast<const Header&>(h), data + at);
    at += h.payload_size;
  }
}

/// A node leader's loop: relays between rank 0 and `workers` (ranks of this node) until rank 0
/// sends shutdown, which it forwards; returns the exit code it carries.
int relay(Transport& transport, const std::vector<int>& workers, int window);

}  // namespace rankpool::detail

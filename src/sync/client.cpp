// The handles' side of the synchronisation service: building requests and turning replies into
// exceptions.

#include "rankpool/pool.hpp"
#include "rankpool/process_info.hpp"
#include "rankpool/sync.hpp"

namespace rankpool::detail {

SyncService& service_of(Pool& pool) {
  return pool.sync_service();
}

int this_rank() {
  return current_process().rank;
}

SyncReply sync_op(SyncOp op, std::uint64_t object, std::optional<double> timeout,
                  std::vector<char> payload) {
  if (object == 0) {
    throw PoolStateError(
        "rankpool: this Lock/Semaphore/Queue was default-constructed; create it with the pool, "
        "e.g. rankpool::Lock lock(pool)");
  }
  if (timeout && *timeout < 0) throw ValueError("rankpool: a timeout must be >= 0 seconds");
  SyncRequest request;
  request.op = op;
  request.object = object;
  request.rank = this_rank();
  request.timeout = timeout;
  request.payload = std::move(payload);
  SyncReply reply = sync_call(std::move(request));
  if (reply.status == SyncStatus::error) throw_sync_error(reply);
  return reply;
}

}  // namespace rankpool::detail

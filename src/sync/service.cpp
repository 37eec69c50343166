#include "rankpool/detail/sync_service.hpp"

#include <cstring>
#include <utility>

#include "rankpool/error.hpp"

namespace rankpool::detail {

namespace {
// Operations that take a permit, a lock or an item, or need room: they may have to wait.
bool takes(SyncOp op) {
  return op == SyncOp::sem_acquire || op == SyncOp::rlock_acquire || op == SyncOp::queue_get ||
         op == SyncOp::queue_put;
}
// Operations after which a waiter may be able to proceed.
bool may_unblock_others(SyncOp op) {
  return op == SyncOp::sem_release || op == SyncOp::rlock_release || op == SyncOp::queue_put ||
         op == SyncOp::queue_get;
}

// Header fields of the service channel's messages.
//   request: kind=task (unused), job=object, aux=op, count=timeout in ns (~0 = none), payload
//   reply:   aux=status, begin=value, payload = item bytes, or "type\0message" for errors
constexpr std::uint64_t kNoTimeout = ~std::uint64_t{0};
}  // namespace

void throw_sync_error(const SyncReply& reply) {
  if (reply.error_type == "AssertionError") throw AssertionError(reply.error_message);
  throw ValueError(reply.error_message);
}

SyncService::SyncService(Transport& transport) : transport_(transport) {}

std::uint64_t SyncService::create_semaphore(std::int64_t value, std::int64_t max_value,
                                            std::string what) {
  if (value < 0) {
    throw ValueError("rankpool: " + what + " initial value must be >= 0 (got " +
                     std::to_string(value) + ")");
  }
  Object obj;
  obj.kind = Kind::semaphore;
  obj.what = std::move(what);
  obj.value = value;
  obj.max_value = max_value;
  objects_.emplace(next_id_, std::move(obj));
  return next_id_++;
}

std::uint64_t SyncService::create_rlock() {
  Object obj;
  obj.kind = Kind::rlock;
  obj.what = "RLock";
  objects_.emplace(next_id_, std::move(obj));
  return next_id_++;
}

std::uint64_t SyncService::create_queue(std::int64_t maxsize) {
  Object obj;
  obj.kind = Kind::queue;
  obj.what = "Queue";
  obj.maxsize = maxsize < 0 ? 0 : maxsize;
  objects_.emplace(next_id_, std::move(obj));
  return next_id_++;
}

SyncService::Object& SyncService::object(std::uint64_t id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) {
    throw ValueError("rankpool: no synchronisation object with id " + std::to_string(id) +
                     " (was it created in another run, or default-constructed?)");
  }
  return it->second;
}

bool SyncService::try_complete(Object& obj, SyncRequest& req, const Respond& respond) {
  SyncReply reply;
  auto fail = [&](const char* type, std::string message) {
    reply.status = SyncStatus::error;
    reply.error_type = type;
    reply.error_message = std::move(message);
    respond(std::move(reply));
    return true;
  };
  auto wrong_kind = [&](Kind want) {
    return obj.kind != want
               ? fail("ValueError", "rankpool: object " + std::to_string(req.object) + " is a " +
                                        obj.what + ", not the kind this operation needs")
               : false;
  };
  switch (req.op) {
    case SyncOp::sem_acquire:
      if (wrong_kind(Kind::semaphore)) return true;
      if (obj.value <= 0) return false;
      --obj.value;
      break;
    case SyncOp::sem_release:
      if (wrong_kind(Kind::semaphore)) return true;
      if (obj.max_value > 0 && obj.value >= obj.max_value) {
        return fail("ValueError", obj.what == "Lock" ? "semaphore or lock released too many times"
                                                     : "Semaphore released too many times");
      }
      ++obj.value;
      break;
    case SyncOp::sem_value:
      if (wrong_kind(Kind::semaphore)) return true;
      reply.value = obj.value;
      break;
    case SyncOp::rlock_acquire:
      if (wrong_kind(Kind::rlock)) return true;
      if (obj.depth > 0 && obj.owner != req.rank) return false;
      obj.owner = req.rank;
      ++obj.depth;
      break;
    case SyncOp::rlock_release:
      if (wrong_kind(Kind::rlock)) return true;
      if (obj.depth == 0 || obj.owner != req.rank) {
        return fail("AssertionError", "cannot release un-acquired lock");
      }
      if (--obj.depth == 0) obj.owner = -1;
      break;
    case SyncOp::queue_put:
      if (wrong_kind(Kind::queue)) return true;
      if (obj.maxsize > 0 && static_cast<std::int64_t>(obj.items.size()) >= obj.maxsize) {
        return false;
      }
      obj.items.push_back(std::move(req.payload));
      break;
    case SyncOp::queue_get:
      if (wrong_kind(Kind::queue)) return true;
      if (obj.items.empty()) return false;
      reply.payload = std::move(obj.items.front());
      obj.items.pop_front();
      break;
    case SyncOp::queue_size:
      if (wrong_kind(Kind::queue)) return true;
      reply.value = static_cast<std::int64_t>(obj.items.size());
      break;
    case SyncOp::queue_poll:
      if (wrong_kind(Kind::queue)) return true;
      if (obj.items.empty()) return false;
      reply.value = 1;
      break;
    default:
      return fail("ValueError", "rankpool: unknown synchronisation operation " +
                                    std::to_string(static_cast<unsigned>(req.op)));
  }
  respond(std::move(reply));
  return true;
}

void SyncService::submit(SyncRequest request, Respond respond) {
  Object& obj = object(request.object);
  // FIFO: a new request that takes something does not overtake earlier waiters of the object.
  bool must_queue = !obj.waiters.empty() && takes(request.op);
  if (!must_queue && try_complete(obj, request, respond)) {
    if (may_unblock_others(request.op)) wake(obj);
    return;
  }
  if (refuse_waits_) {
    SyncReply reply;
    reply.status = SyncStatus::error;
    reply.error_type = "ValueError";
    reply.error_message = *refuse_waits_;
    respond(std::move(reply));
    return;
  }
  Waiter w{std::move(request), std::move(respond), std::nullopt, ++waiter_seq_};
  std::uint64_t seq = w.seq;
  bool no_wait = w.request.timeout && *w.request.timeout <= 0;
  if (w.request.timeout && !no_wait) {
    ++timed_waiters_;
    w.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(*w.request.timeout));
  }
  obj.waiters.push_back(std::move(w));
  wake(obj);      // a getter may pass blocked putters (and vice versa)
  if (no_wait) {  // timeout 0: it was granted just now, or it fails at once
    for (auto it = obj.waiters.begin(); it != obj.waiters.end(); ++it) {
      if (it->seq != seq) continue;
      auto respond_now = std::move(it->respond);
      remove_waiter(obj, it);
      SyncReply reply;
      reply.status = SyncStatus::timeout;
      respond_now(std::move(reply));
      break;
    }
  }
}

std::deque<SyncService::Waiter>::iterator SyncService::remove_waiter(
    Object& obj, std::deque<Waiter>::iterator it) {
  if (it->deadline) --timed_waiters_;
  return obj.waiters.erase(it);
}

void SyncService::wake(Object& obj) {
  bool progressed = true;
  while (progressed && !obj.waiters.empty()) {
    progressed = false;
    // Grant in FIFO order; a waiter that still cannot proceed blocks those behind it of the
    // same operation, but a getter may proceed past a blocked putter and vice versa.
    for (auto it = obj.waiters.begin(); it != obj.waiters.end(); ++it) {
      if (try_complete(obj, it->request, it->respond)) {
        remove_waiter(obj, it);
        progressed = true;
        break;
      }
    }
  }
}

void SyncService::reply_to_rank(int rank, SyncReply reply) {
  Header h;
  h.kind = MessageKind::result;
  h.aux = static_cast<std::uint64_t>(reply.status);
  h.begin = static_cast<std::uint64_t>(reply.value);
  auto bytes = std::make_shared<std::vector<char>>();
  if (reply.status == SyncStatus::error) {
    bytes->assign(reply.error_type.begin(), reply.error_type.end());
    bytes->push_back('\0');
    bytes->insert(bytes->end(), reply.error_message.begin(), reply.error_message.end());
  } else {
    *bytes = std::move(reply.payload);
  }
  transport_.send(rank, h, {{bytes->data(), bytes->size()}}, bytes);
}

bool SyncService::poll() {
  bool did = false;
  transport_.progress();
  int source = 0;
  Header h;
  while (transport_.try_recv_header(source, h)) {
    did = true;
    SyncRequest req;
    req.op = static_cast<SyncOp>(h.aux);
    req.object = h.job;
    req.rank = source;
    if (h.count != kNoTimeout) req.timeout = static_cast<double>(h.count) * 1e-9;
    req.payload.resize(h.payload_size);
    if (h.payload_size != 0) transport_.recv_payload(source, req.payload.data(), h.payload_size);
    try {
      submit(std::move(req), [this, source](SyncReply r) { reply_to_rank(source, std::move(r)); });
    } catch (const Error& e) {
      SyncReply r;
      r.status = SyncStatus::error;
      r.error_type = "ValueError";
      r.error_message = e.what();
      reply_to_rank(source, std::move(r));
    }
  }
  if (timed_waiters_ != 0) {  // only then can a wait expire
    auto now = Clock::now();
    for (auto& [id, obj] : objects_) {
      for (auto it = obj.waiters.begin(); it != obj.waiters.end();) {
        if (it->deadline && *it->deadline <= now) {
          SyncReply r;
          r.status = SyncStatus::timeout;
          auto respond = std::move(it->respond);
          it = remove_waiter(obj, it);
          respond(std::move(r));
          did = true;
        } else {
          ++it;
        }
      }
    }
  }
  return did;
}

void SyncService::fail_waiters(const std::string& message) {
  refuse_waits_ = message;
  for (auto& [id, obj] : objects_) {
    while (!obj.waiters.empty()) {
      SyncReply r;
      r.status = SyncStatus::error;
      r.error_type = "ValueError";
      r.error_message = message;
      auto respond = std::move(obj.waiters.front().respond);
      obj.waiters.pop_front();
      respond(std::move(r));
    }
  }
  timed_waiters_ = 0;
}

SyncContext& sync_context() {
  static SyncContext context;
  return context;
}

SyncReply sync_call(SyncRequest request) {
  auto& ctx = sync_context();
  if (ctx.service) {  // on the master: no messages, progress the pool while waiting
    if (ctx.relay) {
      if (auto relayed = ctx.relay(request)) return std::move(*relayed);
    }
    std::optional<SyncReply> reply;
    ctx.service->submit(std::move(request), [&reply](SyncReply r) { reply = std::move(r); });
    Backoff backoff;
    while (!reply) {
      if (ctx.master_progress && ctx.master_progress()) {
        backoff.reset();
      } else {
        backoff.pause();
      }
    }
    return std::move(*reply);
  }
  if (!ctx.channel) {
    throw PoolStateError(
        "rankpool: Lock, Semaphore, Queue and Pipe work only inside rankpool::run (on the "
        "master, or in tasks)");
  }
  Header h;
  h.kind = MessageKind::task;
  h.job = request.object;
  h.aux = static_cast<std::uint64_t>(request.op);
  h.count = request.timeout ? static_cast<std::uint64_t>(std::max(0.0, *request.timeout) * 1e9)
                            : kNoTimeout;
  ctx.channel->send(0, h, {{request.payload.data(), request.payload.size()}});
  Backoff backoff;
  int source = 0;
  Header r;
  while (!ctx.channel->try_recv_header(source, r)) {
    ctx.channel->progress();
    backoff.pause();
  }
  std::vector<char> bytes(r.payload_size);
  if (!bytes.empty()) ctx.channel->recv_payload(source, bytes.data(), bytes.size());
  ctx.channel->flush();  // the request's payload may be released now
  SyncReply reply;
  reply.status = static_cast<SyncStatus>(r.aux);
  reply.value = static_cast<std::int64_t>(r.begin);
  if (reply.status == SyncStatus::error) {
    auto nul = std::find(bytes.begin(), bytes.end(), '\0');
    reply.error_type.assign(bytes.begin(), nul);
    if (nul != bytes.end()) reply.error_message.assign(nul + 1, bytes.end());
  } else {
    reply.payload = std::move(bytes);
  }
  return reply;
}

}  // namespace rankpool::detail

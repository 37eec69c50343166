#include "rankpool/detail/worker.hpp"

#include <memory>
#include <optional>
#include <vector>

#include "rankpool/detail/callable.hpp"
#include "rankpool/detail/crash_report.hpp"
#include "rankpool/detail/isolation.hpp"
#include "rankpool/detail/memory.hpp"
#include "rankpool/error.hpp"

namespace rankpool::detail {

namespace {

class Worker {
 public:
  explicit Worker(Transport& transport) : transport_(transport) {}

  int serve() {
    Backoff backoff;
    for (;;) {
      transport_.progress();
      int source = 0;
      Header h;
      if (!transport_.try_recv_header(source, h)) {
        backoff.pause();
        continue;
      }
      backoff.reset();
      char* payload = receive_payload(source, h.payload_size);
      switch (h.kind) {
        case MessageKind::shutdown:
          transport_.flush();
          return static_cast<int>(static_cast<std::int64_t>(h.aux));
        case MessageKind::init:
          init(h, payload);
          break;
        case MessageKind::task:
          run_task(source, h, payload);
          break;
        default:
          throw CommunicationError("rankpool: worker rank " + std::to_string(transport_.rank()) +
                                   " got an unexpected message kind " +
                                   std::to_string(static_cast<unsigned>(h.kind)));
      }
    }
  }

 private:
  char* receive_payload(int source, std::uint64_t size) {
    // max_align_t storage: raw arrays of inputs are read in place, suitably aligned.
    std::size_t words = (size + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t);
    if (buffer_.size() < words) resize_large(buffer_, words);
    auto* bytes = reinterpret_cast<char*>(buffer_.data());
    if (size != 0) transport_.recv_payload(source, bytes, size);
    return bytes;
  }

  void init(const Header& h, const char* payload) {
    maxtasks_ = h.aux;
    tasks_done_ = 0;
    initializer_.reset();
    if (h.flags & 1) {
      ShippedCall call;
      call.exec = h.exec;
      std::size_t args_size = h.payload_size - h.count;
      call.args.assign(payload, payload + args_size);
      call.callable.assign(payload + args_size, payload + h.payload_size);
      initializer_ = std::move(call);
      run_initializer();
    }
  }

  void run_initializer() {
    init_error_.reset();
    try {
      initializer_->local = resolve_function<void(TaskContext&)>(initializer_->exec);
      run_shipped_call(*initializer_);
    } catch (...) {
      TaskFailure failure;
      describe_current_exception(failure.type_name, failure.message);
      failure.message = "the pool's initializer failed on this worker: " + failure.message;
      init_error_ = std::move(failure);
    }
  }

  void run_task(int source, const Header& h, const char* payload) {
    auto out = output_buffer();
    TaskContext ctx;
    ctx.input = payload;
    ctx.input_size = h.payload_size - h.aux;
    ctx.callable = payload + ctx.input_size;
    ctx.callable_size = h.aux;
    ctx.begin = h.begin;
    ctx.count = h.count;
    ctx.out = out.get();
    ctx.keep_going = (h.flags & task_keep_going) != 0;
    note_running(h.job, h.chunk, h.begin, h.count);
    if (init_error_) {
      ctx.failed = true;
      ctx.failed_index = h.begin;
      ctx.error_type = init_error_->type_name;
      ctx.error_message = init_error_->message;
    } else {
      try {
        ExecutorFn exec = resolve_function<void(TaskContext&)>(h.exec);
        if (h.flags & task_isolate) {
          run_isolated(exec, ctx, IsolationConfig{static_cast<double>(h.timeout_ms) / 1000.0});
        } else {
          exec(ctx);
        }
      } catch (...) {  // the executor itself could not run (bad bytes, unknown code, no fork)
        ctx.failed = true;
        ctx.failed_index = h.begin;
        describe_current_exception(ctx.error_type, ctx.error_message);
      }
    }
    note_running(0, 0, 0, 0);
    Header reply = h;
    reply.aux = 0;
    reply.timeout_ms = 0;
    if (ctx.failed) {
      reply.kind = MessageKind::error;
      *out = to_bytes(ctx.failure(transport_.rank(), transport_.host()));
    } else if (!ctx.failures.empty()) {
      reply.kind = MessageKind::partial;
      reply.aux = out->size();
      for (auto& f : ctx.failures) {
        f.rank = transport_.rank();
        f.host = transport_.host();
      }
      std::vector<char> tail = to_bytes(ctx.failures);
      out->insert(out->end(), tail.begin(), tail.end());
    } else {
      reply.kind = MessageKind::result;
    }
    transport_.send(source, reply, {{out->data(), out->size()}}, out);
    if (maxtasks_ != 0 && ++tasks_done_ >= maxtasks_) {
      tasks_done_ = 0;
      if (initializer_) run_initializer();  // fresh state, as a new child would have
    }
  }

  // A result buffer whose previous send has completed (the transport released it), so large
  // chunks do not pay for fresh pages every time.
  std::shared_ptr<std::vector<char>> output_buffer() {
    for (auto& b : outputs_) {
      if (b.use_count() == 1) return b;  // the executor sizes it (no refill of reused pages)
    }
    outputs_.push_back(std::make_shared<std::vector<char>>());
    return outputs_.back();
  }

  Transport& transport_;
  std::vector<std::shared_ptr<std::vector<char>>> outputs_;
  std::vector<std::max_align_t> buffer_;
  std::optional<ShippedCall> initializer_;
  std::optional<TaskFailure> init_error_;
  std::uint64_t maxtasks_ = 0;
  std::uint64_t tasks_done_ = 0;
};

}  // namespace

int serve(Transport& transport) {
  return Worker(transport).serve();
}

}  // namespace rankpool::detail

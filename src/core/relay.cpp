#include "rankpool/detail/relay.hpp"

#include <memory>
#include <string>
#include <unordered_map>

#include "rankpool/detail/relay_queue.hpp"

namespace rankpool::detail {

void append_record(std::vector<char>& out, Header h, const std::vector<ConstBytes>& parts) {
  h.payload_size = 0;
  for (const auto& p : parts) h.payload_size += p.size;
  const std::size_t at = out.size();
  out.resize(at + sizeof(Header) + h.payload_size);
  std::memcpy(out.data() + at, &h, sizeof(Header));
  std::size_t off = at + sizeof(Header);
  for (const auto& p : parts) {
    if (p.size != 0) std::memcpy(out.data() + off, p.data, p.size);
    off += p.size;
  }
}

namespace {

// A task waiting at the leader: its header and where its payload lies in the batch it came in.
struct Task {
  Header header;
  std::shared_ptr<std::vector<char>> batch;
  const char* payload = nullptr;
};

class Relay {
 public:
  Relay(Transport& transport, const std::vector<int>& workers, int window)
      : transport_(transport), workers_(workers), queue_(static_cast<int>(workers.size()), window) {
    for (std::size_t i = 0; i < workers_.size(); ++i) index_[workers_[i]] = static_cast<int>(i);
  }

  int run() {
    Backoff backoff;
    for (;;) {
      transport_.progress();
      bool did = false;
      int source = 0;
      Header h;
      while (transport_.try_recv_header(source, h)) {
        did = true;
        auto bytes = std::make_shared<std::vector<char>>(h.payload_size);
        if (h.payload_size != 0) transport_.recv_payload(source, bytes->data(), h.payload_size);
        if (source == 0) {
          if (h.kind == MessageKind::shutdown) return shutdown(h);
          from_master(h, bytes);
        } else {
          from_worker(source, h, *bytes);
        }
      }
      while (auto next = queue_.next()) {
        did = true;
        const Task& t = next->second;
        transport_.send(workers_[next->first], t.header, {{t.payload, t.header.payload_size}},
                        t.batch);
      }
      if (!results_.empty()) {
        auto out = std::make_shared<std::vector<char>>(std::move(results_));
        results_ = {};
        Header b;
        b.kind = MessageKind::batch;
        transport_.send(0, b, {{out->data(), out->size()}}, out);
      }
      if (did) {
        backoff.reset();
      } else {
        backoff.pause();
      }
    }
  }

 private:
  void from_master(const Header& h, const std::shared_ptr<std::vector<char>>& bytes) {
    switch (h.kind) {
      case MessageKind::batch:
        for_each_record(bytes->data(), bytes->size(), [&](const Header& rec, const char* payload) {
          queue_.push(Task{rec, bytes, payload});
        });
        break;
      case MessageKind::task:
        queue_.push(Task{h, bytes, bytes->data()});
        break;
      case MessageKind::init:  // every worker of the node runs the initializer
        for (int w : workers_) transport_.send(w, h, {{bytes->data(), bytes->size()}}, bytes);
        break;
      default:
        throw CommunicationError("rankpool: node leader rank " + std::to_string(transport_.rank()) +
                                 " got an unexpected message kind " +
                                 std::to_string(static_cast<unsigned>(h.kind)) + " from rank 0");
    }
  }

  void from_worker(int source, const Header& h, const std::vector<char>& bytes) {
    auto it = index_.find(source);
    if (it == index_.end()) {
      throw CommunicationError("rankpool: node leader rank " + std::to_string(transport_.rank()) +
                               " got a message from rank " + std::to_string(source) +
                               ", which is not one of its workers");
    }
    queue_.done(it->second);
    append_record(results_, h, {{bytes.data(), bytes.size()}});
  }

  int shutdown(const Header& h) {
    for (int w : workers_) transport_.send(w, h, {});
    transport_.flush();
    return static_cast<int>(static_cast<std::int64_t>(h.aux));
  }

  Transport& transport_;
  std::vector<int> workers_;
  std::unordered_map<int, int> index_;  // worker rank -> index in workers_
  RelayQueue<Task> queue_;
  std::vector<char> results_;  // records for rank 0, sent together
};

}  // namespace

int relay(Transport& transport, const std::vector<int>& workers, int window) {
  return Relay(transport, workers, window).run();
}

}  // namespace rankpool::detail

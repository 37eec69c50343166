#pragma once
// The messages between the master (rank 0) and the workers. Every message is a fixed-size
// Header, followed by `payload_size` bytes sent as separate payload messages (see transport.hpp).

#include <cstdint>
#include <string>

#include "rankpool/detail/code_ref.hpp"

namespace rankpool::detail {

enum class MessageKind : std::uint32_t {
  task = 1,      // master -> worker: run chunk; payload = input bytes then callable bytes
  result = 2,    // worker -> master: chunk done; payload = encoded results
  error = 3,     // worker -> master: chunk failed; payload = encoded TaskFailure
  init = 4,      // master -> worker: initializer and maxtasksperchild; payload = callable bytes
  shutdown = 5,  // master -> worker: leave the serve loop; aux = exit code
  batch = 7,     // master <-> node leader (hierarchy): payload = records, each a Header (its
                 // payload_size set) followed by that message's payload (relay.hpp)
  partial = 6,   // worker -> master: chunk done, some items failed (keep-going jobs); payload =
                 // results of the items that succeeded, in order (aux bytes), then the encoded
                 // std::vector<TaskFailure> of the others
};

/// Header::flags of a task message.
enum TaskFlags : std::uint32_t {
  task_keep_going = 1,  // a failing item does not end the chunk (map_outcomes)
  task_isolate = 2,     // run the chunk in forked children (PoolOptions::isolate)
};

struct Header {
  MessageKind kind = MessageKind::task;
  std::uint32_t flags = 0;
  std::uint64_t job = 0;
  std::uint64_t chunk = 0;  // chunk index within the job
  std::uint64_t begin = 0;  // first item index
  std::uint64_t count = 0;  // items in the chunk
  std::uint64_t payload_size = 0;
  std::uint64_t aux = 0;         // task: callable bytes at the end of the payload; init: maxtasks;
                                 // shutdown: exit code; partial: bytes of the results
  std::uint64_t timeout_ms = 0;  // task: per-item time limit under isolation (0: none)
  CodeRef exec;                  // task/init: the executor to run
};

/// How an item failed.
enum class FailureKind : std::uint8_t {
  exception = 0,  // the task threw
  crashed = 1,    // its (isolated) process died: a signal, or exit()
  timed_out = 2,  // it ran past the task timeout and was killed
};

/// Why a chunk (or, for keep-going jobs, one item) failed, as the worker reports it.
struct TaskFailure {
  std::string type_name;
  std::string message;
  std::uint64_t index = 0;
  int rank = 0;
  std::string host;
  FailureKind kind = FailureKind::exception;
  int signal = 0;       // crashed/timed_out: the signal that ended the process, 0 if it exited
  int exit_status = 0;  // crashed: the exit status when signal is 0

  template <class Archive>
  void serialize(Archive& ar) {
    ar(type_name, message, index, rank, host, kind, signal, exit_status);
  }
};

}  // namespace rankpool::detail

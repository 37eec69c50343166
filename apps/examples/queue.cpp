// Seed 004 ("Queues and Pipes: ... inter-process communication mechanisms like queues and pipes.
// These allow processes to exchange data or messages") names the Queue but shows no code, so this
// is the usual small program, after the Python documentation's "Exchanging objects between
// processes": a producer process puts items on a Queue, the main process gets and prints them.
//
//   from multiprocessing import Process, Queue
//
//   def producer(q):
//       for item in range(5):
//           q.put(item * item)
//       q.put(None)                 # no more items
//
//   if __name__ == '__main__':
//       q = Queue(maxsize=2)        # the producer waits while two items are not yet taken
//       p = Process(target=producer, args=(q,))
//       p.start()
//       while True:
//           item = q.get()
//           if item is None:
//               break
//           print('Got', item)
//       p.join()
//       print('Producer exited with code', p.exitcode)
//
// Prints:
//   Got 0
//   Got 1
//   Got 4
//   Got 9
//   Got 16
//   Producer exited with code 0
//
// The Queue carries std::optional<long>: std::nullopt stands for Python's None.

#include <cstdio>
#include <optional>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

using Items = rankpool::Queue<std::optional<long>>;

void producer(Items q) {
  for (long item = 0; item < 5; ++item) q.put(item * item);
  q.put(std::nullopt);  // no more items
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-queue")) return 0;
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    // The main process waits in q.get() while the child runs: that needs a second process of the
    // pool (with one, nothing runs the child while the main process waits, and it would hang).
    if (pool.processes() < 2) {
      std::fprintf(stderr,
                   "rankpool-example-queue: needs at least 2 processes (mpirun -n 2 or more)\n");
      return 1;
    }
    Items q(pool, 2);  // the producer waits while two items are not yet taken
    rankpool::Process p(
        pool, [](Items items) { producer(items); }, q);
    p.start();
    while (true) {
      std::optional<long> item = q.get();
      if (!item) break;
      py::print("Got", *item);
    }
    p.join();
    py::print("Producer exited with code", p.exitcode().value());
    return 0;
  });
}

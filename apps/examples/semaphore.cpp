// Seed 004 ("Locks and Semaphores: ... synchronization primitives such as locks and semaphores to
// handle shared resources safely") names the Semaphore but shows no code, so this is the usual
// small program: six processes share a section that at most two may be in at once.
//
//   from multiprocessing import Process, Semaphore, Queue
//   import time
//
//   def worker(sem, inside, counts, out, i):
//       with sem:                       # at most 2 processes get past this line at once
//           inside.put(i)
//           counts.put(inside.qsize())  # processes in the section now, this one included
//           time.sleep(0.05)
//           inside.get()
//       out.put(f"Worker {i} left the section")
//
//   if __name__ == '__main__':
//       sem = Semaphore(2)
//       inside, counts, out = Queue(), Queue(), Queue()
//       processes = [Process(target=worker, args=(sem, inside, counts, out, i))
//                    for i in range(6)]
//       for p in processes:
//           p.start()
//       for p in processes:
//           p.join()
//       while not out.empty():
//           print(out.get())
//       most = max(counts.get() for p in processes)
//       print("Never more than 2 processes in the section at once:", most <= 2)
//
// Prints (the six worker lines in whatever order the workers leave):
//   Worker 0 left the section
//   ...
//   Worker 5 left the section
//   Never more than 2 processes in the section at once: True
//
// The workers send their lines to the master through a Queue (a worker rank's stdout reaches the
// terminal in no fixed order relative to the master's), and the master prints them.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

struct Shared {
  rankpool::Semaphore sem;
  rankpool::Queue<int> inside;
  rankpool::Queue<std::int64_t> counts;
  rankpool::Queue<std::string> out;
};

void worker(Shared s, int i) {
  {
    std::lock_guard<rankpool::Semaphore> permit(s.sem);  // with sem:
    s.inside.put(i);
    s.counts.put(s.inside.qsize());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    s.inside.get();
  }
  s.out.put("Worker " + std::to_string(i) + " left the section");
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-semaphore")) return 0;
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    Shared s{rankpool::Semaphore(pool, 2), rankpool::Queue<int>(pool),
             rankpool::Queue<std::int64_t>(pool), rankpool::Queue<std::string>(pool)};
    std::vector<rankpool::Process> processes;
    for (int i = 0; i < 6; ++i) {
      processes.emplace_back(
          pool, [](Shared sh, int n) { worker(sh, n); }, s, i);
    }
    for (auto& p : processes) p.start();
    for (auto& p : processes) p.join();
    while (!s.out.empty()) py::print(s.out.get());
    std::int64_t most = 0;
    for (std::size_t k = 0; k < processes.size(); ++k) most = std::max(most, s.counts.get());
    py::print("Never more than 2 processes in the section at once:", most <= 2);
  });
}

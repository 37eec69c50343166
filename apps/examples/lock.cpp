// Seed 004 ("Locks and Semaphores: ... synchronization primitives such as locks and semaphores to
// handle shared resources safely", "Synchronize Access to Shared Data") names the Lock but shows
// no code, so this is the Python documentation's Lock program ("Synchronization between
// processes"): ten processes print under one lock, so that their lines do not get mixed.
//
//   from multiprocessing import Process, Lock
//
//   def f(l, i):
//       l.acquire()
//       try:
//           print('hello world', i)
//       finally:
//           l.release()
//
//   if __name__ == '__main__':
//       lock = Lock()
//       for num in range(10):
//           Process(target=f, args=(lock, num)).start()
//
// Prints, in whatever order the processes take the lock:
//   hello world 0
//   hello world 1
//   ...
//   hello world 9
//
// The shared resource is the processes' stdout: a rankpool::Queue of text fragments that the
// master prints once every process has finished (a worker rank's own stdout reaches the terminal
// in no fixed order). print('hello world', i) writes its pieces one at a time ('hello world', ' ',
// '3', '\n'), as Python's print does; without the lock, pieces of different processes would
// interleave, as in the seeds' unlocked outputs ("Worker 0 starting...Worker 2 starting...").

#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

using Stdout = rankpool::Queue<std::string>;

/// Python's print('hello world', i): one write per piece.
void print_pieces(Stdout out, int i) {
  out.put("hello world");
  out.put(" ");
  out.put(std::to_string(i));
  out.put("\n");
}

void f(rankpool::Lock l, Stdout out, int i) {
  std::lock_guard<rankpool::Lock> hold(l);  // l.acquire() ... finally: l.release()
  print_pieces(out, i);
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-lock")) return 0;
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    rankpool::Lock lock(pool);
    Stdout out(pool);
    std::vector<rankpool::Process> processes;
    for (int num = 0; num < 10; ++num) {
      processes.emplace_back(
          pool, [](rankpool::Lock l, Stdout o, int i) { f(l, o, i); }, lock, out, num);
      processes.back().start();
    }
    // Python joins the (non-daemon) processes when the main program ends.
    for (auto& p : processes) p.join();
    std::string text;
    while (!out.empty()) text += out.get();
    std::fputs(text.c_str(), stdout);
  });
}

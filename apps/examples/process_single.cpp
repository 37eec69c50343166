// Seed 000, Q3: "Write a python code to create a process using the multiprocessing module."
//
//   def worker(num):
//       """Function to be run in a separate process"""
//       print(f"Worker {num} starting...")
//       # do some work here...
//       print(f"Worker {num} exiting...")
//
//   if __name__ == '__main__':
//       p = multiprocessing.Process(target=worker, args=(1,))
//       p.start()
//       p.join()
//
// Prints:
//   Worker 1 starting...
//   Worker 1 exiting...
//
// The process runs on some rank of the pool, whose stdout reaches the terminal through mpirun in
// no fixed order relative to the master's. So the worker "prints" by sending its lines to the
// master through a rankpool::Queue, and the master prints them once the process has finished.
//
// The target is a captureless lambda that calls worker(), as in all the Process examples: a plain
// function passed straight as a Process target is shipped as a raw address by rankpool::Process,
// which means nothing on another rank (it crashes there), while a lambda's type names the code.

#include <string>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

void worker(rankpool::Queue<std::string> out, int num) {
  out.put("Worker " + std::to_string(num) + " starting...");
  // do some work here...
  out.put("Worker " + std::to_string(num) + " exiting...");
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-process_single")) {
    return 0;
  }
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    rankpool::Queue<std::string> out(pool);  // the process's stdout
    // Create a new process
    rankpool::Process p(
        pool, [](rankpool::Queue<std::string> o, int num) { worker(o, num); }, out, 1);
    // Start the process
    p.start();
    // Wait for the process to finish
    p.join();
    while (!out.empty()) py::print(out.get());
  });
}

// Seed 001, #3: create a process that runs worker('A'), wait for it, then report completion.
//
//   def worker(name):
//       """Function to be executed by the process"""
//       print(f'Worker {name} executing.')
//
//   if __name__ == '__main__':
//       process = multiprocessing.Process(target=worker, args=('A',))
//       process.start()
//       process.join()
//       print('Process execution completed.')
//
// Prints:
//   Worker A executing.
//   Process execution completed.
//
// The worker's line goes to the master through a rankpool::Queue (a worker rank's stdout reaches
// the terminal in no fixed order relative to the master's); the master prints it after join().

#include <string>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

void worker(rankpool::Queue<std::string> out, const std::string& name) {
  out.put("Worker " + name + " executing.");
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-process_named")) {
    return 0;
  }
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    rankpool::Queue<std::string> out(pool);  // the process's stdout
    // Create a process
    rankpool::Process process(
        pool, [](rankpool::Queue<std::string> o, const std::string& name) { worker(o, name); }, out,
        std::string("A"));

    // Start the process
    process.start();

    // Wait for the process to finish
    process.join();
    while (!out.empty()) py::print(out.get());

    py::print("Process execution completed.");
  });
}

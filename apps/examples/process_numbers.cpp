// Seed 001, #6: a process per number, each printing its number, then a final line.
//
//   def print_number(number):
//       """Function to print a number"""
//       print(f"Process {number}: {number}")
//
//   if __name__ == '__main__':
//       numbers = [1, 2, 3, 4]
//       processes = []
//       for number in numbers:
//           process = multiprocessing.Process(target=print_number, args=(number,))
//           process.start()
//           processes.append(process)
//       for process in processes:
//           process.join()
//       print("All processes completed.")
//
// Prints (the four process lines in whatever order the processes run):
//   Process 1: 1
//   Process 2: 2
//   Process 3: 3
//   Process 4: 4
//   All processes completed.
//
// The processes send their lines to the master through a rankpool::Queue and the master prints
// them after joining them all (a worker rank's stdout reaches the terminal in no fixed order
// relative to the master's).

#include <string>
#include <vector>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

void print_number(rankpool::Queue<std::string> out, int number) {
  out.put("Process " + std::to_string(number) + ": " + std::to_string(number));
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-process_numbers")) {
    return 0;
  }
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    rankpool::Queue<std::string> out(pool);  // the processes' stdout

    // Create a list of numbers
    std::vector<int> numbers = {1, 2, 3, 4};

    // Create a list to store the process objects
    std::vector<rankpool::Process> processes;
    processes.reserve(numbers.size());

    // Create and start a process for each number
    for (int number : numbers) {
      processes.emplace_back(
          pool, [](rankpool::Queue<std::string> o, int n) { print_number(o, n); }, out, number);
      processes.back().start();
    }

    // Wait for all processes to finish
    for (auto& process : processes) process.join();
    while (!out.empty()) py::print(out.get());

    py::print("All processes completed.");
  });
}

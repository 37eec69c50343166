// Seed: Pool.map with an explicit close() and join().
//
//   def worker(task):
//       result = task ** 2
//       return result
//   pool = multiprocessing.Pool(processes=3)
//   tasks = [2, 4, 6, 8, 10]
//   results = pool.map(worker, tasks)
//   print("Results:", results)
//   pool.close()
//   pool.join()
//
// Prints:  Results: [4, 16, 36, 64, 100]

#include <vector>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

// Function to be executed by the worker processes.
int worker(int task) {
  int result = task * task;
  return result;
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-results")) return 0;
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    // List of tasks to be executed in parallel.
    std::vector<int> tasks{2, 4, 6, 8, 10};
    // Apply the worker function to the tasks in parallel.
    std::vector<int> results = pool.map(worker, tasks);
    py::print("Results:", results);
    // Close the pool, then wait for the worker processes to finish.
    pool.close();
    pool.join();
  });
}

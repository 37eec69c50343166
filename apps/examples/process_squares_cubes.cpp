// Seed 003, Q3: two processes, one printing the squares and one the cubes of a list, then the
// elapsed time. Spelling ("sqaure") and the trailing space before each "\n" are the seed's.
//
//   def squares(l):
//       print("Calculating the squares of a given number ....")
//       for i in l:
//           print(f"The sqaure of {i} is {i**2} \n")
//   def cubes(l):
//       print("Calculating the cubes of a given number ...")
//       for j in l:
//           print(f"The cube of {j} is {j**3} \n")
//   if __name__=="__main__":
//       start=time.time()
//       process1=multiprocessing.Process(target=squares,args=([11,22,33,44],),name="process1")
//       process2=multiprocessing.Process(target=cubes,args=([3,5,4,2],),name="process1")
//       process1.start()
//       process2.start()
//       process1.join()
//       process2.join()
//       print("Time taken to execute the program:", time.time()-start)
//
// Prints (each process's lines in its own order, the two processes' lines interleaved in any way;
// every "The ... is ... " line is followed by an empty line, from the "\n" in the f-string):
//   Calculating the squares of a given number ....
//   The sqaure of 11 is 121
//
//   ...
//   Calculating the cubes of a given number ...
//   The cube of 3 is 27
//
//   ...
//   Time taken to execute the program: 0.026784658432006836   (the measured time)
//
// In the seed's own output the two processes' writes are even mixed within lines; here each
// process sends its printed text to the master through a rankpool::Queue and the master prints
// it, whole lines, after joining both. rankpool::Process has no name argument (Python's
// name="process1" only labels the process), so it is left out.

#include <chrono>
#include <string>
#include <vector>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

void squares(rankpool::Queue<std::string> out, const std::vector<long>& l) {
  out.put("Calculating the squares of a given number ....");
  for (long i : l) {
    out.put("The sqaure of " + std::to_string(i) + " is " + std::to_string(i * i) + " \n");
  }
}

void cubes(rankpool::Queue<std::string> out, const std::vector<long>& l) {
  out.put("Calculating the cubes of a given number ...");
  for (long j : l) {
    out.put("The cube of " + std::to_string(j) + " is " + std::to_string(j * j * j) + " \n");
  }
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-process_squares_cubes")) {
    return 0;
  }
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    rankpool::Queue<std::string> out(pool);  // the processes' stdout
    auto start = std::chrono::steady_clock::now();
    // process to execute the squares function
    rankpool::Process process1(
        pool, [](rankpool::Queue<std::string> o, const std::vector<long>& l) { squares(o, l); },
        out, std::vector<long>{11, 22, 33, 44});
    // process to execute the cubes function
    rankpool::Process process2(
        pool, [](rankpool::Queue<std::string> o, const std::vector<long>& l) { cubes(o, l); }, out,
        std::vector<long>{3, 5, 4, 2});

    process1.start();  // process1 started
    process2.start();  // process2 started

    process1.join();  // wait until process 1 is finished
    process2.join();  // wait until process 2 is finished
    while (!out.empty()) py::print(out.get());
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    py::print("Time taken to execute the program:", elapsed.count());
  });
}

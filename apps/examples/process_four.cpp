// Seed 003, Q6: "Write a python program to create 4 processes, each process should print a
// different number using the multiprocessing module in python."
//
//   def squares(l):
//       print(l**2)
//   def cubes(l):
//       print(l**3)
//   def fun3(l):
//       print(l**4)
//   def fun4(l):
//       print(l**5)
//   if __name__=="__main__":
//       start=time.time()
//       process1=multiprocessing.Process(target=squares,args=(11,))
//       process2=multiprocessing.Process(target=cubes,args=(12,))
//       process3=multiprocessing.Process(target=fun3,args=(10,))
//       process4=multiprocessing.Process(target=fun4,args=(13,))
//       process1.start()
//       process2.start()
//       process3.start()
//       process4.start()
//       process1.join()
//       process2.join()
//       process3.join()
//       process4.join()
//       print("Time taken to execute the program:", time.time()-start)
//
// Prints (the four numbers in whatever order the processes run):
//   121
//   1728
//   10000
//   371293
//   Time taken to execute the program: 0.03391408920288086   (the measured time)
//
// Each process sends its line to the master through a rankpool::Queue and the master prints the
// lines after joining them all (a worker rank's stdout reaches the terminal in no fixed order
// relative to the master's). apply_async.cpp is the same program with a Pool.

#include <chrono>
#include <string>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

using Out = rankpool::Queue<std::string>;

void squares(Out out, long l) {
  out.put(std::to_string(l * l));
}
void cubes(Out out, long l) {
  out.put(std::to_string(l * l * l));
}
void fun3(Out out, long l) {
  out.put(std::to_string(l * l * l * l));
}
void fun4(Out out, long l) {
  out.put(std::to_string(l * l * l * l * l));
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-process_four")) {
    return 0;
  }
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    Out out(pool);  // the processes' stdout
    auto start = std::chrono::steady_clock::now();
    // process to execute the squares function
    rankpool::Process process1(
        pool, [](Out o, long l) { squares(o, l); }, out, 11L);
    // process to execute the cubes function
    rankpool::Process process2(
        pool, [](Out o, long l) { cubes(o, l); }, out, 12L);
    rankpool::Process process3(
        pool, [](Out o, long l) { fun3(o, l); }, out, 10L);
    rankpool::Process process4(
        pool, [](Out o, long l) { fun4(o, l); }, out, 13L);

    process1.start();  // process1 started
    process2.start();  // process2 started
    process3.start();
    process4.start();

    process1.join();  // wait until process 1 is finished
    process2.join();  // wait until process 2 is finished
    process3.join();
    process4.join();
    while (!out.empty()) py::print(out.get());
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    py::print("Time taken to execute the program:", elapsed.count());
  });
}

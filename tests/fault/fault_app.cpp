// A pool whose worker rank dies in the middle of a map, for tests/fault/worker_death.sh:
//   fault_app MODE RANK   MODE: segv | abort | kill (SIGKILL, as the OOM killer or kill -9)
// The first task that rank RANK runs dies that way; the other tasks sleep 20 ms. Without
// isolation the launcher then ends the job; the test checks that it ends, and that the log
// names the rank, its host and the inputs it was running.

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "rankpool/rankpool.hpp"

namespace {

struct Crash {
  int mode;  // 0 segv, 1 abort, 2 kill
  int rank;
  long operator()(long x) const {
    static bool first = true;
    if (rankpool::current_process().rank == rank && first) {
      first = false;
      if (mode == 0) std::raise(SIGSEGV);
      if (mode == 1) std::abort();
      if (mode == 2) std::raise(SIGKILL);
    }
    ::usleep(20000);
    return x;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: fault_app segv|abort|kill RANK\n");
    return 2;
  }
  std::string mode = argv[1];
  Crash crash{mode == "segv" ? 0 : mode == "abort" ? 1 : 2, std::atoi(argv[2])};
  return rankpool::run(argc, argv, [&](rankpool::Pool& pool) {
    auto out = pool.map(crash, rankpool::range(0L, 400L), 2);
    std::printf("map finished with %zu results\n", out.size());
    return 0;
  });
}

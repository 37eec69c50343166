// A resumable map for the kill test (kill_test.py): f(i) appends "i" to an evidence file (so the
// test can tell which items each run computed), sleeps, and returns a string. Rank 0 checks the
// map's vector against a direct computation and prints what the map reported.
//
//   resume_kill_app JOURNAL EVIDENCE ITEMS CHUNKSIZE SLEEP_US

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "rankpool/rankpool.hpp"

namespace {

char evidence_path[4096];  // set on every rank from argv before run()
long sleep_us = 0;

std::string value_of(long i) {
  return "r" + std::to_string((i * 2654435761L) % 1000003L);
}

std::string slow_value(long i) {
  int fd = ::open(evidence_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) {
    std::string line = std::to_string(i) + "\n";
    if (::write(fd, line.data(), line.size()) < 0) std::perror("evidence");
    ::close(fd);
  }
  ::usleep(static_cast<useconds_t>(sleep_us));
  return value_of(i);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s JOURNAL EVIDENCE ITEMS CHUNKSIZE SLEEP_US\n", argv[0]);
    return 2;
  }
  const std::string journal = argv[1];
  std::snprintf(evidence_path, sizeof evidence_path, "%s", argv[2]);
  const long items = std::atol(argv[3]);
  const long chunksize = std::atol(argv[4]);
  sleep_us = std::atol(argv[5]);
  return rankpool::run(argc, argv, [&](rankpool::Pool& pool) {
    std::vector<long> inputs(static_cast<std::size_t>(items));
    for (long i = 0; i < items; ++i) inputs[static_cast<std::size_t>(i)] = i;
    rankpool::ResumeOptions options;
    options.chunksize = chunksize;
    rankpool::ResumeReport report;
    auto got = rankpool::resumable_map(pool, slow_value, inputs, journal, options, &report);
    std::printf("report chunks=%llu from_journal=%llu computed=%llu torn_bytes=%llu\n",
                static_cast<unsigned long long>(report.chunks),
                static_cast<unsigned long long>(report.chunks_from_journal),
                static_cast<unsigned long long>(report.chunks_computed),
                static_cast<unsigned long long>(report.torn_bytes));
    if (got.size() != inputs.size()) {
      std::printf("result: MISMATCH: %zu results for %zu inputs\n", got.size(), inputs.size());
      return 1;
    }
    for (long i = 0; i < items; ++i) {
      if (got[static_cast<std::size_t>(i)] != value_of(i)) {
        std::printf("result: MISMATCH at %ld: %s, expected %s\n", i,
                    got[static_cast<std::size_t>(i)].c_str(), value_of(i).c_str());
        return 1;
      }
    }
    std::printf("result: match\n");
    return 0;
  });
}

#pragma once
// Every rankpool app answers `--version` with "<app name> <rankpool version>" and exits 0. The
// check runs first thing in main, before MPI is initialised, so it works without mpirun and
// calls nothing from MPI. The version comes from the generated rankpool/version.hpp (set once, by
// project(VERSION) in CMakeLists.txt).

#include <cstdio>
#include <cstring>

#include "rankpool/version.hpp"

namespace rankpool_apps {

/// Prints "<name> <version>" and returns true if an argument before any "--" is `--version`.
inline bool print_version_if_asked(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) return false;
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("%s %s\n", name, rankpool::version_string);
      std::fflush(stdout);
      return true;
    }
  }
  return false;
}

}  // namespace rankpool_apps

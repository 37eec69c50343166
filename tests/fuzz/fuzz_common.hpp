#pragma once
// Shared by the libFuzzer targets of tests/fuzz: a property check that stops the fuzzer (so the
// input is saved as a crash), and a scratch file for parsers that read from a path.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace rankpool_fuzz {

/// A property failed: print what and abort (libFuzzer saves the input as crash-<sha1>).
[[noreturn]] inline void fail(const char* file, int line, const char* what) {
  std::fprintf(stderr, "%s:%d: property violated: %s\n", file, line, what);
  std::abort();
}

#define FUZZ_CHECK(cond) ((cond) ? (void)0 : ::rankpool_fuzz::fail(__FILE__, __LINE__, #cond))

/// A file of this process (in /dev/shm when there is one: no disk I/O per input), rewritten with
/// each input; removed at exit.
class ScratchFile {
 public:
  explicit ScratchFile(const std::string& suffix) {
    const char* dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    path_ = std::string(dir) + "/rankpool-fuzz-" + std::to_string(::getpid()) + suffix;
  }
  ~ScratchFile() { std::remove(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  const std::string& path() const { return path_; }
  void write(const void* data, std::size_t size) const {
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) fail(__FILE__, __LINE__, "cannot create the scratch file");
    if (size != 0 && std::fwrite(data, 1, size, f) != size) {
      fail(__FILE__, __LINE__, "cannot write the scratch file");
    }
    if (std::fclose(f) != 0) fail(__FILE__, __LINE__, "cannot write the scratch file");
  }
  void write(const std::string& s) const { write(s.data(), s.size()); }
  void remove() const { std::remove(path_.c_str()); }

 private:
  std::string path_;
};

}  // namespace rankpool_fuzz

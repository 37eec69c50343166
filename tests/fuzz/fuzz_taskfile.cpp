// libFuzzer target: rankpool-run's task-file parser (apps/run/taskfile.cpp) on arbitrary bytes.
//
// Properties:
//   * parse_task_file returns or throws InputError, nothing else;
//   * it agrees with a model written here from the documented rules: a NUL byte anywhere or no
//     commands is an error; otherwise every line that is not blank and does not start with '#'
//     (after blanks) is a command, one trailing CR stripped, with its 1-based line number;
//   * ids are task_id(command, occurrence) and distinct;
//   * round trip: the commands written back one per line (CRLF, so a command that ends in CR
//     keeps it) parse to the same commands and ids.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fuzz_common.hpp"
#include "taskfile.hpp"

namespace {

using rankpool::taskfarm::InputError;
using rankpool::taskfarm::parse_task_file;
using rankpool::taskfarm::Task;

const rankpool_fuzz::ScratchFile& scratch() {
  static const rankpool_fuzz::ScratchFile file(".tasks");
  return file;
}

/// The documented rules, for inputs shorter than max_line_bytes. Empty: an error is expected.
std::vector<std::pair<std::string, std::uint64_t>> model(const std::string& data) {
  std::vector<std::pair<std::string, std::uint64_t>> commands;
  if (data.find('\0') != std::string::npos) return {};
  std::uint64_t number = 1;
  std::size_t start = 0;
  while (start < data.size()) {
    std::size_t end = data.find('\n', start);
    if (end == std::string::npos) end = data.size();
    std::string line = data.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t first = line.find_first_not_of(" \t");
    if (first != std::string::npos && line[first] != '#') commands.emplace_back(line, number);
    ++number;
    start = end + 1;
  }
  return commands;
}

std::vector<Task> parse(const std::string& data) {
  scratch().write(data);
  return parse_task_file(scratch().path());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size > rankpool::taskfarm::max_line_bytes) return 0;  // the model ignores the length limit
  const std::string data(reinterpret_cast<const char*>(bytes), size);
  const auto expected = model(data);
  std::vector<Task> tasks;
  try {
    tasks = parse(data);
  } catch (const InputError&) {
    FUZZ_CHECK(expected.empty());
    return 0;
  }
  FUZZ_CHECK(tasks.size() == expected.size());
  std::unordered_map<std::string, std::uint64_t> seen;
  std::set<std::string> ids;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    FUZZ_CHECK(tasks[i].command == expected[i].first);
    FUZZ_CHECK(tasks[i].line == expected[i].second);
    FUZZ_CHECK(tasks[i].id ==
               rankpool::taskfarm::task_id(tasks[i].command, seen[tasks[i].command]++));
    FUZZ_CHECK(ids.insert(tasks[i].id).second);
  }
  std::string written;
  for (const auto& t : tasks) written += t.command + "\r\n";
  const std::vector<Task> again = parse(written);
  FUZZ_CHECK(again.size() == tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    FUZZ_CHECK(again[i].command == tasks[i].command && again[i].id == tasks[i].id);
    FUZZ_CHECK(again[i].line == i + 1);
  }
  return 0;
}

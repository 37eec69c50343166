#pragma once
// rankpool-run's inputs: the task file (one shell command per line) and the parameter sweep (a
// command template filled from the rows of a CSV or JSON-lines file). MPI-free, unit-tested in
// tests/taskfarm.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "rankpool/error.hpp"

namespace rankpool {
namespace taskfarm {

/// Bad input (a missing, empty or binary file, an over-long line, an unknown placeholder, ...).
/// rankpool-run exits 2 with the message.
class InputError : public Error {
 public:
  using Error::Error;
};

/// One row of parameters: name -> value.
using Row = std::map<std::string, std::string>;

/// The longest command line accepted.
inline constexpr std::size_t max_line_bytes = 1u << 20;

struct Task {
  std::string id;          // task_id(command, occurrence): stable across edits of the file
  std::string command;     // run with /bin/sh -c
  std::uint64_t line = 0;  // 1-based line (task file) or row (parameter file)
};

/// 64-bit FNV-1a.
std::uint64_t fnv1a64(const std::string& data, std::uint64_t seed = 0xcbf29ce484222325ull);
/// A task's identity: 16 hex digits of a hash of its command text and of how many times the same
/// text occurred before it (0 for the first), so duplicates stay distinct and editing other lines
/// keeps a task's id.
std::string task_id(const std::string& command, std::uint64_t occurrence);
/// Assigns ids to commands in order (occurrence counted per distinct text).
std::vector<Task> make_tasks(std::vector<std::pair<std::string, std::uint64_t>> commands);

/// Assigns ids one command at a time, as make_tasks does, remembering only a 64-bit hash and a
/// count per distinct command (about 40 bytes each), not the commands.
class TaskNumbering {
 public:
  Task make(std::string command, std::uint64_t line);

 private:
  std::unordered_map<std::uint64_t, std::uint64_t> seen_;
};

/// A streaming parse_task_file: calls on_task for each task in order, holding one line at a time.
/// Throws as parse_task_file does (before or after some calls).
void for_each_task(const std::string& path, const std::function<void(Task&&)>& on_task);
/// A streaming make_template_tasks (a .csv file is read whole, a .jsonl file a line at a time).
void for_each_template_task(const std::string& templ, const std::string& params_path,
                            const std::function<void(Task&&)>& on_task);
/// A streaming parse_params_file: on_row(row, row number from 1).
void for_each_params_row(const std::string& path,
                         const std::function<void(Row&&, std::uint64_t)>& on_row);

/// Reads a task file: each line not empty and not starting with '#' (after leading blanks) is a
/// command; a trailing CR is stripped. Throws InputError for a missing or unreadable file, a file
/// containing a NUL byte, a line over max_line_bytes (naming the line), or no commands at all.
std::vector<Task> parse_task_file(const std::string& path);

/// Quotes a value for /bin/sh: 'value' with each ' written as '\'' (so nothing in it is
/// interpreted by the shell: quotes, ;, $(...), backquotes, spaces, newlines, any bytes).
std::string shell_quote(const std::string& value);

/// Reads rows: `.csv` (first row names the columns; RFC 4180 quoting) or `.jsonl`/`.ndjson`/
/// `.json` (one JSON object per line; strings as-is, other values as their JSON text).
std::vector<Row> parse_params_file(const std::string& path);

/// Names the placeholders of a template: `{name}`, with `{{` and `}}` for literal braces.
/// Throws InputError for an unclosed `{` or an invalid name.
std::vector<std::string> template_placeholders(const std::string& templ);
/// Fills a template from a row, every value shell-quoted. An unknown placeholder throws
/// InputError naming it and `row_number`.
std::string expand_template(const std::string& templ, const Row& row, std::uint64_t row_number);
/// The tasks of a parameter sweep.
std::vector<Task> make_template_tasks(const std::string& templ, const std::string& params_path);

}  // namespace taskfarm
}  // namespace rankpool

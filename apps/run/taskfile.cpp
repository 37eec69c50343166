// Task file and parameter sweep parsing for rankpool-run (see taskfile.hpp).

#include "taskfile.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

namespace rankpool {
namespace taskfarm {

namespace {

std::string open_error(const std::string& what, const std::string& path) {
  return "rankpool-run: cannot read " + what + " " + path + ": " + std::strerror(errno);
}

struct File {
  std::FILE* f = nullptr;
  File(const std::string& path, const char* what) : f(std::fopen(path.c_str(), "rb")) {
    if (!f) throw InputError(open_error(what, path));
  }
  ~File() {
    if (f) std::fclose(f);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
};

/// Calls on_line(text, number) for each line (CR stripped), checking for NUL and length.
template <class OnLine>
void for_each_line(const std::string& path, const char* what, OnLine on_line) {
  File file(path, what);
  std::string line;
  std::uint64_t number = 1;
  char buf[1 << 16];
  for (;;) {
    std::size_t n = std::fread(buf, 1, sizeof buf, file.f);
    if (n == 0) {
      if (std::ferror(file.f)) throw InputError(open_error(what, path));
      break;
    }
    for (std::size_t i = 0; i < n; ++i) {
      char c = buf[i];
      if (c == '\0') {
        throw InputError("rankpool-run: " + std::string(what) + " " + path +
                         " is a binary file (NUL byte on line " + std::to_string(number) +
                         "); give a text file with one command per line");
      }
      if (c == '\n') {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        on_line(line, number);
        line.clear();
        ++number;
        continue;
      }
      if (line.size() >= max_line_bytes + 1) {  // +1: room for a CR before the newline
        throw InputError("rankpool-run: line " + std::to_string(number) + " of " + path +
                         " is longer than " + std::to_string(max_line_bytes) +
                         " bytes; put long inputs in files and pass their names");
      }
      line.push_back(c);
    }
  }
  if (!line.empty()) {
    if (line.back() == '\r') line.pop_back();
    on_line(line, number);
  }
}

bool blank_or_comment(const std::string& line) {
  std::size_t i = line.find_first_not_of(" \t");
  return i == std::string::npos || line[i] == '#';
}

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Splits CSV text into records of fields (RFC 4180: quoted fields may hold commas, quotes as "",
/// and newlines). Returns the records with their 1-based starting line numbers.
std::vector<std::pair<std::vector<std::string>, std::uint64_t>> parse_csv(const std::string& text,
                                                                          const std::string& path) {
  std::vector<std::pair<std::vector<std::string>, std::uint64_t>> records;
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false, field_started = false, any = false;
  std::uint64_t line = 1, record_line = 1;
  auto end_field = [&] {
    fields.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  auto end_record = [&] {
    if (any || !fields.empty()) {
      end_field();
      records.emplace_back(std::move(fields), record_line);
    }
    fields.clear();
    field.clear();
    field_started = false;
    any = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
      any = true;
    } else if (c == ',') {
      any = true;
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_record();
      ++line;
      record_line = line;
    } else {
      field.push_back(c);
      field_started = true;
      any = true;
    }
  }
  if (quoted) {
    throw InputError("rankpool-run: " + path + ": a quoted field that starts on line " +
                     std::to_string(record_line) + " is never closed; add the closing \"");
  }
  end_record();
  return records;
}

std::string read_text(const std::string& path, const char* what) {
  File file(path, what);
  std::string text;
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, file.f)) > 0) text.append(buf, n);
  if (std::ferror(file.f)) throw InputError(open_error(what, path));
  if (text.find('\0') != std::string::npos) {
    throw InputError("rankpool-run: " + std::string(what) + " " + path +
                     " is a binary file (it holds a NUL byte); give a text file");
  }
  return text;
}

}  // namespace

std::uint64_t fnv1a64(const std::string& data, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

namespace {
std::string task_id_of_hash(std::uint64_t command_hash, std::uint64_t occurrence) {
  std::uint64_t h = fnv1a64("\n#" + std::to_string(occurrence), command_hash);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}
}  // namespace

std::string task_id(const std::string& command, std::uint64_t occurrence) {
  return task_id_of_hash(fnv1a64(command), occurrence);
}

Task TaskNumbering::make(std::string command, std::uint64_t line) {
  const std::uint64_t h = fnv1a64(command);
  Task t;
  t.id = task_id_of_hash(h, seen_[h]++);
  t.command = std::move(command);
  t.line = line;
  return t;
}

std::vector<Task> make_tasks(std::vector<std::pair<std::string, std::uint64_t>> commands) {
  TaskNumbering numbering;
  std::vector<Task> tasks;
  tasks.reserve(commands.size());
  for (auto& [command, line] : commands) tasks.push_back(numbering.make(std::move(command), line));
  return tasks;
}

void for_each_task(const std::string& path, const std::function<void(Task&&)>& on_task) {
  TaskNumbering numbering;
  bool any = false;
  for_each_line(path, "task file", [&](const std::string& line, std::uint64_t number) {
    if (blank_or_comment(line)) return;
    any = true;
    on_task(numbering.make(line, number));
  });
  if (!any) {
    throw InputError("rankpool-run: task file " + path +
                     " holds no commands; write one shell command per line");
  }
}

std::vector<Task> parse_task_file(const std::string& path) {
  std::vector<Task> tasks;
  for_each_task(path, [&](Task&& t) { tasks.push_back(std::move(t)); });
  return tasks;
}

std::string shell_quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out += "'";
  return out;
}

std::vector<Row> parse_params_file(const std::string& path) {
  std::vector<Row> rows;
  for_each_params_row(path, [&](Row&& row, std::uint64_t) { rows.push_back(std::move(row)); });
  return rows;
}

void for_each_params_row(const std::string& path,
                         const std::function<void(Row&&, std::uint64_t)>& on_row) {
  std::uint64_t rows = 0;
  auto emit = [&](Row&& row) { on_row(std::move(row), ++rows); };
  if (ends_with(path, ".csv")) {
    std::string text = read_text(path, "parameter file");
    auto records = parse_csv(text, path);
    if (records.empty()) {
      throw InputError("rankpool-run: parameter file " + path +
                       " is empty; its first row must name the columns");
    }
    const auto& header = records.front().first;
    for (std::size_t c = 0; c < header.size(); ++c) {
      const auto& name = header[c];
      if (!valid_name(name)) {
        throw InputError("rankpool-run: " + path + ": column name '" + name +
                         "' is not a valid placeholder name (letters, digits, _ - .)");
      }
      // Two columns of one name: {name} would silently take the last one.
      if (std::find(header.begin(), header.begin() + c, name) != header.begin() + c) {
        throw InputError("rankpool-run: " + path + ": the header names column '" + name +
                         "' twice; give every column its own name");
      }
    }
    for (std::size_t r = 1; r < records.size(); ++r) {
      const auto& [fields, line] = records[r];
      if (fields.size() != header.size()) {
        throw InputError("rankpool-run: " + path + " line " + std::to_string(line) + " has " +
                         std::to_string(fields.size()) + " fields, the header has " +
                         std::to_string(header.size()) + "; quote values that hold commas");
      }
      Row row;
      for (std::size_t i = 0; i < header.size(); ++i) row[header[i]] = fields[i];
      emit(std::move(row));
    }
  } else if (ends_with(path, ".jsonl") || ends_with(path, ".ndjson") || ends_with(path, ".json")) {
    for_each_line(path, "parameter file", [&](const std::string& line, std::uint64_t number) {
      if (line.find_first_not_of(" \t") == std::string::npos) return;
      nlohmann::json j;
      // Nesting is limited: a deeper value would be written back as text (dump) by recursion,
      // and a line of 10^5 '[' overflowed the stack (tests/fuzz, fuzz_params).
      constexpr int max_depth = 100;
      auto limit_depth = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
        if (depth > max_depth) {
          throw InputError("rankpool-run: " + path + " line " + std::to_string(number) +
                           " nests JSON values more than " + std::to_string(max_depth) +
                           " levels deep; flatten the value");
        }
        return true;
      };
      try {
        j = nlohmann::json::parse(line, limit_depth);
      } catch (const nlohmann::json::exception& e) {
        throw InputError("rankpool-run: " + path + " line " + std::to_string(number) +
                         " is not valid JSON (" + e.what() + "); write one object per line");
      }
      if (!j.is_object()) {
        throw InputError("rankpool-run: " + path + " line " + std::to_string(number) +
                         " is not a JSON object; write one {\"name\": value, ...} per line");
      }
      Row row;
      for (auto it = j.begin(); it != j.end(); ++it) {
        std::string value =
            it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
        // A shell command is a C string: a NUL (\u0000) would cut it short (CSV files with NUL
        // bytes are refused as binary files likewise).
        if (value.find('\0') != std::string::npos) {
          throw InputError("rankpool-run: " + path + " line " + std::to_string(number) +
                           ": the value of '" + it.key() +
                           "' holds a NUL character (\\u0000), which a shell command cannot "
                           "carry; remove it");
        }
        row[it.key()] = std::move(value);
      }
      emit(std::move(row));
    });
  } else {
    throw InputError("rankpool-run: parameter file " + path +
                     " must end in .csv (header row) or .jsonl (one JSON object per line)");
  }
  if (rows == 0) {
    throw InputError("rankpool-run: parameter file " + path + " holds no rows");
  }
}

namespace {
/// Walks a template: literal text to on_text, placeholder names to on_name.
template <class OnText, class OnName>
void walk_template(const std::string& t, OnText on_text, OnName on_name) {
  for (std::size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '{') {
      if (i + 1 < t.size() && t[i + 1] == '{') {
        on_text('{');
        ++i;
        continue;
      }
      std::size_t close = t.find('}', i + 1);
      if (close == std::string::npos) {
        throw InputError(
            "rankpool-run: the template has a '{' with no closing '}' (write {{ for "
            "a literal brace): " +
            t);
      }
      std::string name = t.substr(i + 1, close - i - 1);
      if (!valid_name(name)) {
        throw InputError("rankpool-run: the template has an invalid placeholder {" + name +
                         "} (names use letters, digits, _ - .; write {{ for a literal brace)");
      }
      on_name(name);
      i = close;
    } else if (c == '}' && i + 1 < t.size() && t[i + 1] == '}') {
      on_text('}');
      ++i;
    } else {
      on_text(c);
    }
  }
}
}  // namespace

std::vector<std::string> template_placeholders(const std::string& templ) {
  std::vector<std::string> names;
  walk_template(
      templ, [](char) {}, [&](const std::string& n) { names.push_back(n); });
  return names;
}

std::string expand_template(const std::string& templ, const Row& row, std::uint64_t row_number) {
  std::string out;
  walk_template(
      templ, [&](char c) { out.push_back(c); },
      [&](const std::string& name) {
        auto it = row.find(name);
        if (it == row.end()) {
          throw InputError("rankpool-run: the template's placeholder {" + name +
                           "} has no value in row " + std::to_string(row_number) +
                           " of the parameter file; add a column (or key) named '" + name + "'");
        }
        out += shell_quote(it->second);
      });
  return out;
}

void for_each_template_task(const std::string& templ, const std::string& params_path,
                            const std::function<void(Task&&)>& on_task) {
  template_placeholders(templ);  // syntax errors first
  TaskNumbering numbering;
  for_each_params_row(params_path, [&](Row&& row, std::uint64_t number) {
    std::string command = expand_template(templ, row, number);
    if (command.size() > max_line_bytes) {
      throw InputError("rankpool-run: row " + std::to_string(number) + " of " + params_path +
                       " expands to a command longer than " + std::to_string(max_line_bytes) +
                       " bytes");
    }
    on_task(numbering.make(std::move(command), number));
  });
}

std::vector<Task> make_template_tasks(const std::string& templ, const std::string& params_path) {
  std::vector<Task> tasks;
  for_each_template_task(templ, params_path, [&](Task&& t) { tasks.push_back(std::move(t)); });
  return tasks;
}

}  // namespace taskfarm
}  // namespace rankpool

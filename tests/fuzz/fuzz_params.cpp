// libFuzzer target: rankpool-run's parameter sweep (apps/run/taskfile.cpp): the CSV and JSON-lines
// parsers, template expansion and the shell quoting of values.
//
// Input: byte 0 picks .csv (even) or .jsonl (odd); then the template up to the first NUL byte,
// then the parameter file (without a NUL byte, the template is "printf %s {<first column>}").
// Properties:
//   * parse_params_file, template_placeholders and expand_template return or throw InputError;
//   * for every value of every row, the command `printf %s <shell_quote(value)>` splits, by the
//     POSIX shell's quoting rules (decoded here, no shell is run), into exactly the words
//     printf, %s and the value: so `sh -c` would print the value literally, whatever it holds;
//   * expand_template agrees with a model of the documented template syntax ({name}, {{, }}).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "taskfile.hpp"

namespace {

using rankpool::taskfarm::expand_template;
using rankpool::taskfarm::InputError;
using rankpool::taskfarm::parse_params_file;
using rankpool::taskfarm::Row;
using rankpool::taskfarm::shell_quote;
using rankpool::taskfarm::template_placeholders;

/// Splits a command into words as a POSIX shell would, for the subset a quoted value may use:
/// blanks between words, '...' (no escapes inside), \c outside quotes (backslash-newline is a
/// line continuation), and unquoted characters that are never special. Anything else (an
/// unclosed quote, an unquoted $ ` " ; | & < > ( ) * ? [ ~ #, a NUL byte, which no command line
/// can hold) returns nullopt: the shell would not take the text literally.
std::optional<std::vector<std::string>> shell_words(const std::string& command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (c == '\0') return std::nullopt;
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else if (c == '\'') {
      const std::size_t close = command.find('\'', i + 1);
      if (close == std::string::npos) return std::nullopt;
      word.append(command, i + 1, close - i - 1);
      if (word.find('\0') != std::string::npos) return std::nullopt;
      in_word = true;
      i = close;
    } else if (c == '\\') {
      if (i + 1 == command.size()) return std::nullopt;
      const char next = command[++i];
      if (next == '\0') return std::nullopt;
      if (next != '\n') {
        word.push_back(next);
        in_word = true;
      }
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '%' || c == '_' || c == '.' || c == '/' || c == '-' || c == '+' || c == ',' ||
               c == ':' || c == '@') {
      word.push_back(c);
      in_word = true;
    } else {
      return std::nullopt;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

/// The documented template syntax, written independently of walk_template: "{{" and "}}" are
/// literal braces, "{name}" a placeholder (letters, digits, _ - .), a lone "}" is literal, a "{"
/// without a valid name and closing "}" is an error. nullopt: an error is expected.
std::optional<std::string> model_expand(const std::string& t, const Row& row, bool& missing) {
  std::string out;
  missing = false;
  std::size_t i = 0;
  while (i < t.size()) {
    if (t.compare(i, 2, "{{") == 0) {
      out += '{';
      i += 2;
    } else if (t.compare(i, 2, "}}") == 0) {
      out += '}';
      i += 2;
    } else if (t[i] == '{') {
      std::size_t j = i + 1;
      std::string name;
      while (j < t.size() && t[j] != '}') name += t[j++];
      if (j == t.size() || name.empty()) return std::nullopt;
      for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
        if (!ok) return std::nullopt;
      }
      auto it = row.find(name);
      if (it == row.end()) {
        missing = true;
      } else {
        out += shell_quote(it->second);
      }
      i = j + 1;
    } else {
      out += t[i++];
    }
  }
  return out;
}

const rankpool_fuzz::ScratchFile& scratch(bool csv) {
  static const rankpool_fuzz::ScratchFile csv_file(".csv");
  static const rankpool_fuzz::ScratchFile jsonl_file(".jsonl");
  return csv ? csv_file : jsonl_file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 1) return 0;
  const bool csv = bytes[0] % 2 == 0;
  const std::string rest(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  const std::size_t nul = rest.find('\0');
  std::optional<std::string> templ;
  std::string file_text = rest;
  if (nul != std::string::npos) {
    templ = rest.substr(0, nul);
    file_text = rest.substr(nul + 1);
  }
  const auto& file = scratch(csv);
  file.write(file_text);
  std::vector<Row> rows;
  try {
    rows = parse_params_file(file.path());
  } catch (const InputError&) {
    return 0;
  }
  FUZZ_CHECK(!rows.empty());
  for (const Row& row : rows) {
    for (const auto& [name, value] : row) {
      const auto words = shell_words("printf %s " + shell_quote(value));
      FUZZ_CHECK(words.has_value());
      FUZZ_CHECK(words->size() == 3);
      FUZZ_CHECK((*words)[0] == "printf" && (*words)[1] == "%s" && (*words)[2] == value);
    }
  }
  if (!templ) {
    if (rows.front().empty()) return 0;
    templ = "printf %s {" + rows.front().begin()->first + "}";
  }
  bool syntax_ok = true;
  try {
    template_placeholders(*templ);
  } catch (const InputError&) {
    syntax_ok = false;
  }
  for (std::size_t r = 0; r < rows.size(); ++r) {
    bool missing = false;
    const auto expected = model_expand(*templ, rows[r], missing);
    FUZZ_CHECK(expected.has_value() == syntax_ok);
    try {
      const std::string command = expand_template(*templ, rows[r], r + 1);
      FUZZ_CHECK(expected && !missing && command == *expected);
    } catch (const InputError&) {
      FUZZ_CHECK(!expected || missing);
    }
  }
  return 0;
}

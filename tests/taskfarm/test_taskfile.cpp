// rankpool-run's inputs: the task file, task identity, and the parameter sweep, whose values must
// reach the command literally and never be run as shell code.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "taskfile.hpp"

namespace {

using namespace rankpool::taskfarm;

std::string temp_path(const std::string& name) {
  return std::string(::testing::TempDir()) + "rp_tasks_" + std::to_string(::getpid()) + "_" + name;
}
std::string write_file(const std::string& name, const std::string& data) {
  std::string path = temp_path(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  return path;
}
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

/// Runs `command` with /bin/sh -c and returns its stdout (the way rankpool-run runs tasks).
std::string run_shell(const std::string& command) {
  int fds[2];
  if (::pipe(fds) != 0) return "(pipe failed)";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return out;
}

const std::vector<std::string> hostile = {
    "plain",
    "it's",
    "say \"hi\"",
    "a; touch /tmp/rankpool_pwned_semicolon",
    "$(touch /tmp/rankpool_pwned_subst)",
    "`touch /tmp/rankpool_pwned_backquote`",
    "two  spaces and\ttab",
    "line one\nline two",
    "'; touch /tmp/rankpool_pwned_quote; echo '",
    "\\ backslash \\n",
    "unicode: \xC3\xA9\xE2\x82\xAC \xF0\x9F\x9A\x80",
    "$HOME ${PATH} * ? [a] ~ & | > <",
    "",
    "--option-like",
};

TEST(TaskFile, CommandsCommentsBlankLinesAndCrlf) {
  auto path = write_file("basic",
                         "# a comment\n\necho one\r\n   \n  # indented comment\necho two\n"
                         "echo one\r\necho three");
  auto tasks = parse_task_file(path);
  ASSERT_EQ(tasks.size(), 4u);
  EXPECT_EQ(tasks[0].command, "echo one");
  EXPECT_EQ(tasks[0].line, 3u);
  EXPECT_EQ(tasks[1].command, "echo two");
  EXPECT_EQ(tasks[2].command, "echo one");
  EXPECT_EQ(tasks[3].command, "echo three");  // no final newline
  // A repeated command is a distinct task.
  EXPECT_NE(tasks[0].id, tasks[2].id);
  EXPECT_EQ(tasks[0].id, task_id("echo one", 0));
  EXPECT_EQ(tasks[2].id, task_id("echo one", 1));
  std::remove(path.c_str());
}

TEST(TaskFile, IdsSurviveEditsOfOtherLines) {
  auto a = write_file("edit_a", "echo a\necho b\necho c\n");
  auto b = write_file("edit_b", "# new comment\necho new\necho a\necho c\necho b\n");
  auto ta = parse_task_file(a);
  auto tb = parse_task_file(b);
  auto find = [&](const std::vector<Task>& ts, const std::string& cmd) {
    for (const auto& t : ts)
      if (t.command == cmd) return t.id;
    return std::string();
  };
  for (const char* cmd : {"echo a", "echo b", "echo c"}) EXPECT_EQ(find(ta, cmd), find(tb, cmd));
  std::remove(a.c_str());
  std::remove(b.c_str());
}

TEST(TaskFile, BadInputsSayWhatIsWrong) {
  EXPECT_NE(message_of([] { parse_task_file(temp_path("missing")); }).find("cannot read"),
            std::string::npos);
  auto empty = write_file("empty", "");
  EXPECT_NE(message_of([&] { parse_task_file(empty); }).find("holds no commands"),
            std::string::npos);
  auto comments = write_file("comments", "# only\n\n#comments\n");
  EXPECT_NE(message_of([&] { parse_task_file(comments); }).find("holds no commands"),
            std::string::npos);
  auto binary = write_file("binary", std::string("echo a\nELF\0\1\2", 12));
  EXPECT_NE(message_of([&] { parse_task_file(binary); }).find("binary file (NUL byte on line 2)"),
            std::string::npos);
  auto longline = write_file("long", "echo ok\n" + std::string(max_line_bytes + 10, 'x') + "\n");
  EXPECT_NE(message_of([&] { parse_task_file(longline); }).find("line 2 of"), std::string::npos);
  // Exactly the limit is accepted (with a CRLF ending too).
  auto limit = write_file("limit", std::string(max_line_bytes, 'y') + "\r\n");
  EXPECT_EQ(parse_task_file(limit).at(0).command.size(), max_line_bytes);
  for (auto& p : {empty, comments, binary, longline, limit}) std::remove(p.c_str());
}

TEST(Template, HostileValuesReachTheCommandLiterally) {
  for (const auto& value : hostile) {
    std::string command = expand_template("printf '%s' {v}", Row{{"v", value}}, 1);
    EXPECT_EQ(run_shell(command), value) << "command: " << command;
  }
  for (const char* f : {"/tmp/rankpool_pwned_semicolon", "/tmp/rankpool_pwned_subst",
                        "/tmp/rankpool_pwned_backquote", "/tmp/rankpool_pwned_quote"}) {
    EXPECT_NE(::access(f, F_OK), 0) << f << " was created: a value ran as shell code";
  }
}

TEST(Template, CsvAndJsonLinesRows) {
  // CSV: quoted fields with commas, doubled quotes and newlines; CRLF records.
  std::string csv = "name,n\r\nplain,1\r\n\"a, b\",2\n\"say \"\"hi\"\"\",3\n\"two\nlines\",4\n";
  auto csv_path = write_file("p.csv", csv);
  auto tasks = make_template_tasks("printf '%s|%s' {name} {n}", csv_path);
  ASSERT_EQ(tasks.size(), 4u);
  EXPECT_EQ(run_shell(tasks[0].command), "plain|1");
  EXPECT_EQ(run_shell(tasks[1].command), "a, b|2");
  EXPECT_EQ(run_shell(tasks[2].command), "say \"hi\"|3");
  EXPECT_EQ(run_shell(tasks[3].command), "two\nlines|4");

  std::string jsonl;
  for (const auto& v : hostile) {
    std::string escaped;
    for (char c : v) {
      if (c == '"' || c == '\\') escaped += '\\';
      if (c == '\n') {
        escaped += "\\n";
        continue;
      }
      if (c == '\t') {
        escaped += "\\t";
        continue;
      }
      escaped += c;
    }
    jsonl += "{\"v\": \"" + escaped + "\", \"n\": 7}\n";
  }
  auto jsonl_path = write_file("p.jsonl", jsonl);
  auto jt = make_template_tasks("printf '%s' {v} {{literal}}", jsonl_path);
  ASSERT_EQ(jt.size(), hostile.size());
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    EXPECT_EQ(run_shell(jt[i].command), hostile[i] + "{literal}") << jt[i].command;
  }
  auto n = make_template_tasks("printf '%s' {n}", jsonl_path);
  EXPECT_EQ(run_shell(n[0].command), "7");
  std::remove(csv_path.c_str());
  std::remove(jsonl_path.c_str());
}

TEST(Template, UnknownPlaceholderAndBadFilesAreErrors) {
  auto csv_path = write_file("u.csv", "a,b\n1,2\n");
  EXPECT_NE(message_of([&] {
              make_template_tasks("echo {a} {missing}", csv_path);
            }).find("placeholder {missing} has no value in row 1"),
            std::string::npos);
  EXPECT_NE(message_of([&] { make_template_tasks("echo {a", csv_path); }).find("no closing"),
            std::string::npos);
  auto ragged = write_file("r.csv", "a,b\n1,2,3\n");
  EXPECT_NE(message_of([&] { make_template_tasks("echo {a}", ragged); }).find("has 3 fields"),
            std::string::npos);
  auto txt = write_file("p.txt", "a\n");
  EXPECT_NE(message_of([&] { make_template_tasks("echo {a}", txt); }).find(".csv"),
            std::string::npos);
  auto badjson = write_file("b.jsonl", "{\"a\": 1}\n[1,2]\n");
  EXPECT_NE(message_of([&] { make_template_tasks("echo {a}", badjson); }).find("line 2"),
            std::string::npos);
  for (auto& p : {csv_path, ragged, txt, badjson}) std::remove(p.c_str());
}

// Found by tests/fuzz (fuzz_params): a JSON \u0000 would cut the shell command short, and a
// deeply nested value overflowed the stack when written back as text.
TEST(Template, JsonNulValuesAndDeepNestingAreErrors) {
  auto nul = write_file("nul.jsonl", "{\"a\": \"x\\u0000; rm -rf /\"}\n");
  EXPECT_NE(message_of([&] {
              make_template_tasks("echo {a}", nul);
            }).find("line 1: the value of 'a' holds a NUL character"),
            std::string::npos);
  const std::size_t depth = 200000;
  auto deep = write_file("deep.jsonl", "{\"a\": 1}\n{\"a\": " + std::string(depth, '[') +
                                           std::string(depth, ']') + "}\n");
  EXPECT_NE(message_of([&] {
              make_template_tasks("echo {a}", deep);
            }).find("line 2 nests JSON values more than 100 levels deep"),
            std::string::npos);
  auto ok = write_file("nested.jsonl", "{\"a\": [[1, {\"b\": [2]}]]}\n");
  auto tasks = make_template_tasks("echo {a}", ok);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].command, "echo '[[1,{\"b\":[2]}]]'");
  for (auto& p : {nul, deep, ok}) std::remove(p.c_str());
}

}  // namespace

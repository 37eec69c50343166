#include "rankpool/options.hpp"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdlib>
#include <limits>

#include "rankpool/error.hpp"

namespace rankpool::detail {

namespace {

std::int64_t parse_integer(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || errno != 0 || end == nullptr || *end != '\0') {
    throw ValueError("rankpool: " + what + " must be an integer (got '" + text + "')");
  }
  return v;
}

double parse_seconds(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || errno != 0 || end == nullptr || *end != '\0' || !(v >= 0) || v > 1e9) {
    throw ValueError("rankpool: " + what + " must be a number of seconds >= 0 (got '" + text +
                     "')");
  }
  return v;
}

bool parse_bool(const std::string& text, const std::string& what) {
  if (text == "1" || text == "true" || text == "yes" || text == "on") return true;
  if (text == "0" || text == "false" || text == "no" || text == "off") return false;
  throw ValueError("rankpool: " + what + " must be 1/0, true/false, yes/no or on/off (got '" +
                   text + "')");
}

// One option: its command-line flag, its environment variable, and how to apply a text value.
struct Knob {
  const char* flag;
  const char* env;
  const char* help;
  std::function<void(PoolOptions&, const std::string&, const std::string&)> apply;
  bool is_flag = false;  // on the command line a flag without value (applied as "1")
};

const std::vector<Knob>& knobs() {
  static const std::vector<Knob> list = {
      {"--rankpool-processes", "RANKPOOL_PROCESSES", "ranks that run tasks (default: all)",
       [](PoolOptions& o, const std::string& v, const std::string& what) {
         auto n = parse_integer(v, what);
         if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
           throw ValueError("rankpool: " + what + " is out of range (got " + v + ")");
         }
         o.processes = static_cast<int>(n);
       }},
      {"--rankpool-chunksize", "RANKPOOL_CHUNKSIZE",
       "default chunksize for map (default: none; see --rankpool-schedule)",
       [](PoolOptions& o, const std::string& v, const std::string& what) {
         o.chunksize = parse_integer(v, what);
       }},
      {"--rankpool-schedule", "RANKPOOL_SCHEDULE",
       "auto, dynamic, static or guided (default: auto: guided chunks shrinking to 1 "
       "input, or dynamic with the chunksize when one is given)",
       [](PoolOptions& o, const std::string& v, const std::string&) { o.schedule = v; }},
      {"--rankpool-maxtasksperchild", "RANKPOOL_MAXTASKSPERCHILD",
       "re-run the initializer after this many tasks per worker (default: 0, never)",
       [](PoolOptions& o, const std::string& v, const std::string& what) {
         auto n = parse_integer(v, what);
         if (n < 0) throw ValueError("rankpool: " + what + " must be >= 0 (got " + v + ")");
         o.maxtasksperchild = static_cast<std::uint64_t>(n);
       }},
      {"--rankpool-master-computes", "RANKPOOL_MASTER_COMPUTES",
       "the master runs chunks while it waits (default: 1)",
       [](PoolOptions& o, const std::string& v, const std::string& what) {
         o.master_computes = parse_bool(v, what);
       }},
      {"--rankpool-master-thread", "RANKPOOL_MASTER_THREAD",
       "the master's chunks run on a second thread, so it keeps feeding workers (default: 1)",
       [](PoolOptions& o, const std::string& v, const std::string& what) {
         o.master_thread = parse_bool(v, what);
       }},
      {"--rankpool-window", "RANKPOOL_WINDOW", "chunks in flight per worker (default: 2)",
       [](PoolOptions& o, const std::string& v, const std::string& what) {
         auto n = parse_integer(v, what);
         if (n < 1 || n > 1024)
           throw ValueError("rankpool: " + what + " must be 1..1024 (got " + v + ")");
         o.window = static_cast<int>(n);
       }},
      {"--rankpool-bind", "RANKPOOL_BIND",
       "where ranks run: core, socket, numa, l3, hwthread or none (default: core)",
       [](PoolOptions& o, const std::string& v, const std::string&) { o.bind = v; }},
      {"--rankpool-threads-per-worker", "RANKPOOL_THREADS_PER_WORKER",
       "cores per rank, inside one package and NUMA node (default: 1)",
       [](PoolOptions& o, const std::string& v, const std::string& what) {
         auto n = parse_integer(v, what);
         if (n < 1 || n > 65536)
           throw ValueError("rankpool: " + what + " must be 1..65536 (got " + v + ")");
         o.threads_per_worker = static_cast<int>(n);
       }},
      {"--rankpool-report-binding", "RANKPOOL_REPORT_BINDING",
       "rank 0 prints where every rank runs (stderr)",
       [](PoolOptions& o, const std::string& v, const std::string& what) {
         o.report_binding = parse_bool(v, what);
       },
       true},
      {"--rankpool-binding-json", "RANKPOOL_BINDING_JSON",
       "rank 0 writes where every rank runs to this JSON file",
       [](PoolOptions& o, const std::string& v, const std::string&) { o.binding_json = v; }},
      {"--rankpool-hierarchy", "RANKPOOL_HIERARCHY",
       "flat, node (one relaying leader per node) or auto (default: auto)",
       [](PoolOptions& o, const std::string& v, const std::string&) { o.hierarchy = v; }},
      {"--rankpool-ranks-per-node", "RANKPOOL_RANKS_PER_NODE",
       "treat every N ranks as a node, to test the hierarchy on one machine (default: 0, real "
       "nodes)",
       [](PoolOptions& o, const std::string& v, const std::string& what) {
         auto n = parse_integer(v, what);
         if (n < 0 || n > (1 << 24))
           throw ValueError("rankpool: " + what + " must be 0..16777216 (got " + v + ")");
         o.ranks_per_node = static_cast<int>(n);
       }},
      {"--rankpool-isolate", "RANKPOOL_ISOLATE",
       "run each chunk in a forked child: a crashing task fails only its input (default: 0)",
       [](PoolOptions& o, const std::string& v, const std::string& what) {
         o.isolate = parse_bool(v, what);
       }},
      {"--rankpool-rerun-stragglers", "RANKPOOL_RERUN_STRAGGLERS",
       "idle workers re-run the oldest running chunks at a map's end; first result wins (tasks "
       "must be idempotent) (default: 0)",
       [](PoolOptions& o, const std::string& v, const std::string& what) {
         o.rerun_stragglers = parse_bool(v, what);
       }},
      {"--rankpool-task-timeout", "RANKPOOL_TASK_TIMEOUT",
       "seconds one input may run before it is killed; implies isolation (default: 0, none)",
       [](PoolOptions& o, const std::string& v, const std::string& what) {
         o.task_timeout = parse_seconds(v, what);
       }},
  };
  return list;
}

}  // namespace

std::uint64_t checked_chunksize(std::int64_t chunksize) {
  if (chunksize <= 0) {
    throw ValueError("rankpool: chunksize must be a positive number (got " +
                     std::to_string(chunksize) + ")");
  }
  return static_cast<std::uint64_t>(chunksize);
}

std::string options_help() {
  std::string text = "rankpool options (command line, or environment variable):\n";
  for (const auto& k : knobs()) {
    text += "  " + std::string(k.flag) + (k.is_flag ? "  (" : " VALUE  (") + k.env + ")  " +
            k.help + "\n";
  }
  text += "  --rankpool-help     this help\n  --rankpool-version  print rankpool's version\n";
  return text;
}

ResolvedOptions resolve_options(const PoolOptions& code, int ranks,
                                const std::vector<std::string>& args, const EnvLookup& env) {
  PoolOptions o = code;
  ResolvedOptions r;
  for (const auto& k : knobs()) {
    if (const char* v = env ? env(k.env) : nullptr)
      k.apply(o, v, std::string("environment variable ") + k.env);
  }

  CLI::App app("rankpool");
  app.allow_extras();
  app.set_help_flag();
  std::vector<std::optional<std::string>> values(knobs().size());
  for (std::size_t i = 0; i < knobs().size(); ++i) {
    if (knobs()[i].is_flag) {
      app.add_flag_function(
          knobs()[i].flag, [&values, i](std::int64_t n) { values[i] = n > 0 ? "1" : "0"; },
          knobs()[i].help);
      continue;
    }
    app.add_option_function<std::string>(
        knobs()[i].flag, [&values, i](const std::string& v) { values[i] = v; }, knobs()[i].help);
  }
  app.add_flag("--rankpool-help", r.print_help);
  app.add_flag("--rankpool-version", r.print_version);
  if (!args.empty()) {
    std::vector<std::string> reversed(args.rbegin(),
                                      args.rend() - 1);  // CLI11 wants argv[1..] reversed
    try {
      app.parse(reversed);
    } catch (const CLI::ParseError& e) {
      throw ValueError(std::string("rankpool: bad command-line option: ") + e.what() +
                       " (see --rankpool-help)");
    } catch (const std::exception& e) {  // CLI11 converting a flag's value ("=maybe": stoll)
      throw ValueError(std::string("rankpool: a --rankpool-* flag was given a value that is not ") +
                       "1/0 or true/false (" + e.what() +
                       "); give the flag alone, e.g. --rankpool-report-binding (see "
                       "--rankpool-help)");
    }
    // A misspelt rankpool option would otherwise be left to the program and silently ignored.
    for (const auto& extra : app.remaining()) {
      if (extra.rfind("--rankpool-", 0) == 0) {
        throw ValueError("rankpool: unknown option " + extra +
                         "; --rankpool-help lists rankpool's options");
      }
    }
  }
  for (std::size_t i = 0; i < knobs().size(); ++i) {
    if (values[i]) knobs()[i].apply(o, *values[i], std::string("option ") + knobs()[i].flag);
  }

  if (o.schedule != "auto") {
    try {
      r.policy = parse_policy(o.schedule);
    } catch (const ValueError&) {
      throw ValueError("rankpool: unknown schedule '" + o.schedule +
                       "': use 'auto' (the default), 'dynamic', 'static' or 'guided' (from "
                       "--rankpool-schedule, RANKPOOL_SCHEDULE or PoolOptions::schedule)");
    }
  }
  r.maxtasksperchild = o.maxtasksperchild;
  r.window = o.window;
  r.bind = parse_bind_policy(o.bind);
  r.threads_per_worker = o.threads_per_worker;
  if (r.threads_per_worker < 1) {
    throw ValueError("rankpool: threads_per_worker must be at least 1 (got " +
                     std::to_string(r.threads_per_worker) + ")");
  }
  r.report_binding = o.report_binding;
  r.binding_json = o.binding_json;
  r.hierarchy = parse_hierarchy(o.hierarchy);
  if (o.ranks_per_node < 0) {
    throw ValueError("rankpool: ranks_per_node must be >= 0 (got " +
                     std::to_string(o.ranks_per_node) + ")");
  }
  r.ranks_per_node = o.ranks_per_node;
  if (!(o.task_timeout >= 0) || o.task_timeout > 1e9) {
    throw ValueError("rankpool: task_timeout must be a number of seconds >= 0 (got " +
                     std::to_string(o.task_timeout) + ")");
  }
  r.task_timeout = o.task_timeout;
  r.isolate = o.isolate || o.task_timeout > 0;
  r.rerun_stragglers = o.rerun_stragglers;
  r.master_thread = o.master_thread;
  if (r.window < 1)
    throw ValueError("rankpool: window must be >= 1 (got " + std::to_string(r.window) + ")");
  if (o.chunksize) r.chunksize = checked_chunksize(*o.chunksize);
  r.master_computes = o.master_computes || ranks == 1;
  int available = r.master_computes ? ranks : ranks - 1;
  r.processes = o.processes.value_or(available);
  if (r.processes < 1) {
    throw ValueError("rankpool: processes must be at least 1 (got " + std::to_string(r.processes) +
                     ")");
  }
  if (r.processes > available) {
    throw ValueError("rankpool: processes=" + std::to_string(r.processes) + " but this job has " +
                     std::to_string(ranks) + " MPI ranks, of which " + std::to_string(available) +
                     " can run tasks; launch more ranks (mpirun -n) or ask for fewer processes");
  }
  return r;
}

}  // namespace rankpool::detail

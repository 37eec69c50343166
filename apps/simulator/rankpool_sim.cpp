// rankpool-sim: discrete-event projection of one dynamic map on many ranks, single master
// ("flat") against one leader per node ("node"), with the pool's own Scheduler, hierarchy plan and
// relay decision (include/rankpool/detail/simulator.hpp). The cost model's defaults are the
// calibration measured on the development machine (README, "Scheduling at scale").
//
//   rankpool-sim [--workers 64,256,...] [--task-ms 10,1] [--hierarchy flat,node,auto]
//                [--ranks-per-node 64] [--chunksize 1] [--tasks-per-worker 16] [--window 2]
//                [--jitter 0] [--csv FILE] [--json FILE] [model options, see --help]
//   rankpool-sim --version

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include "rankpool/detail/simulator.hpp"
#include "rankpool/error.hpp"
#include "version_flag.hpp"

namespace {

using rankpool::detail::CostModel;
using rankpool::detail::HierarchyMode;
using rankpool::detail::SimConfig;
using rankpool::detail::SimResult;

void add_us(CLI::App& app, const std::string& name, double& seconds, const std::string& help) {
  app.add_option_function<double>(
         name, [&seconds](double us) { seconds = us * 1e-6; },
         help + " (us, default " + std::to_string(seconds * 1e6) + ")")
      ->check(CLI::NonNegativeNumber);
}

}  // namespace

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-sim")) return 0;
  CLI::App app("Project single-master (flat) against hierarchical (node) scheduling");
  std::vector<int> workers = {64, 256, 1024, 4096, 16384, 65536};
  std::vector<double> task_ms = {10, 1};
  std::vector<std::string> modes = {"flat", "node", "auto"};
  SimConfig base;
  base.mode = HierarchyMode::flat;
  std::string csv, json;
  app.add_option("--workers", workers, "worker ranks (besides the master), comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(1, 1 << 22));
  app.add_option("--task-ms", task_ms, "task durations in ms, comma-separated")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  app.add_option("--hierarchy", modes, "flat, node and/or auto, comma-separated")
      ->delimiter(',')
      ->check(CLI::IsMember({"flat", "node", "auto"}));
  app.add_option("--ranks-per-node", base.ranks_per_node, "ranks per node (default 64)")
      ->check(CLI::Range(1, 1 << 22));
  app.add_option("--chunksize", base.chunksize,
                 "items per chunk; 0 = Python's default (default 1)");
  app.add_option("--tasks-per-worker", base.tasks_per_worker, "tasks = this x workers (default 16)")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--window", base.window, "chunks in flight per worker (default 2)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--jitter", base.jitter, "task durations uniform in task x [1-j, 1+j] (default 0)")
      ->check(CLI::Range(0.0, 0.99));
  app.add_option("--seed", base.seed, "seed of the durations (default 1)");
  CostModel& m = base.model;
  add_us(app, "--master-message-us", m.master_message, "master CPU per message");
  add_us(app, "--master-chunk-us", m.master_chunk, "master CPU per chunk");
  add_us(app, "--leader-message-us", m.leader_message, "leader CPU per message");
  add_us(app, "--leader-chunk-us", m.leader_chunk, "leader CPU per chunk");
  add_us(app, "--worker-message-us", m.worker_message, "worker CPU per task");
  add_us(app, "--latency-intra-us", m.latency_intra, "one-way latency inside a node");
  add_us(app, "--latency-inter-us", m.latency_inter, "one-way latency between nodes");
  add_us(app, "--scan-slot-us", base.master_scan_slot, "master CPU per slot per dispatch round");
  app.add_option("--bandwidth-intra", m.bandwidth_intra, "bytes/s inside a node")
      ->check(CLI::PositiveNumber);
  app.add_option("--bandwidth-inter", m.bandwidth_inter, "bytes/s between nodes")
      ->check(CLI::PositiveNumber);
  app.add_option("--csv", csv, "write the rows as CSV here");
  app.add_option("--json", json, "write the model and the rows as JSON here");
  CLI11_PARSE(app, argc, argv);

  nlohmann::json rows = nlohmann::json::array();
  std::FILE* out = nullptr;
  if (!csv.empty()) {
    out = std::fopen(csv.c_str(), "w");
    if (!out) {
      std::fprintf(stderr, "rankpool-sim: error: cannot write %s\n", csv.c_str());
      return 2;
    }
    std::fprintf(out,
                 "task_ms,workers,ranks_per_node,requested,mode,leaders,computing,tasks,chunksize,"
                 "makespan_s,ideal_s,efficiency,master_busy,max_leader_busy,master_messages\n");
  }
  std::printf("%8s %8s %6s %5s %7s %9s %11s %10s %7s %7s\n", "task_ms", "workers", "asked", "mode",
              "leaders", "chunksize", "makespan_s", "efficiency", "master", "leader");
  try {
    for (double ms : task_ms) {
      for (int w : workers) {
        for (const std::string& mode : modes) {
          SimConfig c = base;
          c.workers = w;
          c.task_seconds = ms * 1e-3;
          c.mode = rankpool::detail::parse_hierarchy(mode);
          const SimResult r = rankpool::detail::simulate(c);
          const double ideal = r.work / w;
          const char* got = rankpool::detail::to_string(r.mode);
          std::printf("%8g %8d %6s %5s %7d %9llu %11.6f %10.4f %7.3f %7.3f\n", ms, w, mode.c_str(),
                      got, r.leaders, static_cast<unsigned long long>(r.chunksize), r.makespan,
                      r.efficiency, r.master_busy, r.max_leader_busy);
          if (out) {
            std::fprintf(out, "%g,%d,%d,%s,%s,%d,%d,%llu,%llu,%.9f,%.9f,%.6f,%.6f,%.6f,%llu\n", ms,
                         w, c.ranks_per_node, mode.c_str(), got, r.leaders, r.computing,
                         static_cast<unsigned long long>(r.tasks),
                         static_cast<unsigned long long>(r.chunksize), r.makespan, ideal,
                         r.efficiency, r.master_busy, r.max_leader_busy,
                         static_cast<unsigned long long>(r.master_messages));
          }
          rows.push_back({{"task_ms", ms},
                          {"workers", w},
                          {"ranks_per_node", c.ranks_per_node},
                          {"requested", mode},
                          {"mode", got},
                          {"leaders", r.leaders},
                          {"computing", r.computing},
                          {"tasks", r.tasks},
                          {"chunksize", r.chunksize},
                          {"makespan_s", r.makespan},
                          {"ideal_s", ideal},
                          {"efficiency", r.efficiency},
                          {"master_busy", r.master_busy},
                          {"max_leader_busy", r.max_leader_busy},
                          {"master_messages", r.master_messages}});
        }
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rankpool-sim: error: %s\n", e.what());
    if (out) std::fclose(out);
    return 2;
  }
  if (out) std::fclose(out);
  if (!json.empty()) {
    std::ofstream f(json);
    if (!f) {
      std::fprintf(stderr, "rankpool-sim: error: cannot write %s\n", json.c_str());
      return 2;
    }
    f << nlohmann::json{{"model",
                         {{"master_message_s", m.master_message},
                          {"master_chunk_s", m.master_chunk},
                          {"leader_message_s", m.leader_message},
                          {"leader_chunk_s", m.leader_chunk},
                          {"worker_message_s", m.worker_message},
                          {"latency_intra_s", m.latency_intra},
                          {"latency_inter_s", m.latency_inter},
                          {"bandwidth_intra", m.bandwidth_intra},
                          {"bandwidth_inter", m.bandwidth_inter},
                          {"scan_slot_s", base.master_scan_slot}}},
                        {"window", base.window},
                        {"tasks_per_worker", base.tasks_per_worker},
                        {"jitter", base.jitter},
                        {"rows", rows}}
             .dump(2)
      << "\n";
  }
  return 0;
}

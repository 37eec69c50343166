#include "rankpool/run.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "rankpool/detail/binding.hpp"
#include "rankpool/detail/code_ref.hpp"
#include "rankpool/detail/crash_report.hpp"
#include "rankpool/detail/hierarchy.hpp"
#include "rankpool/detail/relay.hpp"
#include "rankpool/detail/sync_service.hpp"
#include "rankpool/detail/worker.hpp"
#include "rankpool/version.hpp"

namespace rankpool::detail {

namespace {

// Ranks that rank 0 serves itself (parent 0); a node leader forwards shutdown to its workers, after
// any init it forwarded, so every worker sees its messages in order.
void shutdown_workers(Transport& transport, int exit_code, const std::vector<int>& parent) {
  for (int rank = 0; rank < transport.size(); ++rank) {
    if (rank == transport.rank() || parent[rank] != 0) continue;
    Header h;
    h.kind = MessageKind::shutdown;
    h.aux = static_cast<std::uint64_t>(static_cast<std::int64_t>(exit_code));
    transport.send(rank, h, {});
  }
  transport.flush();
}

// Every rank must run the same build: code travels as offsets inside it.
int check_same_build(Transport& transport) {
  std::uint64_t mine = build_fingerprint();
  std::vector<std::uint64_t> all(transport.size());
  check_mpi(MPI_Allgather(&mine, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, transport.comm()),
            "MPI_Allgather (build check)");
  for (int r = 1; r < transport.size(); ++r) {
    if (all[r] != all[0]) {
      if (transport.rank() == 0) {
        std::fprintf(stderr,
                     "rankpool: error: rank %d runs a different build of the program than rank 0 "
                     "(build fingerprints %016llx and %016llx); every rank must run the same "
                     "binary, built once and visible on every node\n",
                     r, static_cast<unsigned long long>(all[r]),
                     static_cast<unsigned long long>(all[0]));
      }
      return exit_build_mismatch;
    }
  }
  return 0;
}

// Every rank's host name, in rank order (on every rank).
std::vector<std::string> all_hosts(Transport& transport) {
  constexpr int width = 256;
  std::vector<char> mine(width, '\0'), all(static_cast<std::size_t>(width) * transport.size());
  std::strncpy(mine.data(), transport.host().c_str(), width - 1);
  check_mpi(
      MPI_Allgather(mine.data(), width, MPI_CHAR, all.data(), width, MPI_CHAR, transport.comm()),
      "MPI_Allgather (host names)");
  std::vector<std::string> hosts;
  for (int r = 0; r < transport.size(); ++r) hosts.emplace_back(&all[r * width]);
  return hosts;
}

int master(Transport& transport, Transport& channel, const ResolvedOptions& resolved,
           const PoolOptions& options, const MainFn& fn, const std::vector<int>& parent) {
  int code = 0;
  bool started = false;  // the Pool's constructor runs the initializer on the master
  try {
    Pool pool(transport, channel, resolved, options.init);
    started = true;
    code = fn(pool);
  } catch (const RemoteError& e) {
    // what() also names the input, rank and host that raised it; type and message alone do not.
    std::fprintf(stderr, "rankpool: error: %s\n", e.what());
    code = exit_exception;
  } catch (...) {
    std::string type, message;
    describe_current_exception(type, message);
    std::fprintf(stderr, "rankpool: error: %s%s: %s\n",
                 started ? "" : "the pool's initializer failed on rank 0 (the master): ",
                 type.c_str(), message.c_str());
    code = exit_exception;
  }
  std::fflush(stdout);
  shutdown_workers(transport, code, parent);
  return code;
}

// Which node each rank is on: MPI_COMM_TYPE_SHARED (or, to test on one machine, every
// --rankpool-ranks-per-node ranks), then flat or node scheduling (hierarchy.hpp).
HierarchyPlan make_plan(Transport& transport, const ResolvedOptions& resolved) {
  // Every rank must follow one plan: rank 0's choice wins (a remote node may lack a variable).
  int choice[2] = {static_cast<int>(resolved.hierarchy), resolved.ranks_per_node};
  check_mpi(MPI_Bcast(choice, 2, MPI_INT, 0, transport.comm()), "MPI_Bcast (hierarchy)");
  std::vector<int> nodes;
  if (choice[1] > 0) {
    nodes = fake_nodes(transport.size(), choice[1]);
  } else {
    MPI_Comm local = MPI_COMM_NULL;
    check_mpi(MPI_Comm_split_type(transport.comm(), MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local),
              "MPI_Comm_split_type");
    int first = transport.rank();  // the node's id: its lowest rank
    check_mpi(MPI_Bcast(&first, 1, MPI_INT, 0, local), "MPI_Bcast (node id)");
    MPI_Comm_free(&local);
    nodes.resize(static_cast<std::size_t>(transport.size()));
    check_mpi(MPI_Allgather(&first, 1, MPI_INT, nodes.data(), 1, MPI_INT, transport.comm()),
              "MPI_Allgather (node ids)");
  }
  std::vector<int> sorted = nodes;
  std::sort(sorted.begin(), sorted.end());
  int distinct = 0, largest = 0;
  for (std::size_t i = 0, run = 0; i < sorted.size(); ++i) {
    run = i > 0 && sorted[i] == sorted[i - 1] ? run + 1 : 1;
    if (run == 1) ++distinct;
    largest = std::max(largest, static_cast<int>(run));
  }
  const HierarchyMode mode = choose_hierarchy(static_cast<HierarchyMode>(choice[0]), CostModel{},
                                              resolved.processes, distinct, largest);
  return plan_hierarchy(nodes, resolved.processes, resolved.master_computes, resolved.window, mode);
}

}  // namespace

int run_on(MPI_Comm comm, int argc, char** argv, const PoolOptions& options, const MainFn& fn) {
  Transport transport(comm);
  set_current_process(transport.rank(), transport.host());
  if (int rc = check_same_build(transport)) return rc;
  // A rank that dies says which inputs it ran; rank 0 lists the work in flight when the
  // launcher ends the job (crash_report.hpp).
  install_crash_report(transport.rank(), all_hosts(transport));
  struct CrashReportScope {
    ~CrashReportScope() { uninstall_crash_report(); }
  } crash_report_scope;

  std::vector<std::string> args;
  if (argv) args.assign(argv, argv + argc);
  ResolvedOptions resolved;
  std::string error;
  try {
    resolved = resolve_options(options, transport.size(), args, [](const char* name) {
      return static_cast<const char*>(std::getenv(name));
    });
  } catch (const std::exception& e) {
    error = e.what();
  }
  int bad = error.empty() ? 0 : 1, any_bad = 0;
  check_mpi(MPI_Allreduce(&bad, &any_bad, 1, MPI_INT, MPI_MAX, transport.comm()),
            "MPI_Allreduce (options)");
  if (any_bad) {
    if (transport.rank() == 0) {
      std::fprintf(
          stderr, "%s\n",
          error.empty() ? "rankpool: error: options are invalid on another rank" : error.c_str());
    }
    return exit_bad_options;
  }
  if (resolved.print_help || resolved.print_version) {
    if (transport.rank() == 0) {
      if (resolved.print_version) std::printf("rankpool %s\n", version_string);
      if (resolved.print_help) std::printf("%s", options_help().c_str());
    }
    return 0;
  }
  // Where this rank runs (hwloc, README "Placement"): placed on every rank, a bad request ends
  // every rank like a bad option; the thread's binding is given back when run() returns.
  RankBinding binding(transport, resolved);
  std::string bind_error = first_message(transport, binding.error());
  if (!bind_error.empty()) {
    if (transport.rank() == 0) std::fprintf(stderr, "%s\n", bind_error.c_str());
    return exit_bad_options;
  }
  binding.apply(transport, resolved);
  // The synchronisation service's channel (Lock, Queue, ...): its own communicator, so that a
  // task waiting for a reply never picks up a task message.
  Transport channel(transport.comm());
  struct ChannelScope {
    explicit ChannelScope(Transport* c) { sync_context().channel = c; }
    ~ChannelScope() { sync_context() = SyncContext{}; }
  } channel_scope(&channel);
  const HierarchyPlan plan = make_plan(transport, resolved);
  if (plan.mode == HierarchyMode::node) resolved.slots = plan.slots;
  if (transport.rank() == 0) return master(transport, channel, resolved, options, fn, plan.parent);
  const SlotPlan* slot = plan.slot_of(transport.rank());
  if (slot && slot->leader()) return relay(transport, slot->workers, resolved.window);
  return serve(transport);
}

int run_main(int argc, char** argv, const PoolOptions& options, const MainFn& fn) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  }
  int code = run_on(MPI_COMM_WORLD, argc, argv, options, fn);
  if (!initialized) MPI_Finalize();
  return code;
}

}  // namespace rankpool::detail

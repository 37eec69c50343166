// Binding a pool's ranks at start-up: the MPI exchange around place(), the binding itself, the
// warning and the report (see detail/binding.hpp).

#include "rankpool/detail/binding.hpp"

#include <mpi.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "rankpool/detail/worker.hpp"
#include "rankpool/version.hpp"

namespace rankpool::detail {

namespace {

// Rank 0 prints the oversubscription warning once per process, not once per pool.
bool warned = false;

// The node's topology does not change while the process runs: hwloc reads it once (a few ms).
const Topology& node_topology() {
  static const Topology topology = Topology::this_node();
  return topology;
}

PuList intersection(const PuList& a, const PuList& b) {
  PuList out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

nlohmann::json to_json(int rank, const std::string& host, int local_rank, int local_count,
                       const Placement& p) {
  return {{"rank", rank},
          {"host", host},
          {"local_rank", local_rank},
          {"local_size", local_count},
          {"binding", p.binding},
          {"packages", p.packages},
          {"numa_nodes", p.numa_nodes},
          {"cores", p.cores},
          {"pus", p.pus},
          {"pu_set", to_list_string(p.pus)},
          {"shared", p.shared},
          {"oversubscribed", p.oversubscribed}};
}

// Gathers every rank's text to rank 0 (in rank order); empty elsewhere.
std::vector<std::string> gather_strings(const Transport& transport, const std::string& mine) {
  const int size = transport.size();
  int len = static_cast<int>(mine.size());
  std::vector<int> lens(size), offsets(size);
  check_mpi(MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, transport.comm()),
            "MPI_Gather (binding report)");
  std::string all;
  if (transport.rank() == 0) {
    int total = 0;
    for (int r = 0; r < size; ++r) {
      offsets[r] = total;
      total += lens[r];
    }
    all.resize(static_cast<std::size_t>(total));
  }
  check_mpi(MPI_Gatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), offsets.data(),
                        MPI_CHAR, 0, transport.comm()),
            "MPI_Gatherv (binding report)");
  std::vector<std::string> out;
  if (transport.rank() == 0) {
    for (int r = 0; r < size; ++r) out.push_back(all.substr(offsets[r], lens[r]));
  }
  return out;
}

// Collective: `text` of rank `root`, on every rank.
std::string broadcast_from(const Transport& transport, int root, const std::string& text) {
  std::string out = text;
  int len = static_cast<int>(out.size());
  check_mpi(MPI_Bcast(&len, 1, MPI_INT, root, transport.comm()), "MPI_Bcast (message length)");
  out.resize(static_cast<std::size_t>(len));
  check_mpi(MPI_Bcast(out.data(), len, MPI_CHAR, root, transport.comm()), "MPI_Bcast (message)");
  return out;
}

std::string describe_binding(const Placement& p, BindPolicy policy) {
  if (p.binding == "rankpool") {
    return std::string("bound by rankpool, policy ") + to_string(policy) +
           (p.shared ? ", shares a worker's core" : "");
  }
  if (p.binding == "launcher") return "bound by the launcher";
  if (p.oversubscribed) return "not bound: more ranks than places on the node";
  return "not bound";
}

}  // namespace

std::string first_message(const Transport& transport, const std::string& text) {
  int mine = text.empty() ? transport.size() : transport.rank(), first = 0;
  check_mpi(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, transport.comm()),
            "MPI_Allreduce (start-up messages)");
  if (first >= transport.size()) return {};
  return broadcast_from(transport, first, text);
}

std::string binding_line(int rank, const std::string& host, const Placement& p, BindPolicy policy) {
  auto list = [](const std::vector<int>& v) { return v.empty() ? "-" : to_list_string(v); };
  return "rankpool: binding: rank " + std::to_string(rank) + " host " + host + " package " +
         list(p.packages) + " numa " + list(p.numa_nodes) + " cores " + list(p.cores) + " pus " +
         list(p.pus) + " (" + describe_binding(p, policy) + ")";
}

RankBinding::RankBinding(const Transport& transport, const ResolvedOptions& options) {
  MPI_Comm node = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split_type(transport.comm(), MPI_COMM_TYPE_SHARED, transport.rank(),
                                MPI_INFO_NULL, &node),
            "MPI_Comm_split_type (ranks of this node)");
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_size(node, &local_count_);

  PuList allowed, current;
  try {
    topology_ = &node_topology();
    allowed = topology_->allowed_pus();
    original_ = topology_->thread_binding();
    current = intersection(original_, allowed);
  } catch (const std::exception& e) {
    topology_ = nullptr;
    if (options.bind != BindPolicy::none) error_ = e.what();
  }
  // Did the launcher bind any rank of this node? Is the pool's master (rank 0) here?
  int in[2] = {topology_ && !current.empty() && current != allowed ? 1 : 0, -transport.rank()};
  int out[2] = {0, 0};
  int rc = MPI_Allreduce(in, out, 2, MPI_INT, MPI_MAX, node);
  MPI_Comm_free(&node);
  check_mpi(rc, "MPI_Allreduce (ranks of this node)");
  const bool launcher_bound = out[0] != 0;
  const bool master_here = out[1] == 0;

  if (topology_) {
    try {
      PlacementRequest req;
      req.host = transport.host();
      req.local_rank = local_rank_;
      req.local_count = local_count_;
      req.allowed = allowed;
      req.policy = options.bind;
      req.threads_per_worker = options.threads_per_worker;
      req.master_idle_here = master_here && !options.master_computes;
      // place() runs even when the launcher's binding is kept, so that a request this node
      // cannot honour fails the same way under every launcher.
      if (options.bind != BindPolicy::none) placement_ = place(*topology_, req);
      if (launcher_bound) {
        placement_ = describe(*topology_, current, current != allowed ? "launcher" : "none");
      } else if (options.bind == BindPolicy::none) {
        placement_ = describe(*topology_, current, "none");
      }
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  }
  if (transport.rank() == 0 && !options.binding_json.empty()) {
    std::ofstream probe(options.binding_json, std::ios::out | std::ios::app);
    if (probe) {
      json_path_ = options.binding_json;
    } else {
      error_ = "rankpool: cannot write the binding report to '" + options.binding_json + "' (" +
               std::strerror(errno) + "); give a writable path to --rankpool-binding-json";
    }
  }
}

RankBinding::~RankBinding() {
  if (bound_) topology_->bind_thread(original_);
  clear_current_placement();
}

void RankBinding::apply(const Transport& transport, const ResolvedOptions& options) {
  std::string warning = placement_.warning;
  if (placement_.binding == "rankpool") {
    if (topology_->bind_thread(placement_.pus)) {
      bound_ = true;
    } else {
      warning = "rankpool: warning: could not bind rank " + std::to_string(transport.rank()) +
                " on host " + transport.host() + " to PUs " + to_list_string(placement_.pus) +
                " (" + std::strerror(errno) + "); it runs unbound";
      placement_ = describe(*topology_, original_, "none");
    }
  }
  set_current_placement(placement_, options.threads_per_worker);

  // One warning for the whole job (the lowest rank's), and whether rank 0 wants the report
  // (every rank resolves the same options, but rank 0's decide).
  const bool report_wanted = options.report_binding || !options.binding_json.empty();
  int in[2] = {warning.empty() ? transport.size() : transport.rank(),
               transport.rank() == 0 && report_wanted ? -1 : 0};
  int out[2] = {0, 0};
  check_mpi(MPI_Allreduce(in, out, 2, MPI_INT, MPI_MIN, transport.comm()),
            "MPI_Allreduce (binding)");
  if (out[0] < transport.size()) {
    warning = broadcast_from(transport, out[0], warning);
    if (transport.rank() == 0 && !warned) {
      std::fprintf(stderr, "%s\n", warning.c_str());
      warned = true;
    }
  } else {
    warning.clear();
  }
  if (out[1] == 0) return;

  auto mine = to_json(transport.rank(), transport.host(), local_rank_, local_count_, placement_);
  std::vector<std::string> all = gather_strings(transport, mine.dump());
  if (transport.rank() != 0) return;
  nlohmann::json ranks = nlohmann::json::array();
  for (const auto& text : all) ranks.push_back(nlohmann::json::parse(text));
  if (options.report_binding) {
    std::string lines;
    for (const auto& r : ranks) {
      Placement p;
      p.binding = r["binding"].get<std::string>();
      p.packages = r["packages"].get<std::vector<int>>();
      p.numa_nodes = r["numa_nodes"].get<std::vector<int>>();
      p.cores = r["cores"].get<std::vector<int>>();
      p.pus = r["pus"].get<PuList>();
      p.shared = r["shared"].get<bool>();
      p.oversubscribed = r["oversubscribed"].get<bool>();
      lines +=
          binding_line(r["rank"].get<int>(), r["host"].get<std::string>(), p, options.bind) + "\n";
    }
    std::fputs(lines.c_str(), stderr);
    std::fflush(stderr);
  }
  if (!json_path_.empty()) {
    nlohmann::json report = {
        {"rankpool_version", version_string},
        {"policy", to_string(options.bind)},
        {"threads_per_worker", options.threads_per_worker},
        {"warning", warning.empty() ? nlohmann::json() : nlohmann::json(warning)},
        {"ranks", ranks}};
    std::ofstream file(json_path_, std::ios::out | std::ios::trunc);
    file << report.dump(2) << "\n";
    file.close();
    if (!file) {
      std::fprintf(stderr, "rankpool: warning: could not write the binding report to '%s' (%s)\n",
                   json_path_.c_str(), std::strerror(errno));
    }
  }
}

}  // namespace rankpool::detail

// The node's topology through hwloc, and place(): which PUs each rank of a node gets.

#include "rankpool/detail/topology.hpp"

#include <hwloc.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "rankpool/error.hpp"

namespace rankpool::detail {

struct Topology::Impl {
  hwloc_topology_t topo = nullptr;
  ~Impl() {
    if (topo) hwloc_topology_destroy(topo);
  }
};

namespace {

// An owned hwloc bitmap.
class Bitmap {
 public:
  Bitmap() : b_(hwloc_bitmap_alloc()) {
    if (!b_) throw Error("rankpool: out of memory allocating an hwloc bitmap");
  }
  explicit Bitmap(const PuList& pus) : Bitmap() {
    for (int pu : pus) hwloc_bitmap_set(b_, static_cast<unsigned>(pu));
  }
  ~Bitmap() { hwloc_bitmap_free(b_); }
  Bitmap(const Bitmap&) = delete;
  Bitmap& operator=(const Bitmap&) = delete;
  hwloc_bitmap_t get() const { return b_; }

 private:
  hwloc_bitmap_t b_;
};

PuList to_list(hwloc_const_bitmap_t set) {
  PuList out;
  if (hwloc_bitmap_weight(set) < 0) return out;  // infinite: not a real set of PUs
  for (int id = hwloc_bitmap_first(set); id != -1; id = hwloc_bitmap_next(set, id)) {
    out.push_back(id);
  }
  return out;
}

PuList intersect(hwloc_const_bitmap_t a, hwloc_const_bitmap_t b) {
  Bitmap both;
  hwloc_bitmap_and(both.get(), a, b);
  return to_list(both.get());
}

// Logical index of obj's ancestor of `type`, or -1.
int ancestor_index(hwloc_topology_t topo, hwloc_obj_type_t type, hwloc_obj_t obj) {
  hwloc_obj_t a = hwloc_get_ancestor_obj_by_type(topo, type, obj);
  return a ? static_cast<int>(a->logical_index) : -1;
}

// OS index of the first NUMA node whose PUs include obj's, or -1.
int local_numa(hwloc_topology_t topo, hwloc_obj_t obj) {
  for (hwloc_obj_t n = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, nullptr); n;
       n = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, n)) {
    if (n->cpuset && hwloc_bitmap_isincluded(obj->cpuset, n->cpuset)) {
      return static_cast<int>(n->os_index);
    }
  }
  return -1;
}

// What a place is cut from: one core (or PU) and the allowed PUs in it.
struct Unit {
  PuList pus;
  int package = -1;
  int numa = -1;
  int l3 = -1;
};

std::vector<Unit> units_of(hwloc_topology_t topo, hwloc_const_bitmap_t allowed, bool hwthreads) {
  hwloc_obj_type_t type = HWLOC_OBJ_CORE;
  if (hwthreads || hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE) <= 0) type = HWLOC_OBJ_PU;
  std::vector<Unit> units;
  for (hwloc_obj_t o = hwloc_get_next_obj_by_type(topo, type, nullptr); o;
       o = hwloc_get_next_obj_by_type(topo, type, o)) {
    Unit u;
    u.pus = intersect(o->cpuset, allowed);
    if (u.pus.empty()) continue;
    u.package = ancestor_index(topo, HWLOC_OBJ_PACKAGE, o);
    u.numa = local_numa(topo, o);
    u.l3 = ancestor_index(topo, HWLOC_OBJ_L3CACHE, o);
    units.push_back(std::move(u));
  }
  return units;
}

PuList join_pus(const std::vector<const Unit*>& units) {
  std::set<int> all;
  for (const Unit* u : units) all.insert(u->pus.begin(), u->pus.end());
  return PuList(all.begin(), all.end());
}

std::string plural(long n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

BindPolicy parse_bind_policy(std::string_view name) {
  for (BindPolicy p : {BindPolicy::core, BindPolicy::socket, BindPolicy::numa, BindPolicy::l3,
                       BindPolicy::hwthread, BindPolicy::none}) {
    if (name == to_string(p)) return p;
  }
  throw ValueError("rankpool: unknown binding policy '" + std::string(name) +
                   "': use one of 'core', 'socket', 'numa', 'l3', 'hwthread' or 'none'");
}

const char* to_string(BindPolicy policy) {
  switch (policy) {
    case BindPolicy::core:
      return "core";
    case BindPolicy::socket:
      return "socket";
    case BindPolicy::numa:
      return "numa";
    case BindPolicy::l3:
      return "l3";
    case BindPolicy::hwthread:
      return "hwthread";
    case BindPolicy::none:
      return "none";
  }
  return "?";
}

std::string to_list_string(const PuList& pus) {
  std::string out;
  for (std::size_t i = 0; i < pus.size();) {
    std::size_t j = i;
    while (j + 1 < pus.size() && pus[j + 1] == pus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(pus[i]);
    if (j > i) out += '-' + std::to_string(pus[j]);
    i = j + 1;
  }
  return out;
}

// ---- Topology -----------------------------------------------------------------------------------

Topology::Topology(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Topology::Topology(Topology&&) noexcept = default;
Topology& Topology::operator=(Topology&&) noexcept = default;
Topology::~Topology() = default;

Topology Topology::this_node() {
  auto impl = std::make_unique<Impl>();
  if (hwloc_topology_init(&impl->topo) != 0) {
    throw Error(std::string("rankpool: hwloc_topology_init failed: ") + std::strerror(errno));
  }
  if (hwloc_topology_load(impl->topo) != 0) {
    throw Error(std::string("rankpool: hwloc could not read this node's topology (") +
                std::strerror(errno) + "); run with --rankpool-bind none to start without it");
  }
  return Topology(std::move(impl));
}

Topology Topology::synthetic(const std::string& description) {
  auto impl = std::make_unique<Impl>();
  if (hwloc_topology_init(&impl->topo) != 0) {
    throw Error(std::string("rankpool: hwloc_topology_init failed: ") + std::strerror(errno));
  }
  if (hwloc_topology_set_synthetic(impl->topo, description.c_str()) != 0 ||
      hwloc_topology_load(impl->topo) != 0) {
    throw ValueError("rankpool: hwloc rejects the synthetic topology '" + description +
                     "'; see 'man hwloc_topology_set_synthetic' for the syntax");
  }
  return Topology(std::move(impl));
}

PuList Topology::allowed_pus() const {
  return to_list(hwloc_topology_get_allowed_cpuset(impl_->topo));
}

PuList Topology::core_pus(int core) const {
  if (core < 0) return {};
  hwloc_obj_t o = hwloc_get_obj_by_type(impl_->topo, HWLOC_OBJ_CORE, static_cast<unsigned>(core));
  return o ? to_list(o->cpuset) : PuList{};
}

int Topology::num_cores() const {
  return std::max(0, hwloc_get_nbobjs_by_type(impl_->topo, HWLOC_OBJ_CORE));
}

PuList Topology::thread_binding() const {
  Bitmap set;
  if (hwloc_get_cpubind(impl_->topo, set.get(), HWLOC_CPUBIND_THREAD) != 0) {
    throw Error(std::string("rankpool: cannot read this thread's CPU binding (") +
                std::strerror(errno) + "); run with --rankpool-bind none to start without it");
  }
  return to_list(set.get());
}

bool Topology::bind_thread(const PuList& pus) const {
  Bitmap set(pus);
  return hwloc_set_cpubind(impl_->topo, set.get(), HWLOC_CPUBIND_THREAD) == 0;
}

// ---- placement ----------------------------------------------------------------------------------

Placement describe(const Topology& topology, const PuList& pus, const std::string& binding) {
  hwloc_topology_t topo = topology.impl().topo;
  Placement p;
  p.binding = binding;
  p.pus = pus;
  Bitmap set(pus);
  auto touched = [&](hwloc_obj_type_t type, bool os_index) {
    std::vector<int> out;
    for (hwloc_obj_t o = hwloc_get_next_obj_by_type(topo, type, nullptr); o;
         o = hwloc_get_next_obj_by_type(topo, type, o)) {
      if (o->cpuset && hwloc_bitmap_intersects(o->cpuset, set.get())) {
        out.push_back(static_cast<int>(os_index ? o->os_index : o->logical_index));
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  p.cores = touched(HWLOC_OBJ_CORE, false);
  p.packages = touched(HWLOC_OBJ_PACKAGE, false);
  p.numa_nodes = touched(HWLOC_OBJ_NUMANODE, true);
  return p;
}

Placement place(const Topology& topology, const PlacementRequest& req) {
  hwloc_topology_t topo = topology.impl().topo;
  const int t = req.threads_per_worker;
  const std::string on_host = " on host " + req.host;
  if (t < 1) {
    throw ValueError("rankpool: threads_per_worker must be at least 1 (got " + std::to_string(t) +
                     ")");
  }
  Bitmap allowed(req.allowed);
  hwloc_bitmap_and(allowed.get(), allowed.get(), hwloc_topology_get_topology_cpuset(topo));
  if (hwloc_bitmap_iszero(allowed.get())) {
    throw ValueError("rankpool: no usable hardware thread" + on_host + " (allowed PUs '" +
                     to_list_string(req.allowed) +
                     "' are not in its topology); check the job's CPU allocation");
  }
  const PuList allowed_list = to_list(allowed.get());
  if (req.policy == BindPolicy::none) return describe(topology, allowed_list, "none");

  const bool hw = req.policy == BindPolicy::hwthread;
  const char* unit_name = hw ? "hardware threads" : "cores";
  std::vector<Unit> units = units_of(topo, allowed.get(), hw);
  auto count_if = [&](auto pred) { return std::count_if(units.begin(), units.end(), pred); };
  if (req.policy == BindPolicy::socket && count_if([](const Unit& u) { return u.package < 0; })) {
    throw ValueError("rankpool: binding policy 'socket' is impossible" + on_host +
                     ": hwloc finds no package (socket) around some of its " +
                     std::to_string(units.size()) + " allowed cores; use --rankpool-bind core");
  }
  if (req.policy == BindPolicy::l3 && count_if([](const Unit& u) { return u.l3 < 0; })) {
    throw ValueError("rankpool: binding policy 'l3' is impossible" + on_host +
                     ": hwloc finds no L3 cache above some of its " + std::to_string(units.size()) +
                     " allowed cores; use --rankpool-bind core");
  }
  if (req.policy == BindPolicy::numa && count_if([](const Unit& u) { return u.numa < 0; })) {
    throw ValueError("rankpool: binding policy 'numa' is impossible" + on_host +
                     ": hwloc finds no NUMA node local to some of its " +
                     std::to_string(units.size()) + " allowed cores; use --rankpool-bind core");
  }

  // Domains: units sharing a package and a NUMA node, in the order of their first unit.
  std::vector<std::vector<const Unit*>> domains;
  std::map<std::pair<int, int>, std::size_t> domain_of;
  for (const Unit& u : units) {
    auto key = std::make_pair(u.package, u.numa);
    auto it = domain_of.find(key);
    if (it == domain_of.end()) {
      it = domain_of.emplace(key, domains.size()).first;
      domains.emplace_back();
    }
    domains[it->second].push_back(&u);
  }
  std::size_t largest = 0;
  for (const auto& d : domains) largest = std::max(largest, d.size());
  if (static_cast<std::size_t>(t) > largest) {
    throw ValueError("rankpool: threads_per_worker=" + std::to_string(t) + " but the largest " +
                     "package/NUMA domain" + on_host + " has " + std::to_string(largest) +
                     " allowed " + unit_name + " (" + std::to_string(units.size()) + " in " +
                     plural(static_cast<long>(domains.size()), "domain", "domains") +
                     "); a worker's threads must share one domain, so ask for at most " +
                     std::to_string(largest) + " threads per worker");
  }

  // Places: threads_per_worker consecutive units of one domain, keyed by the policy's bucket.
  struct Place {
    std::vector<const Unit*> units;
    int bucket = 0;
  };
  std::vector<Place> places;
  for (const auto& d : domains) {
    for (std::size_t first = 0; first + t <= d.size(); first += t) {
      Place pl;
      for (std::size_t k = first; k < first + t; ++k) pl.units.push_back(d[k]);
      const Unit& u = *pl.units.front();
      pl.bucket = req.policy == BindPolicy::socket ? u.package
                  : req.policy == BindPolicy::numa ? u.numa
                  : req.policy == BindPolicy::l3   ? u.l3
                                                   : 0;
      places.push_back(std::move(pl));
    }
  }
  // Round-robin over buckets (in order of first appearance); compact when there is one bucket.
  {
    std::vector<std::vector<Place>> buckets;
    std::map<int, std::size_t> bucket_of;
    for (auto& pl : places) {
      auto it = bucket_of.find(pl.bucket);
      if (it == bucket_of.end()) {
        it = bucket_of.emplace(pl.bucket, buckets.size()).first;
        buckets.emplace_back();
      }
      buckets[it->second].push_back(std::move(pl));
    }
    places.clear();
    for (std::size_t round = 0;; ++round) {
      bool any = false;
      for (auto& b : buckets) {
        if (round < b.size()) {
          places.push_back(std::move(b[round]));
          any = true;
        }
      }
      if (!any) break;
    }
  }

  const int workers = req.master_idle_here ? req.local_count - 1 : req.local_count;
  if (workers > static_cast<int>(places.size())) {
    Placement p = describe(topology, allowed_list, "none");
    p.oversubscribed = true;
    p.warning = "rankpool: warning: " + plural(workers, "rank runs", "ranks run") + " tasks" +
                on_host + " but its " + std::to_string(units.size()) + " allowed " + unit_name +
                " (PUs " + to_list_string(allowed_list) + ") give only " +
                plural(static_cast<long>(places.size()), "place", "places") + " of " +
                plural(t, hw ? "hardware thread" : "core", unit_name) + " (policy " +
                to_string(req.policy) +
                "); no rank there is bound, each may run on all of those PUs. Launch fewer "
                "ranks per node or ask for fewer threads per worker, or pass --rankpool-bind "
                "none to silence this warning";
    return p;
  }

  if (req.master_idle_here && req.local_rank == 0) {
    std::set<const Unit*> taken;
    for (int i = 0; i < workers; ++i) taken.insert(places[i].units.begin(), places[i].units.end());
    const Unit* spare = nullptr;
    for (const Unit& u : units) {
      if (!taken.count(&u)) spare = &u;
    }
    Placement p = describe(topology, (spare ? spare : &units.back())->pus, "rankpool");
    p.shared = spare == nullptr;
    return p;
  }
  const int index = req.master_idle_here ? req.local_rank - 1 : req.local_rank;
  if (index < 0 || index >= workers) {
    throw ValueError("rankpool: local rank " + std::to_string(req.local_rank) + " of " +
                     std::to_string(req.local_count) + on_host + " is out of range");
  }
  return describe(topology, join_pus(places[index].units), "rankpool");
}

}  // namespace rankpool::detail

// place() on hwloc synthetic topologies (PU OS indexes 0, 1, ... in order), the binding options,
// and the report line. No MPI, no binding.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "rankpool/detail/binding.hpp"
#include "rankpool/detail/topology.hpp"
#include "rankpool/error.hpp"
#include "rankpool/options.hpp"

namespace {

using rankpool::ValueError;
using rankpool::detail::BindPolicy;
using rankpool::detail::Placement;
using rankpool::detail::PlacementRequest;
using rankpool::detail::PuList;
using rankpool::detail::Topology;

// 2 packages x 2 NUMA nodes x 2 L3 x 8 cores x 2 PUs: 64 cores, 128 PUs; core c has PUs 2c, 2c+1.
const char* const kBig = "pack:2 numa:2 l3:2 core:8 pu:2";
const char* const kSmall = "pack:1 core:4 pu:1";        // 4 cores, no L3
const char* const kFourSocket = "pack:4 core:24 pu:2";  // 96 cores, one NUMA node

PuList range(int first, int last) {  // [first, last]
  PuList out;
  for (int i = first; i <= last; ++i) out.push_back(i);
  return out;
}

PlacementRequest request(const Topology& t, int local_rank, int local_count,
                         BindPolicy policy = BindPolicy::core, int threads = 1) {
  PlacementRequest r;
  r.host = "node7";
  r.local_rank = local_rank;
  r.local_count = local_count;
  r.allowed = t.allowed_pus();
  r.policy = policy;
  r.threads_per_worker = threads;
  return r;
}

std::vector<Placement> place_all(const Topology& t, PlacementRequest r) {
  std::vector<Placement> out;
  for (int i = 0; i < r.local_count; ++i) {
    r.local_rank = i;
    out.push_back(rankpool::detail::place(t, r));
  }
  return out;
}

std::string error_of(const Topology& t, const PlacementRequest& r) {
  try {
    rankpool::detail::place(t, r);
  } catch (const ValueError& e) {
    return e.what();
  }
  return "(no error)";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Topology, PolicyNamesRoundTripAndUnknownNamesAreRejected) {
  for (const char* name : {"core", "socket", "numa", "l3", "hwthread", "none"}) {
    EXPECT_STREQ(rankpool::detail::to_string(rankpool::detail::parse_bind_policy(name)), name);
  }
  try {
    rankpool::detail::parse_bind_policy("cores");
    FAIL() << "'cores' was accepted";
  } catch (const ValueError& e) {
    EXPECT_TRUE(contains(e.what(), "'cores'")) << e.what();
    EXPECT_TRUE(contains(e.what(), "'hwthread'")) << e.what();
  }
}

TEST(Topology, ListStrings) {
  EXPECT_EQ(rankpool::detail::to_list_string({}), "");
  EXPECT_EQ(rankpool::detail::to_list_string({5}), "5");
  EXPECT_EQ(rankpool::detail::to_list_string({0, 1, 2, 3, 8, 10, 11}), "0-3,8,10-11");
}

TEST(Topology, SyntheticTopologiesHaveTheirCores) {
  EXPECT_EQ(Topology::synthetic(kBig).num_cores(), 64);
  EXPECT_EQ(Topology::synthetic(kBig).allowed_pus(), range(0, 127));
  EXPECT_EQ(Topology::synthetic(kBig).core_pus(5), (PuList{10, 11}));
  EXPECT_EQ(Topology::synthetic(kSmall).num_cores(), 4);
  EXPECT_EQ(Topology::synthetic(kFourSocket).num_cores(), 96);
  EXPECT_THROW(Topology::synthetic("pack:2 bogus:3"), ValueError);
}

TEST(Topology, CorePolicyIsCompactOneCoreEach) {
  auto t = Topology::synthetic(kBig);
  auto all = place_all(t, request(t, 0, 64));
  std::set<int> pus;
  for (int i = 0; i < 64; ++i) {
    const Placement& p = all[i];
    EXPECT_EQ(p.binding, "rankpool");
    EXPECT_EQ(p.cores, (std::vector<int>{i}));
    EXPECT_EQ(p.pus, (PuList{2 * i, 2 * i + 1})) << "both hardware threads of the core";
    EXPECT_EQ(p.packages, (std::vector<int>{i / 32}));
    EXPECT_EQ(p.numa_nodes, (std::vector<int>{i / 16}));
    EXPECT_FALSE(p.oversubscribed);
    EXPECT_TRUE(p.warning.empty());
    pus.insert(p.pus.begin(), p.pus.end());
  }
  EXPECT_EQ(pus.size(), 128u) << "64 ranks cover the node without overlap";
}

TEST(Topology, SpreadPoliciesGoRoundRobinOverTheirDomains) {
  auto t = Topology::synthetic(kBig);
  auto cores_of = [&](BindPolicy policy, int n) {
    std::vector<int> out;
    for (const auto& p : place_all(t, request(t, 0, n, policy))) {
      EXPECT_EQ(p.cores.size(), 1u);
      out.push_back(p.cores.at(0));
    }
    return out;
  };
  EXPECT_EQ(cores_of(BindPolicy::socket, 5), (std::vector<int>{0, 32, 1, 33, 2}));
  EXPECT_EQ(cores_of(BindPolicy::numa, 6), (std::vector<int>{0, 16, 32, 48, 1, 17}));
  EXPECT_EQ(cores_of(BindPolicy::l3, 9), (std::vector<int>{0, 8, 16, 24, 32, 40, 48, 56, 1}));
  // All 64 places are still used exactly once.
  auto all = cores_of(BindPolicy::socket, 64);
  EXPECT_EQ(std::set<int>(all.begin(), all.end()).size(), 64u);
}

TEST(Topology, HwthreadPolicyGivesOnePuEach) {
  auto t = Topology::synthetic(kBig);
  auto all = place_all(t, request(t, 0, 128, BindPolicy::hwthread));
  for (int i = 0; i < 128; ++i) {
    EXPECT_EQ(all[i].pus, (PuList{i}));
    EXPECT_EQ(all[i].cores, (std::vector<int>{i / 2}));
  }
  auto over = rankpool::detail::place(t, request(t, 0, 129, BindPolicy::hwthread));
  EXPECT_TRUE(over.oversubscribed);
  EXPECT_TRUE(contains(over.warning, "128 allowed hardware threads")) << over.warning;
}

TEST(Topology, ThreadsPerWorkerTakesConsecutiveCoresOfOneNumaDomain) {
  auto t = Topology::synthetic(kBig);
  auto four = place_all(t, request(t, 0, 16, BindPolicy::core, 4));
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(four[i].cores, range(4 * i, 4 * i + 3));
    EXPECT_EQ(four[i].numa_nodes.size(), 1u);
    EXPECT_EQ(four[i].pus.size(), 8u);
  }
  // 12 cores fit once in each 16-core NUMA domain: never across two domains.
  auto twelve = place_all(t, request(t, 0, 4, BindPolicy::core, 12));
  EXPECT_EQ(twelve[0].cores, range(0, 11));
  EXPECT_EQ(twelve[1].cores, range(16, 27));
  EXPECT_EQ(twelve[3].cores, range(48, 59));
  EXPECT_TRUE(rankpool::detail::place(t, request(t, 0, 5, BindPolicy::core, 12)).oversubscribed);
  // socket spreads multi-core places over packages too.
  auto spread = place_all(t, request(t, 0, 3, BindPolicy::socket, 8));
  EXPECT_EQ(spread[0].cores, range(0, 7));
  EXPECT_EQ(spread[1].cores, range(32, 39));
  EXPECT_EQ(spread[2].cores, range(8, 15));
}

TEST(Topology, ThreadsPerWorkerLargerThanADomainIsAnErrorNamingHostAndNumbers) {
  auto t = Topology::synthetic(kBig);
  EXPECT_NO_THROW(rankpool::detail::place(t, request(t, 0, 4, BindPolicy::core, 16)));
  std::string e = error_of(t, request(t, 0, 1, BindPolicy::core, 17));
  EXPECT_TRUE(contains(e, "threads_per_worker=17")) << e;
  EXPECT_TRUE(contains(e, "host node7")) << e;
  EXPECT_TRUE(contains(e, "has 16 allowed cores")) << e;
  EXPECT_TRUE(contains(e, "at most 16")) << e;
  EXPECT_TRUE(contains(error_of(t, request(t, 0, 1, BindPolicy::core, 0)), "at least 1"));

  auto four = Topology::synthetic(kFourSocket);
  auto per_socket = place_all(four, request(four, 0, 4, BindPolicy::core, 24));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(per_socket[i].packages, (std::vector<int>{i}));
  EXPECT_TRUE(contains(error_of(four, request(four, 0, 1, BindPolicy::core, 25)), "at most 24"));
}

TEST(Topology, OneSocketNode) {
  auto t = Topology::synthetic(kSmall);
  for (BindPolicy policy : {BindPolicy::core, BindPolicy::socket, BindPolicy::numa}) {
    auto all = place_all(t, request(t, 0, 4, policy));
    for (int i = 0; i < 4; ++i) EXPECT_EQ(all[i].pus, (PuList{i})) << to_string(policy);
  }
  std::string e = error_of(t, request(t, 0, 1, BindPolicy::l3));
  EXPECT_TRUE(contains(e, "'l3' is impossible on host node7")) << e;
  EXPECT_TRUE(contains(e, "no L3 cache")) << e;
}

TEST(Topology, FourSocketNode) {
  auto t = Topology::synthetic(kFourSocket);
  std::vector<int> cores;
  for (const auto& p : place_all(t, request(t, 0, 8, BindPolicy::socket))) {
    cores.push_back(p.cores.at(0));
  }
  EXPECT_EQ(cores, (std::vector<int>{0, 24, 48, 72, 1, 25, 49, 73}));
  // One NUMA node for the whole machine: numa is compact.
  EXPECT_EQ(rankpool::detail::place(t, request(t, 1, 8, BindPolicy::numa)).cores,
            (std::vector<int>{1}));
  EXPECT_FALSE(rankpool::detail::place(t, request(t, 95, 96)).oversubscribed);
  EXPECT_TRUE(rankpool::detail::place(t, request(t, 0, 97)).oversubscribed);
}

TEST(Topology, OversubscribedNodeBindsNobodyAndSaysWhy) {
  auto t = Topology::synthetic(kSmall);
  auto all = place_all(t, request(t, 0, 6));
  for (const auto& p : all) {
    EXPECT_EQ(p.binding, "none");
    EXPECT_TRUE(p.oversubscribed);
    EXPECT_EQ(p.pus, range(0, 3)) << "each rank may run on every allowed PU";
    EXPECT_TRUE(contains(p.warning, "6 ranks run tasks on host node7")) << p.warning;
    EXPECT_TRUE(contains(p.warning, "4 allowed cores (PUs 0-3)")) << p.warning;
    EXPECT_TRUE(contains(p.warning, "only 4 places")) << p.warning;
  }
}

TEST(Topology, NeverBindsOutsideARestrictedAllowedSet) {
  auto t = Topology::synthetic(kBig);
  // Cores 10..21 (PUs 20..43) but only the second PU of core 10: NUMA domain 0 keeps cores 10-15,
  // domain 1 cores 16-21.
  PuList allowed = range(21, 43);
  for (BindPolicy policy : {BindPolicy::core, BindPolicy::socket, BindPolicy::numa, BindPolicy::l3,
                            BindPolicy::hwthread, BindPolicy::none}) {
    auto r = request(t, 0, 12, policy);
    r.allowed = allowed;
    for (const auto& p : place_all(t, r)) {
      EXPECT_FALSE(p.pus.empty());
      EXPECT_TRUE(std::includes(allowed.begin(), allowed.end(), p.pus.begin(), p.pus.end()))
          << to_string(policy) << ": " << rankpool::detail::to_list_string(p.pus);
    }
  }
  auto r = request(t, 0, 2, BindPolicy::core, 4);
  r.allowed = allowed;
  auto two = place_all(t, r);
  EXPECT_EQ(two[0].cores, range(10, 13));
  EXPECT_EQ(two[0].pus, range(21, 27)) << "PU 20 is not allowed";
  EXPECT_EQ(two[1].cores, range(16, 19)) << "a place never spans two NUMA domains";
  r.local_count = 3;
  EXPECT_TRUE(rankpool::detail::place(t, r).oversubscribed);
  r.threads_per_worker = 7;
  EXPECT_TRUE(contains(error_of(t, r), "has 6 allowed cores")) << error_of(t, r);

  r = request(t, 0, 1);
  r.allowed = {500, 501};
  EXPECT_TRUE(contains(error_of(t, r), "no usable hardware thread on host node7"));
}

TEST(Topology, IdleMasterTakesASpareCoreOrSharesTheLast) {
  auto t = Topology::synthetic(kSmall);
  auto r = request(t, 0, 4);
  r.master_idle_here = true;
  auto all = place_all(t, r);
  EXPECT_EQ(all[1].pus, (PuList{0}));
  EXPECT_EQ(all[2].pus, (PuList{1}));
  EXPECT_EQ(all[3].pus, (PuList{2}));
  EXPECT_EQ(all[0].pus, (PuList{3})) << "the master takes the spare core";
  EXPECT_FALSE(all[0].shared);

  r.local_count = 5;  // 4 workers fill the node: the master shares the last core
  all = place_all(t, r);
  EXPECT_EQ(all[4].pus, (PuList{3}));
  EXPECT_EQ(all[0].pus, (PuList{3}));
  EXPECT_TRUE(all[0].shared);
  EXPECT_FALSE(all[0].oversubscribed);

  r.local_count = 6;  // 5 workers on 4 cores
  EXPECT_TRUE(rankpool::detail::place(t, r).oversubscribed);

  // Spread: the master takes the last core no worker has.
  auto two = Topology::synthetic("pack:2 core:4 pu:1");
  auto s = request(two, 0, 4, BindPolicy::socket);
  s.master_idle_here = true;
  all = place_all(two, s);
  EXPECT_EQ(all[1].cores, (std::vector<int>{0}));
  EXPECT_EQ(all[2].cores, (std::vector<int>{4}));
  EXPECT_EQ(all[3].cores, (std::vector<int>{1}));
  EXPECT_EQ(all[0].cores, (std::vector<int>{7}));
}

TEST(Topology, PolicyNoneKeepsTheAllowedSet) {
  auto t = Topology::synthetic(kSmall);
  auto p = rankpool::detail::place(t, request(t, 3, 100, BindPolicy::none, 1000));
  EXPECT_EQ(p.binding, "none");
  EXPECT_EQ(p.pus, range(0, 3));
  EXPECT_FALSE(p.oversubscribed);
  EXPECT_TRUE(p.warning.empty());
}

TEST(Topology, DescribeNamesPackagesNumaNodesAndCores) {
  auto t = Topology::synthetic(kBig);
  auto p = rankpool::detail::describe(t, {30, 31, 32, 64}, "launcher");
  EXPECT_EQ(p.binding, "launcher");
  EXPECT_EQ(p.cores, (std::vector<int>{15, 16, 32}));
  EXPECT_EQ(p.packages, (std::vector<int>{0, 1}));
  EXPECT_EQ(p.numa_nodes, (std::vector<int>{0, 1, 2}));
  std::string line = rankpool::detail::binding_line(3, "node7", p, BindPolicy::core);
  EXPECT_EQ(line,
            "rankpool: binding: rank 3 host node7 package 0-1 numa 0-2 cores 15-16,32 pus "
            "30-32,64 (bound by the launcher)");
}

TEST(Topology, ThisNodeCanBePlaced) {
  auto t = Topology::this_node();
  PuList allowed = t.allowed_pus();
  ASSERT_FALSE(allowed.empty());
  auto r = request(t, 0, 1);
  auto p = rankpool::detail::place(t, r);
  EXPECT_EQ(p.binding, "rankpool");
  EXPECT_TRUE(std::includes(allowed.begin(), allowed.end(), p.pus.begin(), p.pus.end()));
  EXPECT_EQ(p.cores.size(), 1u);
}

// ---- the options ----------------------------------------------------------------------------

rankpool::detail::ResolvedOptions resolve(const std::vector<std::string>& args,
                                          const std::map<std::string, std::string>& env = {},
                                          const rankpool::PoolOptions& code = {}) {
  std::vector<std::string> argv{"prog"};
  argv.insert(argv.end(), args.begin(), args.end());
  return rankpool::detail::resolve_options(code, 4, argv, [&env](const char* name) {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(BindingOptions, DefaultsEnvironmentAndCommandLine) {
  auto d = resolve({});
  EXPECT_EQ(d.bind, BindPolicy::core);
  EXPECT_EQ(d.threads_per_worker, 1);
  EXPECT_FALSE(d.report_binding);
  EXPECT_EQ(d.binding_json, "");

  std::map<std::string, std::string> env{{"RANKPOOL_BIND", "socket"},
                                         {"RANKPOOL_THREADS_PER_WORKER", "2"},
                                         {"RANKPOOL_REPORT_BINDING", "1"},
                                         {"RANKPOOL_BINDING_JSON", "b.json"}};
  auto e = resolve({}, env);
  EXPECT_EQ(e.bind, BindPolicy::socket);
  EXPECT_EQ(e.threads_per_worker, 2);
  EXPECT_TRUE(e.report_binding);
  EXPECT_EQ(e.binding_json, "b.json");

  rankpool::PoolOptions code;
  code.bind = "none";
  EXPECT_EQ(resolve({}, {}, code).bind, BindPolicy::none);
  auto c = resolve({"--rankpool-report-binding", "--rankpool-bind", "l3", "input.txt",
                    "--rankpool-threads-per-worker", "4", "--rankpool-binding-json", "c.json"},
                   {{"RANKPOOL_BIND", "socket"}}, code);
  EXPECT_EQ(c.bind, BindPolicy::l3);
  EXPECT_EQ(c.threads_per_worker, 4);
  EXPECT_TRUE(c.report_binding);
  EXPECT_EQ(c.binding_json, "c.json");
}

TEST(BindingOptions, BadValuesAreRejected) {
  try {
    resolve({"--rankpool-bind", "sockets"});
    FAIL() << "unknown policy accepted";
  } catch (const ValueError& e) {
    EXPECT_TRUE(contains(e.what(), "'sockets'")) << e.what();
  }
  EXPECT_THROW(resolve({"--rankpool-threads-per-worker", "0"}), ValueError);
  EXPECT_THROW(resolve({}, {{"RANKPOOL_THREADS_PER_WORKER", "two"}}), ValueError);
  EXPECT_THROW(resolve({}, {{"RANKPOOL_REPORT_BINDING", "maybe"}}), ValueError);
  rankpool::PoolOptions code;
  code.threads_per_worker = 0;
  EXPECT_THROW(resolve({}, {}, code), ValueError);
}

TEST(BindingOptions, HelpListsThem) {
  std::string help = rankpool::detail::options_help();
  EXPECT_TRUE(contains(help, "--rankpool-bind VALUE  (RANKPOOL_BIND)")) << help;
  EXPECT_TRUE(contains(help, "--rankpool-threads-per-worker VALUE")) << help;
  EXPECT_TRUE(contains(help, "--rankpool-report-binding  (RANKPOOL_REPORT_BINDING)")) << help;
  EXPECT_TRUE(contains(help, "--rankpool-binding-json VALUE")) << help;
}

}  // namespace

// Option resolution: code < environment < command line, and the checks on each value.

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "rankpool/error.hpp"
#include "rankpool/options.hpp"

namespace {

using rankpool::PoolOptions;
using rankpool::ValueError;
using rankpool::detail::Policy;
using rankpool::detail::resolve_options;

struct FakeEnv {
  std::map<std::string, std::string> vars;
  rankpool::detail::EnvLookup lookup() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

std::vector<std::string> argv(std::vector<std::string> rest) {
  rest.insert(rest.begin(), "prog");
  return rest;
}

TEST(Options, Defaults) {
  FakeEnv env;
  auto r = resolve_options(PoolOptions{}, 4, argv({}), env.lookup());
  EXPECT_EQ(r.processes, 4);
  EXPECT_TRUE(r.master_computes);
  EXPECT_FALSE(r.chunksize.has_value());
  EXPECT_FALSE(r.policy.has_value());  // schedule "auto": the pool picks per map
  EXPECT_EQ(r.maxtasksperchild, 0u);
  EXPECT_EQ(r.window, 2);
}

TEST(Options, EnvironmentOverridesCodeAndCommandLineOverridesBoth) {
  PoolOptions code;
  code.processes = 2;
  code.schedule = "static";
  code.chunksize = 10;
  FakeEnv env{{{"RANKPOOL_PROCESSES", "3"},
               {"RANKPOOL_SCHEDULE", "guided"},
               {"RANKPOOL_MAXTASKSPERCHILD", "5"}}};
  auto r = resolve_options(code, 8, argv({}), env.lookup());
  EXPECT_EQ(r.processes, 3);
  EXPECT_EQ(r.policy, Policy::guided);
  EXPECT_EQ(r.maxtasksperchild, 5u);
  EXPECT_EQ(r.chunksize, 10u);

  auto c = resolve_options(code, 8,
                           argv({"input.txt", "--rankpool-processes", "4", "--verbose",
                                 "--rankpool-schedule=dynamic", "--rankpool-chunksize", "7"}),
                           env.lookup());
  EXPECT_EQ(c.processes, 4);
  EXPECT_EQ(c.policy, Policy::dynamic);
  EXPECT_EQ(c.chunksize, 7u);
  EXPECT_EQ(c.maxtasksperchild, 5u);  // still from the environment
}

TEST(Options, AutoScheduleLeavesThePolicyToThePool) {
  PoolOptions code;
  code.schedule = "static";
  FakeEnv env{{{"RANKPOOL_SCHEDULE", "auto"}}};
  EXPECT_FALSE(resolve_options(code, 4, argv({}), env.lookup()).policy.has_value());
  FakeEnv none;
  EXPECT_EQ(resolve_options(code, 4, argv({}), none.lookup()).policy, Policy::static_block);
}

TEST(Options, MasterComputesFlag) {
  FakeEnv env{{{"RANKPOOL_MASTER_COMPUTES", "no"}}};
  auto r = resolve_options(PoolOptions{}, 4, argv({}), env.lookup());
  EXPECT_FALSE(r.master_computes);
  EXPECT_EQ(r.processes, 3);
  // One rank: the master must compute whatever was asked.
  auto one = resolve_options(PoolOptions{}, 1, argv({}), env.lookup());
  EXPECT_TRUE(one.master_computes);
  EXPECT_EQ(one.processes, 1);
}

TEST(Options, BadValuesAreValueErrors) {
  FakeEnv none;
  PoolOptions zero;
  zero.processes = 0;
  EXPECT_THROW(resolve_options(zero, 4, argv({}), none.lookup()), ValueError);
  PoolOptions too_many;
  too_many.processes = 5;
  EXPECT_THROW(resolve_options(too_many, 4, argv({}), none.lookup()), ValueError);
  PoolOptions negative_chunks;
  negative_chunks.chunksize = -3;
  EXPECT_THROW(resolve_options(negative_chunks, 4, argv({}), none.lookup()), ValueError);
  PoolOptions bad_policy;
  bad_policy.schedule = "round-robin";
  try {
    resolve_options(bad_policy, 4, argv({}), none.lookup());
    ADD_FAILURE() << "no error for schedule round-robin";
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    for (const char* name : {"round-robin", "auto", "dynamic", "static", "guided"}) {
      EXPECT_NE(msg.find(name), std::string::npos) << msg;
    }
  }

  FakeEnv not_a_number{{{"RANKPOOL_PROCESSES", "four"}}};
  try {
    resolve_options(PoolOptions{}, 4, argv({}), not_a_number.lookup());
    ADD_FAILURE() << "no error for RANKPOOL_PROCESSES=four";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("RANKPOOL_PROCESSES"), std::string::npos) << e.what();
  }
  EXPECT_THROW(resolve_options(PoolOptions{}, 4, argv({"--rankpool-window", "0"}), none.lookup()),
               ValueError);
  EXPECT_THROW(resolve_options(PoolOptions{}, 4, argv({"--rankpool-processes"}), none.lookup()),
               ValueError);
  EXPECT_THROW(
      resolve_options(PoolOptions{}, 4, argv({"--rankpool-maxtasksperchild", "-1"}), none.lookup()),
      ValueError);
  FakeEnv bad_bool{{{"RANKPOOL_MASTER_COMPUTES", "maybe"}}};
  EXPECT_THROW(resolve_options(PoolOptions{}, 4, argv({}), bad_bool.lookup()), ValueError);
}

TEST(Options, TooManyProcessesMessageNamesTheNumbers) {
  PoolOptions o;
  o.processes = 9;
  try {
    resolve_options(o, 4, argv({}), FakeEnv{}.lookup());
    ADD_FAILURE() << "no error";
  } catch (const ValueError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("processes=9"), std::string::npos) << what;
    EXPECT_NE(what.find("4 MPI ranks"), std::string::npos) << what;
  }
}

TEST(Options, HelpAndVersionFlags) {
  auto r = resolve_options(PoolOptions{}, 2, argv({"--rankpool-help", "--rankpool-version"}),
                           FakeEnv{}.lookup());
  EXPECT_TRUE(r.print_help);
  EXPECT_TRUE(r.print_version);
  auto help = rankpool::detail::options_help();
  for (const char* name : {"--rankpool-processes", "RANKPOOL_CHUNKSIZE", "--rankpool-schedule",
                           "RANKPOOL_MAXTASKSPERCHILD", "--rankpool-window"}) {
    EXPECT_NE(help.find(name), std::string::npos) << name;
  }
}

}  // namespace

// Arguments and results of every supported kind, across ranks (the transport, not just the codec).

#include <array>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

#include "mpi_test.hpp"

namespace {

using rankpool::Pool;
using rankpool::PoolOptions;
using rankpool::testing::with_pool;

enum class Colour { red, green, blue };

struct Particle {  // trivially copyable, no serialize
  double x, y, z;
  int id;
};

struct Record {  // cereal serialize
  std::string name;
  std::map<std::string, std::vector<double>> series;
  std::optional<Particle> best;
  template <class A>
  void serialize(A& ar) {
    ar(name, series, best);
  }
};

PoolOptions remote_when_possible() {
  PoolOptions o;
  o.master_computes = rankpool::testing::world_size() == 1;  // exercise the transport
  return o;
}

// Every value goes to a worker and comes back unchanged.
template <class T>
void expect_round_trip(Pool& pool, const std::vector<T>& values) {
  auto back = pool.map([](const T& v) { return v; }, values, 1);
  EXPECT_TRUE(back == values) << "round trip changed a value of " << typeid(T).name();
}

TEST(Types, RoundTripsAcrossRanks) {
  with_pool(remote_when_possible(), [](Pool& pool) {
    expect_round_trip<char>(pool, {'a', '\0', 'z'});
    expect_round_trip<std::uint64_t>(pool, {0, 1, ~std::uint64_t{0}});
    expect_round_trip<double>(pool, {0.0, -1.5, 1e300});
    expect_round_trip<Colour>(pool, {Colour::red, Colour::blue});
    expect_round_trip<std::string>(
        pool, {"", "a", std::string("with\0nul", 8), std::string(100000, 'x')});
    expect_round_trip<std::vector<int>>(pool, {{}, {1}, {1, 2, 3}});
    expect_round_trip<std::array<short, 3>>(pool, {{1, 2, 3}, {-1, 0, 7}});
    expect_round_trip<std::pair<int, std::string>>(pool, {{1, "one"}, {2, "two"}});
    expect_round_trip<std::tuple<int, double, std::string>>(pool, {{1, 2.5, "x"}, {0, 0, ""}});
    expect_round_trip<std::optional<int>>(pool, {std::nullopt, 5});
    expect_round_trip<std::variant<int, std::string>>(pool, {7, std::string("seven")});
    expect_round_trip<std::map<std::string, int>>(pool, {{}, {{"a", 1}, {"b", 2}}});
    expect_round_trip<std::unordered_map<int, std::vector<std::string>>>(pool, {{{1, {"x", "y"}}}});
    expect_round_trip<std::set<long>>(pool, {{3, 1, 2}});
    expect_round_trip<std::deque<double>>(pool, {{1.0, 2.0}});
    expect_round_trip<std::vector<std::map<std::string, std::pair<int, std::optional<double>>>>>(
        pool, {{{{"k", {1, std::nullopt}}}, {{"j", {2, 0.5}}}}});

    std::vector<Particle> ps{{1, 2, 3, 4}, {-1, -2, -3, -4}};
    auto moved = pool.map([](const Particle& p) { return Particle{p.x + 1, p.y, p.z, p.id}; }, ps);
    EXPECT_EQ(moved[1].x, 0.0);
    EXPECT_EQ(moved[1].id, -4);

    std::vector<Record> recs(3);
    recs[1].name = "r1";
    recs[1].series["t"] = {1, 2, 3};
    recs[2].best = Particle{9, 9, 9, 9};
    auto names = pool.map(
        [](const Record& r) {
          return std::make_tuple(r.name, r.series.count("t") ? r.series.at("t").size() : 0,
                                 r.best ? r.best->id : -1);
        },
        recs, 1);
    EXPECT_EQ(names[1], std::make_tuple(std::string("r1"), std::size_t{3}, -1));
    EXPECT_EQ(names[2], std::make_tuple(std::string(""), std::size_t{0}, 9));
  });
}

TEST(Types, CommandLineOptionsReachThePool) {
  std::vector<std::string> storage{
      "prog", "--rankpool-processes", "1", "--rankpool-chunksize", "3", "user-arg"};
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  int code = rankpool::detail::run_on(MPI_COMM_WORLD, static_cast<int>(argv.size()), argv.data(),
                                      PoolOptions{}, [](Pool& pool) {
                                        EXPECT_EQ(pool.processes(), 1);
                                        EXPECT_EQ(pool.options().chunksize, 3u);
                                        return 0;
                                      });
  EXPECT_EQ(code, 0);
}

}  // namespace

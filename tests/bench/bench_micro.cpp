// rankpool-microbench: Google Benchmark microbenchmarks of rankpool's hot paths, run under MPI.
//
//   mpirun -n 2 tests/bench/rankpool-microbench [--benchmark_filter=REGEX] [--benchmark_min_time=S]
//
// What is measured (names as printed):
//   encode/<type>, decode/<type>   a chunk's inputs encoded as the master encodes them and decoded
//                                  as a worker decodes them (bytes/s and items/s), per type
//   mpi/ping_pong                  an 8-byte MPI_Send/MPI_Recv round trip, rank 0 <-> rank 1: the
//                                  reference for apply's round trip
//   pool/apply                     pool.apply of a trivial function (one round trip to a worker)
//   pool/apply_async_burst/N       N apply_async calls, then every get()
//   pool/map/chunksize:C           map(x*x) over a fixed input; C = 0 is map without a chunksize
//   pool/imap/chunksize:C          imap(x*x) over a fixed input, consumed as it streams (items/s)
//
// MPI-aware main, and how "each iteration's time is the maximum over ranks" is obtained:
//   * Every rank runs the same Google Benchmark loop in lockstep: same benchmarks, same iteration
//     counts. Every benchmark uses manual time, and every rank sets the SAME time for the same
//     iteration, so Google Benchmark's iteration-count decisions (taken from those times) agree
//     on every rank. A rank whose iteration count differed from rank 0's would deadlock; that is
//     checked (pool benchmarks) and aborts with a message.
//   * encode/decode run on every rank at once: each rank times its own part of each iteration,
//     and MPI_Allreduce(MAX) of that time is what every rank gives SetIterationTime.
//   * mpi/ping_pong: rank 0's round trip contains rank 1's whole part (receive the ping, send the
//     answer), so rank 0's time is the maximum over ranks; it is taken back to back (no
//     collective between round trips, as for pool/apply) and replayed as below.
//   * Pool benchmarks: worker ranks are inside rankpool's serve loop while rank 0 drives the pool,
//     so they cannot time iterations themselves. An iteration's work on a worker starts after the
//     master sent it and ends before the master received its result, i.e. it lies inside the
//     master's interval: the master's time is the maximum over ranks. Rank 0 records each
//     iteration's time; after rankpool::run() returns on every rank, the times are broadcast and
//     the workers replay the same loop with the same times (so the ranks stay in lockstep for the
//     next benchmark). Each benchmark run starts a pool (rankpool::run) outside the timed part.
//   * Only rank 0 reports: the other ranks get a reporter that prints nothing, and their
//     --benchmark_out is cleared so that they write no file.
//
// The timings are wall times on whatever machine runs this; the ctest smoke run (label "bench")
// only checks that every benchmark runs, never a time.

#include <benchmark/benchmark.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "rankpool/detail/callable.hpp"
#include "rankpool/rankpool.hpp"

namespace {

using Clock = std::chrono::steady_clock;

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int world_size() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// The iteration's time: the maximum of every rank's own time for it.
double max_over_ranks(double seconds) {
  MPI_Allreduce(MPI_IN_PLACE, &seconds, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return seconds;
}

[[noreturn]] void abort_all(const std::string& why) {
  std::fprintf(stderr, "rankpool-microbench: rank %d: %s\n", world_rank(), why.c_str());
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();
}

// ---- serialization: a chunk's inputs, encoded as the master does, decoded as a worker does ----

/// A trivially copyable struct with no cereal function: travels as raw bytes.
struct Particle {
  double x, y, z;
  std::int64_t id;
};
bool operator==(const Particle& a, const Particle& b) {
  return a.x == b.x && a.y == b.y && a.z == b.z && a.id == b.id;
}

template <class T>
T make_value(std::size_t i);
template <>
int make_value<int>(std::size_t i) {
  return static_cast<int>(i * 7);
}
template <>
double make_value<double>(std::size_t i) {
  return 0.5 * static_cast<double>(i);
}
template <>
Particle make_value<Particle>(std::size_t i) {
  double d = static_cast<double>(i);
  return {d, d + 1, d + 2, static_cast<std::int64_t>(i)};
}
template <>
std::string make_value<std::string>(std::size_t i) {
  return "item-" + std::to_string(i) + "-padded-past-sso";  // heap-allocated strings
}
template <>
std::vector<double> make_value<std::vector<double>>(std::size_t i) {
  return std::vector<double>(16, static_cast<double>(i));
}
template <>
std::map<int, double> make_value<std::map<int, double>>(std::size_t i) {
  std::map<int, double> m;
  for (int k = 0; k < 8; ++k) m.emplace(k, static_cast<double>(i + static_cast<std::size_t>(k)));
  return m;
}

template <class T>
std::vector<T> make_inputs(std::size_t n) {
  std::vector<T> v;
  v.reserve(n);
  for (std::size_t i = 0; i < n; ++i) v.push_back(make_value<T>(i));
  return v;
}

template <class T>
void encode_chunk(const std::vector<T>& inputs, std::vector<char>& out) {
  out.clear();
  rankpool::detail::encode_inputs<T>(
      [&](std::uint64_t i) -> const T& { return inputs[static_cast<std::size_t>(i)]; }, 0,
      inputs.size(), out);
}

template <class T>
void encode_benchmark(benchmark::State& state) {
  auto inputs = make_inputs<T>(static_cast<std::size_t>(state.range(0)));
  std::vector<char> out;
  encode_chunk(inputs, out);  // warm: the buffer has its capacity
  for (auto _ : state) {
    auto t0 = Clock::now();
    encode_chunk(inputs, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    state.SetIterationTime(max_over_ranks(seconds_since(t0)));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

template <class T>
void decode_benchmark(benchmark::State& state) {
  auto n = static_cast<std::size_t>(state.range(0));
  auto inputs = make_inputs<T>(n);
  std::vector<char> bytes;
  encode_chunk(inputs, bytes);
  std::vector<T> decoded(n);
  for (auto _ : state) {
    auto t0 = Clock::now();
    // As execute_chunk reads a chunk's inputs (src: include/rankpool/detail/callable.hpp).
    if constexpr (rankpool::detail::is_raw_array_v<T>) {
      for (std::size_t i = 0; i < n; ++i)
        std::memcpy(&decoded[i], bytes.data() + i * sizeof(T), sizeof(T));
    } else {
      rankpool::detail::Reader reader(bytes.data(), bytes.size());
      for (std::size_t i = 0; i < n; ++i) {
        T item{};
        reader(item);
        decoded[i] = std::move(item);
      }
    }
    benchmark::DoNotOptimize(decoded.data());
    benchmark::ClobberMemory();
    state.SetIterationTime(max_over_ranks(seconds_since(t0)));
  }
  if (!(decoded == inputs))
    abort_all("decode benchmark: the decoded values differ from the inputs");
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// Items per chunk: large enough that an iteration takes tens of microseconds, so the per-iteration
// MPI_Allreduce (outside the timed part) does not dominate the run's wall time.
#define RANKPOOL_SERIALIZATION_BENCHMARK(Type, label, items)                                      \
  BENCHMARK_TEMPLATE(encode_benchmark, Type)->Name("encode/" label)->Arg(items)->UseManualTime(); \
  BENCHMARK_TEMPLATE(decode_benchmark, Type)->Name("decode/" label)->Arg(items)->UseManualTime()

using IntDoubleMap = std::map<int, double>;
RANKPOOL_SERIALIZATION_BENCHMARK(int, "int", 65536);
RANKPOOL_SERIALIZATION_BENCHMARK(double, "double", 65536);
RANKPOOL_SERIALIZATION_BENCHMARK(Particle, "raw_struct_32B", 16384);
RANKPOOL_SERIALIZATION_BENCHMARK(std::string, "string_30B", 4096);
RANKPOOL_SERIALIZATION_BENCHMARK(std::vector<double>, "vector_double_16", 4096);
RANKPOOL_SERIALIZATION_BENCHMARK(IntDoubleMap, "map_int_double_8", 1024);

// ---- the MPI reference: an 8-byte ping-pong between ranks 0 and 1 -----------------------------

/// Rank 0 measured `times` (one per iteration) in its own benchmark loop; every rank gets them
/// and the other ranks run the same loop with the same times, so all stay in lockstep.
void replay_rank0_times(benchmark::State& state, std::vector<double>& times) {
  auto n = static_cast<unsigned long long>(times.size());
  MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
  times.resize(static_cast<std::size_t>(n));
  MPI_Bcast(times.data(), static_cast<int>(n), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (world_rank() == 0) return;
  if (static_cast<unsigned long long>(state.max_iterations) != n) {
    abort_all("out of lockstep with rank 0 (" + std::to_string(state.max_iterations) +
              " iterations here, " + std::to_string(n) + " on rank 0)");
  }
  std::size_t i = 0;
  for (auto _ : state) state.SetIterationTime(times[i++]);
}

/// Median and minimum of rank 0's iteration times as counters: on a loaded machine the mean
/// (Google Benchmark's time) includes the round trips where a rank waited for a core, the median
/// mostly does not.
void add_time_counters(benchmark::State& state, std::vector<double> times) {
  if (times.empty()) return;
  auto mid = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
  std::nth_element(times.begin(), mid, times.end());
  state.counters["p50_ns"] = *mid * 1e9;
  state.counters["min_ns"] = *std::min_element(times.begin(), times.end()) * 1e9;
}

void mpi_ping_pong(benchmark::State& state) {
  if (world_size() < 2) {
    state.SkipWithError("needs at least 2 ranks");
    return;
  }
  // Back to back, as apply's round trips are: rank 0 times each round trip (its interval
  // contains rank 1's whole part, so it is the maximum over ranks); rank 1 answers exactly as
  // many pings (the iteration count is the same on every rank), then replays rank 0's times.
  int rank = world_rank();
  long long value = 0;
  std::vector<double> times;
  if (rank == 0) {
    times.reserve(static_cast<std::size_t>(state.max_iterations));
    for (auto _ : state) {
      auto t0 = Clock::now();
      MPI_Send(&value, 1, MPI_LONG_LONG, 1, 0, MPI_COMM_WORLD);
      MPI_Recv(&value, 1, MPI_LONG_LONG, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      double t = seconds_since(t0);
      times.push_back(t);
      state.SetIterationTime(t);
    }
    if (value != static_cast<long long>(state.iterations()))
      abort_all("mpi/ping_pong: wrong count");
  } else if (rank == 1) {
    for (benchmark::IterationCount i = 0; i < state.max_iterations; ++i) {
      MPI_Recv(&value, 1, MPI_LONG_LONG, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      ++value;
      MPI_Send(&value, 1, MPI_LONG_LONG, 0, 0, MPI_COMM_WORLD);
    }
  }
  replay_rank0_times(state, times);
  add_time_counters(state, std::move(times));
}
BENCHMARK(mpi_ping_pong)->Name("mpi/ping_pong")->UseManualTime();

// ---- pool benchmarks: rank 0 drives the pool, the other ranks serve
// ------------------------------

/// Runs one benchmark run with a pool. `iteration(pool)` runs one iteration on rank 0 and returns
/// its wall time, which is the maximum over ranks (see the top of the file). The workers then
/// replay the loop with rank 0's times.
template <class Iteration>
void with_pool(benchmark::State& state, const rankpool::PoolOptions& options, Iteration iteration) {
  if (world_size() < 2) {
    state.SkipWithError("needs at least 2 ranks");
    return;
  }
  std::vector<double> times;
  int code = rankpool::run(MPI_COMM_WORLD, options, [&](rankpool::Pool& pool) {
    for (auto _ : state) {
      double t = iteration(pool);
      times.push_back(t);
      state.SetIterationTime(t);
    }
  });
  if (code != 0) abort_all("rankpool::run failed with exit code " + std::to_string(code));
  replay_rank0_times(state, times);
  add_time_counters(state, std::move(times));
}

long square(long x) {
  return x * x;
}

rankpool::PoolOptions workers_only() {
  rankpool::PoolOptions options;
  options.master_computes = false;  // every task is a round trip to a worker
  return options;
}

void pool_apply(benchmark::State& state) {
  long check = 0;
  with_pool(state, workers_only(), [&](rankpool::Pool& pool) {
    auto t0 = Clock::now();
    long r = pool.apply(square, 3L);
    double t = seconds_since(t0);
    check += r;
    return t;
  });
  if (world_rank() == 0 && check != 9 * static_cast<long>(state.iterations()))
    abort_all("pool/apply: wrong results");
}
BENCHMARK(pool_apply)->Name("pool/apply")->UseManualTime();

void pool_apply_async_burst(benchmark::State& state) {
  const auto burst = static_cast<std::size_t>(state.range(0));
  long check = 0;
  with_pool(state, workers_only(), [&](rankpool::Pool& pool) {
    std::vector<rankpool::AsyncResult<long>> results;
    results.reserve(burst);
    auto t0 = Clock::now();
    for (std::size_t i = 0; i < burst; ++i) results.push_back(pool.apply_async(square, 3L));
    for (auto& r : results) check += r.get();
    return seconds_since(t0);
  });
  if (world_rank() == 0 && check != 9 * static_cast<long>(burst) * state.iterations())
    abort_all("pool/apply_async_burst: wrong results");
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(pool_apply_async_burst)->Name("pool/apply_async_burst")->Arg(64)->UseManualTime();

constexpr long kMapItems = 16384;

long expected_sum(long n) {
  long s = 0;
  for (long x = 0; x < n; ++x) s += x * x;
  return s;
}

void pool_map(benchmark::State& state) {
  const std::int64_t chunksize = state.range(0);
  bool ok = true;
  with_pool(state, rankpool::PoolOptions{}, [&](rankpool::Pool& pool) {
    auto t0 = Clock::now();
    auto out = chunksize == 0 ? pool.map(square, rankpool::range(0L, kMapItems))
                              : pool.map(square, rankpool::range(0L, kMapItems), chunksize);
    double t = seconds_since(t0);
    ok = ok && out.size() == static_cast<std::size_t>(kMapItems) &&
         out.back() == square(kMapItems - 1);
    return t;
  });
  if (!ok) abort_all("pool/map: wrong results");
  state.SetItemsProcessed(state.iterations() * kMapItems);
}
BENCHMARK(pool_map)
    ->Name("pool/map")
    ->ArgName("chunksize")
    ->Arg(1)
    ->Arg(16)
    ->Arg(256)
    ->Arg(0)  // no chunksize: the default schedule (guided chunks shrinking to 1)
    ->UseManualTime();

void pool_imap(benchmark::State& state) {
  const std::int64_t chunksize = state.range(0);
  const long want = expected_sum(kMapItems);
  bool ok = true;
  with_pool(state, rankpool::PoolOptions{}, [&](rankpool::Pool& pool) {
    auto t0 = Clock::now();
    long sum = 0;
    for (long r : pool.imap(square, rankpool::range(0L, kMapItems), chunksize)) sum += r;
    double t = seconds_since(t0);
    ok = ok && sum == want;
    return t;
  });
  if (!ok) abort_all("pool/imap: wrong results");
  state.SetItemsProcessed(state.iterations() * kMapItems);
}
BENCHMARK(pool_imap)->Name("pool/imap")->ArgName("chunksize")->Arg(1)->Arg(64)->UseManualTime();

/// Rank 0's reporter prints; the others get this one.
class NullReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = world_rank();
  // Ranks other than 0 write no file: drop their --benchmark_out* arguments, and clear a
  // BENCHMARK_OUT from the environment with an explicit empty --benchmark_out=.
  std::vector<char*> args;
  static char no_out[] = "--benchmark_out=";
  for (int i = 0; i < argc; ++i) {
    if (rank != 0 && std::strncmp(argv[i], "--benchmark_out", 15) == 0) continue;
    args.push_back(argv[i]);
  }
  if (rank != 0) args.push_back(no_out);
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) {
    MPI_Finalize();
    return 2;
  }
  NullReporter silent;
  if (rank == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  benchmark::Shutdown();
  MPI_Finalize();
  return 0;
}

#pragma once
// Binding a pool's ranks at start-up (run()): every rank learns its index among the ranks of its
// node (MPI_Comm_split_type, MPI_COMM_TYPE_SHARED), the PUs it may use and the binding it
// already has, computes its place with place() (detail/topology.hpp), and binds the thread that
// runs the pool there. Its previous binding comes back when run() returns.
//
//  - A launcher that already bound the ranks (the thread's binding is narrower than the allowed
//    PUs on some rank of the node, e.g. mpirun --bind-to core) is kept: binding "launcher".
//  - More ranks on a node than places: nobody on that node is bound, and rank 0 prints one
//    warning per process (stderr).
//  - --rankpool-report-binding / --rankpool-binding-json: every rank's placement is gathered to
//    rank 0, which prints one line per rank (stderr, rank order) and/or writes the JSON file.

#include <string>

#include "rankpool/detail/topology.hpp"
#include "rankpool/detail/transport.hpp"
#include "rankpool/options.hpp"

namespace rankpool::detail {

class RankBinding {
 public:
  /// Collective over transport's communicator. Learns where this rank may run and computes its
  /// placement; binds nothing. Never throws for bad input: see error().
  RankBinding(const Transport& transport, const ResolvedOptions& options);
  /// Gives the thread back the binding it had before apply().
  ~RankBinding();
  RankBinding(const RankBinding&) = delete;
  RankBinding& operator=(const RankBinding&) = delete;

  /// Why this rank cannot be placed (ValueError text naming the host and the numbers), or "".
  const std::string& error() const { return error_; }

  /// Collective; call only if no rank has an error(). Binds, warns, reports, and records the
  /// placement for current_process().
  void apply(const Transport& transport, const ResolvedOptions& options);

  const Placement& placement() const { return placement_; }

 private:
  const Topology* topology_ = nullptr;  // this node's, loaded once per process
  Placement placement_;
  PuList original_;  // the thread's binding before apply()
  bool bound_ = false;
  int local_rank_ = 0;
  int local_count_ = 1;
  std::string error_;
  std::string json_path_;  // rank 0: where the JSON report goes, checked writable
};

/// Collective: the non-empty `text` of the lowest rank that has one, on every rank ("" if none).
std::string first_message(const Transport& transport, const std::string& text);

/// One rank's placement as a line of the --rankpool-report-binding text (without newline).
std::string binding_line(int rank, const std::string& host, const Placement& placement,
                         BindPolicy policy);

}  // namespace rankpool::detail

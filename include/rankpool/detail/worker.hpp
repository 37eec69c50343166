#pragma once
// The worker side: every rank but the master serves tasks here until the master shuts it down.

#include "rankpool/detail/transport.hpp"

namespace rankpool::detail {

/// Serves tasks from the master until it sends shutdown; returns the master's exit code.
int serve(Transport& transport);

/// Records who runs here (for current_process()).
void set_current_process(int rank, const std::string& host);

struct Placement;
/// Records where this process runs (current_process()'s package, numa, cores, ...).
void set_current_placement(const Placement& placement, int threads_per_worker);
/// Forgets it (when run() returns and the binding is given back).
void clear_current_placement();

}  // namespace rankpool::detail

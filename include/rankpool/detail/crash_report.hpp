#pragma once
// Last words of a rank that dies. Without isolation a crashing task takes its MPI rank down and
// the launcher (mpirun, srun) ends the whole job; these reports make sure the job's log says
// which rank, on which host, was running which inputs:
//  - a rank killed by a fatal signal it can catch (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT)
//    writes "rankpool: rank R (host H) died of signal S while running job J chunk C (inputs
//    B..E)" before dying of that signal;
//  - the master, when the launcher stops it with SIGTERM (it does after any rank died, SIGKILL
//    and the OOM killer included, and at a time limit), writes which inputs were in flight on
//    which rank, unless the program had its own SIGTERM handler (it then reports for itself).
// A handler writes its report and hands the signal to what was installed before it (Open MPI's
// backtrace printer, a program's own handler), or to the default action; a handler the program
// installs later replaces it. Everything a handler reads is prepared beforehand; it only calls
// write(2), sigaction and raise.

#include <cstdint>
#include <string>
#include <vector>

namespace rankpool::detail {

/// Installs the fatal-signal report for this rank (and, on rank 0, the SIGTERM in-flight
/// report). `hosts` holds every rank's host name (only rank 0 uses the others).
void install_crash_report(int rank, const std::vector<std::string>& hosts);
/// Restores the default dispositions that install_crash_report changed.
void uninstall_crash_report();

/// What this rank is running now (shown if it dies). count 0: nothing.
void note_running(std::uint64_t job, std::uint64_t chunk, std::uint64_t begin, std::uint64_t count);

/// Master: chunk sent to `rank` / finished by it (the SIGTERM report lists those in flight).
void board_add(int rank, std::uint64_t job, std::uint64_t chunk, std::uint64_t begin,
               std::uint64_t count);
void board_remove(int rank, std::uint64_t job, std::uint64_t chunk);

}  // namespace rankpool::detail

// Shared by the master and the workers: running shipped code and describing its exceptions.

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

#include "rankpool/detail/callable.hpp"
#include "rankpool/detail/topology.hpp"
#include "rankpool/detail/worker.hpp"
#include "rankpool/error.hpp"
#include "rankpool/process_info.hpp"

namespace rankpool {

namespace {
ProcessInfo& process_info() {
  static ProcessInfo info = [] {
    ProcessInfo i;
    i.name = "MainProcess";
    return i;
  }();
  return info;
}
}  // namespace

const ProcessInfo& current_process() {
  return process_info();
}

namespace detail {

void set_current_process(int rank, const std::string& host) {
  auto& info = process_info();
  info.rank = rank;
  info.host = host;
  info.name = rank == 0 ? "MainProcess" : "Worker-" + std::to_string(rank);
}

void set_current_placement(const Placement& placement, int threads_per_worker) {
  auto& info = process_info();
  info.package = placement.packages.size() == 1 ? placement.packages[0] : -1;
  info.numa = placement.numa_nodes.size() == 1 ? placement.numa_nodes[0] : -1;
  info.cores = placement.cores;
  info.pus = placement.pus;
  info.binding = placement.binding;
  info.threads_per_worker = threads_per_worker;
}

void clear_current_placement() {
  set_current_placement(Placement{}, 1);
  process_info().binding.clear();
}

namespace {
std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}
}  // namespace

void describe_current_exception(std::string& type_name, std::string& message) {
  try {
    throw;
  } catch (const RemoteError& e) {
    type_name = e.type_name();
    message = e.remote_message();
  } catch (const std::exception& e) {
    type_name = demangle(typeid(e).name());
    message = e.what();
  } catch (const std::string& s) {
    type_name = "std::string";
    message = s;
  } catch (const char* s) {
    type_name = "const char*";
    message = s;
  } catch (...) {
    std::type_info* t = abi::__cxa_current_exception_type();
    type_name = t ? demangle(t->name()) : "unknown exception";
    message = "(an exception that is not a std::exception)";
  }
}

void run_shipped_call(const ShippedCall& call) {
  TaskContext ctx;
  ctx.input = call.args.data();
  ctx.input_size = call.args.size();
  ctx.callable = call.callable.data();
  ctx.callable_size = call.callable.size();
  call.local(ctx);
}

}  // namespace detail
}  // namespace rankpool

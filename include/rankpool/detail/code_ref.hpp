#pragma once
// Code references that survive ASLR: a function's address travels between ranks as
// (module key, offset inside that module). Every rank runs the same binary, so the same offset
// in the same module names the same function, wherever the loader put the module.

#include <cstdint>

namespace rankpool::detail {

struct CodeRef {
  std::uint64_t module = 0;  // hash of the module's file name (see code_ref.cpp)
  std::uint64_t offset = 0;  // address minus the module's load base
};

/// The reference for an address of code in any module loaded in this process.
/// Throws rankpool::Error when the address lies in no loaded module.
CodeRef code_ref_of_address(std::uintptr_t address);

/// The address a reference names in this process. Throws rankpool::CommunicationError when the
/// module is not loaded here (ranks running different programs).
std::uintptr_t resolve_address(const CodeRef& ref);

template <class Fn>
CodeRef code_ref_of(Fn* function) {
  return code_ref_of_address(reinterpret_cast<std::uintptr_t>(function));
}

template <class Fn>
Fn* resolve_function(const CodeRef& ref) {
  return reinterpret_cast<Fn*>(resolve_address(ref));
}

/// A 64-bit fingerprint of this build: the GNU build-id of the main program and of the module
/// holding rankpool (or, without a build-id, their file sizes). Equal on every rank of a job that
/// runs the same build.
std::uint64_t build_fingerprint();

/// FNV-1a, used for module keys and fingerprints.
std::uint64_t fnv1a(const void* data, std::size_t size,
                    std::uint64_t seed = 1469598103934665603ull);

}  // namespace rankpool::detail

#include "rankpool/detail/code_ref.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "rankpool/error.hpp"

namespace rankpool::detail {

std::uint64_t fnv1a(const void* data, std::size_t size, std::uint64_t seed) {
  auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = seed;
  for (std::size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

namespace {

// Modules are keyed by the base name of the file dladdr reports, so that the same build installed
// under different directories on different nodes still matches.
std::uint64_t module_key(const char* file_name) {
  std::string name = file_name ? file_name : "";
  auto slash = name.rfind('/');
  if (slash != std::string::npos) name = name.substr(slash + 1);
  return fnv1a(name.data(), name.size());
}

struct ModuleTable {
  std::mutex mutex;
  std::unordered_map<std::uint64_t, std::uintptr_t> base_by_key;

  static int visit(dl_phdr_info* info, std::size_t, void* data) {
    auto* table = static_cast<ModuleTable*>(data);
    for (int i = 0; i < info->dlpi_phnum; ++i) {
      if (info->dlpi_phdr[i].p_type != PT_LOAD) continue;
      Dl_info dl{};
      auto addr = static_cast<std::uintptr_t>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
      if (dladdr(reinterpret_cast<void*>(addr), &dl) && dl.dli_fbase) {
        table->base_by_key.emplace(module_key(dl.dli_fname),
                                   reinterpret_cast<std::uintptr_t>(dl.dli_fbase));
      }
      break;
    }
    return 0;
  }

  void rebuild() {
    base_by_key.clear();
    dl_iterate_phdr(&ModuleTable::visit, this);
  }
};

ModuleTable& modules() {
  static ModuleTable table;
  return table;
}

struct BuildIdSearch {
  std::uintptr_t wanted_base;  // 0: the main program (first entry)
  bool first = true;
  std::uint64_t hash = 0;
  bool found = false;
};

int find_build_id(dl_phdr_info* info, std::size_t, void* data) {
  auto* search = static_cast<BuildIdSearch*>(data);
  bool is_main = search->first;
  search->first = false;
  if (search->wanted_base == 0 ? !is_main : info->dlpi_addr != search->wanted_base) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    auto* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
    auto* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const char* name = p + sizeof(ElfW(Nhdr));
      const char* desc = name + ((note->n_namesz + 3) & ~3u);
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
          std::memcmp(name, "GNU", 4) == 0) {
        search->hash = fnv1a(desc, note->n_descsz);
        search->found = true;
        return 1;
      }
      p = desc + ((note->n_descsz + 3) & ~3u);
    }
  }
  return 1;
}

std::uint64_t file_size_hash(const char* path) {
  struct stat st {};
  if (stat(path, &st) != 0) return 0;
  auto size = static_cast<std::uint64_t>(st.st_size);
  return fnv1a(&size, sizeof size);
}

CodeRef uncached_code_ref(std::uintptr_t address) {
  Dl_info dl{};
  if (!dladdr(reinterpret_cast<void*>(address), &dl) || !dl.dli_fbase) {
    throw Error("rankpool: cannot locate the code at address " + std::to_string(address) +
                " in any loaded module; only functions compiled into the program or its shared "
                "libraries can be shipped to other ranks");
  }
  return CodeRef{module_key(dl.dli_fname),
                 address - reinterpret_cast<std::uintptr_t>(dl.dli_fbase)};
}

// Every job asks for its executor's CodeRef (and a plain function's own), and dladdr searches the
// loaded modules' symbol tables each time: most of the master's CPU time in an apply round trip
// (perf, rankpool-microbench pool/apply). So CodeRefs are cached by address. An address can only
// change modules when a module was unloaded: the cache is dropped when glibc's count of unloads
// (dlpi_subs, read from the first dl_iterate_phdr entry) has moved.
struct RefCache {
  std::mutex mutex;
  unsigned long long unloads = 0;
  std::unordered_map<std::uintptr_t, CodeRef> by_address;
};

int read_unloads(dl_phdr_info* info, std::size_t size, void* data) {
  if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
    *static_cast<unsigned long long*>(data) = info->dlpi_subs;
  }
  return 1;  // the counters are the same in every entry: the first is enough
}

}  // namespace

CodeRef code_ref_of_address(std::uintptr_t address) {
  static RefCache cache;
  unsigned long long unloads = 0;
  dl_iterate_phdr(&read_unloads, &unloads);
  std::lock_guard<std::mutex> lock(cache.mutex);
  if (unloads != cache.unloads) {
    cache.by_address.clear();
    cache.unloads = unloads;
  }
  auto it = cache.by_address.find(address);
  if (it != cache.by_address.end()) return it->second;
  CodeRef ref = uncached_code_ref(address);  // throws for an address in no module: not cached
  cache.by_address.emplace(address, ref);
  return ref;
}

std::uintptr_t resolve_address(const CodeRef& ref) {
  auto& table = modules();
  std::lock_guard<std::mutex> lock(table.mutex);
  auto it = table.base_by_key.find(ref.module);
  if (it == table.base_by_key.end()) {
    table.rebuild();  // a library may have been loaded since the last look
    it = table.base_by_key.find(ref.module);
  }
  if (it == table.base_by_key.end()) {
    throw CommunicationError(
        "rankpool: a task names code in a module that is not loaded on this rank; every rank "
        "must run the same program built the same way (check the mpirun command line)");
  }
  return it->second + ref.offset;
}

std::uint64_t build_fingerprint() {
  std::uint64_t fp = 1469598103934665603ull;
  BuildIdSearch main_search{0};
  dl_iterate_phdr(&find_build_id, &main_search);
  std::uint64_t main_id = main_search.found ? main_search.hash : file_size_hash("/proc/self/exe");
  fp = fnv1a(&main_id, sizeof main_id, fp);

  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&build_fingerprint), &self) && self.dli_fname) {
    link_map* map = nullptr;
    void* handle = dlopen(self.dli_fname, RTLD_NOLOAD | RTLD_LAZY);
    if (handle && dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_addr != 0) {
      BuildIdSearch lib_search{static_cast<std::uintptr_t>(map->l_addr)};
      dl_iterate_phdr(&find_build_id, &lib_search);
      std::uint64_t lib_id = lib_search.found ? lib_search.hash : file_size_hash(self.dli_fname);
      fp = fnv1a(&lib_id, sizeof lib_id, fp);
    }
    if (handle) dlclose(handle);
  }
  return fp;
}

}  // namespace rankpool::detail

#include "engine/host_memory.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <vector>

namespace gf {
namespace {

// A limit file's value in bytes; 0 for "max", v1's "unlimited" (2^63 rounded
// down to a page) and anything unreadable.
uint64_t read_limit(const std::string& file) {
  std::ifstream in(file);
  std::string word;
  if (!(in >> word) || word.empty() || word.find_first_not_of("0123456789") != std::string::npos) return 0;
  try {
    const unsigned long long v = std::stoull(word);
    return v >= (1ull << 62) ? 0 : v;
  } catch (const std::exception&) {
    return 0;
  }
}

// "/a/b" -> "/a/b", "/a", "" (the mount's root): a group and its ancestors,
// each of which may hold a limit.
std::vector<std::string> self_and_ancestors(std::string path) {
  std::vector<std::string> out;
  while (!path.empty() && path.back() == '/') path.pop_back();
  for (;;) {
    out.push_back(path);
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos || path.empty()) break;
    path.resize(slash);
  }
  return out;
}

// Every folder that may hold a memory limit of this process's control
// groups, each group and its ancestors: fn(folder, v2). /proc/self/cgroup:
// "hierarchy-id:controllers:path", one line per hierarchy; v2's is
// "0::path". Inside a container with its own cgroup namespace the path is
// "/" and the container's limit sits at the mount's root, which the walk up
// reaches either way.
void each_memory_group(const std::string& root, const std::function<void(const std::string&, bool)>& fn) {
  std::ifstream groups(root + "/proc/self/cgroup");
  for (std::string line; std::getline(groups, line);) {
    const size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (controllers.empty()) {  // v2: mounted alone, or beside v1 under unified/
      for (const char* mount : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"})
        for (const auto& g : self_and_ancestors(path)) fn(root + mount + g, true);
      continue;
    }
    std::stringstream list(controllers);
    for (std::string c; std::getline(list, c, ',');)
      if (c == "memory")
        for (const auto& g : self_and_ancestors(path)) fn(root + "/sys/fs/cgroup/memory" + g, false);
  }
}

// An address-space limit (ulimit -v, a batch scheduler's vmem limit): what
// is left of it past what this process has mapped already, since an
// allocation beyond it fails as one past the RAM would. 0: no limit.
uint64_t address_space_left(const std::string& root) {
  rlimit as{};
  if (::getrlimit(RLIMIT_AS, &as) != 0 || as.rlim_cur == RLIM_INFINITY) return 0;
  const long page = ::sysconf(_SC_PAGE_SIZE);
  uint64_t mapped_pages = 0;
  std::ifstream statm(root + "/proc/self/statm");
  statm >> mapped_pages;
  const uint64_t mapped = mapped_pages * uint64_t(page > 0 ? page : 4096);
  return uint64_t(as.rlim_cur) > mapped ? uint64_t(as.rlim_cur) - mapped : 1;
}

// The values of `keys` in a "key value" file (memory.stat, in bytes, or
// /proc/meminfo, in kB: `scale` 1024), in the keys' order; nullopt unless
// all are there.
std::optional<std::vector<uint64_t>> read_fields(const std::string& file, const std::vector<std::string>& keys,
                                                 uint64_t scale) {
  std::ifstream in(file);
  std::vector<uint64_t> values(keys.size());
  size_t found = 0;
  for (std::string key; in >> key;) {
    unsigned long long v = 0;
    if (!(in >> v)) break;
    if (!key.empty() && key.back() == ':') key.pop_back();
    for (size_t k = 0; k < keys.size(); ++k)
      if (keys[k] == key) values[k] = uint64_t(v) * scale, ++found;
    in.ignore(1 << 20, '\n');  // meminfo's "kB"
  }
  if (found != keys.size()) return std::nullopt;
  return values;
}

// ZFS's cache (the ARC) gives memory back under pressure as the page cache
// does, but MemAvailable leaves it out: its size past its floor c_min, from
// /proc/spl/kstat/zfs/arcstats ("name type data" rows); 0 without ZFS.
uint64_t zfs_arc_reclaimable(const std::string& root) {
  std::ifstream in(root + "/proc/spl/kstat/zfs/arcstats");
  uint64_t size = 0, c_min = 0;
  bool have_size = false, have_min = false;
  for (std::string line; std::getline(in, line);) {
    std::istringstream row(line);
    std::string name, type;
    unsigned long long v = 0;
    if (!(row >> name >> type >> v)) continue;
    if (name == "size") size = v, have_size = true;
    if (name == "c_min") c_min = v, have_min = true;
  }
  return have_size && have_min && size > c_min ? size - c_min : 0;
}

}  // namespace

HostMemory usable_host_memory(const std::string& root) {
  HostMemory m;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0) {
    m.bytes = uint64_t(pages) * uint64_t(page);
    m.limited = "physical memory";
  }
  auto consider = [&](const std::string& file) {
    const uint64_t v = read_limit(file);
    if (v > 0 && (m.bytes == 0 || v < m.bytes)) {
      m.bytes = v;
      m.limited = file.substr(root.size());
    }
  };
  each_memory_group(root, [&](const std::string& dir, bool v2) {
    consider(dir + (v2 ? "/memory.max" : "/memory.limit_in_bytes"));
  });
  const uint64_t left = address_space_left(root);
  if (left > 0 && (m.bytes == 0 || left < m.bytes)) {
    m.bytes = left;
    m.limited = "the address-space limit, ulimit -v";
  }
  return m;
}

HostMemory available_host_memory(const std::string& root) {
  HostMemory m{UINT64_MAX, ""};
  auto take = [&](uint64_t bytes, const std::string& why) {
    if (bytes < m.bytes) m = {bytes, why};
  };
  uint64_t swap_free = 0;
  if (const auto mem = read_fields(root + "/proc/meminfo", {"MemAvailable", "SwapFree"}, 1024)) {
    swap_free = (*mem)[1];
    take((*mem)[0] + swap_free + zfs_arc_reclaimable(root), "/proc/meminfo (MemAvailable + SwapFree)");
  }
  auto rest = [](uint64_t limit, uint64_t used) { return limit > used ? limit - used : 0; };
  each_memory_group(root, [&](const std::string& dir, bool v2) {
    const std::string limit_file = dir + (v2 ? "/memory.max" : "/memory.limit_in_bytes");
    const uint64_t limit = read_limit(limit_file);
    if (limit == 0) return;  // no limit here
    const uint64_t used = read_limit(dir + (v2 ? "/memory.current" : "/memory.usage_in_bytes"));
    using Keys = std::vector<std::string>;
    const Keys file_keys = v2 ? Keys{"active_file", "inactive_file"} : Keys{"total_active_file", "total_inactive_file"};
    const auto file = read_fields(dir + "/memory.stat", file_keys, 1);
    const uint64_t file_pages = file ? (*file)[0] + (*file)[1] : 0;
    const uint64_t held = used > file_pages ? used - file_pages : 0;  // what the kernel cannot take back
    // Past its memory limit a group swaps (where the machine has swap)
    // before the OOM killer comes: the swap it may still use counts too.
    uint64_t swap = swap_free;
    if (v2) {  // memory.swap.max: "max", a limit, or no file (swap not accounted)
      const uint64_t swap_limit = read_limit(dir + "/memory.swap.max");
      if (swap_limit > 0) swap = std::min(swap, rest(swap_limit, read_limit(dir + "/memory.swap.current")));
      std::ifstream zero(dir + "/memory.swap.max");
      std::string word;
      if (zero >> word && word == "0") swap = 0;
    }
    uint64_t left = rest(limit, held) + swap;
    if (!v2) {  // v1 may cap memory and swap together
      const uint64_t both = read_limit(dir + "/memory.memsw.limit_in_bytes");
      if (both > 0) {
        const uint64_t both_used = read_limit(dir + "/memory.memsw.usage_in_bytes");
        left = std::min(left, rest(both, both_used > file_pages ? both_used - file_pages : 0));
      }
    }
    take(left, limit_file.substr(root.size()));
  });
  const uint64_t left = address_space_left(root);
  if (left > 0) take(left, "the address-space limit, ulimit -v");
  return m;
}

}  // namespace gf

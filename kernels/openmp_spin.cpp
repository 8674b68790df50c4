#include "kernels/openmp_spin.h"

#include <omp.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace gf::cpu {

void prefer_short_openmp_spin() {
  if (std::getenv("GOMP_SPINCOUNT") || std::getenv("OMP_WAIT_POLICY")) return;  // the user's choice
  if (omp_get_max_threads() < 2) return;  // no team, no barrier to wait at
  const char* preload = std::getenv("LD_PRELOAD");
  if (preload && std::strstr(preload, "vgpreload")) return;  // running under valgrind
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (all.empty()) return;
  // The arguments, each ended by a NUL.
  if (all.back() != '\0') all.push_back('\0');
  std::vector<char*> argv;
  for (size_t i = 0; i < all.size(); i += std::strlen(&all[i]) + 1) argv.push_back(&all[i]);
  argv.push_back(nullptr);
  if (setenv("GOMP_SPINCOUNT", kShortSpinCount, 1) != 0) return;
  execv("/proc/self/exe", argv.data());
  unsetenv("GOMP_SPINCOUNT");  // the exec failed: this process keeps libgomp's default
}

const char* openmp_spin_count() {
  const char* v = std::getenv("GOMP_SPINCOUNT");
  return v ? v : "";
}

}  // namespace gf::cpu

#include "engine/allocator.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define GF_ASAN_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define GF_ASAN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define GF_ASAN_POISON(p, n) ((void)(p), (void)(n))
#define GF_ASAN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#include "engine/error.h"
#include "engine/host_memory.h"
#include "kernels/cuda_runtime.h"

namespace gf {

namespace {
std::atomic<bool> g_poison{[] {
  const char* e = std::getenv("GF_POISON_ALLOCATIONS");
  return e && std::strcmp(e, "0") != 0 && *e;
}()};
}  // namespace

// Host blocks this large are checked against the memory available before
// they are taken and faulted in when they are (host_raw_alloc): the reading
// costs less than touching them, and a block not yet touched is not counted
// as taken by the next reading (two blocks of 5 and 6 GB passed a reading of
// 10 GB, and the process was killed filling them).
constexpr size_t kLargeHostBlock = size_t(64) << 20;

// A fresh block's pages faulted in now, the whole block (a later request
// of its size class may use all of it): the work the first writes would do,
// done where the next reading of the available memory sees it.
// MADV_POPULATE_WRITE (Linux 5.14) over its whole pages, else a write per page.
static void fault_in(void* p, size_t bytes) {
  const uintptr_t page = uintptr_t(::sysconf(_SC_PAGE_SIZE) > 0 ? ::sysconf(_SC_PAGE_SIZE) : 4096);
  const uintptr_t begin = reinterpret_cast<uintptr_t>(p), end = begin + bytes;
  const uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
#ifdef MADV_POPULATE_WRITE
  if (last > first && ::madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE) == 0) {
    static_cast<volatile char*>(p)[0] = 0;  // the partial pages at both ends
    static_cast<volatile char*>(p)[bytes - 1] = 0;
    return;
  }
#endif
  for (uintptr_t a = begin; a < end; a = (a / page + 1) * page) *reinterpret_cast<volatile char*>(a) = 0;
  static_cast<volatile char*>(p)[bytes - 1] = 0;
}

// This thread's innermost CpuGrowthCap; null: none.
thread_local CpuGrowthCap* t_growth_cap = nullptr;

void set_poison_allocations(bool on) { g_poison.store(on); }
bool poison_allocations() { return g_poison.load(std::memory_order_relaxed); }

CachingAllocator::CachingAllocator(RawAlloc alloc, RawFree free, std::string name, Fill fill, bool host_memory)
    : raw_alloc_(std::move(alloc)),
      raw_free_(std::move(free)),
      fill_(std::move(fill)),
      host_memory_(host_memory),
      name_(std::move(name)) {}

CachingAllocator::~CachingAllocator() {
  // Blocks still live at exit belong to static tensors; the process is ending.
  try {
    empty_cache();
  } catch (...) {
  }
}

size_t CachingAllocator::round_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  constexpr size_t kSmall = size_t(1) << 20;
  if (bytes <= kSmall) return (bytes + 511) / 512 * 512;
  size_t pow2 = kSmall;
  while (pow2 * 2 < bytes) pow2 *= 2;  // pow2 < bytes <= 2*pow2
  size_t step = pow2 / 8;
  return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t bytes) {
  void* p = nullptr;
  size_t got = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    p = take(bytes, &got);
  }
  if (host_memory_) GF_ASAN_POISON(static_cast<char*>(p) + bytes, got - bytes);
  if (fill_ && poison_allocations()) fill_(p, 0xFF, bytes);
  return p;
}

void* CachingAllocator::take(size_t bytes, size_t* got_out) {
  const size_t size = round_size(bytes);
  // Best fit among cached blocks, but never more than twice the request.
  auto it = free_.lower_bound(size);
  void* p = nullptr;
  size_t got = size;
  const bool hit = it != free_.end() && it->first <= 2 * size;
  if (t_growth_cap && this == &cpu_allocator()) {  // charged what it would be handed
    const size_t block = hit ? it->first : size;
    if (block > t_growth_cap->growth_ - t_growth_cap->charged_) throw Error(t_growth_cap->what_);
    t_growth_cap->charged_ += block;
  }
  if (hit) {
    p = it->second;
    got = it->first;
    free_.erase(it);
    stats_.cached -= got;
    stats_.cache_hits++;
  } else {
    try {
      p = raw_alloc_(size);
    } catch (const std::bad_alloc&) {
      // Give the cache back and try once more before reporting.
      for (auto& kv : free_) {
        raw_free_(kv.second);
        stats_.raw_frees++;
      }
      free_.clear();
      stats_.cached = 0;
      try {
        p = raw_alloc_(size);
      } catch (const std::bad_alloc&) {
        std::string why = std::to_string(stats_.in_use) + " in use";
        if (this == &cpu_allocator()) {  // not the emulator's device memory
          const HostMemory free = available_host_memory();
          if (free.bytes != UINT64_MAX) why += "; " + std::to_string(free.bytes) + " available by " + free.limited;
        }
        throw Error(name_ + ": out of memory allocating " + std::to_string(size) + " bytes (" + why + ")");
      }
    }
    stats_.raw_allocs++;
  }
  live_[p] = got;
  stats_.in_use += got;
  if (stats_.in_use > stats_.peak_in_use) stats_.peak_in_use = stats_.in_use;
  *got_out = got;
  return p;
}

void CachingAllocator::release(void* p) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(p);
  if (it == live_.end()) throw Error(name_ + ": release of a pointer it did not allocate");
  size_t size = it->second;
  if (t_growth_cap && this == &cpu_allocator())  // released on the capped thread
    t_growth_cap->charged_ -= std::min(size, t_growth_cap->charged_);
  if (host_memory_) GF_ASAN_UNPOISON(p, size);
  live_.erase(it);
  stats_.in_use -= size;
  free_.emplace(size, p);
  stats_.cached += size;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& kv : free_) {
    raw_free_(kv.second);
    stats_.raw_frees++;
  }
  free_.clear();
  stats_.cached = 0;
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

CpuGrowthCap::CpuGrowthCap(size_t growth, std::string what)
    : what_(std::move(what)), growth_(growth), previous_(t_growth_cap) {
  t_growth_cap = this;
}

CpuGrowthCap::~CpuGrowthCap() {
  t_growth_cap = previous_;
  if (previous_) previous_->charged_ += charged_;  // what the inner scope still holds is the outer's too
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_in_use = stats_.in_use;
}

void* host_raw_alloc(size_t n, const std::function<HostMemory()>& available) {
  if (n >= kLargeHostBlock && n > available().bytes) throw std::bad_alloc();
  void* p = std::aligned_alloc(64, n);  // round_size keeps n a multiple of 512
  if (!p) throw std::bad_alloc();
  if (n >= kLargeHostBlock) fault_in(p, n);
  return p;
}

CachingAllocator& cpu_allocator() {
  static CachingAllocator a(
      [](size_t n) { return host_raw_alloc(n, [] { return available_host_memory(); }); },
      [](void* p) { std::free(p); }, "cpu allocator",
      [](void* p, unsigned char value, size_t n) { std::memset(p, value, n); }, true);
  return a;
}

CachingAllocator& cuda_allocator(int index) {
#ifdef GF_WITH_CUDA
  static std::mutex m;
  static std::map<int, std::unique_ptr<CachingAllocator>> all;
  std::lock_guard<std::mutex> lock(m);
  auto& a = all[index];
  if (!a)
    a = std::make_unique<CachingAllocator>(
        [index](size_t n) { return cuda::raw_malloc(n, index); }, [index](void* p) { cuda::raw_free(p, index); },
        "cuda:" + std::to_string(index) + " allocator",
        [index](void* p, unsigned char value, size_t n) { cuda::fill_bytes(p, value, n, index); },
#ifdef GF_CUDA_EMU
        true);  // the emulator's device memory is host memory
#else
        false);
#endif
  return *a;
#else
  throw Error("cuda allocator: this build of ganforge has no CUDA backend (device " +
              std::to_string(index) + ")");
#endif
}

}  // namespace gf

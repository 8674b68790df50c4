#include "engine/allocator.h"

#include <cstdlib>
#include <memory>
#include <new>

#include "engine/error.h"
#include "kernels/cuda_runtime.h"

namespace gf {

CachingAllocator::CachingAllocator(RawAlloc alloc, RawFree free, std::string name)
    : raw_alloc_(std::move(alloc)), raw_free_(std::move(free)), name_(std::move(name)) {}

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
  const size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  // Best fit among cached blocks, but never more than twice the request.
  auto it = free_.lower_bound(size);
  void* p = nullptr;
  size_t got = size;
  if (it != free_.end() && it->first <= 2 * size) {
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
        throw Error(name_ + ": out of memory allocating " + std::to_string(size) + " bytes (" +
                    std::to_string(stats_.in_use) + " in use)");
      }
    }
    stats_.raw_allocs++;
  }
  live_[p] = got;
  stats_.in_use += got;
  if (stats_.in_use > stats_.peak_in_use) stats_.peak_in_use = stats_.in_use;
  return p;
}

void CachingAllocator::release(void* p) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(p);
  if (it == live_.end()) throw Error(name_ + ": release of a pointer it did not allocate");
  size_t size = it->second;
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

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_in_use = stats_.in_use;
}

CachingAllocator& cpu_allocator() {
  static CachingAllocator a(
      [](size_t n) {
        void* p = std::aligned_alloc(64, n);  // round_size keeps n a multiple of 512
        if (!p) throw std::bad_alloc();
        return p;
      },
      [](void* p) { std::free(p); }, "cpu allocator");
  return a;
}

CachingAllocator& cuda_allocator(int index) {
#ifdef GF_WITH_CUDA
  static std::mutex m;
  static std::map<int, std::unique_ptr<CachingAllocator>> all;
  std::lock_guard<std::mutex> lock(m);
  auto& a = all[index];
  if (!a)
    a = std::make_unique<CachingAllocator>([index](size_t n) { return cuda::raw_malloc(n, index); },
                                           [index](void* p) { cuda::raw_free(p, index); },
                                           "cuda:" + std::to_string(index) + " allocator");
  return *a;
#else
  throw Error("cuda allocator: this build of ganforge has no CUDA backend (device " +
              std::to_string(index) + ")");
#endif
}

}  // namespace gf

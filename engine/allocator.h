// Caching allocator: size-binned free lists over a raw allocate/free pair.
// Device memory goes through one of these per CUDA device, so cudaMalloc runs
// only while the working set grows, never in the steady state of a repeated
// computation. All work is ordered on the device's single compute stream, so a
// block freed by the host can be handed out again at once.
// The raw pair is a parameter so the caching logic is testable on the CPU.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

namespace gf {

struct AllocatorStats {
  size_t in_use = 0;         // bytes handed out (rounded sizes)
  size_t peak_in_use = 0;
  size_t cached = 0;         // bytes held in free lists
  size_t raw_allocs = 0;     // calls to the raw allocator (cudaMalloc)
  size_t raw_frees = 0;
  size_t cache_hits = 0;
};

class CachingAllocator {
 public:
  using RawAlloc = std::function<void*(size_t)>;  // throws std::bad_alloc when out of memory
  using RawFree = std::function<void(void*)>;

  CachingAllocator(RawAlloc alloc, RawFree free, std::string name);
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  void* allocate(size_t bytes);
  void release(void* p);
  void empty_cache();  // return every cached block to the raw allocator
  AllocatorStats stats() const;
  void reset_peak();

  // Size class of a request: multiples of 512 B up to 1 MiB, then eight steps
  // per power of two, so repeated shapes land in the same bin.
  static size_t round_size(size_t bytes);

 private:
  RawAlloc raw_alloc_;
  RawFree raw_free_;
  std::string name_;
  mutable std::mutex mutex_;
  std::multimap<size_t, void*> free_;        // size class -> block
  std::map<void*, size_t> live_;             // block -> size class
  AllocatorStats stats_;
};

// The allocator of CUDA device `index` (created on first use).
CachingAllocator& cuda_allocator(int index);
// Host memory goes through one too: fresh large buffers from malloc are new
// mmaps whose page faults cost as much as a memory-bound op itself.
CachingAllocator& cpu_allocator();

}  // namespace gf

// Caching allocator: size-binned free lists over a raw allocate/free pair.
// Device memory goes through one of these per CUDA device, so cudaMalloc runs
// only while the working set grows, never in the steady state of a repeated
// computation. All work is ordered on the device's single compute stream, so a
// block freed by the host can be handed out again at once.
// The raw pair is a parameter so the caching logic is testable on the CPU.
//
// Debug mode (set_poison_allocations; tests/main.cpp turns it on for every
// test, GF_POISON_ALLOCATIONS=1 for any program): each block is filled with
// 0xFF bytes as it is handed out, a NaN in float32 and in float64, so an
// output element a kernel leaves unwritten reads as NaN everywhere, whether
// its block is fresh from the raw allocator or reused from the cache. Under
// AddressSanitizer the bytes between a request's end and its size class's
// end are poisoned for ASan too (host-addressable memory only), so an
// overrun by one element is reported even though the block is larger.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "engine/host_memory.h"
#include "engine/pool.h"

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
  // Fills `bytes` at `p` with the byte `value`, where the memory lives (a
  // memset on the device's stream for CUDA): how debug mode poisons.
  using Fill = std::function<void(void* p, unsigned char value, size_t bytes)>;

  // host_memory: the blocks are addressable by the host (the CPU allocator,
  // and CUDA under the emulator), so ASan may poison their slack.
  CachingAllocator(RawAlloc alloc, RawFree free, std::string name, Fill fill = nullptr, bool host_memory = false);
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

  size_t in_use() const { return stats().in_use; }

 private:
  void* take(size_t bytes, size_t* got);  // allocate's bookkeeping, under the lock

  RawAlloc raw_alloc_;
  RawFree raw_free_;
  Fill fill_;
  bool host_memory_;
  std::string name_;
  mutable std::mutex mutex_;
  // Their nodes come from engine/pool.h: a tensor's life adds and removes
  // one in each, and malloc would serve them in the steady state.
  std::multimap<size_t, void*, std::less<size_t>, pool::Allocator<std::pair<const size_t, void*>>>
      free_;  // size class -> block
  std::map<void*, size_t, std::less<void*>, pool::Allocator<std::pair<void* const, size_t>>> live_;  // block -> size class
  AllocatorStats stats_;
};

// Debug mode of every allocator with a Fill (see above). Off unless the
// environment has GF_POISON_ALLOCATIONS=1, or a program turns it on.
void set_poison_allocations(bool on);
bool poison_allocations();

// The CPU allocator's raw allocation: 64-byte aligned host memory, refused
// (std::bad_alloc) where a block of 64 MiB or more is past what `available`
// says the process may still take (engine/host_memory.h's
// available_host_memory): with the kernel's overcommit such a block was
// handed out, and the process killed without a word when it used it
// (train_stylegan --batch 65536). Refused, the caching allocator gives its
// cache back, retries, then throws its one-line gf::Error. Such a block is
// faulted in when taken, so the next reading counts it.
void* host_raw_alloc(size_t n, const std::function<HostMemory()>& available);

// The allocator of CUDA device `index` (created on first use).
CachingAllocator& cuda_allocator(int index);
// Host memory goes through one too: fresh large buffers from malloc are new
// mmaps whose page faults cost as much as a memory-bound op itself.
CachingAllocator& cpu_allocator();

// While alive, this thread's requests to the CPU allocator throw gf::Error
// "<what>" instead of holding more than `growth` bytes (the blocks this
// thread was handed since the cap's start, less those it released, a cached
// block up to twice a request's size charged whole). Building a network
// from a file's config runs under one sized by the file's tensors
// (models/network_file.h): a 492-byte .bin whose G_kwargs said z_dim
// 16777216 allocated 4 GB before its tensors were compared. Other threads
// are neither capped nor charged (they were charged, through the
// allocator's bytes in use: a valid file was refused as "a damaged or edited
// config?" while another thread worked); on this thread the innermost cap
// holds, and the previous one comes back at its end.
class CpuGrowthCap {
 public:
  CpuGrowthCap(size_t growth, std::string what);
  ~CpuGrowthCap();
  CpuGrowthCap(const CpuGrowthCap&) = delete;
  CpuGrowthCap& operator=(const CpuGrowthCap&) = delete;

 private:
  std::string what_;
  size_t growth_;
  size_t charged_ = 0;  // this thread's bytes held since the start (never below 0)
  CpuGrowthCap* previous_;
  friend class CachingAllocator;
};

}  // namespace gf

// Free lists of small blocks by size class, for the objects the engine makes
// and frees again on every op: tensor impls and storages, shapes, autograd
// nodes and their backward closures, the backward pass's bookkeeping and the
// caching allocator's own index. A training step repeats the same ops, so
// after its first run every such object is a block an earlier op freed, and
// the steady state of a step takes nothing from the system allocator
// (issue 19; tensor storage itself comes from engine/allocator.h).
//
// Each thread keeps its own lists (no lock on the hot path); a block freed on
// another thread joins that thread's lists. A list holds at most
// local_limit_blocks of its class (64 KiB of blocks, at least 4): past that
// the thread moves the older half to a shared list, and a thread whose list
// is empty takes a batch from it before asking malloc, so a thread that only
// frees parks a bounded amount and the rest is reused by the threads that
// allocate (one lock per batch, not per block). A thread that ends hands all
// its blocks to the shared list, so nothing is lost or unreachable. Blocks
// are never returned to the system: the pool holds the peak number of live
// objects of each size class.
// Under AddressSanitizer the pool is bypassed (every block is a fresh
// operator new), so use-after-free of these objects is still reported.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

namespace gf::pool {

// Largest pooled size; larger requests go to operator new directly.
constexpr size_t kMaxPooled = size_t(64) << 10;

// A block of at least `bytes` (16-byte aligned). Never null; throws
// std::bad_alloc when the system has no memory.
void* allocate(size_t bytes);
// Returns a block from allocate(bytes), with the same `bytes`.
void release(void* p, size_t bytes) noexcept;

// Most blocks of the size class of `bytes` one thread keeps to itself after
// freeing them (0 for sizes the pool does not hold, and under ASan).
size_t local_limit_blocks(size_t bytes);

// Process-wide counts, for tests and bench/profile_step.
struct Stats {
  int64_t fresh = 0;  // pooled-size blocks taken from the system (operator new) so far
};
Stats stats();

// A standard allocator over the pool, for containers and allocate_shared.
template <class T>
struct Allocator {
  using value_type = T;
  using is_always_equal = std::true_type;
  using propagate_on_container_move_assignment = std::true_type;
  Allocator() noexcept = default;
  template <class U>
  Allocator(const Allocator<U>&) noexcept {}
  T* allocate(size_t n) {
    static_assert(alignof(T) <= 16, "pool blocks are 16-byte aligned");
    if (n > static_cast<size_t>(-1) / sizeof(T)) throw std::bad_alloc();
    return static_cast<T*>(pool::allocate(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept { pool::release(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const Allocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const Allocator<U>&) const noexcept {
    return false;
  }
};

}  // namespace gf::pool

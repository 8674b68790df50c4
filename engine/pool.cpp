#include "engine/pool.h"

#include <atomic>
#include <mutex>

namespace gf::pool {
namespace {

// Classes: 16-byte steps up to 512 B (shapes, impls, nodes, closures), then
// powers of two up to kMaxPooled (vectors and hash tables of a backward pass).
constexpr int kSmallClasses = 32;
constexpr int kClasses = kSmallClasses + 7;  // 1, 2, 4, ..., 64 KiB
static_assert((size_t(1024) << (kClasses - kSmallClasses - 1)) == kMaxPooled, "class table and kMaxPooled agree");

int class_of(size_t n) {
  if (n <= 512) return n == 0 ? 0 : static_cast<int>((n + 15) / 16) - 1;
  int c = kSmallClasses;
  for (size_t s = 1024; s < n; s <<= 1) ++c;
  return c;
}
size_t class_size(int c) { return c < kSmallClasses ? size_t(c + 1) * 16 : size_t(1024) << (c - kSmallClasses); }

struct Block {
  Block* next;
};

// Blocks of threads that have ended, and of frees after a thread's own
// lists are gone (static destructors). Never destroyed, so always reachable.
struct Shared {
  std::mutex m;
  Block* head[kClasses] = {};
};
Shared& shared() {
  static Shared* s = new Shared;
  return *s;
}

std::atomic<int64_t> g_fresh{0};

struct Local {
  Block* head[kClasses] = {};
  ~Local();
};
thread_local bool t_gone = false;  // this thread's Local is destroyed
thread_local Local t_local;

Local::~Local() {
  t_gone = true;
  Shared& s = shared();
  std::lock_guard<std::mutex> lock(s.m);
  for (int c = 0; c < kClasses; ++c) {
    while (Block* b = head[c]) {
      head[c] = b->next;
      b->next = s.head[c];
      s.head[c] = b;
    }
  }
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kBypass = true;
#else
constexpr bool kBypass = false;
#endif

}  // namespace

void* allocate(size_t bytes) {
  if (kBypass || bytes > kMaxPooled) return ::operator new(bytes);
  const int c = class_of(bytes);
  if (!t_gone) {
    Local& l = t_local;
    if (Block* b = l.head[c]) {
      l.head[c] = b->next;
      return b;
    }
  }
  {
    Shared& s = shared();
    std::lock_guard<std::mutex> lock(s.m);
    if (Block* b = s.head[c]) {
      s.head[c] = b->next;
      return b;
    }
  }
  g_fresh.fetch_add(1, std::memory_order_relaxed);
  return ::operator new(class_size(c));
}

void release(void* p, size_t bytes) noexcept {
  if (!p) return;
  if (kBypass || bytes > kMaxPooled) {
    ::operator delete(p);
    return;
  }
  const int c = class_of(bytes);
  Block* b = static_cast<Block*>(p);
  if (!t_gone) {
    Local& l = t_local;
    b->next = l.head[c];
    l.head[c] = b;
    return;
  }
  Shared& s = shared();
  std::lock_guard<std::mutex> lock(s.m);
  b->next = s.head[c];
  s.head[c] = b;
}

Stats stats() {
  Stats st;
  st.fresh = g_fresh.load(std::memory_order_relaxed);
  return st;
}

}  // namespace gf::pool

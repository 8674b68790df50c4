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

// Most blocks of a class a thread keeps in its own list: beyond it, the
// thread hands the older part of its list to the shared one. A thread that
// only frees (a data loader, a watchdog, a pool worker that ends a tensor's
// life) thus parks at most this many blocks of a class, and the rest is
// reusable by the threads that allocate as soon as it is freed.
constexpr size_t kLocalBytes = size_t(64) << 10;
constexpr uint32_t kLocalMinBlocks = 4;
constexpr uint32_t local_limit_of(int c) {
  const size_t size = c < kSmallClasses ? size_t(c + 1) * 16 : size_t(1024) << (c - kSmallClasses);
  const size_t n = kLocalBytes / size;
  return static_cast<uint32_t>(n < kLocalMinBlocks ? kLocalMinBlocks : n);
}
struct LimitTable {
  uint32_t v[kClasses];
  constexpr LimitTable() : v() {
    for (int c = 0; c < kClasses; ++c) v[c] = local_limit_of(c);
  }
};
constexpr LimitTable kLimits;
inline uint32_t local_limit(int c) { return kLimits.v[c]; }

struct Local {
  Block* head[kClasses] = {};
  uint32_t count[kClasses] = {};
  ~Local();
};
thread_local bool t_gone = false;  // this thread's Local is destroyed
thread_local Local t_local;

// The first `n` blocks of the chain at `head` (which has at least n + 1): the
// last of them, whose next is the rest.
Block* nth_tail(Block* head, uint32_t n) {
  Block* b = head;
  for (uint32_t i = 1; i < n; ++i) b = b->next;
  return b;
}

// The list of class c is over its limit: keep its first (most recently
// freed, still in cache) half and splice the rest onto the shared list,
// one lock for limit/2 frees.
[[gnu::noinline]] void flush(Local& l, int c) {
  const uint32_t keep = local_limit(c) / 2;
  Block* last_kept = nth_tail(l.head[c], keep);
  Block* first = last_kept->next;
  Block* last = first;
  while (last->next) last = last->next;
  last_kept->next = nullptr;
  l.count[c] = keep;
  Shared& s = shared();
  std::lock_guard<std::mutex> lock(s.m);
  last->next = s.head[c];
  s.head[c] = first;
}

// The list of class c is empty: take up to half its limit from the head of
// the shared list, in its order, one lock for that many allocations.
// False when the shared list is empty too.
[[gnu::noinline]] bool refill(Local& l, int c) {
  const uint32_t want = local_limit(c) / 2;
  Shared& s = shared();
  std::lock_guard<std::mutex> lock(s.m);
  Block* first = s.head[c];
  if (!first) return false;
  Block* last = first;
  uint32_t n = 1;
  while (n < want && last->next) {
    last = last->next;
    ++n;
  }
  s.head[c] = last->next;
  last->next = nullptr;
  l.head[c] = first;
  l.count[c] = n;
  return true;
}

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
    count[c] = 0;
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
    if (l.head[c] || refill(l, c)) {
      Block* b = l.head[c];
      l.head[c] = b->next;
      --l.count[c];
      return b;
    }
  } else {
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
    if (++l.count[c] > local_limit(c)) flush(l, c);
    return;
  }
  Shared& s = shared();
  std::lock_guard<std::mutex> lock(s.m);
  b->next = s.head[c];
  s.head[c] = b;
}

size_t local_limit_blocks(size_t bytes) {
  if (kBypass || bytes > kMaxPooled) return 0;
  return local_limit(class_of(bytes));
}

Stats stats() {
  Stats st;
  st.fresh = g_fresh.load(std::memory_order_relaxed);
  return st;
}

}  // namespace gf::pool

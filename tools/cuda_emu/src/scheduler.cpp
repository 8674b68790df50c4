// Runs a grid: blocks one after another on the launching host thread, each
// block's threads as fibers. A thread runs until it reaches a barrier or a
// warp operation that others have not reached yet, or until it exits; then
// the next runnable thread in the chosen order runs. Every misuse a GPU would
// hang on, or answer with undefined values, stops the process with the
// kernel, the launch, the block and thread, and the .cu line.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "fiber.h"
#include "gfemu/control.h"
#include "gfemu/kernel.h"
#include "internal.h"

__thread uint3 threadIdx;
__thread uint3 blockIdx;
__thread dim3 blockDim;
__thread dim3 gridDim;

namespace gfemu {

__thread unsigned long long block_serial = 0;

namespace {

// GFEMU_ORDER=alternate's turns, counted per kernel: its blocks for the
// threads' order, its launches for the blocks' order. Counted over all
// kernels, a one-block kernel launched each time beside another one-block
// launch took the same order every time (a breaker's race went unseen). The
// key is the launch's body, one function per launch site and template
// instantiation (the name leaves template arguments as written: unary_vec_kernel<O, T>
// is every unary op). Each kernel's first turn is forward, the order that
// shows a read before the other threads' writes.
thread_local std::unordered_map<void (*)(void*), unsigned long long> kernel_blocks, kernel_launches;

// The order a block's threads (serial: the kernel's blocks) or a launch's
// blocks (serial: the kernel's launches) take: alternate is forward and
// reversed by turns, forward first.
ThreadOrder concrete(ThreadOrder order, unsigned long long serial) {
  if (order != ThreadOrder::alternate) return order;
  return serial & 1 ? ThreadOrder::reverse : ThreadOrder::forward;
}

std::atomic<uint64_t> c_launches{0}, c_blocks{0}, c_threads{0}, c_barriers{0}, c_warp_ops{0};

// GFEMU_STATS=1: the counters on stderr when the process ends.
const bool g_stats_at_exit = [] {
  const char* e = std::getenv("GFEMU_STATS");
  if (e && *e && std::strcmp(e, "0") != 0)
    std::atexit([] {
      std::fprintf(stderr, "gfemu: %llu launches, %llu blocks, %llu threads, %llu barrier waits, %llu warp operations\n",
                   (unsigned long long)c_launches.load(), (unsigned long long)c_blocks.load(),
                   (unsigned long long)c_threads.load(), (unsigned long long)c_barriers.load(),
                   (unsigned long long)c_warp_ops.load());
    });
  return true;
}();

int initial_order() {
  const char* e = std::getenv("GFEMU_ORDER");
  if (!e || !*e || !std::strcmp(e, "forward")) return static_cast<int>(ThreadOrder::forward);
  if (!std::strcmp(e, "reverse")) return static_cast<int>(ThreadOrder::reverse);
  if (!std::strcmp(e, "shuffle")) return static_cast<int>(ThreadOrder::shuffle);
  if (!std::strcmp(e, "alternate")) return static_cast<int>(ThreadOrder::alternate);
  std::fprintf(stderr, "gfemu: GFEMU_ORDER=%s is not forward, reverse, shuffle or alternate\n", e);
  std::exit(2);
}
std::atomic<int> g_order{initial_order()};

size_t stack_bytes() {
  static const size_t b = [] {
    if (const char* e = std::getenv("GFEMU_STACK_KB")) return static_cast<size_t>(std::atoll(e)) << 10;
#if defined(__SANITIZE_ADDRESS__)
    return size_t(256) << 10;  // instrumented frames are several times larger
#else
    return size_t(64) << 10;
#endif
  }();
  return b;
}

enum class State : uint8_t { ready, barrier, warp, done };

struct Thread {
  Fiber fiber;
  unsigned linear = 0;
  uint3 idx{};
  State state = State::ready;
  unsigned long long barrier_gen = 0;  // the barrier generation it waits to see completed
  // The warp operation it waits in (or last took part in).
  WarpOp op = WarpOp::sync;
  unsigned mask = 0;
  uint64_t value = 0, result = 0;
  int src = -1;
  bool result_ready = false;
  const char* file = "";
  int line = 0;
};

struct Warp {
  unsigned present = 0;  // lanes the block has
  unsigned exited = 0;   // lanes whose thread has returned
  unsigned posted = 0;   // lanes waiting in a warp operation not yet complete
};

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::shfl_idx: return "__shfl_sync";
    case WarpOp::shfl_up: return "__shfl_up_sync";
    case WarpOp::shfl_down: return "__shfl_down_sync";
    case WarpOp::shfl_xor: return "__shfl_xor_sync";
    case WarpOp::sync: return "__syncwarp";
    case WarpOp::ballot: return "__ballot_sync";
    case WarpOp::any: return "__any_sync";
    case WarpOp::all: return "__all_sync";
  }
  return "?";
}

std::string hex(unsigned v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}
// One call site: the same __FILE__ literal is usually the same pointer.
bool same_site(const char* f1, int l1, const char* f2, int l2) {
  return l1 == l2 && (f1 == f2 || std::strcmp(f1, f2) == 0);
}

std::string at(const char* file, int line) { return std::string(file) + ":" + std::to_string(line); }
std::string triple(uint3 v) {
  return "(" + std::to_string(v.x) + "," + std::to_string(v.y) + "," + std::to_string(v.z) + ")";
}

// The grid being run on this host thread, with the state of its current block.
struct Grid {
  const char* kernel = "";
  const char* file = "";
  int line = 0;
  void (*body)(void*) = nullptr;
  void* ctx = nullptr;
  LaunchConfig cfg;
  unsigned nthreads = 0;
  // block
  unsigned live = 0;
  unsigned arrived = 0;
  unsigned long long gen = 0;
  const char* bar_file = "";
  int bar_line = 0;
  unsigned bar_first = 0;  // the thread that opened the current barrier
  BarrierOp bar_op = BarrierOp::sync;
  int bar_acc = 0, bar_result = 0;
  std::vector<Warp> warps;
  std::unique_ptr<unsigned char[]> dyn;
  size_t static_shared = 0;
  Thread* current = nullptr;
  // The pass over the block's threads in the chosen order: position, and
  // whether it found a thread not done / a thread that could run.
  ThreadOrder order = ThreadOrder::forward;
  unsigned long long* turns = nullptr;  // the kernel's count of blocks run (alternate's turns)
  unsigned cursor = 0;
  bool remaining = false, progressed = false, deadlocked = false;
};

struct Scheduler {
  Fiber host;
  std::vector<std::unique_ptr<Thread>> threads;
  Grid* grid = nullptr;
  std::vector<unsigned> order;
  std::mt19937_64 rng{std::getenv("GFEMU_SEED") ? std::strtoull(std::getenv("GFEMU_SEED"), nullptr, 10) : 1};
  ~Scheduler() {
    for (auto& t : threads) fiber_release(t->fiber);
  }
};
// One scheduler per host thread. Reached through a plain __thread pointer:
// a thread_local object with a constructor would go through a TLS init
// wrapper on every access, and this is on every emulated thread's path.
thread_local std::unique_ptr<Scheduler> t_sched_owner;
__thread Scheduler* t_sched_ptr = nullptr;
Scheduler& sched() {
  if (__builtin_expect(!t_sched_ptr, 0)) {
    t_sched_owner = std::make_unique<Scheduler>();
    t_sched_ptr = t_sched_owner.get();
  }
  return *t_sched_ptr;
}

Grid& grid() { return *t_sched_ptr->grid; }

[[noreturn]] void fault(const std::string& what) {
  const Grid& g = grid();
  std::string where = std::string("kernel ") + g.kernel + " (launched at " + at(g.file, g.line) + "), block " +
                      triple(blockIdx);
  if (g.current) where += ", thread " + triple(g.current->idx);
  die(where + ": " + what);
}

Thread* pick_next(Grid& g);

// The running thread waits: the next runnable thread runs in its place, or,
// when none is left (the block is done or deadlocked), the host thread.
// Switching straight from thread to thread halves the switches a return to
// the host in between would cost.
void switch_away(Thread& t) {
  Thread* n = pick_next(grid());
  fiber_switch(t.fiber, n ? n->fiber : sched().host);
}

void yield() { switch_away(*grid().current); }

void thread_main(void* arg);

// The lanes the first `n` threads of warp w have.
unsigned lanes_present(unsigned n, unsigned w) {
  const unsigned first = w * 32;
  return n - first >= 32 ? 0xffffffffu : (1u << (n - first)) - 1;
}

// Everything one lane of a warp operation gets, once all lanes in its mask
// have posted. Called by the last lane to arrive.
void complete_warp_op(unsigned w, unsigned mask) {
  Grid& g = grid();
  auto& th = sched().threads;
  Thread& first = *th[w * 32 + static_cast<unsigned>(__builtin_ctz(mask))];
  uint64_t ballot = 0;
  for (unsigned l = 0; l < 32; ++l) {
    if (!(mask >> l & 1u)) continue;
    const Thread& u = *th[w * 32 + l];
    if (u.mask != mask)
      fault("lanes " + std::to_string(first.linear & 31) + " and " + std::to_string(l) + " of warp " + std::to_string(w) +
            " meet in " + op_name(u.op) + " with different masks (" + hex(first.mask) + " at " +
            at(first.file, first.line) + ", " + hex(u.mask) + " at " + at(u.file, u.line) + ")");
    // Shuffles and votes must be the same intrinsic at the same place in every
    // lane; __syncwarp may be reached from different places.
    if (u.op != first.op || (u.op != WarpOp::sync && !same_site(u.file, u.line, first.file, first.line)))
      fault(std::string("lanes of warp ") + std::to_string(w) + " meet at different warp operations: " +
            op_name(first.op) + " at " + at(first.file, first.line) + " and " + op_name(u.op) + " at " +
            at(u.file, u.line));
    ballot |= (u.value & 1u) << l;
  }
  for (unsigned l = 0; l < 32; ++l) {
    if (!(mask >> l & 1u)) continue;
    Thread& u = *th[w * 32 + l];
    switch (u.op) {
      case WarpOp::ballot: u.result = ballot; break;
      case WarpOp::any: u.result = ballot != 0; break;
      case WarpOp::all: u.result = ballot == mask; break;
      case WarpOp::sync: u.result = 0; break;
      default:
        if (u.src < 0) {
          u.result = u.value;
        } else if (!(mask >> u.src & 1u)) {
          g.current = &u;
          fault(std::string(op_name(u.op)) + " at " + at(u.file, u.line) + ": lane " + std::to_string(l) +
                " reads lane " + std::to_string(u.src) + ", which the mask " + hex(mask) +
                " leaves out (its value is undefined)");
        } else {
          u.result = th[w * 32 + static_cast<unsigned>(u.src)]->value;
        }
    }
    u.result_ready = true;
  }
  g.warps[w].posted &= ~mask;
}

// Called when a thread returns from the kernel.
void thread_exit(Thread& t) {
  Grid& g = grid();
  t.state = State::done;
  --g.live;
  const unsigned w = t.linear >> 5, bit = 1u << (t.linear & 31);
  g.warps[w].exited |= bit;
  if (g.arrived)
    fault("returned while " + std::to_string(g.arrived) + " other threads of the block wait at __syncthreads (" +
          at(g.bar_file, g.bar_line) + "), which it never reached: a barrier must be reached by every thread");
  for (unsigned pending = g.warps[w].posted; pending; pending &= pending - 1) {
    const unsigned l = static_cast<unsigned>(__builtin_ctz(pending));
    const Thread& u = *sched().threads[w * 32 + l];
    if (u.mask & bit)
      fault("returned while lane " + std::to_string(l) + " of its warp waits for it in " + op_name(u.op) + " (" +
            at(u.file, u.line) + ", mask " + hex(u.mask) + ")");
  }
}

void thread_main(void* arg) {
  Thread& t = *static_cast<Thread*>(arg);
  for (;;) {
    try {
      grid().body(grid().ctx);
    } catch (const std::exception& e) {
      fault(std::string("an exception escaped device code: ") + e.what());
    } catch (...) {
      fault("an exception escaped device code");
    }
    thread_exit(t);
    switch_away(t);  // parked until it stands for a thread of the next block
  }
}

bool runnable(const Grid& g, const Thread& t) {
  switch (t.state) {
    case State::ready: return true;
    case State::barrier: return t.barrier_gen != g.gen;
    case State::warp: return t.result_ready;
    case State::done: return false;
  }
  return false;
}

[[noreturn]] void deadlock(Grid& g) {
  std::string m = "deadlock: no thread of the block can go on;";
  int shown = 0;
  for (unsigned i = 0; i < g.nthreads && shown < 4; ++i) {
    const Thread& t = *sched().threads[i];
    if (t.state == State::done) continue;
    ++shown;
    m += " thread " + triple(t.idx) + " waits at ";
    if (t.state == State::barrier) {
      m += "__syncthreads (" + at(g.bar_file, g.bar_line) + ")";
    } else {
      const unsigned w = t.linear >> 5;
      m += std::string(op_name(t.op)) + " (" + at(t.file, t.line) + ") for lanes " +
           hex(t.mask & ~g.warps[w].posted) + " of warp " + std::to_string(w) + ";";
    }
  }
  g.current = nullptr;
  fault(m);
}

// The next thread to run, continuing the pass over the block in the chosen
// order; null when every thread is done, or when a whole pass found none
// that could run (a deadlock, reported by run_block).
Thread* pick_next(Grid& g) {
  Scheduler& s = sched();
  for (;;) {
    while (g.cursor < g.nthreads) {
      Thread& t = *s.threads[s.order[g.cursor++]];
      if (t.state == State::done) continue;
      g.remaining = true;
      if (!runnable(g, t)) continue;
      g.progressed = true;
      t.state = State::ready;
      g.current = &t;
      threadIdx = t.idx;
      return &t;
    }
    if (!g.remaining) return nullptr;
    if (!g.progressed) {
      g.deadlocked = true;
      return nullptr;
    }
    g.cursor = 0;
    g.remaining = g.progressed = false;
    if (g.order == ThreadOrder::shuffle) std::shuffle(s.order.begin(), s.order.begin() + g.nthreads, s.rng);
  }
}

void run_block(Grid& g, uint3 b) {
  Scheduler& s = sched();
  ++block_serial;
  blockIdx = b;
  g.live = g.nthreads;
  g.arrived = 0;
  g.static_shared = 0;
  for (unsigned w = 0; w < g.warps.size(); ++w) g.warps[w] = Warp{lanes_present(g.nthreads, w), 0, 0};
  if (g.cfg.shared_bytes) poison(g.dyn.get(), g.cfg.shared_bytes);
  for (unsigned i = 0; i < g.nthreads; ++i) {
    Thread& t = *s.threads[i];
    t.state = State::ready;
    t.result_ready = false;
  }
  // Alternate: consecutive blocks (of one launch, or one-block launches in
  // turn) run their threads forward and reversed, so one pass over a test
  // suite sees both orders.
  g.order = concrete(static_cast<ThreadOrder>(g_order.load(std::memory_order_relaxed)), (*g.turns)++);
  for (unsigned i = 0; i < g.nthreads; ++i) s.order[i] = g.order == ThreadOrder::reverse ? g.nthreads - 1 - i : i;
  if (g.order == ThreadOrder::shuffle) std::shuffle(s.order.begin(), s.order.begin() + g.nthreads, s.rng);
  g.cursor = 0;
  g.remaining = g.progressed = g.deadlocked = false;
  // The threads pass control among themselves; it comes back here when the
  // block is done or stuck.
  if (Thread* first = pick_next(g)) fiber_switch(s.host, first->fiber);
  g.current = nullptr;
  if (g.deadlocked) deadlock(g);
}

[[noreturn]] void bad_launch_in_device_code() {
  fault("launches a kernel from device code (dynamic parallelism), which the emulator does not support");
}

}  // namespace

// ---- called from kernel code ----

int barrier(BarrierOp op, int pred, const char* file, int line) {
  Grid& g = grid();
  Thread& t = *g.current;
  c_barriers.fetch_add(1, std::memory_order_relaxed);
  if (g.live != g.nthreads)
    fault("__syncthreads at " + at(file, line) + " after " + std::to_string(g.nthreads - g.live) +
          " threads of the block returned: a barrier must be reached by every thread");
  if (g.arrived == 0) {
    g.bar_file = file;
    g.bar_line = line;
    g.bar_op = op;
    g.bar_first = t.linear;
    g.bar_acc = op == BarrierOp::and_ ? 1 : 0;
  } else if (!same_site(file, line, g.bar_file, g.bar_line) || op != g.bar_op) {
    fault("threads of the block meet at different barriers: thread " + triple(g.current->idx) + " at " +
          at(file, line) + ", thread " + std::to_string(g.bar_first) + " (linear) at " + at(g.bar_file, g.bar_line) +
          ": a barrier inside a branch the block does not take together");
  }
  switch (op) {
    case BarrierOp::sync: break;
    case BarrierOp::count: g.bar_acc += pred; break;
    case BarrierOp::and_: g.bar_acc &= pred; break;
    case BarrierOp::or_: g.bar_acc |= pred; break;
  }
  if (++g.arrived == g.live) {  // the last to arrive opens the barrier and goes on
    g.arrived = 0;
    g.bar_result = g.bar_acc;
    ++g.gen;
    return g.bar_result;
  }
  t.state = State::barrier;
  t.barrier_gen = g.gen;
  yield();
  return g.bar_result;
}

uint64_t warp_op(WarpOp op, unsigned mask, uint64_t value, int arg, int width, const char* file, int line) {
  Grid& g = grid();
  Thread& t = *g.current;
  c_warp_ops.fetch_add(1, std::memory_order_relaxed);
  const unsigned lane = t.linear & 31, w = t.linear >> 5, bit = 1u << lane;
  Warp& wp = g.warps[w];
  const bool shuffle = op == WarpOp::shfl_idx || op == WarpOp::shfl_up || op == WarpOp::shfl_down ||
                       op == WarpOp::shfl_xor;
  if (shuffle && (width < 1 || width > 32 || (width & (width - 1))))
    fault(std::string(op_name(op)) + " at " + at(file, line) + ": width " + std::to_string(width) +
          " is not a power of two from 1 to 32");
  if (!(mask & bit))
    fault(std::string(op_name(op)) + " at " + at(file, line) + " called by lane " + std::to_string(lane) +
          ", which its mask " + hex(mask) + " leaves out");
  if (mask & ~wp.present)
    fault(std::string(op_name(op)) + " at " + at(file, line) + ": mask " + hex(mask) + " names lanes " +
          hex(mask & ~wp.present) + " that warp " + std::to_string(w) + " does not have (a block of " +
          std::to_string(g.nthreads) + " threads: its last warp is partial)");
  if (mask & wp.exited)
    fault(std::string(op_name(op)) + " at " + at(file, line) + ": mask " + hex(mask) + " names lanes " +
          hex(mask & wp.exited) + " that have already returned");
  t.op = op;
  t.mask = mask;
  t.value = value;
  t.src = shuffle ? source_lane(op, static_cast<int>(lane), arg, width) : -1;
  t.file = file;
  t.line = line;
  t.result_ready = false;
  wp.posted |= bit;
  if ((wp.posted & mask) == mask) {
    complete_warp_op(w, mask);
  } else {
    t.state = State::warp;
    yield();
  }
  return t.result;
}

unsigned active_mask() {
  const Grid& g = grid();
  const Warp& wp = g.warps[g.current->linear >> 5];
  return wp.present & ~wp.exited;
}

unsigned lane_id() { return grid().current->linear & 31; }

void* dynamic_shared() {
  Grid& g = grid();
  return g.cfg.shared_bytes ? g.dyn.get() : nullptr;
}

void poison(void* p, size_t bytes) { std::memset(p, 0xff, bytes); }

void count_static_shared(size_t bytes, const char* name) {
  Grid& g = grid();
  g.static_shared += bytes;
  const size_t limit = std::max(kSharedPerBlock, std::min(shared_optin_limit(), kSharedPerBlockOptin));
  if (g.static_shared + g.cfg.shared_bytes > limit)
    fault(std::string("__shared__ ") + name + " takes the block's shared memory to " +
          std::to_string(g.static_shared) + " static + " + std::to_string(g.cfg.shared_bytes) + " dynamic bytes, over " +
          std::to_string(limit));
}

// ---- launches ----

void run_grid(const LaunchConfig& cfg, const char* kernel, const char* file, int line, void (*body)(void*),
              void (*check)(void*), void* ctx) {
  Scheduler& s = sched();
  if (s.grid) bad_launch_in_device_code();
  const std::string where = std::string("launch of ") + kernel + " at " + at(file, line) + ": ";
  const dim3 gd = cfg.grid, bd = cfg.block;
  const uint64_t nthreads = uint64_t(bd.x) * bd.y * bd.z;
  auto dims = [](dim3 d) {
    return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " + std::to_string(d.z) + ")";
  };
  // The limits every GPU since sm_30 has; a launch beyond them runs nothing.
  if (!bd.x || !bd.y || !bd.z || bd.x > 1024 || bd.y > 1024 || bd.z > 64 || nthreads > 1024) {
    api_error(cudaErrorInvalidConfiguration,
              where + "block " + dims(bd) + " (" + std::to_string(nthreads) +
                  " threads): each dimension must be 1..1024 (z 1..64) and the product at most 1024");
    return;
  }
  if (!gd.x || !gd.y || !gd.z || gd.x > 2147483647u || gd.y > 65535 || gd.z > 65535) {
    api_error(cudaErrorInvalidConfiguration,
              where + "grid " + dims(gd) + ": x must be 1..2^31-1, y and z 1..65535");
    return;
  }
  const size_t limit = std::max(kSharedPerBlock, std::min(shared_optin_limit(), kSharedPerBlockOptin));
  if (cfg.shared_bytes > limit) {
    api_error(cudaErrorInvalidValue, where + std::to_string(cfg.shared_bytes) +
                                         " bytes of dynamic shared memory, over the " + std::to_string(limit) +
                                         " a block may have" +
                                         (limit == kSharedPerBlock ? " without cudaFuncSetAttribute's opt-in" : ""));
    return;
  }
  const int sdev = stream_device(cfg.stream);
  if (sdev < 0) {
    api_error(cudaErrorInvalidResourceHandle, where + "stream " + format_ptr(cfg.stream) + " is not a live stream");
    return;
  }
  if (sdev != current_device()) {
    api_error(cudaErrorInvalidResourceHandle, where + "the stream belongs to device " + std::to_string(sdev) +
                                                  " but device " + std::to_string(current_device()) +
                                                  " is current (a launch runs on the current device)");
    return;
  }

  check(ctx);
  stream_begin(cfg.stream);  // after the stream's asynchronous work (the emulated NCCL's)

  Grid g;
  g.kernel = kernel;
  g.file = file;
  g.line = line;
  g.body = body;
  g.turns = &kernel_blocks[body];  // looked up once a launch, not per block
  g.ctx = ctx;
  g.cfg = cfg;
  g.nthreads = static_cast<unsigned>(nthreads);
  g.warps.resize((g.nthreads + 31) / 32);
  if (cfg.shared_bytes) g.dyn.reset(new unsigned char[cfg.shared_bytes]);  // exact size: ASan sees overruns
  while (s.threads.size() < g.nthreads) {
    auto t = std::make_unique<Thread>();
    fiber_init(t->fiber, stack_bytes(), &thread_main, t.get());
    s.threads.push_back(std::move(t));
  }
  if (s.order.size() < g.nthreads) s.order.resize(g.nthreads);
  for (unsigned i = 0; i < g.nthreads; ++i) {
    Thread& t = *s.threads[i];
    t.linear = i;
    t.idx = {i % bd.x, (i / bd.x) % bd.y, i / (bd.x * bd.y)};
  }
  blockDim = bd;
  gridDim = gd;
  s.grid = &g;
  c_launches.fetch_add(1, std::memory_order_relaxed);

  // Blocks run one at a time, in linear order, reversed, or in a random
  // permutation (an affine map k -> a*k + c mod n with a coprime to n).
  const uint64_t nblocks = uint64_t(gd.x) * gd.y * gd.z;
  const ThreadOrder order =
      concrete(static_cast<ThreadOrder>(g_order.load(std::memory_order_relaxed)), kernel_launches[body]++);
  uint64_t a = 1, c = 0;
  if (order == ThreadOrder::shuffle && nblocks > 1) {
    auto gcd = [](uint64_t x, uint64_t y) {
      while (y) {
        const uint64_t r = x % y;
        x = y;
        y = r;
      }
      return x;
    };
    do a = 1 + s.rng() % nblocks; while (gcd(a, nblocks) != 1);
    c = s.rng() % nblocks;
  }
  DeviceAccess access;  // the kernel's reads and writes of device memory
  for (uint64_t k = 0; k < nblocks; ++k) {
    uint64_t q = order == ThreadOrder::reverse ? nblocks - 1 - k : k;
    if (order == ThreadOrder::shuffle) q = static_cast<uint64_t>((static_cast<unsigned __int128>(a) * k + c) % nblocks);
    run_block(g, {static_cast<unsigned>(q % gd.x), static_cast<unsigned>(q / gd.x % gd.y),
                  static_cast<unsigned>(q / (uint64_t(gd.x) * gd.y))});
  }
  s.grid = nullptr;
  c_blocks.fetch_add(nblocks, std::memory_order_relaxed);
  c_threads.fetch_add(nblocks * nthreads, std::memory_order_relaxed);
}

// ---- control.h ----

ThreadOrder thread_order() { return static_cast<ThreadOrder>(g_order.load()); }
void set_thread_order(ThreadOrder order) { g_order.store(static_cast<int>(order)); }
Counters counters() {
  Counters c;
  c.launches = c_launches.load();
  c.blocks = c_blocks.load();
  c.threads = c_threads.load();
  c.barriers = c_barriers.load();
  c.warp_ops = c_warp_ops.load();
  return c;
}
const char* context_switch_kind() { return fiber_switch_kind(); }

}  // namespace gfemu

// Controls of the CPU emulator for tests. The environment sets the defaults:
//   GFEMU_ORDER=forward|reverse|shuffle  order in which threads (and blocks) run
//     |alternate                         between synchronization points; alternate:
//                                        forward and reversed by turns, block by block
//                                        (threads) and launch by launch (blocks)
//   GFEMU_SEED=N                         seed of the shuffled order
//   GFEMU_DEVICES=N                      emulated devices (default 1)
//   GFEMU_SMS=N                          multiprocessors each reports (default 4)
//   GFEMU_MEMORY_MB=N                    device memory; cudaMalloc fails beyond it
//   GFEMU_SWITCH=ucontext                portable context switch on x86-64 too
//   GFEMU_STACK_KB=N                     stack of each emulated thread
//   GFEMU_STATS=1                        launches, blocks, threads, barriers and warp operations on stderr at exit
//   GFEMU_NCCL_FAIL_INIT=R               ncclCommInitRank of rank R returns ncclSystemError at once, before
//                                        it reaches the bootstrap root (a rank that cannot start NCCL)
#pragma once
#include <cstdint>

namespace gfemu {

enum class ThreadOrder { forward, reverse, shuffle, alternate };
ThreadOrder thread_order();
void set_thread_order(ThreadOrder order);  // for the launches that follow, on every host thread

struct Counters {
  uint64_t launches = 0, blocks = 0, threads = 0, barriers = 0, warp_ops = 0;
};
Counters counters();  // since the process started, all host threads together

const char* context_switch_kind();  // "x86-64" or "ucontext"

}  // namespace gfemu

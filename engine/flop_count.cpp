#include "engine/flop_count.h"

#include <atomic>

namespace gf::flop_count {

namespace {
std::atomic<uint64_t> g_total{0};
}

void add(uint64_t flops) { g_total.fetch_add(flops, std::memory_order_relaxed); }
uint64_t total() { return g_total.load(std::memory_order_relaxed); }

}  // namespace gf::flop_count

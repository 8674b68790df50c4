// Host entry points of the emulator's self-test kernels (kernels.cu): correct
// kernels of each construct, and kernels with one planted fault each.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace emu_test {

// ---- correct constructs; each returns what the kernel computed ----
// Sum of 256 values by a (32, 8) block through shared memory and a barrier.
float block_sum(const std::vector<float>& x, bool with_barrier);
// Per lane of a 64-thread block: xor-butterfly sum, down-shuffle sum, inclusive
// up-shuffle scan, and lane 3's value broadcast within 16-lane segments.
struct WarpResults {
  std::vector<float> xor_sum, down_sum, scan, broadcast16;
};
WarpResults warp_shuffles(const std::vector<float>& x);
// Per lane of a 32-thread block: __shfl_xor_sync(full, x, 16, 16), a butterfly
// across two 16-lane segments (PTX: valid into an earlier segment).
std::vector<float> xor_across_segments(const std::vector<float>& x);
// Per thread: min(a, b) and max(a, b) of floats (CUDA's fminf / fmaxf).
std::pair<std::vector<float>, std::vector<float>> float_min_max(const std::vector<float>& a, const std::vector<float>& b);
// A 48-thread block: its partial second warp shuffles with mask 0xffff.
std::vector<float> partial_warp_sum(const std::vector<float>& x);
// Votes of a 64-thread block on pred[i]: per lane ballot, any, all; and the
// block's __syncthreads_count/_and/_or.
struct Votes {
  std::vector<unsigned> ballot;
  std::vector<int> any, all;
  int count = 0, and_ = 0, or_ = 0;
};
Votes votes(const std::vector<int>& pred);
// y[i] = x[n - 1 - i] staged through `bytes` of dynamic shared memory, with
// the 48 KiB limit raised by cudaFuncSetAttribute when `opt_in`.
std::vector<float> reverse_through_dynamic_shared(const std::vector<float>& x, size_t bytes, bool opt_in);
// Atomics over a grid of 64 blocks x 128 threads: integer sum, float sum of
// small integers (exact), maximum, and a counter built from atomicCAS.
struct Atomics {
  long long int_sum = 0;
  float float_sum = 0;
  int max = 0;
  unsigned cas_count = 0;
  double double_sum = 0;
};
Atomics atomics();
// Four floats per thread through aligned 16-byte loads: y = 2x.
std::vector<float> vector_load(const std::vector<float>& x);
// Every thread of a (3, 2, 2) grid of (4, 3, 2) blocks writes its global linear
// id at that position; all ids must appear once.
std::vector<int> thread_ids();
// On `device`: copies x there, doubles it in a kernel, copies it to `peer`
// with cudaMemcpyPeerAsync and back to the host.
std::vector<float> double_on_device(const std::vector<float>& x, int device, int peer);
// The current device as another host thread sees it after this one set `device`.
int device_seen_by_other_thread(int device);

// ---- faults: each returns a short text of what the runtime answered (for
// the faults the emulator reports as errors); the fatal ones never return ----
std::string run_fault(const std::string& name);
std::vector<std::string> fault_names();

}  // namespace emu_test

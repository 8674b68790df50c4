// The emulator's self-tests. [construct]: a correct kernel of each construct
// gives the right answer in every thread order. [fault]: each planted fault is
// reported (run in a child process: most faults end it), with the .cu line
// where one exists. Tests that expect an ASan or UBSan report need this binary
// built with them (it always is: see tools/cuda_emu/cuda_emu.cmake).
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <string>

#include <cuda_runtime.h>

#include "gfemu/control.h"
#include "tests/cuda_emu/kernels.h"

using namespace emu_test;

namespace {

struct Child {
  int status = -1;
  std::string output;  // stdout and stderr
  bool exited_ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

// Runs this binary again with `args` (and `env`, e.g. "GFEMU_DEVICES=2 "), capturing its output.
Child run_self(const std::string& args, const std::string& env = "") {
  char exe[4096] = {};
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  REQUIRE(n > 0);
  const std::string cmd = "env " + env + " '" + std::string(exe, static_cast<size_t>(n)) + "' " + args + " 2>&1";
  Child c;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) c.output.append(buf, got);
  c.status = pclose(p);
  return c;
}

// A fault the emulator answers like a GPU: an error code, the process goes on.
void expect_error(const std::string& fault, const std::string& code, const std::string& says,
                  const std::string& env = "") {
  const Child c = run_self("--fault " + fault, env);
  INFO(c.output);
  CHECK(c.exited_ok());
  CHECK(c.output.find("runtime answered " + code) != std::string::npos);
  CHECK(c.output.find(says) != std::string::npos);
}

// Whether `text` holds each of `parts` in order; a part ending in '#' must be
// followed by a digit there (a line number).
bool holds_in_order(const std::string& text, const std::vector<std::string>& parts) {
  size_t pos = 0;
  for (const std::string& p : parts) {
    const bool digit = !p.empty() && p.back() == '#';
    const std::string lit = digit ? p.substr(0, p.size() - 1) : p;
    for (;;) {
      pos = text.find(lit, pos);
      if (pos == std::string::npos) return false;
      pos += lit.size();
      if (!digit || (pos < text.size() && isdigit(static_cast<unsigned char>(text[pos])))) break;
    }
  }
  return true;
}

// A fault that ends the process, with a report holding `parts` in order.
void expect_fatal(const std::string& fault, const std::vector<std::string>& parts, const std::string& env = "") {
  const Child c = run_self("--fault " + fault, env);
  INFO(c.output);
  CHECK_FALSE(c.exited_ok());
  CHECK(c.output.find("runtime answered") == std::string::npos);
  CHECK(holds_in_order(c.output, parts));
}

std::vector<float> iota_floats(size_t n, float start = 1) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

const gfemu::ThreadOrder kOrders[] = {gfemu::ThreadOrder::forward, gfemu::ThreadOrder::reverse,
                                      gfemu::ThreadOrder::shuffle, gfemu::ThreadOrder::alternate};

struct OrderGuard {
  gfemu::ThreadOrder saved = gfemu::thread_order();
  ~OrderGuard() { gfemu::set_thread_order(saved); }
};

}  // namespace

// ---- constructs ----

TEST_CASE("a block reduction through shared memory with a barrier is right in every order", "[construct]") {
  OrderGuard g;
  const auto x = iota_floats(256);
  for (auto o : kOrders) {
    gfemu::set_thread_order(o);
    CHECK(block_sum(x, true) == 256.0f * 257.0f / 2);
  }
}

TEST_CASE("warp shuffles: xor, down, up and indexed within a width", "[construct]") {
  OrderGuard g;
  const auto x = iota_floats(64);
  for (auto o : kOrders) {
    gfemu::set_thread_order(o);
    const WarpResults r = warp_shuffles(x);
    for (int i = 0; i < 64; ++i) {
      const int w = i / 32, lane = i % 32;
      float total = 0, prefix = 0;
      for (int l = 0; l < 32; ++l) total += x[w * 32 + l];
      for (int l = 0; l <= lane; ++l) prefix += x[w * 32 + l];
      INFO("thread " << i);
      CHECK(r.xor_sum[i] == total);
      if (lane == 0) CHECK(r.down_sum[i] == total);
      CHECK(r.scan[i] == prefix);
      CHECK(r.broadcast16[i] == x[(i / 16) * 16 + 3]);
    }
  }
}

TEST_CASE("an xor shuffle of width 16 reads into the earlier segment, as PTX's shfl.bfly", "[construct]") {
  const auto x = iota_floats(32);
  const std::vector<float> y = xor_across_segments(x);
  // Lanes 16..31 read lane - 16 (an earlier segment: valid); lanes 0..15 would
  // read a later segment: their own value.
  for (int i = 0; i < 32; ++i) {
    INFO("lane " << i);
    CHECK(y[i] == x[i < 16 ? i : i - 16]);
  }
}

TEST_CASE("float min and max are fminf and fmaxf: a NaN loses to a number", "[construct]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto [mn, mx] = float_min_max({nan, 1.0f, 2.0f, nan}, {1.0f, nan, -3.0f, nan});
  CHECK(mn[0] == 1.0f);
  CHECK(mx[0] == 1.0f);
  CHECK(mn[1] == 1.0f);
  CHECK(mx[1] == 1.0f);
  CHECK(mn[2] == -3.0f);
  CHECK(mx[2] == 2.0f);
  CHECK(std::isnan(mn[3]));
  CHECK(std::isnan(mx[3]));
}

TEST_CASE("a partial warp shuffles with a mask of its own lanes", "[construct]") {
  const auto x = iota_floats(48);
  const auto y = partial_warp_sum(x);
  for (int i = 0; i < 48; ++i) {
    float want = 0;
    if (i < 32)
      for (int l = 0; l < 32; ++l) want += x[l];
    else
      for (int l = 32; l < 48; ++l) want += x[l];
    CHECK(y[i] == want);
  }
}

TEST_CASE("votes and counting barriers", "[construct]") {
  std::vector<int> p(64, 0);
  for (int i = 0; i < 64; ++i) p[i] = (i % 3 == 0) || i >= 32;  // warp 1: all lanes true
  const Votes v = votes(p);
  unsigned ballot0 = 0;
  for (int l = 0; l < 32; ++l) ballot0 |= unsigned(p[l]) << l;
  for (int i = 0; i < 64; ++i) {
    CHECK(v.ballot[i] == (i < 32 ? ballot0 : 0xffffffffu));
    CHECK(v.any[i] == 1);
    CHECK(v.all[i] == (i < 32 ? 0 : 1));
  }
  CHECK(v.count == std::accumulate(p.begin(), p.end(), 0));
  CHECK(v.and_ == 0);
  CHECK(v.or_ == 1);
}

TEST_CASE("dynamic shared memory, up to 48 KiB and beyond with the opt-in", "[construct]") {
  for (size_t n : {size_t(1000), size_t(16000)}) {
    const auto x = iota_floats(n);
    const auto y = reverse_through_dynamic_shared(x, n * sizeof(float), n * sizeof(float) > 48 * 1024);
    for (size_t i = 0; i < n; ++i) REQUIRE(y[i] == x[n - 1 - i]);
  }
}

TEST_CASE("atomics are exact over many blocks and threads", "[construct]") {
  OrderGuard g;
  for (auto o : kOrders) {
    gfemu::set_thread_order(o);
    const Atomics a = atomics();
    const long long n = 64 * 128;
    CHECK(a.int_sum == n * (n - 1) / 2);
    long long fs = 0;
    int mx = 0;
    for (long long i = 0; i < n; ++i) {
      fs += i % 7;
      mx = std::max<int>(mx, static_cast<int>((i * 37) % 8191));
    }
    CHECK(a.float_sum == static_cast<float>(fs));
    CHECK(a.max == mx);
    CHECK(a.cas_count == n);
    CHECK(a.double_sum == 0.5 * n);
  }
}

TEST_CASE("aligned 16-byte vector loads and stores", "[construct]") {
  const auto x = iota_floats(128);
  const auto y = vector_load(x);
  for (size_t i = 0; i < x.size(); ++i) CHECK(y[i] == 2 * x[i]);
}

TEST_CASE("threadIdx, blockIdx, blockDim and gridDim in three dimensions", "[construct]") {
  OrderGuard g;
  for (auto o : kOrders) {
    gfemu::set_thread_order(o);
    const auto ids = thread_ids();
    for (size_t i = 0; i < ids.size(); ++i) CHECK(ids[i] == static_cast<int>(i));
  }
}

TEST_CASE("two devices: each runs its own launches, peer copies, a current device per host thread", "[construct]") {
  int n = 0;
  REQUIRE(cudaGetDeviceCount(&n) == cudaSuccess);
  INFO("the self-tests run with GFEMU_DEVICES=2 (tools/cuda_emu/cuda_emu.cmake)");
  REQUIRE(n >= 2);
  const auto x = iota_floats(100);
  for (auto [d, p] : {std::pair{0, 1}, std::pair{1, 0}}) {
    const auto y = double_on_device(x, d, p);
    for (size_t i = 0; i < x.size(); ++i) CHECK(y[i] == 2 * x[i]);
  }
  CHECK(device_seen_by_other_thread(1) == 0);  // another thread keeps its own current device
}

TEST_CASE("the portable context switch (ucontext) runs the same kernels", "[switch]") {
  const Child c = run_self("\"[construct]\"", "GFEMU_SWITCH=ucontext GFEMU_DEVICES=2");
  INFO(c.output);
  CHECK(c.exited_ok());
  CHECK(c.output.find("All tests passed") != std::string::npos);
}

// ---- faults ----

TEST_CASE("a barrier not every thread reaches is reported at its line", "[fault]") {
  expect_fatal("divergent_barrier", {"kernels.cu:#", "barrier must be reached by every thread"});
  expect_fatal("divergent_barrier", {"kernels.cu:#", "barrier must be reached by every thread"}, "GFEMU_ORDER=reverse");
  expect_fatal("early_return", {"kernels.cu:#", "barrier must be reached by every thread"});
  expect_fatal("early_return", {"kernels.cu:#", "barrier must be reached by every thread"}, "GFEMU_ORDER=reverse");
  expect_fatal("two_barriers", {"meet at different barriers: ", "kernels.cu:#", "kernels.cu:#"});
}

TEST_CASE("shuffles in a partial warp or outside their mask are reported", "[fault]") {
  expect_fatal("partial_warp_shuffle",
               {"__shfl_xor_sync at ", "kernels.cu:#", "mask 0xffffffff names lanes 0xffff0000 that warp 1 does not have"});
  expect_fatal("shuffle_outside_mask",
               // The first lane past the mask to arrive: 16 in forward order, 31 in reverse.
               {"__shfl_sync at ", "kernels.cu:#", "called by lane #", ", which its mask 0x0000ffff leaves out"});
  expect_fatal("shuffle_reads_outside_mask", {"kernels.cu:#", "reads lane 20, which the mask 0x0000ffff leaves out"});
  expect_fatal("shuffle_deadlock", {"deadlock: ", "waits at "});
}

TEST_CASE("invalid launch configurations fail the launch as on a GPU", "[fault]") {
  expect_error("block_too_large", "cudaErrorInvalidConfiguration", "(2048 threads)");
  expect_error("grid_y_too_large", "cudaErrorInvalidConfiguration", "grid (1, 70000, 1)");
  expect_error("block_z_too_large", "cudaErrorInvalidConfiguration", "block (1, 1, 65)");
  expect_error("stream_of_other_device", "cudaErrorInvalidResourceHandle", "the stream belongs to device 1",
               "GFEMU_DEVICES=2");
}

TEST_CASE("dynamic shared memory over the limit fails the launch", "[fault]") {
  expect_error("dynamic_shared_over_limit", "cudaErrorInvalidValue",
               "65536 bytes of dynamic shared memory, over the 49152 a block may have without cudaFuncSetAttribute");
}

TEST_CASE("a missing barrier is caught in at least one thread order", "[fault]") {
  OrderGuard g;
  const auto x = iota_floats(256);
  const float want = 256.0f * 257.0f / 2;
  gfemu::set_thread_order(gfemu::ThreadOrder::forward);
  const float fwd = block_sum(x, false);
  gfemu::set_thread_order(gfemu::ThreadOrder::reverse);
  const float rev = block_sum(x, false);
  // Forward: thread 0 sums before the others have written (poisoned NaN);
  // reverse: it runs last and happens to see every write.
  CHECK(std::isnan(fwd));
  CHECK(rev == want);
  // Alternate (scripts/test_emulated_cuda.sh's one pass): one-block launches
  // take the two orders in turn, so the same launch twice shows the race once.
  gfemu::set_thread_order(gfemu::ThreadOrder::alternate);
  const float first = block_sum(x, false), second = block_sum(x, false);
  CHECK(std::isnan(first) != std::isnan(second));
  CHECK((std::isnan(first) ? second : first) == want);
  // The turns are the kernel's own: another one-block kernel launched between
  // (an even count of blocks in all) does not pin the racy one to one order.
  const float third = block_sum(x, false);
  CHECK(block_sum(x, true) == want);
  const float fourth = block_sum(x, false);
  CHECK(std::isnan(third) != std::isnan(fourth));
}

TEST_CASE("an out-of-bounds global or shared write is reported by ASan at its .cu line", "[fault]") {
  expect_fatal("out_of_bounds_write", {"heap-buffer-overflow", "WRITE of size 4", "off_by_one_kernel", "kernels.cu:#"});
  // Device allocations are whole pages: past a request that ends inside one,
  // the rest of the page is poisoned (ASan's name for it: use-after-poison).
  expect_fatal("out_of_bounds_write_in_page", {"use-after-poison", "WRITE of size 4", "off_by_one_kernel", "kernels.cu:#"});
  expect_fatal("shared_overrun", {"heap-buffer-overflow", "WRITE of size 4", "shared_overrun_kernel", "kernels.cu:#"});
}

TEST_CASE("a misaligned vector load is reported by UBSan at its .cu line", "[fault]") {
  expect_fatal("misaligned_vector_load", {"kernels.cu:#", "runtime error: ", "misaligned address"});
}

TEST_CASE("copies and memsets are checked for direction and bounds", "[fault]") {
  expect_error("device_pointer_as_host_source", "cudaErrorInvalidValue", "used as a host pointer");
  expect_error("device_pointer_as_host_destination", "cudaErrorInvalidValue", "used as a host pointer");
  expect_error("copy_overruns_allocation", "cudaErrorInvalidValue", "400 bytes at offset 4000 overrun");
  expect_error("memset_overrun", "cudaErrorInvalidValue", "4096 bytes at offset 4 overrun");
  expect_fatal("host_pointer_to_kernel", {"parameter 0 ", "is not device memory: a host pointer passed to a kernel"});
}

TEST_CASE("host code that reads or writes device memory is stopped, naming the allocation", "[fault]") {
  // Outside the emulator's own device work the pages are inaccessible, as
  // device memory is to the host of a GPU (data<T>() of a CUDA tensor).
  for (const char* fault : {"host_reads_device_memory", "host_writes_device_memory"})
    expect_fatal(fault, {"gfemu: host code touched device memory at 0x", "device 0 memory (an allocation of 4096 bytes",
                         "no host address"});
}

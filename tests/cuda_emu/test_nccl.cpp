// The emulated NCCL (tools/cuda_emu/src/nccl.cpp), two ranks as two threads
// of this process on emulated devices 0 and 1 (GFEMU_DEVICES=2): the sum and
// its order, the stream semantics ganforge's communicator relies on (an
// event after the all-reduce stays incomplete until every rank has joined
// it; a stream made to wait for it sees the sum), and the failures: a peer
// that aborts turns into ncclRemoteError naming it, a peer that never comes
// is not detected but ncclCommAbort ends the wait. NCCL_SOCKET_IFNAME picks
// the bootstrap root's address: the id carries that interface's.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <nccl.h>
#include <net/if.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Rank {
  int index = 0;
  ncclComm_t comm = nullptr;
  cudaStream_t comm_stream = nullptr, compute = nullptr;
  float* buf = nullptr;
};

std::vector<float> values(size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = d(g) * 1e3f;
  return v;
}

// Both ranks initialized (ncclCommInitRank blocks until both call it), each
// with its streams and a device buffer of n floats.
void start(Rank (&r)[2], size_t n) {
  ncclUniqueId id;
  REQUIRE(ncclGetUniqueId(&id) == ncclSuccess);
  ncclResult_t res[2];
  std::thread t[2];
  for (int k = 0; k < 2; ++k)
    t[k] = std::thread([&, k] {
      cudaSetDevice(k);
      r[k].index = k;
      res[k] = ncclCommInitRank(&r[k].comm, 2, id, k);
      cudaStreamCreateWithFlags(&r[k].comm_stream, cudaStreamNonBlocking);
      cudaStreamCreateWithFlags(&r[k].compute, cudaStreamNonBlocking);
      cudaMalloc(reinterpret_cast<void**>(&r[k].buf), n * sizeof(float));
    });
  for (auto& x : t) x.join();
  REQUIRE(res[0] == ncclSuccess);
  REQUIRE(res[1] == ncclSuccess);
}

void finish(Rank& r) {
  cudaSetDevice(r.index);
  cudaFree(r.buf);
  cudaStreamDestroy(r.comm_stream);
  cudaStreamDestroy(r.compute);
}

// Rank k's float sum of its n-float buffer, in place, on its communication stream.
ncclResult_t sum_in_place(const Rank& k, size_t n) {
  return ncclAllReduce(k.buf, k.buf, n, ncclFloat32, ncclSum, k.comm, k.comm_stream);
}

// Both communicators destroyed (each must succeed), then each rank's streams and buffer.
void destroy(Rank (&r)[2]) {
  for (Rank& k : r) {
    CHECK(ncclCommDestroy(k.comm) == ncclSuccess);
    finish(k);
  }
}

bool becomes(const std::function<bool()>& pred) {  // within 10 s
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace

TEST_CASE("emulated NCCL: all-reduce sums in rank order, same bits on every rank, in place or not", "[nccl]") {
  const size_t n = 10007;
  Rank r[2];
  start(r, n);
  const std::vector<float> x[2] = {values(n, 1), values(n, 2)};
  std::vector<float> got[2], got_out[2];
  std::vector<double> got64[2];
  std::thread t[2];
  for (int k = 0; k < 2; ++k)
    t[k] = std::thread([&, k] {
      cudaSetDevice(k);
      cudaMemcpy(r[k].buf, x[k].data(), n * sizeof(float), cudaMemcpyHostToDevice);
      float* out = nullptr;
      cudaMalloc(reinterpret_cast<void**>(&out), n * sizeof(float));
      // Out of place first (buf keeps x), then in place.
      CHECK(ncclAllReduce(r[k].buf, out, n, ncclFloat32, ncclSum, r[k].comm, r[k].comm_stream) == ncclSuccess);
      CHECK(ncclAllReduce(r[k].buf, r[k].buf, n, ncclFloat32, ncclSum, r[k].comm, r[k].comm_stream) == ncclSuccess);
      double* d = nullptr;
      const std::vector<double> xd(x[k].begin(), x[k].end());
      cudaMalloc(reinterpret_cast<void**>(&d), n * sizeof(double));
      cudaMemcpy(d, xd.data(), n * sizeof(double), cudaMemcpyHostToDevice);
      CHECK(ncclAllReduce(d, d, n, ncclFloat64, ncclSum, r[k].comm, r[k].comm_stream) == ncclSuccess);
      CHECK(cudaStreamSynchronize(r[k].comm_stream) == cudaSuccess);
      got[k].resize(n);
      got_out[k].resize(n);
      got64[k].resize(n);
      cudaMemcpy(got[k].data(), r[k].buf, n * sizeof(float), cudaMemcpyDeviceToHost);
      cudaMemcpy(got_out[k].data(), out, n * sizeof(float), cudaMemcpyDeviceToHost);
      cudaMemcpy(got64[k].data(), d, n * sizeof(double), cudaMemcpyDeviceToHost);
      cudaFree(out);
      cudaFree(d);
    });
  for (auto& th : t) th.join();
  size_t wrong = 0;
  for (size_t i = 0; i < n; ++i) {
    const float want = x[0][i] + x[1][i];
    const double want64 = double(x[0][i]) + double(x[1][i]);
    for (int k = 0; k < 2; ++k)
      wrong += std::memcmp(&got[k][i], &want, 4) != 0 || std::memcmp(&got_out[k][i], &want, 4) != 0 ||
               got64[k][i] != want64;
  }
  CHECK(wrong == 0);
  destroy(r);
}

TEST_CASE("emulated NCCL: events after an all-reduce complete when every rank has joined it", "[nccl]") {
  const size_t n = 4096;
  Rank r[2];
  start(r, n);
  const std::vector<float> x[2] = {values(n, 3), values(n, 4)};
  for (int k = 0; k < 2; ++k) {
    cudaSetDevice(k);
    cudaMemcpy(r[k].buf, x[k].data(), n * sizeof(float), cudaMemcpyHostToDevice);
  }
  // Rank 0 alone: its all-reduce returns at once and stays in flight.
  cudaSetDevice(0);
  cudaEvent_t done;
  REQUIRE(cudaEventCreateWithFlags(&done, cudaEventDisableTiming) == cudaSuccess);
  REQUIRE(sum_in_place(r[0], n) == ncclSuccess);
  REQUIRE(cudaEventRecord(done, r[0].comm_stream) == cudaSuccess);
  REQUIRE(cudaStreamWaitEvent(r[0].compute, done, 0) == cudaSuccess);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(cudaEventQuery(done) == cudaErrorNotReady);
  CHECK(cudaStreamQuery(r[0].comm_stream) == cudaErrorNotReady);
  CHECK(cudaStreamQuery(r[0].compute) == cudaErrorNotReady);
  CHECK(cudaGetLastError() == cudaSuccess);  // not ready is an answer, not an error
  // The compute stream's next copy waits for the sum: rank 1 joins from another thread.
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cudaSetDevice(1);
    CHECK(sum_in_place(r[1], n) == ncclSuccess);
    cudaStreamSynchronize(r[1].comm_stream);
  });
  std::vector<float> got(n);
  REQUIRE(cudaMemcpyAsync(got.data(), r[0].buf, n * sizeof(float), cudaMemcpyDeviceToHost, r[0].compute) ==
          cudaSuccess);
  late.join();
  size_t wrong = 0;
  for (size_t i = 0; i < n; ++i) wrong += got[i] != x[0][i] + x[1][i];
  CHECK(wrong == 0);
  CHECK(cudaEventQuery(done) == cudaSuccess);
  CHECK(cudaEventDestroy(done) == cudaSuccess);
  destroy(r);
}

TEST_CASE("emulated NCCL: a peer that aborts is an async error naming it; abort ends the wait", "[nccl]") {
  const size_t n = 1000;
  Rank r[2];
  start(r, n);
  cudaSetDevice(0);
  cudaEvent_t done;
  REQUIRE(cudaEventCreate(&done) == cudaSuccess);
  REQUIRE(sum_in_place(r[0], n) == ncclSuccess);
  REQUIRE(cudaEventRecord(done, r[0].comm_stream) == cudaSuccess);
  ncclResult_t e = ncclInternalError;
  REQUIRE(ncclCommGetAsyncError(r[0].comm, &e) == ncclSuccess);
  CHECK(e == ncclSuccess);
  REQUIRE(ncclCommAbort(r[1].comm) == ncclSuccess);  // as a process that dies: its connection closes
  CHECK(becomes([&] { return ncclCommGetAsyncError(r[0].comm, &e) == ncclSuccess && e == ncclRemoteError; }));
  CHECK_THAT(ncclGetLastError(r[0].comm), Catch::Contains("rank 1 closed its connection"));
  CHECK(cudaEventQuery(done) == cudaErrorNotReady);  // the operation never completes, as on a GPU
  CHECK(sum_in_place(r[0], n) == ncclRemoteError);
  REQUIRE(ncclCommAbort(r[0].comm) == ncclSuccess);
  CHECK(cudaEventSynchronize(done) == cudaSuccess);  // the abort ended what the communicator held
  CHECK(cudaEventQuery(done) == cudaSuccess);
  cudaEventDestroy(done);
  for (Rank& k : r) finish(k);
}

TEST_CASE("emulated NCCL: a peer that never comes is not an error, and ncclCommAbort ends the wait", "[nccl]") {
  const size_t n = 1000;
  Rank r[2];
  start(r, n);
  cudaSetDevice(0);
  REQUIRE(sum_in_place(r[0], n) == ncclSuccess);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ncclResult_t e = ncclInternalError;
  REQUIRE(ncclCommGetAsyncError(r[0].comm, &e) == ncclSuccess);
  CHECK(e == ncclSuccess);  // as NCCL: only the caller's timeout sees a stalled peer
  CHECK(cudaStreamQuery(r[0].comm_stream) == cudaErrorNotReady);
  std::thread sync([&] {
    cudaSetDevice(0);
    CHECK(cudaStreamSynchronize(r[0].comm_stream) == cudaSuccess);  // blocked until the abort
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(ncclCommAbort(r[0].comm) == ncclSuccess);
  sync.join();
  cudaSetDevice(1);
  REQUIRE(ncclCommAbort(r[1].comm) == ncclSuccess);
  for (Rank& k : r) finish(k);
}

TEST_CASE("emulated NCCL: bad arguments and mismatched collectives", "[nccl]") {
  const size_t n = 64;
  Rank r[2];
  start(r, n);
  cudaSetDevice(0);
  std::vector<float> host(n);
  CHECK(ncclAllReduce(host.data(), host.data(), n, ncclFloat32, ncclSum, r[0].comm, r[0].comm_stream) ==
        ncclInvalidArgument);
  CHECK(ncclAllReduce(r[0].buf, r[0].buf, n + 1, ncclFloat32, ncclSum, r[0].comm, r[0].comm_stream) ==
        ncclInvalidArgument);  // overruns the allocation
  CHECK(ncclAllReduce(r[0].buf, r[0].buf, n, ncclFloat32, ncclMax, r[0].comm, r[0].comm_stream) ==
        ncclInvalidArgument);
  CHECK(ncclAllReduce(r[0].buf, r[0].buf, n, ncclFloat32, ncclSum, r[0].comm, r[1].compute) ==
        ncclInvalidArgument);  // a stream of the other device
  // Different counts: both ranks learn of it.
  std::thread t[2];
  for (int k = 0; k < 2; ++k)
    t[k] = std::thread([&, k] {
      cudaSetDevice(k);
      CHECK(ncclAllReduce(r[k].buf, r[k].buf, n - k, ncclFloat32, ncclSum, r[k].comm, r[k].comm_stream) ==
            ncclSuccess);
    });
  for (auto& th : t) th.join();
  for (Rank& k : r) {
    ncclResult_t e = ncclSuccess;
    CHECK(becomes([&] { return ncclCommGetAsyncError(k.comm, &e) == ncclSuccess && e == ncclInvalidUsage; }));
    CHECK_THAT(ncclGetLastError(k.comm), Catch::Contains("different collectives"));
  }
  destroy(r);  // a failed communicator: destroyed without waiting
}

namespace {

// The up interfaces with an IPv4 address, in getifaddrs order: {name, address}.
std::vector<std::pair<std::string, std::string>> ipv4_interfaces() {
  std::vector<std::pair<std::string, std::string>> out;
  ifaddrs* all = nullptr;
  REQUIRE(getifaddrs(&all) == 0);
  for (const ifaddrs* i = all; i; i = i->ifa_next)
    if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && (i->ifa_flags & IFF_UP)) {
      char text[INET_ADDRSTRLEN] = "";
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof text);
      out.emplace_back(i->ifa_name, text);
    }
  freeifaddrs(all);
  return out;
}

// The address an id carries under NCCL_SOCKET_IFNAME=spec (after a
// communicator of one rank joined its root there, which ends the root), or
// "error: " and NCCL's last error.
std::string root_address_under(const std::string& spec) {
  setenv("NCCL_SOCKET_IFNAME", spec.c_str(), 1);
  ncclUniqueId id;
  if (ncclGetUniqueId(&id) != ncclSuccess) return std::string("error: ") + ncclGetLastError(nullptr);
  ncclComm_t one = nullptr;
  CHECK(ncclCommInitRank(&one, 1, id, 0) == ncclSuccess);
  CHECK(ncclCommDestroy(one) == ncclSuccess);
  return gfemu::nccl_id_address(id);
}

}  // namespace

TEST_CASE("emulated NCCL: NCCL_SOCKET_IFNAME picks the root's interface; none matching is an error naming it",
          "[nccl]") {
  struct Unset {  // the variable is this process's: leave it unset for the other cases
    ~Unset() { unsetenv("NCCL_SOCKET_IFNAME"); }
  } unset;
  // Unset: loopback. What NCCL_SOCKET_IFNAME picks must differ from that
  // wherever the interfaces allow, so that a variable ignored fails here,
  // on any machine (without namespaces: loopback alone is enough).
  const auto interfaces = ipv4_interfaces();
  auto first = [&](const std::function<bool(const std::string&)>& pick) -> std::string {
    for (const auto& [name, address] : interfaces)
      if (pick(name)) return address;
    return "error";
  };
  auto starts = [](const std::string& name, const std::string& prefix) { return name.rfind(prefix, 0) == 0; };
  CHECK(root_address_under("") == "127.0.0.1");
  CHECK(root_address_under("=lo") == "127.0.0.1");
  // A prefix: "l" matches lo; "=l" names a whole interface, and none is "l".
  CHECK(root_address_under("l") == first([&](const std::string& n) { return starts(n, "l"); }));
  CHECK_THAT(root_address_under("=l"), Catch::StartsWith("error: ") && Catch::Contains("NCCL_SOCKET_IFNAME==l"));
  // "^lo": anything but loopback; an error where loopback is all there is.
  const std::string not_lo = first([&](const std::string& n) { return !starts(n, "lo"); });
  const std::string got = root_address_under("^lo");
  INFO("interfaces: " << interfaces.size() << "; the first not named lo*: " << not_lo);
  if (not_lo == "error") {
    CHECK_THAT(got, Catch::StartsWith("error: ") && Catch::Contains("NCCL_SOCKET_IFNAME=^lo"));
  } else {
    CHECK(got == not_lo);
    CHECK(got != "127.0.0.1");
  }
  for (const auto& [name, address] : interfaces)  // each by its whole name
    if (name != "lo") CHECK(root_address_under("=" + name) == first([&](const std::string& n) { return n == name; }));

  // Two ranks on "=lo" (the namespaced runs of tests/cli/two_machines.sh take
  // a veth interface the same way): the all-reduce works there.
  setenv("NCCL_SOCKET_IFNAME", "=lo", 1);
  const size_t n = 257;
  Rank r[2];
  start(r, n);
  const std::vector<float> x[2] = {values(n, 3), values(n, 4)};
  std::vector<float> got_sum[2];
  std::thread t[2];
  for (int k = 0; k < 2; ++k)
    t[k] = std::thread([&, k] {
      cudaSetDevice(k);
      cudaMemcpy(r[k].buf, x[k].data(), n * sizeof(float), cudaMemcpyHostToDevice);
      CHECK(sum_in_place(r[k], n) == ncclSuccess);
      CHECK(cudaStreamSynchronize(r[k].comm_stream) == cudaSuccess);
      got_sum[k].resize(n);
      cudaMemcpy(got_sum[k].data(), r[k].buf, n * sizeof(float), cudaMemcpyDeviceToHost);
    });
  for (auto& th : t) th.join();
  size_t wrong = 0;
  for (size_t i = 0; i < n; ++i)
    for (int k = 0; k < 2; ++k) wrong += got_sum[k][i] != x[0][i] + x[1][i];
  CHECK(wrong == 0);
  destroy(r);

  setenv("NCCL_SOCKET_IFNAME", "=gfemu-no-such-interface", 1);
  ncclUniqueId id;
  CHECK(ncclGetUniqueId(&id) == ncclSystemError);
  CHECK_THAT(ncclGetLastError(nullptr), Catch::Contains("NCCL_SOCKET_IFNAME==gfemu-no-such-interface"));
}

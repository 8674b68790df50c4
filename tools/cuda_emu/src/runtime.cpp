// The CUDA runtime API on host memory: devices, the current device of each
// host thread, device memory (whole pages, inaccessible to host code outside
// the emulator's device work (DeviceAccess, internal.h), the bytes past the
// request poisoned for ASan, filled with 0xFF so that an element read before
// it is written is NaN), copies and memsets
// checked against the map of allocations, streams and events (synchronous:
// all work has finished when a call returns, but for the emulated NCCL's,
// which streams and events track as Work: internal.h), peer access.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "gfemu/kernel.h"
#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define GFEMU_ASAN_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define GFEMU_ASAN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define GFEMU_ASAN_POISON(p, n) ((void)(p), (void)(n))
#define GFEMU_ASAN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct CUstream_st {
  int device;
  unsigned flags;
  std::vector<gfemu::WorkPtr> pending;  // unfinished work the next operation waits for (under g_mutex)
};
struct CUevent_st {
  int device;
  std::chrono::steady_clock::time_point when;
  bool recorded = false;
  std::vector<gfemu::WorkPtr> pending;  // the stream's unfinished work when recorded (under g_mutex)
};

namespace gfemu {
namespace {

int env_int(const char* name, int fallback, int lo, int hi) {
  const char* e = std::getenv(name);
  if (!e || !*e) return fallback;
  char* end = nullptr;
  const long v = std::strtol(e, &end, 10);
  if (*end || v < lo || v > hi) {
    std::fprintf(stderr, "gfemu: %s=%s is not a whole number from %d to %d\n", name, e, lo, hi);
    std::exit(2);
  }
  return static_cast<int>(v);
}

thread_local cudaError_t t_last_error = cudaSuccess;
thread_local int t_device = 0;
thread_local size_t t_shared_optin = 0;

// The driver's registries. Like a driver's, they outlive the program's own
// static objects (they are never destroyed): device memory, streams and
// handles a program keeps to its end stay reachable through them, so ASan's
// leak check does not count what the program rightly never frees.
template <class T>
T& registry() {
  static T* r = new T();
  return *r;
}
std::mutex g_mutex;  // guards everything below
// Accessors rather than references, so that they work during static initialization too.
std::map<uintptr_t, Allocation>& allocations() { return registry<std::map<uintptr_t, Allocation>>(); }
std::vector<size_t>& in_use() { return registry<std::vector<size_t>>(); }  // bytes allocated, per device
std::set<std::pair<int, int>>& peers() { return registry<std::set<std::pair<int, int>>>(); }  // (device, peer)
std::set<const CUstream_st*>& streams() { return registry<std::set<const CUstream_st*>>(); }
std::set<const CUevent_st*>& events() { return registry<std::set<const CUevent_st*>>(); }

size_t page_bytes() {
  static const size_t p = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return p;
}
// The pages a device allocation of `bytes` spans (it starts at a page).
size_t pages_of(size_t bytes) { return (std::max<size_t>(bytes, 1) + page_bytes() - 1) / page_bytes() * page_bytes(); }

// Host code may not touch device memory (internal.h, DeviceAccess). Device
// allocations are inaccessible (PROT_NONE) at rest. The emulator's device
// work runs inside a DeviceAccess on its thread (t_device_work); its first
// touch of an allocation faults, and the SIGSEGV handler makes that
// allocation accessible and lets the access run again (opened()). When the
// last DeviceAccess of the process closes, what was opened is made
// inaccessible again. So a launch pays for the allocations it touches, not
// for all there are. A touch from a thread outside device work is named and
// ends the process.
int g_device_access = 0;  // DeviceAccess scopes open, all threads (under g_mutex)
thread_local int t_device_work = 0;
// The allocations opened since the count was last 0: their bases (under
// g_mutex). A type of its own: registry() keeps one object per type, and
// in_use()'s is a vector of size_t.
struct Opened {
  std::vector<uintptr_t> bases;
};
std::vector<uintptr_t>& opened() { return registry<Opened>().bases; }

// a's pages made accessible or not (no system call when they are already);
// false where the kernel refuses (ENOMEM: past vm.max_map_count mappings),
// and a is then left accessible, unguarded.
bool protect_locked(Allocation& a, bool accessible) {
  if (!a.guarded) return false;
  if (a.open == accessible) return true;
  if (::mprotect(reinterpret_cast<void*>(a.base), pages_of(a.bytes), accessible ? PROT_READ | PROT_WRITE : PROT_NONE) == 0) {
    a.open = accessible;
    return true;
  }
  if (!accessible) ::mprotect(reinterpret_cast<void*>(a.base), pages_of(a.bytes), PROT_READ | PROT_WRITE);
  a.guarded = a.open = false;
  return false;
}

// a opened for the device work under way, once, and listed for the close.
void open_locked(Allocation& a) {
  if (a.guarded && !a.open && protect_locked(a, true)) opened().push_back(a.base);
}

// The device allocation whose pages hold address a (under g_mutex).
Allocation* page_owner_locked(uintptr_t a) {
  auto it = allocations().upper_bound(a);
  if (it == allocations().begin()) return nullptr;
  Allocation& al = std::prev(it)->second;
  return al.device >= 0 && a < al.base + pages_of(al.bytes) ? &al : nullptr;
}

// SIGSEGV: device work's first touch of an allocation opens it; host code's
// touch is named here, then handed to the handler before this one (ASan's
// report and stack), or the default action.
struct sigaction g_segv_before;
std::string describe(const Allocation& al);

void on_segv(int sig, siginfo_t* info, void* context) {
  // A lock and, on the way out, a string: never held or made by the code a
  // fault interrupts here (device work runs without g_mutex).
  std::string line;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (Allocation* al = page_owner_locked(reinterpret_cast<uintptr_t>(info->si_addr)); al && al->guarded) {
      if (t_device_work > 0) {
        open_locked(*al);
        return;  // the access runs again, on accessible pages
      }
      line = "gfemu: host code touched device memory at " + format_ptr(info->si_addr) + ", " + describe(*al) +
             ": on a GPU a device pointer is no host address (copy it to the host first: cudaMemcpy, "
             "Tensor::to(Device::cpu()))\n";
    }
  }
  if (!line.empty() && ::write(2, line.data(), line.size()) < 0) {
  }
  if (g_segv_before.sa_flags & SA_SIGINFO) {
    if (g_segv_before.sa_sigaction) return g_segv_before.sa_sigaction(sig, info, context);
  } else if (g_segv_before.sa_handler != SIG_DFL && g_segv_before.sa_handler != SIG_IGN) {
    return g_segv_before.sa_handler(sig);
  }
  ::signal(SIGSEGV, SIG_DFL);  // the access runs again and ends the process by the signal
}

// Once, at the first device allocation: the SIGSEGV handler, and device
// memory made accessible at exit (LeakSanitizer's scan at exit reads it).
void install_device_memory_guards() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGSEGV, &sa, &g_segv_before);
    std::atexit([] {
      std::lock_guard<std::mutex> lock(g_mutex);
      for (auto& entry : allocations())
        if (entry.second.device >= 0) protect_locked(entry.second, true), entry.second.guarded = false;
    });
  });
}

size_t memory_limit() {
  static const size_t m = size_t(env_int("GFEMU_MEMORY_MB", 16 * 1024, 1, 1 << 24)) << 20;
  return m;
}

// The allocation containing p (or ending at p), under g_mutex.
const Allocation* lookup(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = allocations().upper_bound(a);
  if (it == allocations().begin()) return nullptr;
  --it;
  return a <= it->second.base + it->second.bytes ? &it->second : nullptr;
}

std::string describe(const Allocation& al) {
  return (al.device >= 0 ? "device " + std::to_string(al.device) + " memory" : std::string("pinned host memory")) +
         " (an allocation of " + std::to_string(al.bytes) + " bytes at " +
         format_ptr(reinterpret_cast<void*>(al.base)) + ")";
}

const char* kind_name(cudaMemcpyKind k) {
  switch (k) {
    case cudaMemcpyHostToHost: return "cudaMemcpyHostToHost";
    case cudaMemcpyHostToDevice: return "cudaMemcpyHostToDevice";
    case cudaMemcpyDeviceToHost: return "cudaMemcpyDeviceToHost";
    case cudaMemcpyDeviceToDevice: return "cudaMemcpyDeviceToDevice";
    case cudaMemcpyDefault: return "cudaMemcpyDefault";
  }
  return "an unknown copy kind";
}

// Whether [p, p + bytes) touches device memory at all (a host range must not).
bool overlaps_device(const void* p, size_t bytes, Allocation* hit) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p), e = a + std::max<size_t>(bytes, 1);
  auto it = allocations().upper_bound(a);
  if (it != allocations().begin()) {
    auto prev = std::prev(it);
    if (prev->second.device >= 0 && a < prev->second.base + prev->second.bytes) {
      *hit = prev->second;
      return true;
    }
  }
  for (; it != allocations().end() && it->first < e; ++it)
    if (it->second.device >= 0) {
      *hit = it->second;
      return true;
    }
  return false;
}

std::string check_range_locked(const void* p, size_t bytes, int device) {
  const Allocation* al = lookup(p);
  if (!al || al->device < 0) return format_ptr(p) + " is not device memory";
  const uintptr_t off = reinterpret_cast<uintptr_t>(p) - al->base;
  if (bytes > al->bytes - off)
    return std::to_string(bytes) + " bytes at offset " + std::to_string(off) + " overrun " + describe(*al);
  if (device >= 0 && al->device != device)
    return format_ptr(p) + " is " + describe(*al) + ", not device " + std::to_string(device) + "'s";
  return {};
}

cudaError_t check_device_arg(int device, const char* call) {
  if (device < 0 || device >= device_count())
    return api_error(cudaErrorInvalidDevice, std::string(call) + ": device " + std::to_string(device) +
                                                 " does not exist (" + std::to_string(device_count()) +
                                                 " emulated; GFEMU_DEVICES sets the count)");
  return cudaSuccess;
}

// Drops what has finished; under g_mutex.
void prune(std::vector<WorkPtr>& v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](const WorkPtr& w) { return w->done(); }), v.end());
}

void wait_all(const std::vector<WorkPtr>& v) {
  for (const WorkPtr& w : v) w->wait();
}

cudaError_t copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream,
                 const char* call) {
  if (stream_device(stream) < 0)
    return api_error(cudaErrorInvalidResourceHandle, std::string(call) + ": " + format_ptr(stream) +
                                                         " is not a live stream");
  stream_begin(stream);
  if (bytes == 0) return cudaSuccess;
  std::unique_lock<std::mutex> lock(g_mutex);
  Allocation hit;
  const bool dst_dev = overlaps_device(dst, bytes, &hit), src_dev = overlaps_device(src, bytes, &hit);
  bool want_dst_dev = false, want_src_dev = false;
  switch (kind) {
    case cudaMemcpyHostToHost: break;
    case cudaMemcpyHostToDevice: want_dst_dev = true; break;
    case cudaMemcpyDeviceToHost: want_src_dev = true; break;
    case cudaMemcpyDeviceToDevice: want_dst_dev = want_src_dev = true; break;
    case cudaMemcpyDefault: want_dst_dev = dst_dev; want_src_dev = src_dev; break;
    default:
      lock.unlock();
      return api_error(cudaErrorInvalidMemcpyDirection, std::string(call) + ": copy kind " +
                                                            std::to_string(static_cast<int>(kind)) + " does not exist");
  }
  auto side = [&](const void* p, bool want_dev, bool is_dev, const char* role) -> std::string {
    if (want_dev) {
      const std::string why = check_range_locked(p, bytes, -1);
      return why.empty() ? why : std::string(role) + " " + why;
    }
    if (is_dev) {
      Allocation a;
      overlaps_device(p, bytes, &a);
      return std::string(role) + " " + format_ptr(p) + " is " + describe(a) +
             ", used as a host pointer: a device pointer in a host slot of the copy";
    }
    return {};
  };
  std::string why = side(dst, want_dst_dev, dst_dev, "destination");
  if (why.empty()) why = side(src, want_src_dev, src_dev, "source");
  if (!why.empty()) {
    lock.unlock();
    return api_error(cudaErrorInvalidValue, std::string(call) + "(" + kind_name(kind) + ", " + std::to_string(bytes) +
                                                " bytes): " + why);
  }
  lock.unlock();
  DeviceAccess access;
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t memset_checked(void* dst, int value, size_t bytes, cudaStream_t stream, const char* call) {
  if (stream_device(stream) < 0)
    return api_error(cudaErrorInvalidResourceHandle, std::string(call) + ": " + format_ptr(stream) +
                                                         " is not a live stream");
  stream_begin(stream);
  if (bytes == 0) return cudaSuccess;
  std::string why;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    why = check_range_locked(dst, bytes, -1);
  }
  if (!why.empty()) return api_error(cudaErrorInvalidValue, std::string(call) + ": destination " + why);
  DeviceAccess access;
  std::memset(dst, value, bytes);
  return cudaSuccess;
}

}  // namespace

// ---- internal.h ----

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "gfemu: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

cudaError_t api_error(cudaError_t e, const std::string& message, bool quiet) {
  t_last_error = e;
  if (!quiet) std::fprintf(stderr, "gfemu: %s (%s)\n", message.c_str(), cudaGetErrorName(e));
  return e;
}

std::string format_ptr(const void* p) {
  char b[32];
  std::snprintf(b, sizeof b, "%p", p);
  return b;
}

int device_count() {
  static const int n = env_int("GFEMU_DEVICES", 1, 1, 64);
  return n;
}
int sm_count() {
  static const int n = env_int("GFEMU_SMS", 4, 1, 1024);
  return n;
}
int current_device() { return t_device; }
bool peer_enabled(int device, int peer) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return peers().count({device, peer}) != 0;
}
size_t shared_optin_limit() { return t_shared_optin; }

DeviceAccess::DeviceAccess() {
  std::lock_guard<std::mutex> lock(g_mutex);
  ++g_device_access;
  ++t_device_work;
}

DeviceAccess::~DeviceAccess() {
  std::lock_guard<std::mutex> lock(g_mutex);
  --t_device_work;
  if (--g_device_access > 0) return;
  for (uintptr_t base : opened())
    if (auto it = allocations().find(base); it != allocations().end()) protect_locked(it->second, false);
  opened().clear();
}

void DeviceAccess::open(const void* p) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (Allocation* al = page_owner_locked(reinterpret_cast<uintptr_t>(p))) open_locked(*al);
}

bool find_allocation(const void* p, Allocation* out) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const Allocation* a = lookup(p);
  if (a) *out = *a;
  return a != nullptr;
}

std::string check_device_range(const void* p, size_t bytes, int device) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return check_range_locked(p, bytes, device);
}

void keep_handle(const void* handle) {
  std::lock_guard<std::mutex> lock(g_mutex);
  registry<std::set<const void*>>().insert(handle);
}

void drop_handle(const void* handle) {
  std::lock_guard<std::mutex> lock(g_mutex);
  registry<std::set<const void*>>().erase(handle);
}

int stream_device(cudaStream_t s) {
  if (!s) return t_device;
  std::lock_guard<std::mutex> lock(g_mutex);
  return streams().count(s) ? s->device : -1;
}

void Work::finish() {
  {
    std::lock_guard<std::mutex> lock(m_);
    done_ = true;
    at_ = std::chrono::steady_clock::now();
  }
  cv_.notify_all();
}
bool Work::done() const {
  std::lock_guard<std::mutex> lock(m_);
  return done_;
}
void Work::wait() const {
  std::unique_lock<std::mutex> lock(m_);
  cv_.wait(lock, [this] { return done_; });
}
std::chrono::steady_clock::time_point Work::finished_at() const {
  std::lock_guard<std::mutex> lock(m_);
  return at_;
}

bool stream_enqueue(cudaStream_t s, const WorkPtr& w, std::vector<WorkPtr>* deps) {
  // The null stream takes no asynchronous work here (the emulated NCCL is
  // given the communicator's own stream); its operations wait at once.
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!s || !streams().count(s)) return false;
  prune(s->pending);
  *deps = s->pending;
  s->pending.assign(1, w);  // what came before w is done when w is (it waited for it)
  return true;
}

void stream_begin(cudaStream_t s) {
  std::vector<WorkPtr> v;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!s || !streams().count(s)) return;
    prune(s->pending);
    v = s->pending;
  }
  wait_all(v);
}

void check_pointer_param(const void* p, size_t index, const char* kernel) {
  // Null, and offsets from null (a workspace pointer left null when unused), are never dereferenced.
  if (reinterpret_cast<uintptr_t>(p) < (uintptr_t(1) << 20)) return;
  Allocation a;
  const std::string what = std::string("launch of ") + kernel + ": parameter " + std::to_string(index) + " (" +
                           format_ptr(p) + ") ";
  if (!find_allocation(p, &a))
    die(what + "is not device memory: a host pointer passed to a kernel (an illegal address on a GPU)");
  if (a.device >= 0 && a.device != t_device && !peer_enabled(t_device, a.device))
    die(what + "is " + describe(a) + ", but the kernel runs on device " + std::to_string(t_device) +
        ", which has no peer access to it");
}

}  // namespace gfemu

using namespace gfemu;

// ---- devices ----

cudaError_t cudaGetDeviceCount(int* count) {
  *count = device_count();
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  *device = t_device;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (cudaError_t e = check_device_arg(device, "cudaSetDevice")) return e;
  t_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (cudaError_t e = check_device_arg(device, "cudaGetDeviceProperties")) return e;
  *p = cudaDeviceProp{};
  std::snprintf(p->name, sizeof p->name, "gfemu CPU emulator, device %d", device);
  p->totalGlobalMem = memory_limit();
  p->sharedMemPerBlock = kSharedPerBlock;
  p->sharedMemPerBlockOptin = kSharedPerBlockOptin;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
  p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 2147483647;
  p->maxGridSize[1] = p->maxGridSize[2] = 65535;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = sm_count();
  p->l2CacheSize = 50 << 20;
  p->maxThreadsPerMultiProcessor = 2048;
  p->memoryBusWidth = 5120;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (cudaError_t e = check_device_arg(device, "cudaDeviceGetAttribute")) return e;
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
    case cudaDevAttrMaxBlockDimX:
    case cudaDevAttrMaxBlockDimY: *value = 1024; break;
    case cudaDevAttrMaxBlockDimZ: *value = 64; break;
    case cudaDevAttrMaxGridDimX: *value = 2147483647; break;
    case cudaDevAttrMaxGridDimY:
    case cudaDevAttrMaxGridDimZ: *value = 65535; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = static_cast<int>(kSharedPerBlock); break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = static_cast<int>(kSharedPerBlockOptin); break;
    case cudaDevAttrWarpSize: *value = 32; break;
    case cudaDevAttrMultiProcessorCount: *value = sm_count(); break;
    case cudaDevAttrL2CacheSize: *value = 50 << 20; break;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *value = 2048; break;
    case cudaDevAttrComputeCapabilityMajor: *value = 9; break;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; break;
    default:
      return api_error(cudaErrorInvalidValue, "cudaDeviceGetAttribute: attribute " +
                                                  std::to_string(static_cast<int>(attr)) + " is not emulated");
  }
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  std::vector<WorkPtr> v;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    for (const CUstream_st* s : streams())
      if (s->device == t_device) v.insert(v.end(), s->pending.begin(), s->pending.end());
  }
  wait_all(v);
  return cudaSuccess;
}

cudaError_t cudaDeviceCanAccessPeer(int* can_access, int device, int peer) {
  if (cudaError_t e = check_device_arg(device, "cudaDeviceCanAccessPeer")) return e;
  if (cudaError_t e = check_device_arg(peer, "cudaDeviceCanAccessPeer")) return e;
  *can_access = device != peer;
  return cudaSuccess;
}

cudaError_t cudaDeviceEnablePeerAccess(int peer, unsigned flags) {
  if (cudaError_t e = check_device_arg(peer, "cudaDeviceEnablePeerAccess")) return e;
  if (flags != 0) return api_error(cudaErrorInvalidValue, "cudaDeviceEnablePeerAccess: flags must be 0");
  if (peer == t_device)
    return api_error(cudaErrorInvalidDevice, "cudaDeviceEnablePeerAccess: device " + std::to_string(peer) +
                                                 " is the current device");
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!peers().insert({t_device, peer}).second)
    return api_error(cudaErrorPeerAccessAlreadyEnabled, "", true);  // an answer callers expect, not a fault
  return cudaSuccess;
}

// ---- errors ----

cudaError_t cudaGetLastError() {
  const cudaError_t e = t_last_error;
  t_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return t_last_error; }

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidHostPointer: return "invalid host pointer";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInvalidDeviceFunction: return "invalid device function";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorPeerAccessAlreadyEnabled: return "peer access is already enabled";
    case cudaErrorPeerAccessNotEnabled: return "peer access has not been enabled";
    case cudaErrorTooManyPeers: return "peer mapping resources exhausted";
    case cudaErrorMisalignedAddress: return "misaligned address";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorNotSupported: return "operation not supported";
    default: return "unknown error";
  }
}

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorPeerAccessAlreadyEnabled: return "cudaErrorPeerAccessAlreadyEnabled";
    case cudaErrorNotSupported: return "cudaErrorNotSupported";
    default: return "cudaError";
  }
}

// ---- streams and events ----

cudaError_t cudaStreamCreate(cudaStream_t* s) { return cudaStreamCreateWithFlags(s, cudaStreamDefault); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags) {
  if (flags > cudaStreamNonBlocking) return api_error(cudaErrorInvalidValue, "cudaStreamCreateWithFlags: bad flags");
  *s = new CUstream_st{t_device, flags, {}};
  std::lock_guard<std::mutex> lock(g_mutex);
  streams().insert(*s);
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t s) {
  std::unique_lock<std::mutex> lock(g_mutex);
  if (!s || !streams().erase(s)) {
    lock.unlock();
    return api_error(cudaErrorInvalidResourceHandle, "cudaStreamDestroy: " + format_ptr(s) + " is not a live stream");
  }
  delete s;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  if (stream_device(s) < 0)
    return api_error(cudaErrorInvalidResourceHandle, "cudaStreamSynchronize: " + format_ptr(s) +
                                                         " is not a live stream");
  stream_begin(s);  // all but the asynchronous work ran when it was issued
  return cudaSuccess;
}

cudaError_t cudaStreamQuery(cudaStream_t s) {
  if (stream_device(s) < 0)
    return api_error(cudaErrorInvalidResourceHandle, "cudaStreamQuery: " + format_ptr(s) + " is not a live stream");
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!s) return cudaSuccess;
  prune(s->pending);
  return s->pending.empty() ? cudaSuccess : cudaErrorNotReady;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned) {
  if (stream_device(s) < 0) return api_error(cudaErrorInvalidResourceHandle, "cudaStreamWaitEvent: bad stream");
  std::vector<WorkPtr> now;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!events().count(e)) return cudaErrorInvalidResourceHandle;
    prune(e->pending);
    if (s) {
      // The record current at this call: a later cudaEventRecord does not change it.
      s->pending.insert(s->pending.end(), e->pending.begin(), e->pending.end());
      return cudaSuccess;
    }
    now = e->pending;
  }
  wait_all(now);  // the null stream holds no asynchronous work: its next operation is the host's
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* e) { return cudaEventCreateWithFlags(e, cudaEventDefault); }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  *e = new CUevent_st{t_device, {}, false, {}};
  std::lock_guard<std::mutex> lock(g_mutex);
  events().insert(*e);
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t e) {
  std::unique_lock<std::mutex> lock(g_mutex);
  if (!events().erase(e)) {
    lock.unlock();
    return api_error(cudaErrorInvalidResourceHandle, "cudaEventDestroy: not a live event");
  }
  delete e;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
  const int sd = stream_device(s);
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!events().count(e)) return cudaErrorInvalidResourceHandle;
  }
  if (sd < 0 || sd != e->device)
    return api_error(cudaErrorInvalidResourceHandle, "cudaEventRecord: the event and the stream belong to different devices");
  std::lock_guard<std::mutex> lock(g_mutex);
  e->when = std::chrono::steady_clock::now();
  e->recorded = true;
  e->pending.clear();
  if (s) {
    prune(s->pending);
    e->pending = s->pending;
  }
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  std::vector<WorkPtr> v;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!events().count(e))
      return api_error(cudaErrorInvalidResourceHandle, "cudaEventSynchronize: not a live event");
    v = e->pending;
  }
  wait_all(v);
  return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t e) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!events().count(e)) return api_error(cudaErrorInvalidResourceHandle, "cudaEventQuery: not a live event");
  prune(e->pending);
  return e->pending.empty() ? cudaSuccess : cudaErrorNotReady;  // not ready is an answer, not an error
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!start->recorded || !end->recorded)
    return api_error(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: an event was never recorded");
  // An event that waited for asynchronous work completed when the work ended.
  auto completed = [](cudaEvent_t e, std::chrono::steady_clock::time_point* t) {
    std::lock_guard<std::mutex> lock(g_mutex);
    *t = e->when;
    for (const WorkPtr& w : e->pending) {
      if (!w->done()) return false;
      *t = std::max(*t, w->finished_at());
    }
    return true;
  };
  std::chrono::steady_clock::time_point a, b;
  if (!completed(start, &a) || !completed(end, &b)) return api_error(cudaErrorNotReady, "", true);
  *ms = std::chrono::duration<float, std::milli>(b - a).count();
  return cudaSuccess;
}

// ---- memory ----

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  const int d = t_device;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (in_use().empty()) in_use().assign(static_cast<size_t>(device_count()), 0);
    if (in_use()[static_cast<size_t>(d)] + bytes > memory_limit())
      return api_error(cudaErrorMemoryAllocation, "", true);  // the caller's out-of-memory path decides
  }
  // Whole pages, so that they can be made inaccessible to host code (their
  // own: the allocator's bookkeeping lies outside them); the bytes past
  // `bytes` poisoned for ASan, so the first byte past the end is still
  // reported (past the pages, ASan's redzone). Aligned to 256 bytes and
  // more, as cudaMalloc's blocks are.
  install_device_memory_guards();
  const size_t pages = pages_of(bytes);
  void* p = nullptr;
  if (posix_memalign(&p, page_bytes(), pages)) return api_error(cudaErrorMemoryAllocation, "", true);
  poison(p, bytes);  // fresh device memory holds garbage; here NaN, so an unwritten output shows
  GFEMU_ASAN_POISON(static_cast<char*>(p) + bytes, pages - bytes);
  std::lock_guard<std::mutex> lock(g_mutex);
  Allocation& a = allocations()[reinterpret_cast<uintptr_t>(p)] = Allocation{reinterpret_cast<uintptr_t>(p), bytes, d};
  a.open = true;  // as posix_memalign gives it
  protect_locked(a, false);  // inaccessible until device work touches it
  in_use()[static_cast<size_t>(d)] += bytes;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  // cudaFree synchronizes with the memory's device: it may still be in use
  // by asynchronous work (a collective on another stream).
  std::vector<WorkPtr> busy;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    const Allocation* al = lookup(p);
    for (const CUstream_st* s : streams())
      if (al && s->device == al->device) busy.insert(busy.end(), s->pending.begin(), s->pending.end());
  }
  wait_all(busy);
  std::unique_lock<std::mutex> lock(g_mutex);
  auto it = allocations().find(reinterpret_cast<uintptr_t>(p));
  if (it == allocations().end() || it->second.device < 0) {
    lock.unlock();
    return api_error(cudaErrorInvalidValue, "cudaFree: " + format_ptr(p) + " is not the start of a device allocation");
  }
  in_use()[static_cast<size_t>(it->second.device)] -= it->second.bytes;
  const size_t bytes = it->second.bytes, pages = pages_of(bytes);
  // The allocator's again: accessible, and unpoisoned as it was given.
  protect_locked(it->second, true);
  opened().erase(std::remove(opened().begin(), opened().end(), it->first), opened().end());
  allocations().erase(it);
  lock.unlock();
  GFEMU_ASAN_UNPOISON(static_cast<char*>(p) + bytes, pages - bytes);
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  if (posix_memalign(ptr, 256, std::max<size_t>(bytes, 1))) return api_error(cudaErrorMemoryAllocation, "", true);
  std::lock_guard<std::mutex> lock(g_mutex);
  allocations()[reinterpret_cast<uintptr_t>(*ptr)] = Allocation{reinterpret_cast<uintptr_t>(*ptr), bytes, -1};
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void* p) {
  if (!p) return cudaSuccess;
  std::unique_lock<std::mutex> lock(g_mutex);
  auto it = allocations().find(reinterpret_cast<uintptr_t>(p));
  if (it == allocations().end() || it->second.device >= 0) {
    lock.unlock();
    return api_error(cudaErrorInvalidValue, "cudaFreeHost: " + format_ptr(p) + " is not from cudaMallocHost");
  }
  allocations().erase(it);
  lock.unlock();
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const size_t used = in_use().empty() ? 0 : in_use()[static_cast<size_t>(t_device)];
  *total_bytes = memory_limit();
  *free_bytes = memory_limit() - used;
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  return copy(dst, src, bytes, kind, nullptr, "cudaMemcpy");
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  return copy(dst, src, bytes, kind, stream, "cudaMemcpyAsync");
}

cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device, size_t bytes,
                                cudaStream_t stream) {
  if (cudaError_t e = check_device_arg(dst_device, "cudaMemcpyPeerAsync")) return e;
  if (cudaError_t e = check_device_arg(src_device, "cudaMemcpyPeerAsync")) return e;
  if (stream_device(stream) < 0)
    return api_error(cudaErrorInvalidResourceHandle, "cudaMemcpyPeerAsync: not a live stream");
  stream_begin(stream);
  if (bytes == 0) return cudaSuccess;
  std::string why = check_device_range(dst, bytes, dst_device);
  if (!why.empty()) return api_error(cudaErrorInvalidValue, "cudaMemcpyPeerAsync: destination " + why);
  why = check_device_range(src, bytes, src_device);
  if (!why.empty()) return api_error(cudaErrorInvalidValue, "cudaMemcpyPeerAsync: source " + why);
  DeviceAccess access;
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyPeer(void* dst, int dst_device, const void* src, int src_device, size_t bytes) {
  return cudaMemcpyPeerAsync(dst, dst_device, src, src_device, bytes, nullptr);
}

cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  return memset_checked(dst, value, bytes, nullptr, "cudaMemset");
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
  return memset_checked(dst, value, bytes, stream, "cudaMemsetAsync");
}

// ---- kernels' attributes and symbols ----

cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  if (!func) return api_error(cudaErrorInvalidDeviceFunction, "cudaFuncSetAttribute: null function");
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize)
    return api_error(cudaErrorNotSupported, "cudaFuncSetAttribute: attribute " +
                                                std::to_string(static_cast<int>(attr)) + " is not emulated");
  if (value < 0 || static_cast<size_t>(value) > kSharedPerBlockOptin)
    return api_error(cudaErrorInvalidValue, "cudaFuncSetAttribute: " + std::to_string(value) +
                                                " bytes of dynamic shared memory, over the opt-in maximum " +
                                                std::to_string(kSharedPerBlockOptin));
  // Launches do not name their kernel by address here, so the opt-in raises
  // the limit for every launch of this host thread (see docs/ARCHITECTURE.md).
  t_shared_optin = std::max(t_shared_optin, static_cast<size_t>(value));
  return cudaSuccess;
}

cudaError_t gfemu_memcpy_symbol(void* symbol, size_t symbol_bytes, const void* data, size_t bytes, size_t offset,
                                bool to_symbol) {
  if (offset > symbol_bytes || bytes > symbol_bytes - offset)
    return api_error(cudaErrorInvalidValue, "cudaMemcpy" + std::string(to_symbol ? "To" : "From") + "Symbol: " +
                                                std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
                                                " overrun a symbol of " + std::to_string(symbol_bytes));
  char* s = static_cast<char*>(symbol) + offset;
  // The other side may be device memory (cudaMemcpyDeviceToDevice).
  DeviceAccess access;
  access.open(data);
  if (to_symbol) std::memcpy(s, data, bytes);
  else std::memcpy(const_cast<void*>(data), s, bytes);
  return cudaSuccess;
}

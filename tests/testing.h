// Test helpers: random tensors from a fixed seed, closeness checks, and
// finite-difference gradient checks (first and second order) in float64.
// Every test runs with the allocators' debug mode on (tests/main.cpp): each
// new tensor's memory is NaN until written, on the CPU and on the GPU, so a
// kernel that leaves part of its output unwritten fails any comparison
// without a test having to poison anything itself.
#pragma once
#include <omp.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"

namespace gf::test {

// Normal(0, 1) values from std::mt19937_64(seed), independent of the engine's RNG.
Tensor random_tensor(const Shape& s, uint64_t seed, DType t = DType::f64, Device d = Device::cpu(),
                     double scale = 1.0);
// Uniform in [lo, hi).
Tensor uniform_tensor(const Shape& s, uint64_t seed, double lo, double hi, DType t = DType::f64,
                      Device d = Device::cpu());

struct Check {
  bool ok = true;
  double max_err = 0.0;  // max |a - b| / (atol + rtol * |b|) over elements; ok when <= 1
  std::string message;   // what failed, for INFO()
};
// Runs `command` through the shell (std::system); its exit status, or -1
// when it did not exit. The tests paste paths into such commands unquoted,
// so a temporary folder (TMPDIR) whose path holds a space or a shell
// character is refused first with a message naming it: "> /tmp/my dir/log"
// would truncate a file /tmp/my. (The build and source folders are checked
// by CMakeLists.txt.)
int shell(const std::string& command);

// A fresh folder under the system's temporary folder, named by tag and the
// process id (two suites running at once stay apart), removed with its
// contents when the object goes.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// fn() in a forked child whose stderr is a pipe: how the child ended
// (waitpid's status; _exit(3) when fn returns) and what it wrote there. For
// what ends a process (a signal) or must not touch this one (setrlimit).
struct ChildEnd {
  int status = 0;
  std::string err;
};
ChildEnd run_in_child(const std::function<void()>& fn);
// The address space this process has mapped (/proc/self/statm's size).
uint64_t mapped_bytes();
// Sets this process's address-space limit (RLIMIT_AS) to mapped_bytes() +
// extra, for a forked child that must not allocate more; returns the limit,
// or 0 when it could not be set.
uint64_t limit_address_space(uint64_t extra);
// fn() in a forked child whose address space may grow `extra` bytes past
// what it maps: exit status 0 when fn returns, 1 with the exception's text
// on stderr when it throws (2 and "out of memory" for std::bad_alloc), 4
// when the limit could not be set.
ChildEnd run_with_address_limit(uint64_t extra, const std::function<void()>& fn);

// A file's bytes ("" when it cannot be read).
inline std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// OpenMP's thread count (omp_set_num_threads) for the object's life, the
// earlier count after: for properties that hold whatever the count. Counts
// above the cores are fine for that (the threads take turns).
struct OmpThreads {
  int before;
  explicit OmpThreads(int n) : before(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~OmpThreads() { omp_set_num_threads(before); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;
};

// The same dtype, shape and bytes (a and b may be on any device): "bit for
// bit", where -0 is not 0 and a NaN equals the same NaN.
bool bit_equal(const Tensor& a, const Tensor& b);

// Elementwise |a - b| <= atol + rtol * |b| (a and b may be on any device).
Check allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-6);

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;
// Compares the autograd gradient of sum(f(inputs) * w), w a fixed random weight,
// with central differences, for every input that requires grad. Inputs must be
// float64 CPU leaves.
Check gradcheck(const Fn& f, const std::vector<Tensor>& inputs, double eps = 1e-6, double rtol = 1e-4,
                double atol = 1e-6);
// Second order: gradcheck of h(inputs) = sum_i sum(dL/dinput_i * v_i), where the
// first-order gradient is formed with create_graph, so the check covers the
// backward of every backward on the path.
Check gradgradcheck(const Fn& f, const std::vector<Tensor>& inputs, double eps = 1e-6, double rtol = 1e-3,
                    double atol = 1e-5);

// Two training states (checkpoint tensors by name, train/stylegan2/checkpoint.h),
// e.g. from a GPU and the CPU, agree: the counters, the sampler and the random
// streams, and Adam's step counts exactly; every weight, buffer (w_avg), Adam
// moment, G_ema weight and pl_mean within float32 rounding done in another
// order. Adam divides by the root of the second moment, so a gradient that is
// rounding noise may move its weight by up to lr either way: the absolute
// tolerance is relative to each tensor's largest value. Catch CHECKs, one per
// tensor, naming it.
void check_close_state(const io::TensorMap& got, const io::TensorMap& want, double rtol = 1e-3);

// gradcheck and gradgradcheck with default tolerances, each a Catch CHECK
// that reports the failing element.
void check_first_and_second_order(const Fn& f, const std::vector<Tensor>& inputs);

// [cuda] cases with large shapes (many blocks, grid-stride loops) on the CPU
// emulator of CUDA (GF_CUDA_EMU), where a kernel runs about 100x slower than
// the CPU path: each large shape runs one combination in `every` of the
// case's other options (an activation, a clamp, a coordinate mode), counted
// by `k` across its large shapes so that they take different ones; every
// option still runs on the small shapes. On a GPU every combination runs.
#ifdef GF_CUDA_EMU
constexpr bool kEmulatedCuda = true;
#else
constexpr bool kEmulatedCuda = false;
#endif
constexpr int64_t kLargeCudaCase = int64_t{1} << 18;  // elements
inline bool large_case_runs(int64_t numel, size_t& k, size_t every) {
  return !kEmulatedCuda || numel < kLargeCudaCase || k++ % every == 0;
}

// The message of the gf::Error that f throws; "(no error)" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace gf::test

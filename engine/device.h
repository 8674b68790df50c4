// Where a tensor lives and what its elements are.
#pragma once
#include <cstddef>
#include <string>

namespace gf {

enum class DType { f32, f64, f16, bf16 };  // f16/bf16: reserved for mixed precision on the GPU

size_t dtype_size(DType t);
const char* dtype_name(DType t);

struct Device {
  enum class Kind { cpu, cuda };
  Kind kind = Kind::cpu;
  int index = 0;

  static Device cpu() { return {Kind::cpu, 0}; }
  static Device cuda(int i = 0) { return {Kind::cuda, i}; }
  static Device parse(const std::string& s);  // "cpu", "cuda", "cuda:1"

  bool is_cpu() const { return kind == Kind::cpu; }
  bool is_cuda() const { return kind == Kind::cuda; }
  std::string str() const;
  bool operator==(const Device& o) const { return kind == o.kind && (is_cpu() || index == o.index); }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

// True when this build has the CUDA backend and a device is present.
bool cuda_available();
// CUDA devices present (0 without the backend).
int cuda_device_count();
// Why `d` cannot be used in this build on this machine ("" when it can):
// a CUDA device without the CUDA backend, or past the devices present.
std::string device_unusable_reason(const Device& d);
// Throws "device <d>: <reason>" when device_unusable_reason(d) is not "".
void check_device_usable(const Device& d);
// For people: the GPU's name ("NVIDIA H100 80GB HBM3"), or the CPU's model
// from /proc/cpuinfo with the OpenMP thread count ("... (2 threads)").
std::string device_description(const Device& d);

}  // namespace gf

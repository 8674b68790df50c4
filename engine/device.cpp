#include "engine/device.h"

#include <omp.h>

#include <fstream>

#include "engine/error.h"
#include "kernels/cuda_runtime.h"

namespace gf {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::f16:
    case DType::bf16: return 2;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::f16: return "float16";
    case DType::bf16: return "bfloat16";
  }
  return "?";
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

Device Device::parse(const std::string& s) {
  if (s == "cpu") return cpu();
  if (s == "cuda") return cuda(0);
  if (s.rfind("cuda:", 0) == 0) {
    try {
      size_t used = 0;
      int i = std::stoi(s.substr(5), &used);
      if (used == s.size() - 5 && i >= 0) return cuda(i);
    } catch (...) {
    }
  }
  throw Error("device: '" + s + "' is not a device (use cpu, cuda or cuda:N)");
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

bool cuda_available() {
#ifdef GF_WITH_CUDA
  return cuda::available();
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef GF_WITH_CUDA
  return cuda::device_count();
#else
  return 0;
#endif
}

std::string device_unusable_reason(const Device& d) {
  if (d.is_cpu()) return "";
#ifndef GF_WITH_CUDA
  return "this build of ganforge has no CUDA backend";
#else
  int n = cuda::device_count();
  if (d.index >= n) return "not present (" + std::to_string(n) + " CUDA devices found)";
  return "";
#endif
}

void check_device_usable(const Device& d) {
  const std::string why = device_unusable_reason(d);
  if (!why.empty()) throw Error("device " + d.str() + ": " + why);
}

std::string device_description(const Device& d) {
#ifdef GF_WITH_CUDA
  if (d.is_cuda()) return cuda::device_name(d.index);
#endif
  if (d.is_cuda()) return d.str();
  std::string model = "CPU";
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      model = line.substr(line.find(':') + 1);
      model.erase(0, model.find_first_not_of(" \t"));
      break;
    }
  const int threads = omp_get_max_threads();
  return model + " (" + std::to_string(threads) + (threads == 1 ? " thread)" : " threads)");
}

}  // namespace gf

// The CUDA runtime seen through plain C++: device memory, copies, the one
// compute stream per device and the cuBLAS/cuDNN handles bound to it. No CUDA
// header is needed to include this, so engine/ builds without a toolkit; the
// definitions live in cuda_runtime.cu and exist only when GF_WITH_CUDA is set.
#pragma once
#include <cstddef>
#include <string>

namespace gf::cuda {

using Stream = void*;  // cudaStream_t

int device_count();                   // 0 when no driver or no device
bool available();                     // device_count() > 0
std::string device_name(int device);  // e.g. "NVIDIA H100 80GB HBM3"

// Makes `device` current on the calling thread (cached, so cheap to repeat).
// stream(device) does this too, so every op runs on its tensors' device.
void set_device(int device);
Stream stream(int device);   // the per-device compute stream (created once)
void synchronize(int device);

// Raw memory: used only by the engine's caching allocator.
void* raw_malloc(size_t bytes, int device);  // throws std::bad_alloc-like gf error on OOM
void raw_free(void* p, int device);

enum class CopyKind { HostToDevice, DeviceToHost, DeviceToDevice };
// Ordered on `device`'s stream; DeviceToHost waits for the copy to finish.
void copy(void* dst, const void* src, size_t bytes, CopyKind kind, int device);
// Between two devices: waits for the source device's work, copies on the
// destination's stream and waits for the copy, so either side may free or
// reuse its buffer at once. Direct when peer access is on, else staged.
void copy_peer(void* dst, int dst_device, const void* src, int src_device, size_t bytes);
// Turns on `device`'s direct access to `peer`'s memory where the hardware can.
void enable_peer_access(int device, int peer);
void memset_zero(void* dst, size_t bytes, int device);
// Sets every byte to `value`, ordered on `device`'s stream.
void fill_bytes(void* dst, unsigned char value, size_t bytes, int device);

}  // namespace gf::cuda

// Packed loads and stores for memory-bound kernels: V elements moved as one
// aligned access (16 bytes for 4 floats or 2 doubles) is what it takes to reach
// copy bandwidth.
#pragma once
#include <cstdint>

namespace gf::cuda {

template <class T, int V>
struct alignas(sizeof(T) * V) Pack {
  static constexpr int N = V;
  T v[V];
};

// The 16-byte pack of T.
template <class T>
using Vec = Pack<T, 16 / sizeof(T)>;

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

}  // namespace gf::cuda

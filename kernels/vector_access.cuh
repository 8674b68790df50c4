// Packed loads and stores for memory-bound kernels: V elements moved as one
// aligned access (16 bytes for 4 floats or 2 doubles) is what it takes to reach
// copy bandwidth.
#pragma once
#include <cstdint>
#include <type_traits>

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

// Calls f(integral_constant<int, V>, index type tag) with the 16-byte pack of
// T when `packed` allows it (else 1 element), and 32-bit indices when n fits.
template <class T, class F>
void dispatch_pack_and_index(bool packed, int64_t n, F&& f) {
  constexpr int VW = 16 / sizeof(T);
  const bool narrow = n < (int64_t(1) << 31);
  if (packed && narrow)
    f(std::integral_constant<int, VW>{}, uint32_t{});
  else if (packed)
    f(std::integral_constant<int, VW>{}, int64_t{});
  else if (narrow)
    f(std::integral_constant<int, 1>{}, uint32_t{});
  else
    f(std::integral_constant<int, 1>{}, int64_t{});
}

}  // namespace gf::cuda

// The CPU upfirdn2d's blocks built for AVX2 (32-byte vectors; no FMA: each
// output's multiplies and adds stay separate and in the point form's order,
// so the results are the portable build's bit for bit). Only
// kernels/upfirdn2d.cpp calls it, where the CPU has AVX2.
#include "kernels/upfirdn2d_plane.h"

#ifdef GF_UPFIRDN2D_AVX2
#include <cstdint>
#include <cstring>
#include <type_traits>

// Everything after this line, and nothing the headers above defined, is
// built for AVX2.
#pragma GCC push_options
#pragma GCC target("avx2")
#include "kernels/upfirdn2d_blocks.h"

namespace gf::cpu::upfirdn2d_impl {

template <class T>
void plane_avx2(const PlaneJob<T>& job, const T* padded, T* y_plane) {
  plane_outputs<T, 32>(job, padded, y_plane);
}

template void plane_avx2<float>(const PlaneJob<float>&, const float*, float*);
template void plane_avx2<double>(const PlaneJob<double>&, const double*, double*);

}  // namespace gf::cpu::upfirdn2d_impl
#pragma GCC pop_options
#endif

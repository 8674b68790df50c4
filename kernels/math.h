// Float/double overloads of the math functions that compile on both host and
// device, so one functor serves the CPU reference and the CUDA kernel.
#pragma once
#include <cmath>

#include "kernels/common.h"

namespace gf {

GF_HD inline float g_exp(float x) { return expf(x); }
GF_HD inline double g_exp(double x) { return ::exp(x); }
GF_HD inline float g_log(float x) { return logf(x); }
GF_HD inline double g_log(double x) { return ::log(x); }
GF_HD inline float g_log1p(float x) { return log1pf(x); }
GF_HD inline double g_log1p(double x) { return ::log1p(x); }
GF_HD inline float g_sqrt(float x) { return sqrtf(x); }
GF_HD inline double g_sqrt(double x) { return ::sqrt(x); }
GF_HD inline float g_pow(float x, float p) { return powf(x, p); }
GF_HD inline double g_pow(double x, double p) { return ::pow(x, p); }
GF_HD inline float g_abs(float x) { return fabsf(x); }
GF_HD inline double g_abs(double x) { return ::fabs(x); }
GF_HD inline float g_acos(float x) { return acosf(x); }
GF_HD inline double g_acos(double x) { return ::acos(x); }
GF_HD inline float g_cos(float x) { return cosf(x); }
GF_HD inline double g_cos(double x) { return ::cos(x); }
GF_HD inline float g_sin(float x) { return sinf(x); }
GF_HD inline double g_sin(double x) { return ::sin(x); }
GF_HD inline float g_tanh(float x) { return tanhf(x); }
GF_HD inline double g_tanh(double x) { return ::tanh(x); }
#if defined(__CUDA_ARCH__)
GF_HD inline float g_rsqrt(float x) { return rsqrtf(x); }
GF_HD inline double g_rsqrt(double x) { return ::rsqrt(x); }
#else
inline float g_rsqrt(float x) { return 1.0f / sqrtf(x); }
inline double g_rsqrt(double x) { return 1.0 / ::sqrt(x); }
#endif

}  // namespace gf

// 2-D convolution, NCHW, PyTorch weight layout, cross-correlation (no flip):
//   y[n, k, p, q] = sum_{c, i, j} w[k, c, i, j] * x[n, g*C/G + c, p*sh - ph + i, q*sw - pw + j]
// for output channel k in group g. Every entry point is one pass of this one
// forward convolution, described by Conv2dShape:
//   forward          y  = conv(x, w)
//   backward_data    gx = conv^T(gy, w)     (also the transposed convolution)
//   backward_filter  gw = corr(x, gy)       (summed over the batch)
// Each pass overwrites its output. Every size must be positive (the engine
// handles an empty batch itself).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cuda_runtime.h"

namespace gf {

struct Conv2dShape {
  int n = 0;                        // batch
  int c = 0, h = 0, w = 0;          // x: [n, c, h, w]
  int k = 0, kh = 0, kw = 0;        // w: [k, c / groups, kh, kw]
  int out_h = 0, out_w = 0;         // y: [n, k, out_h, out_w]
  int pad_h = 0, pad_w = 0;
  int stride_h = 1, stride_w = 1;
  int groups = 1;
};

// Output size of one spatial dim: floor((in + 2 pad - kernel) / stride) + 1.
inline int64_t conv_out_size(int64_t in, int64_t kernel, int64_t pad, int64_t stride) {
  return (in + 2 * pad - kernel) / stride + 1;
}

enum class ConvPass { forward, backward_data, backward_filter };

namespace cpu {
// im2col + GEMM (forward, backward_filter) and GEMM + col2im (backward_data).
template <class T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, T* y);
template <class T>
void conv2d_backward_data(const Conv2dShape& s, const T* gy, const T* w, T* gx);
template <class T>
void conv2d_backward_filter(const Conv2dShape& s, const T* x, const T* gy, T* gw);
}  // namespace cpu

namespace cuda {
// cuDNN. The algorithm of each pass is chosen once per (shape, dtype, device)
// and cached; the caller allocates the workspace the chosen algorithm needs
// (conv2d_workspace_bytes, possibly 0) and passes it in, so no pass allocates.
template <class T>
size_t conv2d_workspace_bytes(ConvPass pass, const Conv2dShape& s, int device);
template <class T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, T* y, void* workspace, size_t workspace_bytes,
                    int device);
template <class T>
void conv2d_backward_data(const Conv2dShape& s, const T* gy, const T* w, T* gx, void* workspace,
                          size_t workspace_bytes, int device);
template <class T>
void conv2d_backward_filter(const Conv2dShape& s, const T* x, const T* gy, T* gw, void* workspace,
                            size_t workspace_bytes, int device);
}  // namespace cuda

}  // namespace gf

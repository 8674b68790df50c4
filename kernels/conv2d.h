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
// Two implementations. The reference: per sample, im2col + GEMM (forward,
// backward_filter) and GEMM + col2im (backward_data) through OpenBLAS, in
// float and double; tests compare everything else against it. oneDNN
// (kernels/conv2d_onednn.h), in float32 only, where the build has it and
// oneDNN takes the shape. Every other pass runs the reference.
// `onednn` runs every pass through oneDNN, the weight gradient in chunks of
// the batch fixed by the shape, each on one thread, added in chunk order:
// oneDNN 2.6 splits that pass's sum over the batch and the rows by the
// thread count, so its own bits change with it (kernels/conv2d.cpp).
// `onednn_all` runs that pass as oneDNN splits it (thread-count dependent).
enum class ConvImpl { reference, onednn, onednn_all };
bool onednn_available();  // built with oneDNN
// The implementation float passes take: onednn where available, unless the
// environment says GF_CPU_CONV=reference or GF_CPU_CONV=onednn-all (read
// once, at the first call).
ConvImpl conv_impl();
// Sets it for the process (the tests' switch). Not while another thread
// convolves: a call sizes its workspace and runs its pass in two reads of the
// setting, and one that changes between them may throw (a workspace too
// small for the other implementation; never wrong values).
// onednn(_all) in a build without it: throws std::invalid_argument.
void set_conv_impl(ConvImpl impl);
// Which one runs this pass now (for the type T): reference or onednn.
template <class T>
ConvImpl conv_impl_for(ConvPass pass, const Conv2dShape& s);

// The workspace a pass needs (im2col columns, or oneDNN's reordered tensors
// and scratchpad); the caller passes at least that many bytes, 64-byte
// aligned, so no pass allocates.
template <class T>
size_t conv2d_workspace_bytes(ConvPass pass, const Conv2dShape& s);
template <class T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, T* y, void* workspace, size_t workspace_bytes);
template <class T>
void conv2d_backward_data(const Conv2dShape& s, const T* gy, const T* w, T* gx, void* workspace,
                          size_t workspace_bytes);
template <class T>
void conv2d_backward_filter(const Conv2dShape& s, const T* x, const T* gy, T* gw, void* workspace,
                            size_t workspace_bytes);
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

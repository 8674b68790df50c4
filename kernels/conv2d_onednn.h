// float32 convolutions on the CPU through oneDNN (the library PyTorch calls
// for them), used by the cpu:: entry points of kernels/conv2d.h when the
// build has oneDNN and the implementation chosen is ConvImpl::onednn (every
// pass, the weight gradient in chunks of the batch each built and run for
// one thread: kernels/conv2d.cpp) or ConvImpl::onednn_all (the weight
// gradient as oneDNN splits it).
// Internal to kernels/: the engine reaches it through kernels/conv2d.h.
//
// Each (pass, shape, thread count) gets its primitive once, with the memory
// formats oneDNN prefers (blocked channels) and the reorders from and to our
// NCHW / [K, C/G, kh, kw] tensors, and is cached for the life of the process,
// as cuDNN's algorithm is on the GPU. The reorder buffers and oneDNN's
// scratchpad live in the caller's workspace (workspace_bytes), so a pass
// allocates no tensor memory itself.
#pragma once
#include <cstddef>

#include "kernels/conv2d.h"

namespace gf::cpu::onednn {

// Whether oneDNN takes this pass at all (false: the build has no oneDNN, or
// oneDNN refused the shape; the caller then runs the reference).
bool supports(ConvPass pass, const Conv2dShape& s);
size_t workspace_bytes(ConvPass pass, const Conv2dShape& s);
// a, b: the pass's operands in kernels/conv2d.h order; out is overwritten.
void run(ConvPass pass, const Conv2dShape& s, const float* a, const float* b, float* out, void* workspace,
         size_t workspace_bytes);

}  // namespace gf::cpu::onednn

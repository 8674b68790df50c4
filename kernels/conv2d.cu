// cuDNN's convolution API. Each (pass, dtype, shape, device) gets a plan:
// descriptors plus the algorithm chosen once, by cuDNN's heuristics (_v7),
// and the workspace it needs; later calls only look the plan up. The
// heuristics run nothing on the GPU and allocate nothing, unlike
// cudnnFind*Algorithm, so choosing never competes with the caching allocator.
#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/cuda_context.cuh"

namespace gf::cuda {
namespace {

// The most workspace an algorithm may ask for; faster ones that need more are
// passed over.
constexpr size_t kMaxWorkspace = size_t(512) << 20;

template <class T>
cudnnDataType_t cudnn_type();
template <>
cudnnDataType_t cudnn_type<float>() { return CUDNN_DATA_FLOAT; }
template <>
cudnnDataType_t cudnn_type<double>() { return CUDNN_DATA_DOUBLE; }

const char* pass_name(ConvPass p) {
  return p == ConvPass::forward ? "forward" : p == ConvPass::backward_data ? "backward data" : "backward filter";
}

std::string describe(const Conv2dShape& s) {
  auto dims = [](std::initializer_list<int> v) {
    std::string r = "[";
    for (int d : v) r += (r.size() > 1 ? ", " : "") + std::to_string(d);
    return r + "]";
  };
  return "x " + dims({s.n, s.c, s.h, s.w}) + ", w " + dims({s.k, s.c / s.groups, s.kh, s.kw}) + ", y " +
         dims({s.n, s.k, s.out_h, s.out_w}) + ", stride " + dims({s.stride_h, s.stride_w}) + ", padding " +
         dims({s.pad_h, s.pad_w}) + ", groups " + std::to_string(s.groups);
}

struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  int algo = 0;  // a cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t, by pass
  size_t workspace = 0;

  Plan() = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  // Runs only when building a plan failed (plans are kept for the program's
  // life). Destroying a descriptor is host-side bookkeeping that cannot fail
  // for a valid handle, and a destructor must not throw, so the status is dropped.
  ~Plan() {
    if (conv) (void)cudnnDestroyConvolutionDescriptor(conv);
    if (w) (void)cudnnDestroyFilterDescriptor(w);
    if (y) (void)cudnnDestroyTensorDescriptor(y);
    if (x) (void)cudnnDestroyTensorDescriptor(x);
  }
};

// Candidates come from the heuristics fastest first. Take the first that is
// deterministic (a seed then gives one result, run after run) and whose
// workspace fits; failing that, the first that fits. The workspace query also
// rejects any algorithm the descriptor's math mode does not support.
template <class Perf, class WorkspaceQuery>
void choose(const std::vector<Perf>& candidates, WorkspaceQuery workspace_of, Plan& plan, ConvPass pass,
            const Conv2dShape& s) {
  for (bool deterministic_only : {true, false})
    for (const Perf& c : candidates) {
      if (c.status != CUDNN_STATUS_SUCCESS || (deterministic_only && c.determinism != CUDNN_DETERMINISTIC)) continue;
      size_t bytes = 0;
      if (workspace_of(c.algo, &bytes) != CUDNN_STATUS_SUCCESS || bytes > kMaxWorkspace) continue;
      plan.algo = static_cast<int>(c.algo);
      plan.workspace = bytes;
      return;
    }
  throw std::runtime_error(std::string("cuDNN offers no usable algorithm for the conv2d ") + pass_name(pass) +
                           " pass of " + describe(s));
}

std::unique_ptr<Plan> make_plan(ConvPass pass, cudnnDataType_t t, const Conv2dShape& s, int device) {
  auto p = std::make_unique<Plan>();
  GF_CUDA_CHECK(cudnnCreateTensorDescriptor(&p->x));
  GF_CUDA_CHECK(cudnnCreateTensorDescriptor(&p->y));
  GF_CUDA_CHECK(cudnnCreateFilterDescriptor(&p->w));
  GF_CUDA_CHECK(cudnnCreateConvolutionDescriptor(&p->conv));
  GF_CUDA_CHECK(cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NCHW, t, s.n, s.c, s.h, s.w));
  GF_CUDA_CHECK(cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, t, s.n, s.k, s.out_h, s.out_w));
  GF_CUDA_CHECK(cudnnSetFilter4dDescriptor(p->w, t, CUDNN_TENSOR_NCHW, s.k, s.c / s.groups, s.kh, s.kw));
  GF_CUDA_CHECK(cudnnSetConvolution2dDescriptor(p->conv, s.pad_h, s.pad_w, s.stride_h, s.stride_w, 1, 1,
                                                CUDNN_CROSS_CORRELATION, t));
  GF_CUDA_CHECK(cudnnSetConvolutionGroupCount(p->conv, s.groups));
  // Full FP32: no TF32 tensor cores (StyleGAN2-ADA trains with TF32 off), so
  // float32 results stay within rounding of the CPU reference.
  GF_CUDA_CHECK(cudnnSetConvolutionMathType(p->conv, CUDNN_FMA_MATH));
  int n = 0, k = 0, oh = 0, ow = 0;
  GF_CUDA_CHECK(cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->w, &n, &k, &oh, &ow));
  if (n != s.n || k != s.k || oh != s.out_h || ow != s.out_w)
    throw std::invalid_argument("conv2d: cuDNN computes output [" + std::to_string(n) + ", " + std::to_string(k) +
                                ", " + std::to_string(oh) + ", " + std::to_string(ow) + "] for " + describe(s));

  cudnnHandle_t h = cudnn_handle(device);
  int max_count = 0, found = 0;
  switch (pass) {
    case ConvPass::forward: {
      GF_CUDA_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max_count));
      std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(static_cast<size_t>(max_count));
      GF_CUDA_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, p->x, p->w, p->conv, p->y, max_count, &found,
                                                           perf.data()));
      perf.resize(static_cast<size_t>(found));
      choose(perf, [&](cudnnConvolutionFwdAlgo_t a, size_t* bytes) {
        return cudnnGetConvolutionForwardWorkspaceSize(h, p->x, p->w, p->conv, p->y, a, bytes);
      }, *p, pass, s);
      break;
    }
    case ConvPass::backward_data: {
      GF_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max_count));
      std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(static_cast<size_t>(max_count));
      GF_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p->w, p->y, p->conv, p->x, max_count, &found,
                                                                perf.data()));
      perf.resize(static_cast<size_t>(found));
      choose(perf, [&](cudnnConvolutionBwdDataAlgo_t a, size_t* bytes) {
        return cudnnGetConvolutionBackwardDataWorkspaceSize(h, p->w, p->y, p->conv, p->x, a, bytes);
      }, *p, pass, s);
      break;
    }
    case ConvPass::backward_filter: {
      GF_CUDA_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &max_count));
      std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(static_cast<size_t>(max_count));
      GF_CUDA_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p->x, p->y, p->conv, p->w, max_count, &found,
                                                                  perf.data()));
      perf.resize(static_cast<size_t>(found));
      choose(perf, [&](cudnnConvolutionBwdFilterAlgo_t a, size_t* bytes) {
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p->x, p->y, p->conv, p->w, a, bytes);
      }, *p, pass, s);
      break;
    }
  }
  return p;
}

// The plan for a call, built on first use. Plans are never freed: a program
// uses a small, fixed set of shapes, and keeping them avoids destroying cuDNN
// state during static destruction.
const Plan& plan_for(ConvPass pass, cudnnDataType_t t, const Conv2dShape& s, int device) {
  using Key = std::array<int, 17>;
  static std::mutex mutex;
  static auto* plans = new std::map<Key, std::unique_ptr<Plan>>();
  const Key key{static_cast<int>(pass), static_cast<int>(t), device, s.n, s.c, s.h, s.w, s.k, s.kh, s.kw,
                s.out_h, s.out_w, s.pad_h, s.pad_w, s.stride_h, s.stride_w, s.groups};
  std::lock_guard<std::mutex> lock(mutex);
  auto it = plans->find(key);
  if (it == plans->end()) it = plans->emplace(key, make_plan(pass, t, s, device)).first;
  return *it->second;
}

template <class T>
const Plan& checked_plan(ConvPass pass, const Conv2dShape& s, size_t workspace_bytes, int device) {
  const Plan& p = plan_for(pass, cudnn_type<T>(), s, device);
  if (workspace_bytes < p.workspace)
    throw std::invalid_argument(std::string("conv2d ") + pass_name(pass) + ": workspace of " +
                                std::to_string(workspace_bytes) + " bytes given, " + std::to_string(p.workspace) +
                                " needed, for " + describe(s));
  return p;
}

}  // namespace

template <class T>
size_t conv2d_workspace_bytes(ConvPass pass, const Conv2dShape& s, int device) {
  return plan_for(pass, cudnn_type<T>(), s, device).workspace;
}

template <class T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, T* y, void* workspace, size_t workspace_bytes,
                    int device) {
  const Plan& p = checked_plan<T>(ConvPass::forward, s, workspace_bytes, device);
  const T one = 1, zero = 0;  // cuDNN reads the scale factors as double for double data
  GF_CUDA_CHECK(cudnnConvolutionForward(cudnn_handle(device), &one, p.x, x, p.w, w, p.conv,
                                        static_cast<cudnnConvolutionFwdAlgo_t>(p.algo), workspace, workspace_bytes,
                                        &zero, p.y, y));
}

template <class T>
void conv2d_backward_data(const Conv2dShape& s, const T* gy, const T* w, T* gx, void* workspace,
                          size_t workspace_bytes, int device) {
  const Plan& p = checked_plan<T>(ConvPass::backward_data, s, workspace_bytes, device);
  const T one = 1, zero = 0;
  GF_CUDA_CHECK(cudnnConvolutionBackwardData(cudnn_handle(device), &one, p.w, w, p.y, gy, p.conv,
                                             static_cast<cudnnConvolutionBwdDataAlgo_t>(p.algo), workspace,
                                             workspace_bytes, &zero, p.x, gx));
}

template <class T>
void conv2d_backward_filter(const Conv2dShape& s, const T* x, const T* gy, T* gw, void* workspace,
                            size_t workspace_bytes, int device) {
  const Plan& p = checked_plan<T>(ConvPass::backward_filter, s, workspace_bytes, device);
  const T one = 1, zero = 0;
  GF_CUDA_CHECK(cudnnConvolutionBackwardFilter(cudnn_handle(device), &one, p.x, x, p.y, gy, p.conv,
                                               static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.algo), workspace,
                                               workspace_bytes, &zero, p.w, gw));
}

#define GF_INSTANTIATE(T)                                                                                     \
  template size_t conv2d_workspace_bytes<T>(ConvPass, const Conv2dShape&, int);                               \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, T*, void*, size_t, int);            \
  template void conv2d_backward_data<T>(const Conv2dShape&, const T*, const T*, T*, void*, size_t, int);      \
  template void conv2d_backward_filter<T>(const Conv2dShape&, const T*, const T*, T*, void*, size_t, int);
GF_INSTANTIATE(float)
GF_INSTANTIATE(double)
#undef GF_INSTANTIATE

}  // namespace gf::cuda

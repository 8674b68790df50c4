#include "engine/collective.h"

#include "engine/dispatch.h"
#include "engine/ops.h"

namespace gf {
namespace {

const char* kOp = "all_reduce_mean";

// Checks that every replica lists the shapes of replica 0, in one dtype.
void check_replicas(const std::vector<std::vector<Tensor>>& t, const char* op) {
  GF_CHECK(!t.empty(), op, "no replicas");
  const std::vector<Tensor>& first = t.front();
  for (size_t r = 0; r < t.size(); ++r) {
    GF_CHECK(t[r].size() == first.size(), op,
             "replica " << r << " has " << t[r].size() << " tensors, replica 0 has " << first.size());
    for (size_t i = 0; i < first.size(); ++i) {
      GF_CHECK(t[r][i].defined(), op, "replica " << r << ": tensor " << i << " is undefined");
      GF_CHECK(t[r][i].shape() == first[i].shape() && t[r][i].dtype() == first[0].dtype(), op,
               "replica " << r << ": tensor " << i << " is " << t[r][i].desc() << ", replica 0's is "
                          << first[i].desc() << " (one dtype for all)");
      GF_CHECK(t[r][i].device() == t[r][0].device(), op, "replica " << r << " spans devices");
    }
  }
}

}  // namespace

Tensor flatten_tensors(const std::vector<Tensor>& ts) {
  std::vector<Tensor> flat;
  flat.reserve(ts.size());
  for (const Tensor& x : ts) flat.push_back(x.reshape({-1}));
  return flat.size() == 1 ? flat.front().clone() : concat(flat, 0);
}

// Writes consecutive pieces of `flat` back into the tensors.
void unflatten_into(const Tensor& flat, const std::vector<Tensor>& ts) {
  int64_t at = 0;
  for (const Tensor& x : ts) {
    x.copy_(slice(flat, 0, at, at + x.numel()).reshape(x.shape()));
    at += x.numel();
  }
}

void all_reduce_mean(const std::vector<std::vector<Tensor>>& tensors) {
  GF_CHECK(!tensors.empty(), kOp, "no replicas");
  if (tensors.size() == 1) return;  // every training step of a single-device run comes here
  check_replicas(tensors, kOp);
  const size_t n = tensors.size();
  if (tensors.front().empty()) return;
  NoGradGuard no_grad;
  const Device home = tensors.front().front().device();
  Tensor sum = flatten_tensors(tensors.front());
  for (size_t r = 1; r < n; ++r) sum = sum + flatten_tensors(tensors[r]).to(home);
  const Tensor mean = sum / static_cast<double>(n);
  for (size_t r = 0; r < n; ++r) unflatten_into(mean.to(tensors[r].front().device()), tensors[r]);
}

void enable_peer_access(const std::vector<Device>& devices) {
  for (const Device& a : devices)
    for (const Device& b : devices)
      if (a.is_cuda() && b.is_cuda() && a.index != b.index)
        GF_CUDA_CALL("enable_peer_access", cuda::enable_peer_access(a.index, b.index));
}

void broadcast_from_first(const std::vector<std::vector<Tensor>>& tensors) {
  check_replicas(tensors, "broadcast_from_first");
  if (tensors.size() == 1 || tensors.front().empty()) return;
  NoGradGuard no_grad;
  const Tensor flat = flatten_tensors(tensors.front());
  for (size_t r = 1; r < tensors.size(); ++r) unflatten_into(flat.to(tensors[r].front().device()), tensors[r]);
}

}  // namespace gf

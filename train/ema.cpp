#include "train/ema.h"

#include <algorithm>
#include <cmath>

#include "engine/ops.h"

namespace gf {
namespace {

void check_same(const std::vector<std::pair<std::string, Tensor>>& a,
                const std::vector<std::pair<std::string, Tensor>>& b, const char* what) {
  GF_CHECK(a.size() == b.size(), "ema_update", "G_ema has " << a.size() << " " << what << ", G has " << b.size());
  for (size_t i = 0; i < a.size(); ++i)
    GF_CHECK(a[i].first == b[i].first && a[i].second.shape() == b[i].second.shape(), "ema_update",
             what << " differ: G_ema's " << a[i].first << " " << shape_str(a[i].second.shape()) << " vs G's "
                  << b[i].first << " " << shape_str(b[i].second.shape()));
}

using TensorPtrs = std::vector<Tensor*, pool::Allocator<Tensor*>>;

TensorPtrs tensors_of(const Module& m, bool params) {
  TensorPtrs out;
  m.for_each_tensor(params, [&out](Tensor& t) { out.push_back(&t); });
  return out;
}

}  // namespace

double ema_beta(double ema_kimg, std::optional<double> ema_rampup, int64_t cur_nimg, int64_t batch_size) {
  double ema_nimg = ema_kimg * 1000.0;
  if (ema_rampup) ema_nimg = std::min(ema_nimg, static_cast<double>(cur_nimg) * *ema_rampup);
  return std::pow(0.5, static_cast<double>(batch_size) / std::max(ema_nimg, 1e-8));
}

void ema_update(Module& g_ema, const Module& g, double beta) {
  // Names are compared by structure (no strings formed: this runs every
  // minibatch); the named lists are made only to say what differs.
  if (!g_ema.same_names(g)) {
    check_same(g_ema.named_parameters(), g.named_parameters(), "parameters");
    check_same(g_ema.named_buffers(), g.named_buffers(), "buffers");
  }
  const TensorPtrs pe = tensors_of(g_ema, true), pg = tensors_of(g, true);
  const TensorPtrs be = tensors_of(g_ema, false), bg = tensors_of(g, false);
  bool shapes_agree = true;
  for (size_t i = 0; i < pe.size(); ++i) shapes_agree = shapes_agree && pe[i]->shape() == pg[i]->shape();
  for (size_t i = 0; i < be.size(); ++i) shapes_agree = shapes_agree && be[i]->shape() == bg[i]->shape();
  if (!shapes_agree) {  // throws naming the first that differs
    check_same(g_ema.named_parameters(), g.named_parameters(), "parameters");
    check_same(g_ema.named_buffers(), g.named_buffers(), "buffers");
  }
  NoGradGuard no_grad;
  for (size_t i = 0; i < pe.size(); ++i) pe[i]->copy_(lerp(*pg[i], *pe[i], beta));
  for (size_t i = 0; i < be.size(); ++i) be[i]->copy_(*bg[i]);
}

}  // namespace gf

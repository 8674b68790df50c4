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

}  // namespace

double ema_beta(double ema_kimg, std::optional<double> ema_rampup, int64_t cur_nimg, int64_t batch_size) {
  double ema_nimg = ema_kimg * 1000.0;
  if (ema_rampup) ema_nimg = std::min(ema_nimg, static_cast<double>(cur_nimg) * *ema_rampup);
  return std::pow(0.5, static_cast<double>(batch_size) / std::max(ema_nimg, 1e-8));
}

void ema_update(Module& g_ema, const Module& g, double beta) {
  const auto pe = g_ema.named_parameters(), pg = g.named_parameters();
  const auto be = g_ema.named_buffers(), bg = g.named_buffers();
  check_same(pe, pg, "parameters");
  check_same(be, bg, "buffers");
  NoGradGuard no_grad;
  for (size_t i = 0; i < pe.size(); ++i) pe[i].second.copy_(lerp(pg[i].second, pe[i].second, beta));
  for (size_t i = 0; i < be.size(); ++i) be[i].second.copy_(bg[i].second);
}

}  // namespace gf

#include "train/psp/losses.h"

#include <functional>
#include <limits>

#include "engine/error.h"
#include "engine/ops/pool2d.h"
#include "engine/ops/resize.h"

namespace gf::psp {
namespace {

Tensor to_rgb(const Tensor& x) {
  return x.size(1) == 1 ? expand(x, {x.size(0), 3, x.size(2), x.size(3)}) : x;
}

void check_pair(const Tensor& y_hat, const Tensor& y, const char* what) {
  GF_CHECK(y_hat.dim() == 4 && y_hat.shape() == y.shape(), what,
           "images " << shape_str(y_hat.shape()) << " and " << shape_str(y.shape())
                     << " must be the same [N, C, H, W]");
}

// mean over the batch of 1 - <f(y_hat), f(y)>, f(y) detached: the form of
// pSp's id and MoCo losses (f gives unit-length features). With `improvement`,
// also their log's sim_improvement, mean(<f(y_hat), f(y)> - <f(y), f(x)>),
// detached, for an input x equal to the target y (encoding: f(x) = f(y)).
Tensor feature_dissimilarity(const std::function<Tensor(const Tensor&)>& f, const Tensor& y_hat, const Tensor& y,
                             Tensor* improvement) {
  Tensor y_feats;
  {
    NoGradGuard ng;
    y_feats = f(y);
  }
  const Tensor diff_target = sum(f(y_hat) * y_feats, {1});
  if (improvement) {
    NoGradGuard ng;
    *improvement = mean(diff_target.detach() - sum(y_feats * y_feats, {1}));
  }
  return mean(1.0 - diff_target);
}

}  // namespace

std::string moco_beside_id_message() {
  return "--id-lambda and --moco-lambda are both > 0: pSp takes one of the two similarity losses (coach.py "
         "refuses both); MoCo's is for other domains than faces: give --id-lambda 0";
}

Tensor face_crop(const Tensor& images) {
  GF_CHECK(images.dim() == 4 && images.size(2) == 256 && images.size(3) == 256, "face crop",
           "the face region [35:223, 32:220] is pSp's on 256x256 images, got " << shape_str(images.shape()));
  return slice(slice(images, 2, 35, 223), 3, 32, 220);
}

Tensor l2_loss(const Tensor& y_hat, const Tensor& y) {
  check_pair(y_hat, y, "l2 loss");
  return mean(square(y_hat - y));
}

Tensor lpips_loss(const perceptual::Lpips& net, const Tensor& y_hat, const Tensor& y) {
  check_pair(y_hat, y, "lpips loss");
  return net.forward(to_rgb(y_hat), to_rgb(y));
}

Tensor id_loss(const perceptual::ArcFace& net, const Tensor& y_hat, const Tensor& y, Tensor* improvement) {
  check_pair(y_hat, y, "id loss");
  return feature_dissimilarity(
      [&](const Tensor& x) { return net.forward(adaptive_avg_pool2d(to_rgb(face_crop(x)), 112, 112)); }, y_hat, y, improvement);
}

Tensor moco_loss(const perceptual::ResNet& net, const Tensor& y_hat, const Tensor& y, Tensor* improvement) {
  check_pair(y_hat, y, "moco loss");
  return feature_dissimilarity(
      [&](const Tensor& x) {
        const Tensor f = net.forward(resize_nearest(to_rgb(x), 224, 224));
        return f / clamp(sqrt(sum(square(f), {1}, true)), 1e-12, std::numeric_limits<double>::infinity());  // F.normalize
      },
      y_hat, y, improvement);
}

Tensor w_norm_loss(const Tensor& latent, const Tensor& latent_avg) {
  GF_CHECK(latent.dim() == 3, "w_norm loss", "latents must be [N, n_styles, w], got " << shape_str(latent.shape()));
  const Tensor d = latent_avg.defined() ? latent - latent_avg : latent;
  return sum(sqrt(sum(square(d), {1, 2}))) / double(latent.size(0));
}

PspLoss::PspLoss(const PspLambdas& lambdas, const perceptual::Lpips* lpips, const perceptual::ArcFace* arcface,
                 const perceptual::ResNet* moco)
    : lambdas_(lambdas), lpips_(lpips), arcface_(arcface), moco_(moco) {
  GF_CHECK(lpips || (lambdas.lpips == 0 && lambdas.lpips_crop == 0), "psp loss",
           "--lpips-lambda and --lpips-lambda-crop need the LPIPS weights (--lpips FILE.bin), or set them to 0");
  GF_CHECK(arcface || lambdas.id == 0, "psp loss", "--id-lambda needs the ArcFace weights (--arcface FILE.bin), or set it to 0");
  GF_CHECK(moco || lambdas.moco == 0, "psp loss", "--moco-lambda needs MoCo's ResNet-50 weights (--moco FILE.bin), or set it to 0");
  GF_CHECK(!(lambdas.id > 0 && lambdas.moco > 0), "psp loss", moco_beside_id_message());
}

PspLoss::Result PspLoss::operator()(const Tensor& y_hat, const Tensor& y, const Tensor& latent,
                                    const Tensor& latent_avg) const {
  check_pair(y_hat, y, "psp loss");
  Result r;
  const auto add = [&](const char* name, double lambda, const Tensor& term) {
    r.terms.emplace_back(name, term.detach());
    const Tensor weighted = term * lambda;
    r.loss = r.loss.defined() ? r.loss + weighted : weighted;
  };
  const PspLambdas& l = lambdas_;
  // sim_improvement follows its loss in the log, as coach.calc_loss's id_improve.
  Tensor improvement;
  if (l.id > 0) {
    add("loss_id", l.id, id_loss(*arcface_, y_hat, y, &improvement));
    r.terms.emplace_back("id_improve", improvement);
  }
  if (l.l2 > 0) add("loss_l2", l.l2, l2_loss(y_hat, y));
  if (l.lpips > 0) add("loss_lpips", l.lpips, lpips_loss(*lpips_, y_hat, y));
  if (l.lpips_crop > 0) add("loss_lpips_crop", l.lpips_crop, lpips_loss(*lpips_, face_crop(y_hat), face_crop(y)));
  if (l.l2_crop > 0) add("loss_l2_crop", l.l2_crop, l2_loss(face_crop(y_hat), face_crop(y)));
  if (l.w_norm > 0) add("loss_w_norm", l.w_norm, w_norm_loss(latent, latent_avg));
  if (l.moco > 0) {
    add("loss_moco", l.moco, moco_loss(*moco_, y_hat, y, &improvement));
    r.terms.emplace_back("id_improve", improvement);
  }
  GF_CHECK(r.loss.defined(), "psp loss", "every lambda is 0: nothing to train");
  r.terms.emplace_back("loss", r.loss.detach());
  return r;
}

}  // namespace gf::psp

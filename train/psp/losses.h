// pSp's training loss, as training/coach.py's calc_loss forms it from the
// criteria/ modules (models/perceptual/ for the networks):
//   loss = id_lambda * id + l2_lambda * l2 + lpips_lambda * lpips
//        + lpips_lambda_crop * lpips(crop) + l2_lambda_crop * l2(crop)
//        + w_norm_lambda * w_norm + moco_lambda * moco,
// summed in that order, each term only where its lambda is > 0, with
//   l2      F.mse_loss(y_hat, y);
//   lpips   LPIPS (AlexNet) of y_hat and y (models/perceptual/lpips.h);
//   id      mean over the batch of 1 - <f(y_hat), f(y)>, f = ArcFace in eval
//           mode on the crop [35:223, 32:220] pooled to 112x112, f(y) detached
//           (criteria/id_loss.py);
//   crop    the same face region [35:223, 32:220] of a 256x256 image
//           (--lpips_lambda_crop, --l2_lambda_crop);
//   w_norm  sum over the batch of ||latent - latent_avg||_F, divided by the
//           batch size (criteria/w_norm.py; latent_avg only when the network
//           starts from it);
//   moco    mean over the batch of 1 - <g(y_hat), g(y)>, g = MoCo v2's
//           ResNet-50 in eval mode on the image resized to 224x224 with
//           torch's nearest mode, its pooled features unit-normalized
//           (F.normalize, eps 1e-12), g(y) detached (criteria/moco_loss.py;
//           pSp's similarity loss for other domains than faces, from
//           encoder4editing; coach.py refuses it beside the id loss).
// The official defaults: l2 1.0, lpips 0.8, id 0 (0.1 for faces), w_norm 0,
// crops 0, moco 0 (pSp's README suggests 0.5 with --id_lambda 0).
// Grey images (one channel) are replicated to RGB for the LPIPS, ArcFace and
// MoCo networks, as PIL's convert('RGB') would make them.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/perceptual/arcface.h"
#include "models/perceptual/lpips.h"
#include "models/perceptual/resnet.h"

namespace gf::psp {

struct PspLambdas {
  double l2 = 1.0, lpips = 0.8, id = 0, w_norm = 0, lpips_crop = 0, l2_crop = 0, moco = 0;
};

// Why id and moco cannot both be > 0 (coach.py's ValueError), for every place that checks it.
std::string moco_beside_id_message();

// The face region [35:223, 32:220] of images [N, C, 256, 256]; throws for other sizes.
Tensor face_crop(const Tensor& images);
Tensor l2_loss(const Tensor& y_hat, const Tensor& y);
Tensor lpips_loss(const perceptual::Lpips& net, const Tensor& y_hat, const Tensor& y);
// y_hat, y [N, C, 256, 256]. With `improvement`, it also receives IDLoss's
// sim_improvement (logged as id_improve): mean(<f(y_hat), f(y)> - <f(y), f(x)>)
// for the input x = y (pSp's encoding, the one task train_psp runs), detached.
Tensor id_loss(const perceptual::ArcFace& net, const Tensor& y_hat, const Tensor& y, Tensor* improvement = nullptr);
// y_hat, y [N, C, H, W], any size (resized to 224x224); `improvement` as id_loss's (MocoLoss's sim_improvement).
Tensor moco_loss(const perceptual::ResNet& net, const Tensor& y_hat, const Tensor& y, Tensor* improvement = nullptr);
// latent [N, n_styles, w]; latent_avg broadcastable to it, or undefined.
Tensor w_norm_loss(const Tensor& latent, const Tensor& latent_avg);

class PspLoss {
 public:
  // The networks may be null where their lambdas are 0; throws gf::Error
  // naming the flag otherwise, and for id and moco both > 0 (as coach.py).
  PspLoss(const PspLambdas& lambdas, const perceptual::Lpips* lpips, const perceptual::ArcFace* arcface,
          const perceptual::ResNet* moco = nullptr);

  struct Result {
    Tensor loss;                                       // the weighted sum (a scalar)
    // "loss_id", "id_improve", "loss_l2", ... (detached scalars) in coach.calc_loss's order, then "loss"
    std::vector<std::pair<std::string, Tensor>> terms;
  };
  // y_hat, y [N, C, S, S]; latent the codes fed to the decoder [N, n_styles, w];
  // latent_avg subtracted in w_norm when defined.
  Result operator()(const Tensor& y_hat, const Tensor& y, const Tensor& latent, const Tensor& latent_avg) const;
  const PspLambdas& lambdas() const { return lambdas_; }

 private:
  PspLambdas lambdas_;
  const perceptual::Lpips* lpips_;
  const perceptual::ArcFace* arcface_;
  const perceptual::ResNet* moco_;
};

}  // namespace gf::psp

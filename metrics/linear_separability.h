// StyleGAN's linear separability (LS; Karras et al. 2019, section 4.2), as
// its official metric computes it (NVlabs/stylegan
// metrics/linear_separability.py, metric_defaults.py's "ls"; the same file in
// NVlabs/stylegan2):
//  - num samples: z ~ N(0, I), w = the mapping of z (dlatents[:, -1]: the
//    last layer's, no truncation), the image by the synthesis with random
//    noise (metrics/generators.h's latent samplers);
//  - each image brought to the classifiers' side by the mean of factor x
//    factor blocks (1024 -> 256 in the official), grey repeated to RGB (as
//    NVlabs/stylegan2-ada's LS), then 40 CelebA-HQ
//    attribute classifiers (models/perceptual/attribute_classifiers.h), each
//    a logit l, made probabilities softmax([l, -l]) in float32;
//  - per attribute: the num_keep most confident samples (the largest
//    probability, ties in sample order: Python's stable sort), their
//    targets argmax (class 0 on a tie), then for Z and for W a linear SVM
//    (metrics/linear_svc.h) fitted to them and its predictions on the same
//    rows (the official takes the targets themselves when the fit fails:
//    one class among the kept samples, a non-finite w), and the conditional entropy
//    H(target | prediction) of their 2 x 2 joint frequencies, in bits;
//  - ls_z and ls_w: 2 to the sum of the attributes' entropies (1: every
//    attribute separated by a plane; lower is more disentangled).
// The official metric draws 200000 samples and keeps 100000. A diverged
// generator still gets a result, as the official's: its NaN logits rank
// last (the official's sort has no order for them), their targets are 0
// (np.argmax of NaNs) and a fit on a non-finite w stands aside.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "metrics/compute_features.h"

namespace gf::metrics {

// n samples from the generator: z [n, z_dim], w [n, w_dim] (the mapping's
// output for the last layer), images [n, C, H, W] in [-1, 1]; latents,
// labels and noise from rng.
struct LatentSample {
  Tensor z, w, images;
};
using LatentSampler = std::function<LatentSample(int64_t n, gf::Generator& rng)>;

// Images [n, C, H, W] -> [n, C, side, side]: the mean of each factor x factor
// block (factor = H / side), as the official reshape and reduce_mean; the
// images themselves when H == side. gf::Error unless H == W is side times a
// whole factor.
Tensor downsample_to_side(const Tensor& images, int64_t side);

// The samples the metric reads, float32 on the CPU, row-major.
struct SeparabilitySamples {
  int64_t n = 0, z_dim = 0, w_dim = 0, attributes = 0;
  std::vector<float> z, w, logits;  // [n, z_dim], [n, w_dim], [n, attributes]
};

// num samples in batches of opt.batch_gen from batch_rng(rng, j) (as the
// other metrics draw theirs), each batch's images downsampled to
// classifier_side and through `classifiers` (images [n, 3, side, side] in
// [-1, 1] -> logits [n, attributes]; grey images repeated to RGB first).
// With a process group (opt.comm) the batches are shared among the ranks
// (metrics/sharding.h) and every rank gets all the samples (rank 0's,
// broadcast): the same samples as one process.
// gf::Error for images the classifiers cannot take (neither grey nor RGB,
// a side not a whole multiple of theirs).
SeparabilitySamples separability_samples(const LatentSampler& sampler, const Detector& classifiers,
                                         int64_t classifier_side, int64_t num, gf::Generator& rng,
                                         const FeatureOptions& opt);

// The official softmax([l, -l]) in float32: probabilities of classes 0 and 1.
void attribute_probabilities(float logit, float* p0, float* p1);

// The num_keep most confident of n logits (stride apart): sample indices,
// by decreasing largest probability, ties in index order, NaNs last.
std::vector<int64_t> most_confident(const float* logits, int64_t n, int64_t stride, int64_t num_keep);

// H(Y | X) in bits of the joint frequencies p[x][y] (x: the prediction,
// y: the target), as the official conditional_entropy computes it: the
// frequencies as float32 normalized by their float32 sum, H(Y) - I(X; Y)
// from float32 terms summed in float64, at least 0.
double conditional_entropy(const double p[2][2]);

struct Separability {
  double ls_z = 0, ls_w = 0;
  std::vector<double> entropy_z, entropy_w;  // [attributes]
  int unconverged_fits = 0;                  // fits that reached liblinear's 1000 iterations
  int failed_fits = 0;                       // fits refused (a non-finite w): the targets stood in
};

// The metric from its samples (num_keep <= s.n). The fits run in `workers`
// processes at once (metrics/linear_svc_pool.h; 0: as many as
// linear_svc_workers allows, the OpenMP thread count; 1: one at a time in
// this process): the same results for any count. With a process group
// (comm of several ranks; every rank calls this with the same samples) the
// fits are shared among the ranks instead (metrics/linear_svc_ranks.h), and
// the result is rank 0's (the other ranks get an empty Separability): the
// same results again.
// log (may be empty) hears of fits that did not converge or could not run;
// progress (may be empty) gets "ls fits: <k> of <2 x attributes> fits,
// <s> s/fit" (wall time over fits done) after each attribute's two, both in
// attribute order (at the official size a fit takes minutes: the programs'
// stop signal is checked there, metrics/training_metrics.h's
// stop_between_batches).
Separability linear_separability(const SeparabilitySamples& s, int64_t num_keep,
                                 const std::function<void(const std::string&)>& log = {},
                                 const ProgressFn& progress = {}, int workers = 0, Communicator* comm = nullptr);

}  // namespace gf::metrics

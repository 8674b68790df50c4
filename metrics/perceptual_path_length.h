// The Perceptual Path Length (Karras et al. 2019, "A Style-Based Generator
// Architecture for GANs") as StyleGAN2-ADA's metrics/perceptual_path_length.py
// computes it: for each sample, two latents z0, z1 and t (uniform in [0, 1)
// for the "full" metrics, 0 for the "end" ones), the points at t and
// t + epsilon of the path between them (slerp in Z, or lerp in W after the
// mapping), both synthesized with the same freshly drawn constant noise;
// the images' LPIPS (VGG16) distance divided by epsilon^2 is the sample's
// value; the metric is the mean of the values between their 1st ('lower')
// and 99th ('higher') percentiles.
//
// The family-specific half (drawing the path, running the generator,
// cropping and downsampling as that family's official PPL does) is a
// PathSampler, made per family beside the image generators
// (metrics/generators.h); the rest is here.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "metrics/compute_features.h"

namespace gf::metrics {

// One PPL variant of the official registry (metric_main.py).
struct PplSpec {
  bool space_w = true;    // lerp in W; false: slerp in Z, then the mapping
  bool full = false;      // t uniform in [0, 1); false: t = 0 (the path's end)
  bool crop = true;       // the face crop: rows 3c..7c, cols 2c..6c, c = resolution / 8
  double epsilon = 1e-4;  // the step along the path
  int64_t batch = 2;      // samples per generator call (the official batch_size)
};

// n samples' image pairs [2n, C, H, W] in [-1, 1] on any device: rows i and
// n + i are sample i's points at t and t + epsilon, cropped and downsampled
// as the family's official PPL does. Latents, t, labels and noise come from rng.
using PathSampler = std::function<Tensor(int64_t n, const PplSpec& spec, gf::Generator& rng)>;

// Spherical interpolation of rows, as the official slerp: a, b [N, D]
// (neither row zero), t [N], all float32 (or all float64, for tests) on one
// device -> [N, D] of unit rows there, the official steps as engine ops in
// that type (no host round trip on a GPU).
Tensor slerp(const Tensor& a, const Tensor& b, const Tensor& t);

// What one batch of a path sampler draws, in the order it draws them, given
// explicitly so a test can hand the same draws to a reference.
struct PathDraws {
  Tensor c;   // labels [n, c_dim] (undefined without labels)
  Tensor t;   // [n]: 0 for the "end" metrics
  Tensor z0;  // [n, z_dim]
  Tensor z1;  // [n, z_dim]
  // Each constant noise buffer's fresh values, by the buffer's name in the
  // network ("synthesis.b8.conv0.noise_const", "noise3"), in its shape.
  std::vector<std::pair<std::string, Tensor>> noise;
};

// The path's two points (the images before crop and downsampling) from the
// endpoints: the latents at t and t + epsilon, [2n, ...] in that order, as
// the official code forms them: W: lerp(w0, w1, t) and lerp(w0, w1, t + eps)
// of the mapped endpoints (torch.lerp's rounding; with tflib, StyleGAN v1's
// a + (b - a) * t); Z: the slerps. t + epsilon is rounded to float32, as
// the official float32 tensor plus a Python float.
Tensor lerp_rows(const Tensor& w0, const Tensor& w1, const Tensor& t, double epsilon, bool tflib = false);
Tensor slerp_rows(const Tensor& z0, const Tensor& z1, const Tensor& t, double epsilon);

// images [N, C, H, W] -> the official crop (rows 3c..7c, columns 2c..6c,
// c = H / 8; square images only, gf::Error otherwise) when crop is set, then
// the mean over factor x factor blocks when factor > 1 (H and W must divide).
Tensor crop_and_downsample(const Tensor& images, bool crop, int64_t factor);

// image pairs [2n, C, H, W] in [-1, 1] (a PathSampler's output) -> the n
// distances |e(x_i) - e(x_{n+i})|^2 / epsilon^2, [n] on `device` in the
// embedding's dtype (float32 in the metric),
// where e is the LPIPS embedding (Vgg16::lpips_embedding, run on `device`)
// of the images scaled to 0..255 as (x + 1) * 255 / 2 in float32, grey
// repeated to three channels.
Tensor ppl_distances(const Tensor& pairs, const Detector& lpips_embedding, double epsilon, Device device);

// The official outlier rejection and mean: lo = the 1st percentile with
// numpy's 'lower' interpolation (sorted[floor(0.01 (n - 1))]), hi = the
// 99th with 'higher' (sorted[ceil(0.99 (n - 1))]), the mean of every value
// with lo <= d <= hi, summed in float64. NaN when any value is NaN (numpy's
// percentile gives NaN then); gf::Error when empty.
double filtered_mean(const std::vector<float>& dist);

// The metric: num_samples distances from batches of spec.batch samples of
// paths (the last batch's extra rows dropped, as the official), then
// filtered_mean. Path batch j draws from batch_rng(rng, j) (rng itself is
// unchanged). The embedding runs on opt.device; opt.progress gets the
// other metrics' progress lines. With opt.comm the ranks share the batches
// (metrics/sharding.h) and rank 0 returns the value of one process, bit
// for bit; the other ranks return NaN.
double perceptual_path_length(const PathSampler& paths, const Detector& lpips_embedding, const PplSpec& spec,
                              int64_t num_samples, gf::Generator& rng, const FeatureOptions& opt);

}  // namespace gf::metrics

// StyleGAN2-ADA's augmentation pipeline ("Training Generative Adversarial
// Networks with Limited Data"; AugmentPipe of the official training/augment.py),
// applied to every image the discriminator sees.
//
// Stages, in the official order, each present when its options are enabled
// (a probability multiplier > 0) in the spec, whatever p:
//  - geometric (xflip, rotate90, xint, scale, rotate, aniso, xfrac): one
//    inverse transform G_inv per image; the batch is padded by reflection
//    (as much as the transformed corners need, at least 6 pixels, at most
//    size - 1), upsampled 2x with the sym6 wavelet filter, resampled
//    bilinearly at G_inv (affine_grid_sample), filtered, downsampled and
//    cropped back. Even at p = 0 (G_inv = I) this runs, and changes the
//    images by rounding only;
//  - color (brightness, contrast, lumaflip, hue, saturation): a 4x4 matrix C
//    per image applied to [r, g, b, 1]; a 1-channel image gets the mean of
//    C's three rows (hue and saturation skipped and not drawn);
//  - imgfilter: per image, the gains of 4 frequency bands (a filter bank of
//    the sym2 wavelet, 43 taps) combined into one separable filter, applied
//    with reflect padding of 21 pixels (so H and W must be at least 22);
//  - noise: additive Gaussian noise of a per-image |N(0, 1)| * noise_std;
//  - cutout: a rectangle of cutout_size x cutout_size of the image set to 0.
// Each augmentation applies to an image with probability (multiplier * p)
// (rotate: pre and post rotation, each with 1 - sqrt(1 - rotate * p)).
//
// Precision, as the official code computes it on the device: every parameter
// (G_inv, the padding, C, the filter taps, noise strengths, the cutout mask)
// is computed on the host in float32; the pixel work runs in the images'
// dtype with those values converted to it.
//
// Reflect padding is a composite of slice, flip and concat (torch's 'reflect':
// the edge pixel is not repeated), so it is differentiable to any order; so
// is everything else the images go through (upfirdn2d, affine_grid_sample,
// matmul, grouped conv2d, products with constant tensors): R1 differentiates
// D's input gradient through the pipe.
//
// Random draws: every torch.rand/randn call of the official forward is one
// draw, in the official order and shape, float32, taken on the CPU from rng
// (except "noise", drawn on the images' device) through logged_draw, named
// prefix + the names below (u: uniform [0, 1), z: normal). "<x>_p" are the
// uniforms compared with the probability.
//   xflip_i u[N], xflip_p u[N]              rotate90_i u[N], rotate90_p u[N]
//   xint_t u[N, 2], xint_p u[N, 1]          scale_s z[N], scale_p u[N]
//   rotate_pre_theta u[N], rotate_pre_p u[N]
//   aniso_s z[N], aniso_p u[N]
//   rotate_post_theta u[N], rotate_post_p u[N]
//   xfrac_t z[N, 2], xfrac_p u[N, 1]
//   brightness_b z[N], brightness_p u[N]    contrast_c z[N], contrast_p u[N]
//   lumaflip_i u[N, 1, 1], lumaflip_p u[N, 1, 1]
//   hue_theta u[N], hue_p u[N]              (3 channels only)
//   saturation_s z[N, 1, 1], saturation_p u[N, 1, 1]   (3 channels only)
//   imgfilter<b>_t z[N], imgfilter<b>_p u[N]   for each band b = 0..3
//   noise_sigma z[N, 1, 1, 1], noise_p u[N, 1, 1, 1], noise z[N, C, H, W]
//   cutout_p u[N, 1, 1, 1, 1], cutout_center u[N, 2, 1, 1, 1]
// tools/reference/augment_reference.py replays them (draws() lists them for a spec).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/tensor.h"

namespace gf {

class DrawLog;

// The official constructor arguments, with the official defaults (every
// augmentation off). Probability multipliers are applied when > 0.
struct AugmentSpec {
  // Moves of whole pixels.
  double xflip = 0;         // chance multiplier: mirror left-right
  double rotate90 = 0;      // chance multiplier: turn by 0, 90, 180 or 270 degrees
  double xint = 0;          // chance multiplier: shift by a whole number of pixels
  double xint_max = 0.125;  // largest shift, as a fraction of width and height
  // Resampled warps.
  double scale = 0;          // chance multiplier: same zoom on both axes
  double rotate = 0;         // chance multiplier: any angle (drawn before and after aniso)
  double aniso = 0;          // chance multiplier: zoom x by s and y by 1/s
  double xfrac = 0;          // chance multiplier: sub-pixel shift
  double scale_std = 0.2;    // spread of log2(zoom)
  double rotate_max = 1;     // largest angle, in turns (1: anywhere on the circle)
  double aniso_std = 0.2;    // spread of log2(s)
  double xfrac_std = 0.125;  // spread of the shift, as a fraction of width and height
  // Colour, as a 4x4 affine map of (r, g, b, 1).
  double brightness = 0;        // chance multiplier: add an offset
  double contrast = 0;          // chance multiplier: scale about 0
  double lumaflip = 0;          // chance multiplier: mirror along the grey axis
  double hue = 0;               // chance multiplier: turn about the grey axis
  double saturation = 0;        // chance multiplier: scale away from the grey axis
  double brightness_std = 0.2;  // spread of the offset
  double contrast_std = 0.5;    // spread of log2(scale)
  double hue_max = 1;           // largest turn, in turns
  double saturation_std = 1;    // spread of log2(scale)
  // Per-band gains of a 4-band filter bank.
  double imgfilter = 0;                             // chance multiplier
  std::vector<double> imgfilter_bands{1, 1, 1, 1};  // each band's own multiplier (exactly 4)
  double imgfilter_std = 1;                         // spread of log2(gain)
  // Damage: additive noise, a blanked square.
  double noise = 0;          // chance multiplier: Gaussian noise of strength |N(0, 1)| * noise_std
  double cutout = 0;         // chance multiplier: zero a square
  double noise_std = 0.1;
  double cutout_size = 0.5;  // side of the square, as a fraction of width and height
};

// The official train.py augpipe_specs entry: 'blit', 'geom', 'color',
// 'filter', 'noise', 'cutout', 'bg', 'bgc', 'bgcf', 'bgcfn', 'bgcfnc'.
// Throws gf::Error listing them for another name.
AugmentSpec augpipe_spec(const std::string& name);
// Those names, in that order.
const std::vector<std::string>& augpipe_names();

// torch's 'reflect' padding of x [N, C, H, W] (the edge row or column is not
// repeated), as slice, flip and concat, so differentiable to any order. Each
// pad must be in [0, size of its dim) (else gf::Error).
Tensor reflect_pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom);

class AugmentPipe {
 public:
  // Throws gf::Error when imgfilter_bands does not have 4 entries.
  explicit AugmentPipe(const AugmentSpec& spec);
  const AugmentSpec& spec() const { return spec_; }

  // The official buffer p: the overall probability multiplier, float32 as the
  // official buffer. 0 as the official training loop starts it (ADA adjusts
  // it; the official class itself initializes the buffer to 1).
  float p = 0;

  // images [N, C, H, W], N >= 1, C = 1 or 3, float32 (float64 for tests), on
  // any device -> augmented images of the same shape, dtype and device.
  // Draws from rng (or replays through `draws`, which may be null) under
  // prefix + the names above. Throws gf::Error for another rank, channel count
  // or dtype, and when imgfilter is enabled and H or W is below 22.
  Tensor operator()(const Tensor& images, Generator& rng, DrawLog* draws, const std::string& prefix) const;

 private:
  AugmentSpec spec_;
  std::vector<float> geom_taps_;  // [12] sym6 normalized to sum 1, float32
  std::vector<float> fbank_;      // [4, 43] the band filters, float32
};

}  // namespace gf

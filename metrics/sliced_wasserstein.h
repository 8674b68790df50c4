// PGGAN's sliced Wasserstein distance (SWD; Karras et al. 2018, section 5;
// progressive_growing_of_gans metrics/sliced_wasserstein.py, run by
// util_scripts.evaluate_metrics as config.py's "swd-16k"): local image
// statistics of real and generated images compared level by level of a
// Laplacian pyramid.
//  - The pyramid: the 8-bit images as float32, blurred by the 5x5 binomial
//    filter [1 4 6 4 1]^2 / 256 with mirrored edges (scipy.ndimage 'mirror':
//    -1 reads 1) and subsampled (cv2.pyrDown), each level minus its next
//    level upsampled (zeros between, the filter x 4: cv2.pyrUp); the levels
//    of side res, res/2, ... down to 16 (the last one the blurred image).
//  - Descriptors: per image and level, 128 7x7x3 neighbourhoods at centres
//    drawn by numpy's randint over the positions 3 pixels from the edges,
//    the x of all a minibatch's neighbourhoods first, then the y; each a row
//    of 147 values in the official order (channel, x offset, y offset).
//    All of a level's rows are then normalized per channel (mean 0, std 1).
//  - Distance: 4 repeats of 128 random unit directions (randn, normalized in
//    float64, used in float32); the rows of both sets projected on each,
//    sorted, and the mean absolute difference of the sorted projections;
//    the mean over the repeats, x 1e3, per level, and their mean.
// Every draw comes from one numpy RandomState (engine/numpy_random_state.h),
// in the official order within each pass: a minibatch's x-flip draws where
// the real images are mirrored, then each level's x and y; the reals'
// minibatches, then the generated ones; then each level's directions. The
// official run draws from numpy's global stream, with its warm-up
// minibatches, its latents and a reals-against-reals distance between.
// Checked against tools/fixtures/make_pggan_metrics_golden.py (tests/test_pggan_metrics.cpp).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/numpy_random_state.h"
#include "engine/tensor.h"

namespace gf::metrics {

struct SwdOptions {
  int nhood_size = 7;          // neighbourhood side (odd)
  int nhoods_per_image = 128;  // neighbourhoods drawn per image and level
  int dir_repeats = 4;         // sets of directions
  int dirs_per_repeat = 128;   // directions per set
};

// The pyramid levels' sides the metric compares: side, side / 2, ... while
// at least 16 (none for a side under 16).
std::vector<int64_t> swd_resolutions(int64_t side);

// The Laplacian pyramid of images float32 [n, C, H, W] (0..255 values),
// `levels` levels: [n, C, H >> l, W >> l] each, in float32 as the official
// (each filtered value summed in float64, as scipy.ndimage does, then
// rounded). H and W must be divisible by 2^(levels - 1) and at least 4
// at the smallest level (gf::Error otherwise).
std::vector<Tensor> laplacian_pyramid(const Tensor& images, int levels);

// The descriptors of one set of images (the reals, or the generated ones),
// added minibatch by minibatch: level l's rows are float32 [count, 147]
// (3 channels, nhood_size 7) once finalized. Memory: num_images x
// nhoods_per_image x 147 x 4 bytes per level (1.2 GB a level for 16384
// images), allocated at construction (a machine without it: gf::Error).
class SwdDescriptors {
 public:
  // side: the images' side (at least 16); num_images: how many add() will bring.
  SwdDescriptors(int64_t side, int64_t num_images, const SwdOptions& opt);
  // A minibatch of uint8 [n, 3, side, side] images: the pyramid and each
  // level's neighbourhoods at positions drawn from rs.
  void add(const uint8_t* images, int64_t n, NumpyRandomState& rs);
  // Normalizes each level's rows per channel (the official
  // finalize_descriptors). Every image must have been added.
  void finalize();
  int levels() const { return static_cast<int>(levels_.size()); }
  int64_t rows() const { return num_images_ * opt_.nhoods_per_image; }
  int64_t width() const { return 3 * int64_t(opt_.nhood_size) * opt_.nhood_size; }
  const Tensor& level(int l) const { return levels_[static_cast<size_t>(l)]; }

 private:
  int64_t side_, num_images_, added_ = 0;
  SwdOptions opt_;
  std::vector<Tensor> levels_;
  bool finalized_ = false;
};

// The official sliced_wasserstein of two float32 row sets a and b [rows, dim]
// (rows and dim < 2^31, BLAS's ints; gf::Error otherwise): dir_repeats sets of dirs_per_repeat directions from rs
// (randn(dim, dirs_per_repeat) each), the mean over the repeats of the mean
// |sorted a.dir - sorted b.dir|. Projections in float32 (BLAS), sums in
// float64. A NaN row value gives NaN, as the official.
double sliced_wasserstein(const float* a, const float* b, int64_t rows, int64_t dim, int dir_repeats,
                          int dirs_per_repeat, NumpyRandomState& rs);

// Each level's SWD x 1e3, then their mean: the official metric's
// SWDx1e3_<res> values and SWDx1e3_avg. Both finalized, of the same shape.
std::vector<double> swd_x1e3(const SwdDescriptors& real, const SwdDescriptors& fake, const SwdOptions& opt,
                             NumpyRandomState& rs);

}  // namespace gf::metrics

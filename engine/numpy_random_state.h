// numpy's legacy np.random.RandomState, draw for draw, where the official
// code draws from it and a user expects its numbers: z for a seed
// (RandomState(seed).randn(z_dim) in the official generate.py,
// style_mixing.py and StyleGAN's generate_figures.py; models/latents.h), the
// projector's w_avg samples (RandomState(123); train/stylegan2/projector.h)
// and the official dataset.py's max_size subset (RandomState(seed).shuffle;
// train/dataset.cpp). Checked against numpy 1.24's values
// (tests/test_random.cpp). The rest of the engine's random draws (training,
// noise, metrics) come from its Philox streams (engine/ops.h).
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace gf {

class NumpyRandomState {
 public:
  // RandomState(seed) for an integer seed: MT19937 seeded by init_genrand
  // (which std::mt19937's seeding is).
  explicit NumpyRandomState(uint32_t seed) : mt_(seed) {}

  // random_sample(): 53 random bits in [0, 1), from two 32-bit draws (27 + 26 bits).
  double random_sample();
  // randn(): numpy's legacy_gauss, Marsaglia's polar method; each accepted
  // pair gives two values, the second kept for the next call.
  double randn();
  // The next n randn() values (randn(n) in numpy).
  std::vector<double> randn(size_t n);
  // shuffle(v) of a 1-D array: for i = n-1 down to 1, swap v[i] with v[j], j
  // uniform in [0, i] by numpy's random_interval (32-bit draws masked to the
  // smallest 2^k - 1 >= i, redrawn while above i; 64-bit draws, high word
  // first, past 2^32 - 1).
  void shuffle(std::vector<int64_t>& v);

 private:
  std::mt19937 mt_;
  bool has_gauss_ = false;
  double gauss_ = 0;
};

}  // namespace gf

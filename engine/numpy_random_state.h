// numpy's legacy np.random.RandomState, draw for draw, where the official
// code draws from it and a user expects its numbers: z for a seed
// (RandomState(seed).randn(z_dim) in the official generate.py,
// style_mixing.py and StyleGAN's generate_figures.py; models/latents.h), the
// projector's w_avg samples (RandomState(123); train/stylegan2/projector.h)
// and the official dataset.py's max_size subset (RandomState(seed).shuffle;
// data/dataset.cpp). Checked against numpy 1.24's values
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
  // random_interval(max): uniform in [0, max] by masked rejection: 32-bit
  // draws masked to the smallest 2^k - 1 >= max, redrawn while above max;
  // 64-bit draws, high word first, past 2^32 - 1; no draw for max 0.
  uint64_t random_interval(uint64_t max);
  // randint(low, high): one value of the legacy randint's int64 draws,
  // uniform in [low, high) (low + random_interval(high - 1 - low)); high >
  // low. PGGAN's SWD draws its patch positions so (metrics/sliced_wasserstein.h).
  int64_t randint(int64_t low, int64_t high);
  // shuffle(v) of a 1-D array: for i = n-1 down to 1, swap v[i] with v[j], j
  // = random_interval(i).
  void shuffle(std::vector<int64_t>& v);

 private:
  std::mt19937 mt_;
  bool has_gauss_ = false;
  double gauss_ = 0;
};

}  // namespace gf

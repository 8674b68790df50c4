// The minibatch order of the official StyleGAN2-ADA training loop
// (torch_utils/misc.py's InfiniteSampler), with its state for an exact resume.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"

namespace gf {

// The official InfiniteSampler: a seeded shuffle of [0, size), walked forever,
// where every visited slot is swapped with one up to window*size slots before
// it, so later epochs come in a new order without a sharp epoch boundary.
class InfiniteSampler {
 public:
  InfiniteSampler(int64_t size, uint64_t seed, bool shuffle = true, double window = 0.5);
  int64_t next();
  std::vector<int64_t> next_batch(int64_t n);
  // Position, order and RNG state, for a bit-exact resume; names get `prefix`.
  io::TensorMap state_dict(const std::string& prefix = "sampler.") const;
  void load_state_dict(const io::TensorMap& state, const std::string& prefix = "sampler.");

 private:
  uint64_t random();  // splitmix64
  std::vector<int64_t> order_;
  int64_t window_;
  uint64_t rng_;
  int64_t idx_ = 0;
};

}  // namespace gf

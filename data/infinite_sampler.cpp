#include "data/infinite_sampler.h"

#include <cmath>
#include <utility>

#include "engine/error.h"
#include "engine/tensor.h"

namespace gf {
namespace {

// splitmix64: tiny, portable and fully described by one 64-bit word, so the
// sampler's state goes into a checkpoint (std::mt19937's distributions are
// not portable across standard libraries).
uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// Uniform in [0, n) (Lemire's multiply; the bias for n << 2^64 is nil).
int64_t below(uint64_t r, int64_t n) {
  return static_cast<int64_t>((static_cast<unsigned __int128>(r) * static_cast<uint64_t>(n)) >> 64);
}
void shuffle(std::vector<int64_t>& v, uint64_t& rng) {
  for (int64_t i = static_cast<int64_t>(v.size()) - 1; i > 0; --i)
    std::swap(v[static_cast<size_t>(i)], v[static_cast<size_t>(below(splitmix64(rng), i + 1))]);
}

}  // namespace

InfiniteSampler::InfiniteSampler(int64_t size, uint64_t seed, bool shuffle_order, double window)
    : order_(static_cast<size_t>(size)), window_(static_cast<int64_t>(std::nearbyint(size * window))), rng_(seed) {
  GF_CHECK(size > 0, "InfiniteSampler", "empty dataset");
  GF_CHECK(window >= 0 && window <= 1, "InfiniteSampler", "window must be in [0, 1], got " << window);
  for (int64_t i = 0; i < size; ++i) order_[static_cast<size_t>(i)] = i;
  if (shuffle_order) shuffle(order_, rng_);
}

uint64_t InfiniteSampler::random() { return splitmix64(rng_); }

int64_t InfiniteSampler::next() {
  const int64_t n = static_cast<int64_t>(order_.size());
  const int64_t i = idx_ % n;
  const int64_t out = order_[static_cast<size_t>(i)];
  if (window_ >= 2) {
    const int64_t j = ((i - below(random(), window_)) % n + n) % n;
    std::swap(order_[static_cast<size_t>(i)], order_[static_cast<size_t>(j)]);
  }
  ++idx_;
  return out;
}

std::vector<int64_t> InfiniteSampler::next_batch(int64_t n) {
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (auto& v : out) v = next();
  return out;
}

io::TensorMap InfiniteSampler::state_dict(const std::string& prefix) const {
  // float64 holds every index exactly (< 2^53); the RNG word goes in two halves.
  std::vector<double> order(order_.begin(), order_.end());
  return {{prefix + "order", Tensor::from_vector(order, {static_cast<int64_t>(order.size())}, DType::f64)},
          {prefix + "rng", Tensor::from_vector({double(rng_ >> 32), double(rng_ & 0xFFFFFFFFu)}, {2}, DType::f64)},
          {prefix + "idx", Tensor::from_vector({double(idx_)}, {1}, DType::f64)}};
}

void InfiniteSampler::load_state_dict(const io::TensorMap& state, const std::string& prefix) {
  auto get = [&](const std::string& key, int64_t numel) {
    auto it = state.find(prefix + key);
    GF_CHECK(it != state.end(), "InfiniteSampler::load_state_dict", "missing " << prefix + key);
    GF_CHECK(it->second.numel() == numel, "InfiniteSampler::load_state_dict",
             prefix + key << " has " << it->second.numel() << " values, expected " << numel);
    return it->second.to_vector();
  };
  const auto order = get("order", static_cast<int64_t>(order_.size()));
  const auto rng = get("rng", 2);
  const auto idx = get("idx", 1);
  // Check before trusting: a permutation of [0, size), a whole index >= 0 and
  // two 32-bit halves, so a damaged file cannot index out of bounds.
  const char* op = "InfiniteSampler::load_state_dict";
  std::vector<char> seen(order_.size(), 0);
  for (double v : order) {
    GF_CHECK(v >= 0 && v < static_cast<double>(order_.size()) && v == std::floor(v) && !seen[static_cast<size_t>(v)], op,
             prefix << "order is not a permutation of [0, " << order_.size() << ")");
    seen[static_cast<size_t>(v)] = 1;
  }
  for (double v : rng)
    GF_CHECK(v >= 0 && v < 4294967296.0 && v == std::floor(v), op, prefix << "rng is not two 32-bit halves");
  GF_CHECK(idx[0] >= 0 && idx[0] < 9007199254740992.0 && idx[0] == std::floor(idx[0]), op,
           prefix << "idx must be a whole number >= 0, got " << idx[0]);
  for (size_t i = 0; i < order.size(); ++i) order_[i] = static_cast<int64_t>(order[i]);
  rng_ = (static_cast<uint64_t>(rng[0]) << 32) | static_cast<uint64_t>(rng[1]);
  idx_ = static_cast<int64_t>(idx[0]);
}

}  // namespace gf

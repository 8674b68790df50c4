// A statistic's mean over a tick, as the official training_stats and
// autosummary average every report between two status lines: detached
// device scalars summed as they come (a training step never waits for the
// device), read once when taken.
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace gf {

struct TickMean {
  Tensor sum;
  int64_t count = 0;
  double mean = 0;
  void add(const Tensor& v);  // a detached scalar (any shape summing to one value is the caller's business)
  // The mean since the last take (reads the device); with no add since, the previous mean (0 before the first).
  double take();
};

}  // namespace gf

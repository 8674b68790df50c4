#include "train/tick_mean.h"

#include "engine/ops.h"

namespace gf {

void TickMean::add(const Tensor& v) {
  sum = sum.defined() ? sum + v : v;
  ++count;
}

double TickMean::take() {
  if (count > 0) mean = sum.item() / static_cast<double>(count);
  sum = Tensor();
  count = 0;
  return mean;
}

}  // namespace gf

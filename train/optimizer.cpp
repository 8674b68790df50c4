#include "train/optimizer.h"

#include "engine/error.h"

namespace gf {

void check_second_moment(const Tensor& t, const std::string& what, const char* op) {
  const Tensor c = t.to(Device::cpu()).to(DType::f64).contiguous();
  const double* v = static_cast<const double*>(c.raw());
  for (int64_t i = 0; i < c.numel(); ++i)
    GF_CHECK(v[i] >= 0, op, what << " holds " << v[i] << " at flat index " << i << ": a second moment is >= 0 (a damaged checkpoint?)");
}

}  // namespace gf

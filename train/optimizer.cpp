#include "train/optimizer.h"

#include "engine/error.h"
#include "engine/io/npy.h"

namespace gf {

Tensor state_copy(const Tensor& src, Device device) {
  Tensor t = Tensor::empty(src.shape(), src.dtype(), device);
  t.copy_(src);
  return t;
}

void check_second_moment(const Tensor& t, const std::string& what, const char* op) {
  const Tensor c = t.to(Device::cpu());
  const int64_t i = io::first_negative(c);
  GF_CHECK(i < 0, op, what << " holds " << c.to_vector()[size_t(i)] << " at flat index " << i
                               << ": a second moment is >= 0 (a damaged checkpoint?)");
}

}  // namespace gf

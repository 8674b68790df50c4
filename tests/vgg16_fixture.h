// The thin (or full) VGG16 whose weights tools/reference/vgg16_reference.py's
// hashed_state_dict derives from each tensor's name, so a test and its
// PyTorch fixture build the same network without a committed weight file.
#pragma once
#include <cmath>
#include <memory>
#include <string>

#include "engine/io/safetensors.h"
#include "models/param_init.h"
#include "models/perceptual/vgg16.h"
#include "tests/fixtures.h"

namespace gf::test {

// vgg16_reference.hashed_tensor: He-uniform weights, biases in [-0.1, 0.1),
// lin weights in [0, 0.5), rounded to float32; written in place (the full
// network holds 134M values).
inline Tensor hashed_vgg16_tensor(const std::string& name, const Shape& shape) {
  const uint64_t base = fnv1a64(name);
  Tensor t = Tensor::empty(shape, DType::f32);
  int64_t fan_in = 1;
  for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
  const bool lin = name.rfind("lin", 0) == 0;
  const bool weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
  const double bound = std::sqrt(6.0 / double(fan_in));
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double u = hashed_uniform(base, uint64_t(i));
    p[i] = float(lin ? u * 0.5 : weight ? (u * 2 - 1) * bound : (u * 2 - 1) * 0.1);
  }
  return t;
}

// VGG16 at widths / divisor with the hashed weights, in dtype (float32, or
// float64 with the float32 values widened).
inline std::unique_ptr<perceptual::Vgg16> hashed_vgg16(int divisor, DType dtype = DType::f32) {
  perceptual::Vgg16Config cfg;
  cfg.width_divisor = divisor;
  ParamInit init(0, dtype);
  init.skip_draws = true;
  auto net = std::make_unique<perceptual::Vgg16>(cfg, init);
  io::TensorMap state;
  for (const auto& [name, t] : net->state_dict()) state[name] = hashed_vgg16_tensor(name, t.shape());
  net->load_state_dict(state);
  return net;
}

}  // namespace gf::test

// Noise injection for StyleGAN-family synthesis layers: x + strength * noise,
// noise [N, 1, H, W] (or [1, 1, H, W]) broadcast over channels, strength a
// learned scalar (StyleGAN2) or one learned value per channel (StyleGAN), and
// the fused noise + bias + activation of a StyleGAN2 layer.
#pragma once
#include <optional>
#include <string>

#include "engine/ops.h"
#include "engine/ops/bias_act.h"

namespace gf {

enum class NoiseMode { random, constant, none };

// The noise for x [N, C, H, W]: random draws [N, 1, H, W] from `gen`; constant
// returns `buffer` ([H, W] or [1, 1, H, W]) as [1, 1, H, W]; none returns an
// undefined tensor (which the ops below read as no noise).
Tensor make_noise(const Tensor& x, NoiseMode mode, Generator* gen = nullptr, const Tensor& buffer = Tensor());

// x + strength * noise. Differentiable in all three, to any order.
Tensor add_noise(const Tensor& x, const Tensor& noise, const Tensor& strength);

// bias_act(x + strength * noise, b, 1, spec) in one pass over x; an undefined
// noise is no noise and an undefined b is no bias. Differentiable in x, noise,
// strength and b to second order.
Tensor noise_bias_act(const Tensor& x, const Tensor& noise, const Tensor& strength, const Tensor& b,
                      const BiasActSpec& spec);

}  // namespace gf

// Exponential moving average of the generator's weights (G_ema), as the
// official training loop keeps it.
#pragma once
#include <cstdint>
#include <optional>

#include "engine/module.h"

namespace gf {

// The official per-step beta: the half-life is ema_kimg thousand images,
// shortened early in training to ema_rampup * cur_nimg when a ramp-up is set:
//   0.5 ** (batch_size / max(min(ema_kimg * 1000, cur_nimg * ema_rampup), 1e-8))
double ema_beta(double ema_kimg, std::optional<double> ema_rampup, int64_t cur_nimg, int64_t batch_size);

// g_ema.param = lerp(g.param, g_ema.param, beta) for every parameter; every
// buffer is copied from g. Both modules must have the same structure (same
// names, shapes); that is checked before anything changes.
void ema_update(Module& g_ema, const Module& g, double beta);

}  // namespace gf

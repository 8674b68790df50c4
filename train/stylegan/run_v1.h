// train_stylegan --arch stylegan: StyleGAN (v1) with progressive growing from the flags, on the opened dataset:
// the spec, the trainer (fresh or --resume), the metrics, the run folder and the tick loop.
#pragma once
#include <optional>

#include "data/dataset.h"
#include "engine/device.h"
#include "metrics/training_metrics.h"
#include "train/cli.h"

namespace gf {

// --arch stylegan: StyleGAN (v1) with progressive growing (train/stylegan/).
int run_v1(const cli::Args& args, const Dataset& ds, const DatasetOptions& dopt, Device dev,
           const metrics::MetricRequest& metric_req, const std::optional<metrics::MetricDetectors>& detectors);

}  // namespace gf

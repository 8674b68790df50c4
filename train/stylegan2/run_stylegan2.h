// train_stylegan (--arch stylegan2, the default): StyleGAN2-ADA from the flags, on the opened dataset: the spec,
// the trainer (fresh or --resume), the metrics, the run folder (rank 0; --dry-run: the options alone), the tick loop.
#pragma once
#include <memory>
#include <optional>

#include "data/dataset.h"
#include "engine/device.h"
#include "engine/dist/communicator.h"
#include "metrics/training_metrics.h"
#include "train/cli.h"

namespace gf {

// --arch stylegan2: the rest of train_stylegan's run once the flags are checked, the process group joined
// (`world` processes, `comm` null alone), the metrics' detectors loaded and the dataset opened. `multi`: the
// ranks share the metrics, their waits under `metrics_wait` seconds; `noresume_given`: --resume noresume.
int run_stylegan2(const cli::Args& args, const Dataset& ds, const DatasetOptions& dopt, Device dev,
                  const metrics::MetricRequest& metric_req, const std::optional<metrics::MetricDetectors>& detectors,
                  int world, const std::shared_ptr<Communicator>& comm, bool multi, double metrics_wait,
                  bool noresume_given);

}  // namespace gf

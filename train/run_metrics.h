// The metrics a training run evaluates after every snapshot (--metrics): prepared before its run folder, evaluated
// by the process that writes it, the feature passes shared with the other ranks of a process group.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "engine/device.h"
#include "engine/dist/communicator.h"
#include "metrics/compute_features.h"
#include "metrics/linear_separability.h"
#include "metrics/perceptual_path_length.h"
#include "metrics/training_metrics.h"
#include "train/cli.h"
#include "train/run_dir.h"

namespace gf {

// The metrics a run evaluates after every snapshot (the official loops'
// metric_main.calc_metric on G_ema for StyleGAN2-ADA, metrics.run on Gs for
// v1). The real images are the whole dataset, as the official metrics reset
// max_size: --max-images reopens it in full (the set-up holds it).
// make_generator gets the dataset the labels come from. Made before the run
// folder (and before --dry-run returns): metric_context checks every metric,
// so a run they cannot serve stops with no folder left behind.
struct RunMetrics {
  metrics::MetricRequest req;
  std::shared_ptr<const Dataset> full;  // the reopened dataset under --max-images
  metrics::MetricContext ctx;
};
std::shared_ptr<RunMetrics> prepare_metrics(
    const cli::Args& args, const metrics::MetricRequest& req, const metrics::MetricDetectors& detectors,
    const Dataset& ds, const DatasetOptions& dopt,
    const std::function<metrics::ImageGenerator(const Dataset&)>& make_generator,
    const std::function<metrics::PathSampler(const Dataset&)>& make_paths,
    const std::function<metrics::LatentSampler(const Dataset&)>& make_latents, Device dev,
    Communicator* comm = nullptr);

// The metrics' evaluation after a snapshot, its collectives under the
// metrics' limit when the ranks share it (rank 0 reads the cache and forms
// each result while the others wait).
nlohmann::json evaluate_shared(const RunMetrics& m, const std::string& run_dir, const std::string& snapshot);

// The LoopOptions hook of the writing process: the prepared metrics, logged
// to and reported in `run`.
std::function<nlohmann::json(const std::string&)> metrics_hook(std::shared_ptr<RunMetrics> m, RunDir& run);

// With one process per device every rank loads the detectors and checks the
// metrics (each evaluates its share), and every rank learns the verdict
// before training (checked_on_every_rank): when one refused, the first that
// refused stops with its own line, the others with "rank R: rank K refused
// the metrics, so no rank trains: <K's line>".
inline constexpr const char* kRefusedMetrics = "refused the metrics, so no rank trains";

}  // namespace gf

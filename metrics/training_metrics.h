// Metrics as the programs ask for them: the flags train_stylegan and
// calc_metrics share (--metrics, --detector, --vgg16, --classifiers,
// --metrics-cache, --metric-items),
// and their evaluation after each snapshot, as the official training loop
// runs metric_main.calc_metric on every snapshot's G_ema and appends the
// result to <run>/metric-<name>.jsonl.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "metrics/inception_detector.h"
#include "metrics/metric_main.h"
#include "metrics/vgg16_detector.h"
#include "models/perceptual/attribute_classifiers.h"
#include "train/cli.h"

namespace gf::metrics {

// flags with --metrics (default default_metrics: none for train_stylegan,
// whose detector must be given; calc_metrics's fid50k_full as the official
// script's; none_allowed: whether the help offers "none"), --detector,
// --vgg16, --classifiers, --metrics-cache and --metric-items appended.
std::vector<cli::Flag> with_metric_flags(std::vector<cli::Flag> flags, const std::string& default_metrics = "none",
                                         bool none_allowed = true);

struct MetricRequest {
  std::vector<std::string> names;  // empty: no metrics
  std::string detector;            // the converted inception-2015-12-05 .bin (FID, KID, IS)
  std::string vgg16;               // the converted vgg16 .bin (PR, PPL)
  std::string classifiers;         // the converted CelebA-HQ attribute classifiers .bin (LS)
  std::string cache_dir;           // empty: no cache
  int64_t max_items = 0;
};
// The flags, checked: an unknown metric, an Inception metric without
// --detector, a VGG16 metric without --vgg16, LS without --classifiers, or
// a detector no chosen metric runs give one line (gf::Error) before
// anything runs.
MetricRequest metric_request(const cli::Args& args);

// The detectors the request's metrics run, loaded onto device (each only
// when a metric needs it). Throws naming a file that is not the network.
struct MetricDetectors {
  std::optional<InceptionDetector> inception;
  std::optional<Vgg16Detector> vgg16;
  std::shared_ptr<perceptual::AttributeClassifiers> classifiers;  // LS's
  std::string classifiers_key;                                     // "classifiers:<hash of the file's bytes>"
};
MetricDetectors load_metric_detectors(const MetricRequest& req, Device device);

// Every requested metric of one generator; each result's jsonl line
// (metric_line) is logged, then appended in run_dir when not empty
// (append_metric_line: a failed append throws after the line was shown). ctx's detector functions, dataset and generator must be set.
// The context the programs evaluate in: the request's cache and cap, the
// detectors' functions and keys, the detector batch for the device, the
// generator's images, its PPL paths and its LS latent sampler (empty for
// PGGAN: a PPL or LS metric then refuses it with one line, before anything
// runs). Each requested metric is
// checked (check_metric): a dataset too small for one is refused here.
MetricContext metric_context(const MetricRequest& req, const MetricDetectors& detectors, const Dataset& dataset,
                             ImageGenerator generator, PathSampler paths, LatentSampler latents, Device device,
                             uint64_t seed,
                             std::function<void(const std::string&)> log);

// Returns every result by name ({"fid50k_full": 12.3, "is50k_mean": ...}),
// for the tick's stats.jsonl line.
// Makes the context's generator and PPL path sampler check for a stop
// signal (train/stop_signal.h) before each batch, and the feature loops
// every ~1000 items (through the progress hook, which keeps calling the one
// it had): a Ctrl-C during a training run's evaluation (hours at 50k images)
// stops the run as between steps, with Interrupted. Not with a process group
// (ctx.feature_opt.comm of several ranks): a rank stopping alone would leave
// the others in a collective, so there the ranks agree in each round of the
// shared passes instead (metrics/sharding.h). Set the group first.
void stop_between_batches(MetricContext& ctx);

// Makes the context's generator and PPL path sampler say, once per process
// on stderr, when their images hold NaN or inf (a network whose weights
// overflow): the metrics then describe black pixels, as the official code's
// do. metric_context calls it.
void warn_of_nonfinite_images(MetricContext& ctx);

// With ctx.feature_opt.comm, a collective (calc_metric): every rank calls
// it; rank 0 logs, appends and returns the results, the others take their
// share of the passes and return {}. log gets "Evaluating metrics..." first
// when `announce` (calc_metrics --verbose false prints the results alone).
nlohmann::json evaluate_metrics(const MetricRequest& req, const MetricContext& ctx, const std::string& run_dir,
                                const std::string& snapshot, const std::function<void(const std::string&)>& log,
                                bool announce = true);

// evaluate_metrics as the programs run it: with a process group of several
// ranks (ctx.feature_opt.comm) every wait of its collectives is bounded by
// GF_DIST_METRICS_TIMEOUT (Communicator::within; default a day: rank 0
// alone reads the cache and forms each result while the others wait)
// instead of GF_DIST_TIMEOUT. train_stylegan after each snapshot,
// calc_metrics once.
nlohmann::json evaluate_metrics_within(const MetricRequest& req, const MetricContext& ctx, const std::string& run_dir,
                                       const std::string& snapshot,
                                       const std::function<void(const std::string&)>& log, bool announce = true);

}  // namespace gf::metrics

// Metrics as the programs ask for them: the flags train_stylegan and
// calc_metrics share (--metrics, --detector, --metrics-cache, --metric-items),
// and their evaluation after each snapshot, as the official training loop
// runs metric_main.calc_metric on every snapshot's G_ema and appends the
// result to <run>/metric-<name>.jsonl.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "metrics/inception_detector.h"
#include "metrics/metric_main.h"
#include "train/cli.h"

namespace gf::metrics {

// flags with --metrics (default default_metrics: none for train_stylegan,
// whose detector must be given; calc_metrics's fid50k_full as the official
// script's), --detector, --metrics-cache and --metric-items appended.
std::vector<cli::Flag> with_metric_flags(std::vector<cli::Flag> flags, const std::string& default_metrics = "none");

struct MetricRequest {
  std::vector<std::string> names;  // empty: no metrics
  std::string detector;            // the converted inception-2015-12-05 .bin
  std::string cache_dir;           // empty: no cache
  int64_t max_items = 0;
};
// The flags, checked: an unknown metric, or metrics without --detector, give
// one line (gf::Error) before anything runs.
MetricRequest metric_request(const cli::Args& args);

// Every requested metric of one generator; each result is reported
// (report_metric: the jsonl line, appended in run_dir when not empty) and
// logged. ctx's detector functions, dataset and generator must be set.
// The context the programs evaluate in: the request's cache and cap, the
// detector's functions and key, the detector batch for the device.
MetricContext metric_context(const MetricRequest& req, const InceptionDetector& detector, const Dataset& dataset,
                             ImageGenerator generator, Device device, uint64_t seed,
                             std::function<void(const std::string&)> log);

// Returns every result by name ({"fid50k_full": 12.3, "is50k_mean": ...}),
// for the tick's stats.jsonl line.
nlohmann::json evaluate_metrics(const MetricRequest& req, const MetricContext& ctx, const std::string& run_dir,
                                const std::string& snapshot, const std::function<void(const std::string&)>& log);

}  // namespace gf::metrics

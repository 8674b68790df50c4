#include "metrics/training_metrics.h"

#include "engine/error.h"
#include "metrics/stats_cache.h"

namespace gf::metrics {

std::vector<cli::Flag> with_metric_flags(std::vector<cli::Flag> flags, const std::string& default_metrics) {
  std::vector<cli::Flag> more = {
          {"metrics", "LIST", default_metrics, "comma-separated metrics (" + valid_metrics_text() + ") or none; they need --detector"},
          {"detector", "FILE.bin", "", "the FID/KID/IS Inception network: the official inception-2015-12-05.pt converted by tools/convert_weights.py"},
          {"metrics-cache", "DIR", "", "where real-image statistics are cached (default ~/.cache/ganforge/gan-metrics); none: no cache"},
          cli::integer("metric-items", "N", "", "at most N generated and N real images per metric (a quick check; the jsonl line says so)", 1, cli::kInt64Max)};
  flags.insert(flags.end(), more.begin(), more.end());
  return flags;
}

MetricRequest metric_request(const cli::Args& args) {
  MetricRequest r;
  r.names = parse_metric_list(args.str("metrics"));
  if (!r.names.empty() && !args.has("detector"))
    throw Error("--metrics " + args.str("metrics") +
                " needs --detector FILE.bin: the official inception-2015-12-05.pt converted with "
                "tools/convert_weights.py import (it cannot be downloaded here)");
  if (r.names.empty())
    for (const char* f : {"detector", "metrics-cache", "metric-items"})
      if (args.has(f)) throw Error(std::string("--") + f + " applies to --metrics, which is none");
  r.detector = args.str("detector");
  r.cache_dir = args.has("metrics-cache") ? args.str("metrics-cache") : default_cache_dir();
  if (r.cache_dir == "none") r.cache_dir.clear();
  if (args.has("metric-items")) r.max_items = args.integer("metric-items");
  // Each metric's own minimum (metric_main.h), before anything runs.
  for (const std::string& m : r.names)
    if (r.max_items > 0 && r.max_items < metric_min_items(m))
      throw Error("--metric-items " + std::to_string(r.max_items) + " is too few for " + m + ", which needs at least " +
                  std::to_string(metric_min_items(m)) + " generated images (and as many real ones for FID and KID)");
  return r;
}

MetricContext metric_context(const MetricRequest& req, const InceptionDetector& detector, const Dataset& dataset,
                             ImageGenerator generator, Device device, uint64_t seed,
                             std::function<void(const std::string&)> log) {
  MetricContext ctx;
  ctx.dataset = &dataset;
  ctx.generator = std::move(generator);
  detector.attach(ctx);
  ctx.cache_dir = req.cache_dir;
  ctx.max_items = req.max_items;
  ctx.seed = seed;
  ctx.feature_opt.device = device;
  ctx.feature_opt.batch_size = detector_batch(device);
  ctx.log = std::move(log);
  return ctx;
}

nlohmann::json evaluate_metrics(const MetricRequest& req, const MetricContext& ctx, const std::string& run_dir,
                                const std::string& snapshot, const std::function<void(const std::string&)>& log) {
  nlohmann::json all = nlohmann::json::object();
  if (req.names.empty()) return all;
  if (log) log("Evaluating metrics...");
  for (const std::string& name : req.names) {
    const MetricResult r = calc_metric(name, ctx);
    const std::string line = report_metric(r, run_dir, snapshot);
    if (log) log(line);
    all.update(r.results);
  }
  return all;
}

}  // namespace gf::metrics

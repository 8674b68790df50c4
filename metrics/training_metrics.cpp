#include "metrics/training_metrics.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <iostream>

#include "engine/error.h"
#include "engine/ops.h"
#include "metrics/sharding.h"
#include "metrics/stats_cache.h"
#include "train/stop_signal.h"

namespace gf::metrics {

std::vector<cli::Flag> with_metric_flags(std::vector<cli::Flag> flags, const std::string& default_metrics,
                                         bool none_allowed) {
  std::vector<cli::Flag> more = {
          {"metrics", "LIST", default_metrics, "comma-separated metrics (" + valid_metrics_text() + ")" + (none_allowed ? " or none" : "") + "; FID, KID and IS need --detector, PR and PPL --vgg16, LS --classifiers"},
          {"detector", "FILE.bin", "", "the FID/KID/IS Inception network: the official inception-2015-12-05.pt converted by tools/convert_weights.py"},
          {"vgg16", "FILE.bin", "", "the PR/PPL VGG16 network: torchvision's VGG16 with LPIPS's lin layers (the official vgg16.pt) converted by tools/convert_weights.py --format vgg16"},
          {"classifiers", "FILE.bin", "", "the LS network: StyleGAN's 40 celebahq-classifier-NN-*.pkl converted by tools/convert_weights.py --format celebahq-classifiers"},
          {"metrics-cache", "DIR", "",
           "where real-image statistics are cached (default $XDG_CACHE_HOME/ganforge/gan-metrics, else "
           "~/.cache/ganforge/gan-metrics); none: no cache"},
          cli::integer("metric-items", "N", "", "at most N generated and N real images per metric (a quick check; the jsonl line says so)", 1, cli::kInt64Max)};
  more[0].may_be_empty = none_allowed;  // --metrics '' is none, as the official CommaSeparatedList reads it
  flags.insert(flags.end(), more.begin(), more.end());
  return flags;
}

namespace {

// "fid50k_full, is50k": the names of list for which pred holds.
template <class Pred>
std::string names_where(const std::vector<std::string>& list, Pred pred) {
  std::string t;
  for (const std::string& m : list)
    if (pred(m)) t += (t.empty() ? "" : ",") + m;
  return t;
}

}  // namespace

MetricRequest metric_request(const cli::Args& args) {
  MetricRequest r;
  r.names = parse_metric_list(args.str("metrics"));
  if (r.names.empty())
    for (const char* f : {"detector", "vgg16", "classifiers", "metrics-cache", "metric-items"})
      if (args.has(f)) throw Error(std::string("--") + f + " applies to --metrics, which is none");
  const std::string inception = names_where(r.names, metric_needs_inception);
  const std::string vgg16 = names_where(r.names, metric_needs_vgg16);
  const std::string classifiers = names_where(r.names, metric_needs_classifiers);
  if (!inception.empty() && !args.has("detector"))
    throw Error("--metrics " + inception +
                " needs --detector FILE.bin: the official inception-2015-12-05.pt converted with "
                "tools/convert_weights.py import (it cannot be downloaded here)");
  if (!vgg16.empty() && !args.has("vgg16"))
    throw Error("--metrics " + vgg16 +
                " needs --vgg16 FILE.bin: torchvision's VGG16 and LPIPS's vgg.pth (the official vgg16.pt) converted with "
                "tools/convert_weights.py import --format vgg16 --lpips (they cannot be downloaded here)");
  if (!classifiers.empty() && !args.has("classifiers"))
    throw Error("--metrics " + classifiers +
                " needs --classifiers FILE.bin: StyleGAN's 40 CelebA-HQ attribute classifiers "
                "(celebahq-classifier-NN-*.pkl) converted with tools/convert_weights.py import FOLDER FILE.bin "
                "--format celebahq-classifiers (they cannot be downloaded here)");
  if (!r.names.empty() && classifiers.empty() && args.has("classifiers"))
    throw Error("--classifiers are the attribute classifiers of ls; --metrics " + args.str("metrics") +
                " does not run it");
  if (!r.names.empty() && inception.empty() && args.has("detector"))
    throw Error("--detector is the Inception network of FID, KID and IS; --metrics " + args.str("metrics") +
                " runs none of them");
  if (!r.names.empty() && vgg16.empty() && args.has("vgg16"))
    throw Error("--vgg16 is the network of PR and PPL; --metrics " + args.str("metrics") + " runs neither");
  r.detector = args.str("detector");
  r.vgg16 = args.str("vgg16");
  r.classifiers = args.str("classifiers");
  r.cache_dir = args.has("metrics-cache") ? args.str("metrics-cache") : default_cache_dir();
  if (r.cache_dir == "none") r.cache_dir.clear();
  if (args.has("metric-items")) r.max_items = args.integer("metric-items");
  // Each metric's own minimum (metric_main.h), before anything runs.
  for (const std::string& m : r.names)
    if (r.max_items > 0 && r.max_items < metric_min_items(m))
      throw Error("--metric-items " + std::to_string(r.max_items) + " is too few for " + m + ", which needs at least " +
                  std::to_string(metric_min_items(m)) +
                  (metric_needs_mapping(m) ? " samples"
                                           : " generated images (and as many real ones for FID, KID and PR)") +
                  (metric_needs_classifiers(m) ? " (it keeps the most confident half)" : ""));
  return r;
}

MetricDetectors load_metric_detectors(const MetricRequest& req, Device device) {
  MetricDetectors d;
  if (std::any_of(req.names.begin(), req.names.end(), metric_needs_inception))
    d.inception = load_inception_detector(req.detector, device);
  if (std::any_of(req.names.begin(), req.names.end(), metric_needs_vgg16)) d.vgg16 = load_vgg16_detector(req.vgg16, device);
  if (std::any_of(req.names.begin(), req.names.end(), metric_needs_classifiers)) {
    d.classifiers = std::make_shared<perceptual::AttributeClassifiers>(
        perceptual::AttributeClassifiers::load(req.classifiers));
    d.classifiers->to(device);
    d.classifiers_key = "classifiers:" + file_content_key(req.classifiers);
  }
  return d;
}

MetricContext metric_context(const MetricRequest& req, const MetricDetectors& detectors, const Dataset& dataset,
                             ImageGenerator generator, PathSampler paths, LatentSampler latents, Device device,
                             uint64_t seed, std::function<void(const std::string&)> log) {
  MetricContext ctx;
  ctx.dataset = &dataset;
  ctx.generator = std::move(generator);
  ctx.paths = std::move(paths);
  ctx.latents = std::move(latents);
  if (detectors.classifiers) {
    std::shared_ptr<perceptual::AttributeClassifiers> c = detectors.classifiers;
    ctx.attribute_logits = [c](const Tensor& images) { return c->logits(images); };
    ctx.attribute_side = c->side();
  }
  if (detectors.inception) detectors.inception->attach(ctx);
  if (detectors.vgg16) detectors.vgg16->attach(ctx);
  ctx.cache_dir = req.cache_dir;
  ctx.max_items = req.max_items;
  ctx.seed = seed;
  ctx.feature_opt.device = device;
  ctx.feature_opt.batch_size = detector_batch(device);
  ctx.log = std::move(log);
  warn_of_nonfinite_images(ctx);
  for (const std::string& m : req.names) check_metric(m, ctx);  // at set-up, not at the first snapshot
  return ctx;
}

namespace {

// The line for a generator whose images hold NaN or inf, once per process
// for each kind of images: `effect` says what those metrics make of them
// (one flag for all let the LS set-up's probe silence FID's line).
struct NonfiniteWarning {
  const char* what;
  const char* effect;
  std::atomic<bool> given{false};
};
NonfiniteWarning g_generated{"generated images",
                             "the metrics take them as black pixels, as the official code's uint8 cast does"};
NonfiniteWarning g_paths{"PPL path images", "PPL's distances of them are NaN"};
NonfiniteWarning g_ls{"LS sample images",
                      "their classifier logits are NaN, which LS ranks last with class 0, as the official's argmax "
                      "gives"};

// On the images' device, one scalar back: x * 0 is 0 for a finite x and NaN
// for NaN or inf, so the sum is NaN exactly when one pixel is not finite.
// Not done once w's line was given.
void warn_if_nonfinite(const Tensor& images, NonfiniteWarning& w) {
  if (w.given.load() || images.numel() == 0 || std::isfinite(sum(images * 0.0).item())) return;
  if (w.given.exchange(true)) return;
  std::cerr << "warning: the network's " << w.what << " hold NaN or inf pixels (its weights overflow): " << w.effect
            << ", so the results describe those, not the network's images" << std::endl;
}

}  // namespace

void warn_of_nonfinite_images(MetricContext& ctx) {
  // The official code reports a metric for such a network (and trains on):
  // the result stays as it computes it, but not in silence.
  if (ctx.generator)
    ctx.generator = [gen = std::move(ctx.generator)](int64_t n, gf::Generator& rng) {
      Tensor images = gen(n, rng);
      warn_if_nonfinite(images, g_generated);
      return images;
    };
  if (ctx.paths)
    ctx.paths = [paths = std::move(ctx.paths)](int64_t n, const PplSpec& spec, gf::Generator& rng) {
      Tensor images = paths(n, spec, rng);
      warn_if_nonfinite(images, g_paths);
      return images;
    };
  if (ctx.latents)
    ctx.latents = [latents = std::move(ctx.latents)](int64_t n, gf::Generator& rng) {
      LatentSample s = latents(n, rng);
      warn_if_nonfinite(s.images, g_ls);
      return s;
    };
}

void stop_between_batches(MetricContext& ctx) {
  if (group_size(ctx.feature_opt.comm) > 1) return;  // for_each_batch's rounds agree instead
  if (ctx.generator)
    ctx.generator = [gen = std::move(ctx.generator)](int64_t n, gf::Generator& rng) {
      throw_if_stop_requested();
      return gen(n, rng);
    };
  if (ctx.paths)
    ctx.paths = [paths = std::move(ctx.paths)](int64_t n, const PplSpec& spec, gf::Generator& rng) {
      throw_if_stop_requested();
      return paths(n, spec, rng);
    };
  if (ctx.latents)
    ctx.latents = [latents = std::move(ctx.latents)](int64_t n, gf::Generator& rng) {
      throw_if_stop_requested();
      return latents(n, rng);
    };
  ctx.feature_opt.progress = [progress = std::move(ctx.feature_opt.progress)](const std::string& line) {
    throw_if_stop_requested();
    if (progress) progress(line);
  };
}

nlohmann::json evaluate_metrics(const MetricRequest& req, const MetricContext& ctx, const std::string& run_dir,
                                const std::string& snapshot, const std::function<void(const std::string&)>& log,
                                bool announce) {
  nlohmann::json all = nlohmann::json::object();
  if (req.names.empty()) return all;
  const bool reports = computes_results(ctx.feature_opt.comm);
  if (log && reports && announce) log("Evaluating metrics...");
  for (const std::string& name : req.names) {
    const MetricResult r = calc_metric(name, ctx);
    if (!reports) continue;  // another rank: its share of the passes only
    // Shown before it is appended: a run folder that refuses the line
    // (a full disk, its permissions) must not cost the result.
    const std::string line = metric_line(r, run_dir, snapshot);
    if (log) log(line);
    if (!run_dir.empty()) append_metric_line(run_dir, r.metric, line);
    all.update(r.results);
  }
  return all;
}

nlohmann::json evaluate_metrics_within(const MetricRequest& req, const MetricContext& ctx, const std::string& run_dir,
                                       const std::string& snapshot,
                                       const std::function<void(const std::string&)>& log, bool announce) {
  Communicator* comm = ctx.feature_opt.comm;
  if (group_size(comm) == 1) return evaluate_metrics(req, ctx, run_dir, snapshot, log, announce);
  nlohmann::json all;
  comm->within(dist_metrics_timeout_seconds(), "GF_DIST_METRICS_TIMEOUT",
               [&] { all = evaluate_metrics(req, ctx, run_dir, snapshot, log, announce); });
  return all;
}

}  // namespace gf::metrics

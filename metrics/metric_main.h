// The metrics by their official names (StyleGAN2-ADA metrics/metric_main.py),
// computed from a generator, the real images and the Inception detector:
//   fid50k_full  FID of 50k generated images against every real image,
//                x-flipped copies left out;
//   fid50k       FID of 50k generated images against the first 50k items of
//                the dataset as the run sees it (x-flipped copies included);
//   kid50k_full  KID of 50k generated images against up to 1M real images,
//                x-flipped copies left out;
//   kid50k       KID of 50k generated images against the first 50k items of
//                the dataset as the run sees it;
//   is50k        Inception Score of 50k generated images (10 splits);
//   pr50k3_full  precision and recall (k = 3 nearest neighbours of VGG16
//                features) of 50k generated images against up to 200k
//                real images, x-flipped copies left out;
//   pr50k3       the same against the first 50k items as the run sees them;
//   ppl_zfull, ppl_wfull, ppl_zend, ppl_wend
//                Perceptual Path Length of 50k samples in Z or W, over the
//                whole path or at its ends, on the face crop;
//   ppl2_wend    ppl_wend without the crop.
// and PGGAN's own (progressive_growing_of_gans config.py's evaluate_metrics
// runs; metrics/pggan_metrics.h), for any family's generator:
//   swd16k       sliced Wasserstein distance x 1e3 of 16384 generated and
//                16384 real images' Laplacian pyramid patches, per level
//                side (swd16k_<side>, 16 and up) and their mean (swd16k_avg);
//   swd16k_reals2  swd16k's Reals2 row: the same of 16384 real images and
//                the next 16384 (no generated image): the noise floor;
//   msssim20k    mean MS-SSIM of 10000 pairs of generated images, and of
//                10000 pairs of real ones (msssim20k_reals).
// and StyleGAN's own (NVlabs/stylegan metric_defaults.py; also in NVlabs/stylegan2):
//   ls           linear separability of 200000 samples' 100000 most confident
//                per attribute (metrics/linear_separability.h): ls_z, ls_w;
//                runs the 40 CelebA-HQ attribute classifiers.
// FID, KID and IS run the Inception detector; PR and PPL run VGG16
// (models/perceptual/vgg16.h): its fc2 features (PR), its LPIPS embedding
// (PPL). PPL needs a generator with a mapping network (StyleGAN, StyleGAN2),
// not PGGAN's; so does LS.
// KID (metrics/kernel_inception_distance.h) keeps every feature row: the
// real rows of kid50k_full take up to 1M x 2048 float32 = 8 GB of memory
// (and of cache), as the official code's.
// Results go to <run>/metric-<name>.jsonl as the official report_metric
// writes them. The real images' statistics are cached by content
// (metrics/stats_cache.h), as the official cache does by dataset options.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "metrics/compute_features.h"
#include "metrics/linear_separability.h"
#include "metrics/perceptual_path_length.h"

namespace gf::metrics {

bool is_valid_metric(const std::string& name);
std::vector<std::string> list_valid_metrics();
std::string valid_metrics_text();  // "fid50k_full, kid50k_full, ..." in the official order
// The fewest images a metric can be computed from (is50k: 10, the PRs: 4
// (each side's 3 nearest neighbours besides itself), the KIDs: 2, the FIDs
// and PPLs: 1 (PPL: samples)), generated and real alike. Throws for an
// unknown name.
int64_t metric_min_items(const std::string& name);
// What a metric runs (throw for an unknown name): the Inception network
// (FID, KID, IS), VGG16 (PR, PPL), the generator's mapping (PPL).
bool metric_needs_inception(const std::string& name);
bool metric_needs_vgg16(const std::string& name);
bool metric_needs_mapping(const std::string& name);
bool metric_needs_classifiers(const std::string& name);  // the attribute classifiers (ls)
// "fid50k_full,is50k" -> names; "none" (any case) or "" -> none, as the official
// CommaSeparatedList. Throws gf::Error naming
// an unknown metric and listing the valid ones.
std::vector<std::string> parse_metric_list(const std::string& list);

struct MetricContext {
  const Dataset* dataset = nullptr;  // the real images, as the run built them (x-flips included with --mirror)
  ImageGenerator generator;          // G_ema, truncation 1, random noise
  Detector features;                 // InceptionV3::features: [n, 2048] (FID, KID)
  Detector probabilities;            // InceptionV3::probabilities: [n, 1008] (is50k)
  std::string detector_key;          // names the detector's weights in the cache key
  PathSampler paths;                 // the generator's PPL paths (metrics/generators.h); empty: no W (PGGAN)
  Detector lpips;                    // Vgg16::lpips_embedding (the PPLs)
  int64_t lpips_min_side = 0;        // the smallest image side lpips takes (VGG16: 16); 0: any
  Detector vgg_features;             // Vgg16::features: [n, 4096] (the PRs)
  std::string vgg16_key;             // names VGG16's weights in the PRs' cache key
  LatentSampler latents;             // the generator's z, w and images (ls); empty: no W (PGGAN)
  Detector attribute_logits;         // AttributeClassifiers::logits (ls): [n, 3, side, side] -> [n, 40]
  int64_t attribute_side = 0;        // the classifiers' image side
  std::string cache_dir;             // real-image statistics cache; empty: none
  uint64_t seed = 0;                 // latents, labels and noise of the generated images; KID's subsets
  int64_t max_items = 0;             // > 0: at most this many generated and real images (quick checks)
  FeatureOptions feature_opt;
  std::function<void(const std::string&)> log;  // progress and cache lines; may be empty
  // Warnings of a metric's own (LS's fits: the official's Python warnings);
  // empty: "warning: <line>" on stderr. train_stylegan sends them to the run's log.
  std::function<void(const std::string&)> warn;
  // The real images' content keys by dataset and item list, computed once per
  // context (copies share it): hashing a large dataset at every snapshot
  // costs minutes.
  using ContentKeys = std::map<std::pair<const Dataset*, std::vector<int64_t>>, std::string>;
  std::shared_ptr<ContentKeys> content_keys = std::make_shared<ContentKeys>();
};

struct MetricResult {
  std::string metric;
  nlohmann::json results;  // {"fid50k_full": 12.3}, {"is50k_mean": .., "is50k_std": ..}, {"pr50k3_precision": .., "pr50k3_recall": ..}
  double total_time = 0;   // seconds
  int64_t num_gen = 0, num_real = 0;
  bool capped = false;     // max_items made the counts smaller than the name says
  int num_gpus = 1;        // the ranks that shared the passes (the official num_gpus)
};

// Throws gf::Error for an unknown name, a missing detector function or (PPL)
// path sampler. With ctx.feature_opt.comm, a collective: every rank calls it
// with the same name and an equal context (the same dataset, generator and
// detector weights) and takes its share of the feature passes
// (metrics/compute_features.h) and of PR's distances (rank 0 broadcasts
// both feature sets for them: metrics/precision_recall.h); rank 0 reads
// and writes the cache and gets the result, equal bit for bit to that of
// one process; the others get empty results.
MetricResult calc_metric(const std::string& name, const MetricContext& ctx);
// What calc_metric checks before it runs: the detector and path sampler the
// metric needs, and enough generated and real images for it (a KID of a
// one-image dataset). The programs call it for every metric when they set up,
// so such a run stops at once rather than at its first snapshot. Throws
// gf::Error naming the metric.
void check_metric(const std::string& name, const MetricContext& ctx);

// The official jsonl line: results, metric, total_time, total_time_str
// (train/report.h's format_duration, the official format_time),
// num_gpus (the ranks that shared the passes), snapshot_pkl (the snapshot's
// path relative to run_dir, python_relpath), timestamp;
// with max_items, also num_gen and num_real. Returned; nothing is written.
std::string metric_line(const MetricResult& r, const std::string& run_dir, const std::string& snapshot);

// os.path.relpath(path, start): both made absolute and normalized as text
// ("..", "." and repeated "/" folded, no symbolic link followed), then the
// one relative to the other.
std::string python_relpath(const std::string& path, const std::string& start);

// <run_dir>/metric-<metric>.jsonl, where the metric's lines go.
std::string metric_file(const std::string& run_dir, const std::string& metric);

// Appends line and a newline to metric_file(run_dir, metric) in one write
// (append-only, as stats.jsonl). Throws gf::Error "cannot append to <file>:
// <strerror>"; callers print the line first, so a result is never lost.
void append_metric_line(const std::string& run_dir, const std::string& metric, const std::string& line);

// Before any metric runs (a metric may take hours): throws gf::Error "cannot
// write the results to <file>: <strerror>" when a metric's file in run_dir
// could not be appended to: an existing file is opened for appending (a
// folder, a file without write permission fail), an absent one needs a
// writable folder (access W_OK|X_OK). Creates and changes nothing.
void check_metric_files_writable(const std::vector<std::string>& names, const std::string& run_dir);

// metric_line, appended to metric_file when run_dir is not empty; returned.
std::string report_metric(const MetricResult& r, const std::string& run_dir, const std::string& snapshot);

}  // namespace gf::metrics

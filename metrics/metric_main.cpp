#include "metrics/metric_main.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>


#include "engine/error.h"
#include "engine/io/append_file.h"
#include "engine/io/json_input.h"
#include "metrics/frechet.h"
#include "metrics/inception_score.h"
#include "metrics/kernel_inception_distance.h"
#include "metrics/linear_separability.h"
#include "metrics/pggan_metrics.h"
#include "metrics/precision_recall.h"
#include "metrics/sharding.h"
#include "metrics/sliced_wasserstein.h"
#include "metrics/stats_cache.h"
#include "train/report.h"

namespace gf::metrics {
namespace {

enum class Kind { fid, kid, is, pr, ppl, swd, swd_reals2, msssim, ls };

struct Spec {
  const char* name;
  Kind kind;
  int64_t num_gen;   // generated images; PPL: samples
  int64_t max_real;  // <= 0: every real image
  bool keep_xflips;  // the _full metrics evaluate the dataset without x-flips
  PplSpec ppl = {};  // the PPLs' variant
};

// PR's neighbourhood: each feature's 3 nearest others (metric_main.py nhood_size=3).
constexpr int kPrNeighbours = 3;

// The fewest generated (and, for FID, KID and PR, real) images each kind can
// use: the Inception Score scores 10 parts; KID's unbiased estimate divides
// by m - 1; PR's k-th neighbour needs k others; MS-SSIM a pair; LS keeps half.
int64_t min_items(Kind k) {
  return k == Kind::is                                        ? 10
         : k == Kind::kid || k == Kind::msssim || k == Kind::ls ? 2
         : k == Kind::pr                                        ? kPrNeighbours + 1
                                                                : 1;
}

bool uses_reals(Kind k) { return k == Kind::fid || k == Kind::kid || k == Kind::pr; }

PplSpec ppl(bool space_w, bool full, bool crop) {
  PplSpec p;
  p.space_w = space_w;
  p.full = full;
  p.crop = crop;
  return p;  // epsilon 1e-4, batch 2, as every official entry
}

// The official registry (metric_main.py), in its order.
const std::vector<Spec>& specs() {
  static const std::vector<Spec> s = {
      {"fid50k_full", Kind::fid, 50000, 0, false},
      {"kid50k_full", Kind::kid, 50000, 1000000, false},
      {"pr50k3_full", Kind::pr, 50000, 200000, false},
      {"ppl2_wend", Kind::ppl, 50000, 0, true, ppl(true, false, false)},
      {"is50k", Kind::is, 50000, 0, false},
      {"fid50k", Kind::fid, 50000, 50000, true},
      {"kid50k", Kind::kid, 50000, 50000, true},
      {"pr50k3", Kind::pr, 50000, 50000, true},
      {"ppl_zfull", Kind::ppl, 50000, 0, true, ppl(false, true, true)},
      {"ppl_wfull", Kind::ppl, 50000, 0, true, ppl(true, true, true)},
      {"ppl_zend", Kind::ppl, 50000, 0, true, ppl(false, false, true)},
      {"ppl_wend", Kind::ppl, 50000, 0, true, ppl(true, false, true)},
      // PGGAN's (config.py's evaluate_metrics runs "swd-16k", "msssim-20k";
      // metrics/pggan_metrics.h): the reals unflipped, flipped at random
      // where the run mirrors. swd16k_reals2: swd-16k's second pass over the
      // reals against the first (its table's Reals2 row; num_gen is the
      // real images of each pass).
      {"swd16k", Kind::swd, 16384, 0, false},
      {"swd16k_reals2", Kind::swd_reals2, 16384, 0, false},
      {"msssim20k", Kind::msssim, 20000, 0, false},
      // StyleGAN's (metric_defaults.py's "ls"; metrics/linear_separability.h):
      // 200000 samples, the most confident half kept.
      {"ls", Kind::ls, 200000, 0, false},
  };
  return s;
}

const Spec* find_spec(const std::string& name) {
  for (const Spec& s : specs())
    if (name == s.name) return &s;
  return nullptr;
}

const Spec& spec(const std::string& name) {
  if (const Spec* s = find_spec(name)) return *s;
  throw Error("unknown metric '" + name + "' (valid: " + valid_metrics_text() + ")");
}

// Part of every cache key: a change to a detector's code (models/perceptual/
// inception.cpp or vgg16.cpp, the resize) that changes its features must
// bump its version, so statistics cached before it are not served after it.
constexpr const char* kDetectorCodeVersion = "inception-v1";
constexpr const char* kVgg16CodeVersion = "vgg16-v1";

int64_t capped(int64_t n, int64_t cap) { return cap > 0 && (n <= 0 || n > cap) ? cap : n; }

// The generated images (PPL: samples) a metric makes: MS-SSIM's pairs whole.
int64_t generated_count(const Spec& s, int64_t max_items) {
  const int64_t n = capped(s.num_gen, max_items);
  return s.kind == Kind::msssim ? n - n % 2 : n;
}

// KID's official subsets: 100 of at most 1000 rows.
constexpr int kKidSubsets = 100;
constexpr int64_t kKidMaxSubsetSize = 1000;

// The real images' mean and covariance (FID) or every feature row (KID,
// capture_all), from the cache when it has them.
// detector and detector_key: Inception's (FID, KID) or VGG16's (PR).
// With a process group, rank 0 alone reads and writes the cache and tells
// the others whether it had them (as the official code broadcasts its
// flag); on a miss every rank takes its share of the pass, and rank 0 gets
// the statistics (the others get empty ones).
FeatureStats real_stats(const MetricContext& ctx, const std::vector<int64_t>& items, bool capture_all,
                        const Detector& detector, const std::string& detector_key) {
  Communicator* comm = ctx.feature_opt.comm;
  std::optional<FeatureStats> cached;
  std::string path, key;
  if (!ctx.cache_dir.empty() && computes_results(comm)) {
    auto [known, added] = ctx.content_keys->try_emplace({ctx.dataset, items});
    if (added) known->second = dataset_content_key(*ctx.dataset, items);
    key = std::string("stats ") + (capture_all ? "all_features" : "mean_cov") + "; items " +
          std::to_string(items.size()) + "; detector " + detector_key + "; images " +
          known->second;
    path = cache_file(ctx.cache_dir, ctx.dataset->name(), key);
    cached = load_cached_stats(path, key, ctx.log);
    if (cached && ctx.log)
      ctx.log("dataset features: " + std::to_string(cached->num_items()) + " items from the cache " + path);
  }
  // Always, whatever this rank's own cache folder (each rank derives the
  // default from its own HOME/XDG_CACHE_HOME): only rank 0's decides.
  if (group_size(comm) > 1) {
    uint8_t hit = cached ? 1 : 0;
    comm->broadcast(&hit, 1);
    if (hit && !cached) return FeatureStats(capture_all, !capture_all, 0);
  }
  if (cached) return *cached;
  FeatureStats s = dataset_features(*ctx.dataset, items, detector, capture_all, !capture_all, ctx.feature_opt);
  if (!path.empty()) save_cached_stats(path, key, s, ctx.log);
  return s;
}

// Rank 0's captured rows (count values: every rank learnt it from rank 0)
// on every rank, taken from s there; without a group, s's own.
std::vector<float> rows_on_every_rank(Communicator* comm, FeatureStats& s, int64_t count) {
  if (group_size(comm) == 1) return s.take_all();
  std::vector<float> rows = comm->rank() == 0 ? s.take_all() : std::vector<float>(size_t(count));
  GF_CHECK(int64_t(rows.size()) == count, "calc_metric", "rank 0 holds " << rows.size() << " feature values, not " << count);
  if (count > 0) comm->broadcast(rows.data(), rows.size() * sizeof(float));
  return rows;
}

}  // namespace

bool is_valid_metric(const std::string& name) { return find_spec(name) != nullptr; }

std::vector<std::string> list_valid_metrics() {
  std::vector<std::string> v;
  for (const Spec& s : specs()) v.push_back(s.name);
  return v;
}

std::string valid_metrics_text() {
  std::string t;
  for (const Spec& s : specs()) t += std::string(t.empty() ? "" : ", ") + s.name;
  return t;
}

int64_t metric_min_items(const std::string& name) { return min_items(spec(name).kind); }

bool metric_needs_inception(const std::string& name) {
  const Kind k = spec(name).kind;
  return k == Kind::fid || k == Kind::kid || k == Kind::is;
}
bool metric_needs_vgg16(const std::string& name) {
  const Kind k = spec(name).kind;
  return k == Kind::pr || k == Kind::ppl;
}
bool metric_needs_mapping(const std::string& name) {
  const Kind k = spec(name).kind;
  return k == Kind::ppl || k == Kind::ls;
}
bool metric_needs_classifiers(const std::string& name) { return spec(name).kind == Kind::ls; }

std::vector<std::string> parse_metric_list(const std::string& list) {
  std::vector<std::string> out;
  // As the official CommaSeparatedList: "" or "none" in any case is no metric.
  std::string lower = list;
  for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (lower.empty() || lower == "none") return out;
  // Every piece between commas, a trailing empty one too ("fid50k_full,"),
  // which the official split(',') also refuses as an unknown metric.
  for (size_t start = 0;;) {
    const size_t comma = list.find(',', start);
    const std::string m = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    spec(m);  // throws naming it
    out.push_back(m);
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

namespace {

// The real images a metric compares against (FID, KID, PR), in dataset order
// and capped by ctx.max_items; none for IS and PPL. *capped: the cap cut some.
std::vector<int64_t> metric_real_items(const Spec& s, const MetricContext& ctx, bool* capped) {
  std::vector<int64_t> items;
  if (!uses_reals(s.kind)) return items;
  items = real_items(*ctx.dataset, s.keep_xflips, s.max_real);
  const size_t uncapped = items.size();
  if (ctx.max_items > 0 && int64_t(items.size()) > ctx.max_items) items.resize(size_t(ctx.max_items));
  if (capped) *capped = items.size() < uncapped;
  return items;
}

}  // namespace

void check_metric(const std::string& name, const MetricContext& ctx) {
  const Spec& s = spec(name);
  GF_CHECK(ctx.generator && ctx.dataset, name, "needs a generator and a dataset");
  switch (s.kind) {
    case Kind::fid:
    case Kind::kid: GF_CHECK(bool(ctx.features), name, "needs the Inception detector"); break;
    case Kind::is: GF_CHECK(bool(ctx.probabilities), name, "needs the Inception detector"); break;
    case Kind::pr: GF_CHECK(bool(ctx.vgg_features), name, "needs the VGG16 detector"); break;
    case Kind::ppl:
      GF_CHECK(bool(ctx.lpips), name, "needs the VGG16 detector");
      GF_CHECK(bool(ctx.paths), name,
               "needs a generator with a mapping network (W): StyleGAN or StyleGAN2, not PGGAN");
      if (ctx.lpips_min_side > 0) {  // one sample of a throwaway stream shows the size the VGG16 would see
        gf::Generator probe(0);
        const Tensor pair = ctx.paths(1, s.ppl, probe);
        const int64_t m = ctx.lpips_min_side;
        GF_CHECK(pair.size(2) >= m && pair.size(3) >= m, name,
                 "the generator's images come to " << pair.size(2) << "x" << pair.size(3)
                      << (s.ppl.crop ? " after the official crop" : "") << "; the VGG16's LPIPS needs at least " << m
                      << "x" << m << (s.ppl.crop ? " (ppl2_wend does not crop)" : ""));
      }
      break;
    case Kind::ls: {
      GF_CHECK(bool(ctx.attribute_logits) && ctx.attribute_side > 0, name, "needs the attribute classifiers");
      GF_CHECK(bool(ctx.latents), name,
               "needs a generator with a mapping network (W): StyleGAN or StyleGAN2, not PGGAN");
      gf::Generator probe(0);  // one sample of a throwaway stream shows what the classifiers would get
      const Tensor img = ctx.latents(1, probe).images;
      GF_CHECK(img.dim() == 4 && (img.size(1) == 1 || img.size(1) == 3), name,
               "the attribute classifiers take grey or RGB images; the generator makes " << img.desc());
      downsample_to_side(img, ctx.attribute_side);
      break;
    }
    case Kind::swd:
    case Kind::swd_reals2:
    case Kind::msssim:
      check_pggan_metric_side(ctx.dataset->resolution(), name);
      GF_CHECK(ctx.dataset->num_images() > 0, name, "needs real images");
      break;
  }
  const bool reals = uses_reals(s.kind);
  const int64_t num_gen = generated_count(s, ctx.max_items);
  const int64_t num_real = int64_t(metric_real_items(s, ctx, nullptr).size());
  const int64_t least = min_items(s.kind);
  GF_CHECK(num_gen >= least && (!reals || num_real >= least), name,
           "needs at least " << least << (s.kind == Kind::ppl || s.kind == Kind::ls ? " samples" : " generated")
                << (reals ? " and " + std::to_string(least) + " real" : std::string())
                << (s.kind == Kind::ppl || s.kind == Kind::ls ? "" : " images") << ", got " << num_gen
                << (reals ? " and " + std::to_string(num_real) : std::string()));
}

MetricResult calc_metric(const std::string& name, const MetricContext& ctx) {
  check_metric(name, ctx);
  const Spec& s = spec(name);
  const auto t0 = std::chrono::steady_clock::now();
  MetricResult r;
  r.metric = name;
  r.num_gen = generated_count(s, ctx.max_items);
  bool real_capped = false;
  const std::vector<int64_t> items = metric_real_items(s, ctx, &real_capped);  // the real images (FID, KID, PR)
  r.num_real = int64_t(items.size());
  r.capped = r.num_gen < s.num_gen || real_capped;
  r.num_gpus = group_size(ctx.feature_opt.comm);
  // With a process group every rank takes its share of the passes (the
  // same calls in the same order); rank 0 alone forms the result.
  const bool computes = computes_results(ctx.feature_opt.comm);
  gf::Generator rng(ctx.seed);
  const auto check_same_width = [&name](int64_t gen_width, int64_t real_width) {
    GF_CHECK(gen_width == real_width, name,
             "generated features have " << gen_width << " columns, real ones " << real_width);
  };
  const std::string inception_key = std::string(kDetectorCodeVersion) + " " + ctx.detector_key;
  if (s.kind == Kind::fid) {
    const FeatureStats real = real_stats(ctx, items, false, ctx.features, inception_key);
    const FeatureStats gen = generator_features(ctx.generator, r.num_gen, ctx.features, rng, false, true, ctx.feature_opt);
    if (computes) {
      std::vector<double> mu_real, sigma_real, mu_gen, sigma_gen;
      real.mean_cov(mu_real, sigma_real);
      gen.mean_cov(mu_gen, sigma_gen);
      r.results[name] = frechet_distance(mu_gen, sigma_gen, mu_real, sigma_real);
    }
  } else if (s.kind == Kind::kid) {
    const FeatureStats real = real_stats(ctx, items, true, ctx.features, inception_key);
    const FeatureStats gen = generator_features(ctx.generator, r.num_gen, ctx.features, rng, true, false, ctx.feature_opt);
    if (computes) {
      check_same_width(gen.num_features(), real.num_features());
      const int64_t m = kid_subset_size(gen.num_items(), real.num_items(), kKidMaxSubsetSize);
      const KidSubsets sub = draw_kid_subsets(gen.num_items(), real.num_items(), m, kKidSubsets, ctx.seed);
      r.results[name] = kernel_inception_distance(gen.all(), gen.num_items(), real.all(), real.num_items(),
                                                  real.num_features(), sub.gen, sub.real);
    }
  } else if (s.kind == Kind::pr) {
    FeatureStats real =
        real_stats(ctx, items, true, ctx.vgg_features, std::string(kVgg16CodeVersion) + " " + ctx.vgg16_key);
    FeatureStats gen = generator_features(ctx.generator, r.num_gen, ctx.vgg_features, rng, true, false, ctx.feature_opt);
    // Every rank takes a share of the distances (precision_recall.h), so
    // every rank needs both sets whole: rank 0's gathered rows go to all.
    Communicator* comm = ctx.feature_opt.comm;
    int64_t shape[4] = {real.num_items(), real.num_features(), gen.num_items(), gen.num_features()};
    if (group_size(comm) > 1) comm->broadcast(shape, sizeof shape);
    check_same_width(shape[3], shape[1]);  // on every rank alike
    std::vector<float> real_rows = rows_on_every_rank(comm, real, shape[0] * shape[1]);
    std::vector<float> gen_rows = rows_on_every_rank(comm, gen, shape[2] * shape[3]);
    const PrecisionRecall pr = precision_recall(std::move(real_rows), shape[0], std::move(gen_rows), shape[2],
                                                shape[1], kPrNeighbours, ctx.feature_opt.device, comm);
    if (computes) {
      r.results[name + "_precision"] = pr.precision;
      r.results[name + "_recall"] = pr.recall;
    }
  } else if (s.kind == Kind::ppl) {
    const double v = perceptual_path_length(ctx.paths, ctx.lpips, s.ppl, r.num_gen, rng, ctx.feature_opt);
    if (computes) r.results[name] = v;
  } else if (s.kind == Kind::swd || s.kind == Kind::swd_reals2) {
    // Rank 0 alone (pggan_metrics.h). swd: as many reals as generated;
    // swd_reals2: two passes of reals, no generated image.
    const int64_t num = r.num_gen;
    r.num_real = s.kind == Kind::swd ? num : 2 * num;
    if (s.kind == Kind::swd_reals2) r.num_gen = 0;
    if (computes) {
      const std::vector<double> v = s.kind == Kind::swd
                                        ? swd_metric(ctx.generator, *ctx.dataset, num, ctx.seed, rng, ctx.feature_opt)
                                        : swd_reals2_metric(*ctx.dataset, num, ctx.seed, ctx.feature_opt);
      const std::vector<int64_t> sides = swd_resolutions(ctx.dataset->resolution());
      for (size_t l = 0; l < sides.size(); ++l) r.results[name + "_" + std::to_string(sides[l])] = v[l];
      r.results[name + "_avg"] = v.back();
    }
  } else if (s.kind == Kind::ls) {
    // The samples' batches and then the 80 fits shared among a process
    // group's ranks (each fit in one rank's process: no forked workers
    // beside the group's transports, whose registered (RDMA) memory a
    // fork's copy-on-write can take from them); alone, the fits in forked
    // processes. Rank 0 forms the result.
    const SeparabilitySamples samples =
        separability_samples(ctx.latents, ctx.attribute_logits, ctx.attribute_side, r.num_gen, rng, ctx.feature_opt);
    // Its fits' warnings apart from the results, as the official's Python warnings go.
    const auto warn = [&ctx](const std::string& line) {
      if (ctx.warn) ctx.warn(line);
      else std::cerr << "warning: " << line << std::endl;
    };
    // The progress after each attribute's fits (minutes each at the official size).
    const Separability v =
        linear_separability(samples, r.num_gen / 2, computes ? warn : std::function<void(const std::string&)>(),
                            computes ? ctx.feature_opt.progress : ProgressFn(), 0, ctx.feature_opt.comm);
    if (computes) {
      r.results[name + "_z"] = v.ls_z;
      r.results[name + "_w"] = v.ls_w;
    }
  } else if (s.kind == Kind::msssim) {
    if (computes) {
      const MsssimResult v = msssim_metric(ctx.generator, *ctx.dataset, r.num_gen, ctx.seed, rng, ctx.feature_opt);
      r.results[name] = v.generated;
      r.results[name + "_reals"] = v.reals;
    }
    r.num_real = r.num_gen;
  } else {
    const FeatureStats st = generator_features(ctx.generator, r.num_gen, ctx.probabilities, rng, true, false, ctx.feature_opt);
    if (computes) {
      const auto [mean, std] = inception_score(st.all(), st.num_items(), st.num_features(), 10);
      r.results[name + "_mean"] = mean;
      r.results[name + "_std"] = std;
    }
  }
  r.total_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::string python_relpath(const std::string& path, const std::string& start) {
  // Lexical, as os.path.relpath (abspath's normpath, no link resolved):
  // std::filesystem::relative followed links, so a snapshot reached through
  // one was named by its target ("../elsewhere/snap.bin"), which report.html
  // does not match to a snapshot.
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto norm = [&](const std::string& p) {
    fs::path a = fs::absolute(p, ec).lexically_normal();
    return a.has_filename() || a == a.root_path() ? a : a.parent_path();  // "run/" as "run"
  };
  const fs::path rel = norm(path).lexically_relative(norm(start));
  return rel.empty() ? path : rel.string();
}

std::string metric_line(const MetricResult& r, const std::string& run_dir, const std::string& snapshot) {
  // The official key order (a dict in insertion order), not nlohmann's sorted
  // one; the results in theirs (sorted, as they were made: is50k_mean before
  // is50k_std), NaN kept.
  nlohmann::ordered_json j, results = nlohmann::ordered_json::object();
  for (const auto& [k, v] : r.results.items()) results[k] = v.is_number_float() ? nlohmann::ordered_json(v.get<double>()) : nlohmann::ordered_json::parse(io::json_text(v));
  j["results"] = results;
  j["metric"] = r.metric;
  j["total_time"] = r.total_time;
  j["total_time_str"] = format_duration(r.total_time);
  j["num_gpus"] = r.num_gpus;
  std::string snap = snapshot;
  if (!run_dir.empty() && !snapshot.empty()) snap = python_relpath(snapshot, run_dir);
  j["snapshot_pkl"] = snap.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(snap);
  j["timestamp"] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (r.capped) {
    j["num_gen"] = r.num_gen;
    if (r.num_real > 0) j["num_real"] = r.num_real;  // FID, KID, PR; IS and PPL read no real image
  }
  // As json.dumps writes it: ", " and ": ", NaN for a non-finite result.
  return io::python_json_text(j);
}

std::string metric_file(const std::string& run_dir, const std::string& metric) {
  return run_dir + "/metric-" + metric + ".jsonl";
}

void append_metric_line(const std::string& run_dir, const std::string& metric, const std::string& line) {
  // Never through a link: in a folder copied from elsewhere, a link named
  // like the jsonl could lead to a snapshot, which the line would damage.
  io::append_record(metric_file(run_dir, metric), line + '\n', io::AppendTo::plain_file_only, /*sync=*/true);
}

void check_metric_files_writable(const std::vector<std::string>& names, const std::string& run_dir) {
  for (const std::string& name : names) {
    const std::string path = metric_file(run_dir, name);
    // An existing file: open it as the append will (no O_CREAT: nothing new).
    int fd = io::open_for_append(path, /*create=*/false, io::AppendTo::plain_file_only);
    int err = fd < 0 ? errno : 0;
    if (fd >= 0) ::close(fd);
    // An absent one: the append makes it in the folder.
    if (err == ENOENT) err = ::access(run_dir.c_str(), W_OK | X_OK) == 0 ? 0 : errno;
    if (err != 0) throw Error("cannot write the results to " + path + ": " + io::append_error(err, io::AppendTo::plain_file_only));
  }
}

std::string report_metric(const MetricResult& r, const std::string& run_dir, const std::string& snapshot) {
  const std::string line = metric_line(r, run_dir, snapshot);
  if (!run_dir.empty()) append_metric_line(run_dir, r.metric, line);
  return line;
}

}  // namespace gf::metrics

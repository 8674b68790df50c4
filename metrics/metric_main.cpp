#include "metrics/metric_main.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/error.h"
#include "metrics/frechet.h"
#include "metrics/inception_score.h"
#include "metrics/kernel_inception_distance.h"
#include "metrics/stats_cache.h"
#include "train/report.h"

namespace gf::metrics {
namespace {

enum class Kind { fid, kid, is };

struct Spec {
  const char* name;
  Kind kind;
  int64_t num_gen;
  int64_t max_real;  // <= 0: every real image
  bool keep_xflips;  // the _full metrics evaluate the dataset without x-flips
};

// The fewest generated (and, for FID and KID, real) images each kind can use:
// the Inception Score scores 10 parts; KID's unbiased estimate divides by m - 1.
int64_t min_items(Kind k) { return k == Kind::is ? 10 : k == Kind::kid ? 2 : 1; }

// The official registry's FID, KID and IS entries (metric_main.py).
const std::vector<Spec>& specs() {
  static const std::vector<Spec> s = {
      {"fid50k_full", Kind::fid, 50000, 0, false},
      {"kid50k_full", Kind::kid, 50000, 1000000, false},
      {"fid50k", Kind::fid, 50000, 50000, true},
      {"kid50k", Kind::kid, 50000, 50000, true},
      {"is50k", Kind::is, 50000, 0, false},
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

// Part of every cache key: a change to the detector's code (models/perceptual/
// inception.cpp, the resize) that changes its features must bump this, so
// statistics cached before it are not served after it.
constexpr const char* kDetectorCodeVersion = "inception-v1";

int64_t capped(int64_t n, int64_t cap) { return cap > 0 && (n <= 0 || n > cap) ? cap : n; }

// KID's official subsets: 100 of at most 1000 rows.
constexpr int kKidSubsets = 100;
constexpr int64_t kKidMaxSubsetSize = 1000;

// The real images' mean and covariance (FID) or every feature row (KID,
// capture_all), from the cache when it has them.
FeatureStats real_stats(const MetricContext& ctx, const std::vector<int64_t>& items, bool capture_all) {
  std::string path, key;
  if (!ctx.cache_dir.empty()) {
    auto [known, added] = ctx.content_keys->try_emplace({ctx.dataset, items});
    if (added) known->second = dataset_content_key(*ctx.dataset, items);
    key = std::string("stats ") + (capture_all ? "all_features" : "mean_cov") + "; items " +
          std::to_string(items.size()) + "; detector " + kDetectorCodeVersion + " " + ctx.detector_key + "; images " +
          known->second;
    path = cache_file(ctx.cache_dir, ctx.dataset->name(), key);
    if (auto s = load_cached_stats(path, key, ctx.log)) {
      if (ctx.log) ctx.log("dataset features: " + std::to_string(s->num_items()) + " items from the cache " + path);
      return *s;
    }
  }
  FeatureStats s = dataset_features(*ctx.dataset, items, ctx.features, capture_all, !capture_all, ctx.feature_opt);
  if (!path.empty()) save_cached_stats(path, key, s, ctx.log);
  return s;
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

std::vector<std::string> parse_metric_list(const std::string& list) {
  std::vector<std::string> out;
  if (list.empty() || list == "none") return out;
  std::stringstream ss(list);
  for (std::string m; std::getline(ss, m, ',');) {
    spec(m);  // throws naming it
    out.push_back(m);
  }
  return out;
}

MetricResult calc_metric(const std::string& name, const MetricContext& ctx) {
  const Spec& s = spec(name);
  GF_CHECK(ctx.generator && ctx.dataset, "calc_metric", name << " needs a generator and a dataset");
  GF_CHECK(s.kind == Kind::is ? bool(ctx.probabilities) : bool(ctx.features), "calc_metric",
           name << " needs the Inception detector");
  const auto t0 = std::chrono::steady_clock::now();
  MetricResult r;
  r.metric = name;
  r.num_gen = capped(s.num_gen, ctx.max_items);
  r.capped = r.num_gen < s.num_gen;
  gf::Generator rng(ctx.seed);
  std::vector<int64_t> items;  // the real images (FID, KID)
  if (s.kind != Kind::is) {
    items = real_items(*ctx.dataset, s.keep_xflips, s.max_real);
    const size_t uncapped_real = items.size();
    if (ctx.max_items > 0 && int64_t(items.size()) > ctx.max_items) items.resize(size_t(ctx.max_items));
    r.num_real = int64_t(items.size());
    r.capped = r.capped || items.size() < uncapped_real;
  }
  const int64_t least = min_items(s.kind);
  const bool reals = s.kind != Kind::is;
  GF_CHECK(r.num_gen >= least && (!reals || r.num_real >= least), "calc_metric",
           name << " needs at least " << least << " generated"
                << (reals ? " and " + std::to_string(least) + " real" : std::string()) << " images, got " << r.num_gen
                << (reals ? " and " + std::to_string(r.num_real) : std::string()));
  if (s.kind == Kind::fid) {
    std::vector<double> mu_real, sigma_real, mu_gen, sigma_gen;
    real_stats(ctx, items, false).mean_cov(mu_real, sigma_real);
    generator_features(ctx.generator, r.num_gen, ctx.features, rng, false, true, ctx.feature_opt)
        .mean_cov(mu_gen, sigma_gen);
    r.results[name] = frechet_distance(mu_gen, sigma_gen, mu_real, sigma_real);
  } else if (s.kind == Kind::kid) {
    const FeatureStats real = real_stats(ctx, items, true);
    const FeatureStats gen = generator_features(ctx.generator, r.num_gen, ctx.features, rng, true, false, ctx.feature_opt);
    GF_CHECK(gen.num_features() == real.num_features(), "calc_metric",
             name << ": generated features have " << gen.num_features() << " columns, real ones "
                  << real.num_features());
    const int64_t m = kid_subset_size(gen.num_items(), real.num_items(), kKidMaxSubsetSize);
    const KidSubsets sub = draw_kid_subsets(gen.num_items(), real.num_items(), m, kKidSubsets, ctx.seed);
    r.results[name] = kernel_inception_distance(gen.all(), gen.num_items(), real.all(), real.num_items(),
                                                real.num_features(), sub.gen, sub.real);
  } else {
    const FeatureStats st = generator_features(ctx.generator, r.num_gen, ctx.probabilities, rng, true, false, ctx.feature_opt);
    const auto [mean, std] = inception_score(st.all(), st.num_items(), st.num_features(), 10);
    r.results[name + "_mean"] = mean;
    r.results[name + "_std"] = std;
  }
  r.total_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::string report_metric(const MetricResult& r, const std::string& run_dir, const std::string& snapshot) {
  // The official key order (a dict in insertion order), not nlohmann's sorted one.
  nlohmann::ordered_json j;
  j["results"] = nlohmann::ordered_json::parse(r.results.dump());
  j["metric"] = r.metric;
  j["total_time"] = r.total_time;
  j["total_time_str"] = format_duration(r.total_time);
  j["num_gpus"] = 1;
  std::string snap = snapshot;
  if (!run_dir.empty() && !snapshot.empty()) {
    std::error_code ec;
    const auto rel = std::filesystem::relative(snapshot, run_dir, ec);
    if (!ec && !rel.empty()) snap = rel.string();
  }
  j["snapshot_pkl"] = snap.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(snap);
  j["timestamp"] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (r.capped) {
    j["num_gen"] = r.num_gen;
    if (r.num_real > 0) j["num_real"] = r.num_real;  // the FIDs; IS reads no real image
  }
  const std::string line = j.dump();
  if (!run_dir.empty()) {
    // Append-only, as stats.jsonl: one complete line per write.
    std::ofstream f(run_dir + "/metric-" + r.metric + ".jsonl", std::ios::app);
    GF_CHECK(f && (f << line << '\n') && f.flush(), "report_metric",
             "cannot append to " << run_dir << "/metric-" << r.metric << ".jsonl");
  }
  return line;
}

}  // namespace gf::metrics

#include "metrics/stats_cache.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "engine/error.h"
#include "engine/io/safetensors.h"

namespace gf::metrics {
namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ull, kFnvPrime = 1099511628211ull;

void fnv(uint64_t& h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * kFnvPrime;
}

// A block of bytes by the standard library's string hash (word at a time;
// byte-wise FNV ran at 0.9 GB/s), chained into h by FNV. Keys only have to be
// stable on one build: another hash is a cache miss.
void chain_block(uint64_t& h, const void* p, size_t n) {
  const uint64_t v = std::hash<std::string_view>()(std::string_view(static_cast<const char*>(p), n));
  fnv(h, reinterpret_cast<const uint8_t*>(&v), sizeof v);
}

std::string hex(uint64_t v) {
  char b[20];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

}  // namespace

std::string default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/ganforge/gan-metrics";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/ganforge/gan-metrics";
  return "";
}

std::string dataset_content_key(const Dataset& ds, const std::vector<int64_t>& items) {
  uint64_t h = kFnvOffset;
  const int64_t shape[3] = {int64_t(items.size()), ds.channels(), ds.resolution()};
  fnv(h, reinterpret_cast<const uint8_t*>(shape), sizeof shape);
  const std::vector<uint64_t>& pixels = ds.pixel_hashes();  // no file decoded again
  for (int64_t i : items) {
    GF_CHECK(i >= 0 && i < ds.size(), "dataset_content_key", "item " << i << " of " << ds.size());
    fnv(h, reinterpret_cast<const uint8_t*>(&pixels[size_t(i)]), sizeof(uint64_t));
  }
  return hex(h);
}

std::string file_content_key(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  GF_CHECK(f, "file_content_key", "cannot read " << path);
  uint64_t h = kFnvOffset;
  std::vector<char> block(1 << 20);
  while (f) {
    f.read(block.data(), std::streamsize(block.size()));
    if (f.gcount() > 0) chain_block(h, block.data(), size_t(f.gcount()));
  }
  GF_CHECK(f.eof(), "file_content_key", "error reading " << path);
  return hex(h);
}

namespace {

// num_items as written: digits only (std::stoll's own message is "stoll").
int64_t whole_count(const std::string& text) {
  if (text.empty() || text.size() > 18 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw Error("num_items '" + text + "' is not a count");
  return std::stoll(text);
}

// A NaN or infinity in the statistics would reach the metric as a failure
// that names no cache file (a cut write, a disk fault): the file is ignored.
// Read in place: "all" can be 8 GB of float32.
void check_finite(const Tensor& t, const std::string& name) {
  auto scan = [&](const auto* p) {
    for (int64_t i = 0; i < t.numel(); ++i)
      if (!std::isfinite(p[i])) throw Error("'" + name + "' holds a non-finite value");
  };
  if (t.dtype() == DType::f32) scan(t.data<float>());
  else if (t.dtype() == DType::f64) scan(t.data<double>());
  else throw Error("'" + name + "' is " + dtype_name(t.dtype()) + ", not float32 or float64");
}

}  // namespace

std::string cache_file(const std::string& dir, const std::string& dataset_name, const std::string& key) {
  uint64_t h = kFnvOffset;
  fnv(h, reinterpret_cast<const uint8_t*>(key.data()), key.size());
  std::string name;
  for (char c : dataset_name) name += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return dir + "/" + name + "-" + hex(h) + ".bin";
}

std::optional<FeatureStats> load_cached_stats(const std::string& path, const std::string& key,
                                              const std::function<void(const std::string&)>& log) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  try {
    const io::SafetensorsFile f = io::read_safetensors(path);
    const auto k = f.metadata.find("key"), n = f.metadata.find("num_items");
    if (k == f.metadata.end() || k->second != key || n == f.metadata.end())
      throw Error("not the statistics of this dataset and detector");
    const int64_t items = whole_count(n->second);
    if (const auto a = f.tensors.find("all"); a != f.tensors.end()) {
      if (a->second.dim() != 2 || a->second.size(0) != items) throw Error("the feature rows are not num_items");
      check_finite(a->second, "all");
      return FeatureStats::from_all(a->second);
    }
    const auto m = f.tensors.find("raw_mean"), c = f.tensors.find("raw_cov");
    if (m == f.tensors.end() || c == f.tensors.end()) throw Error("neither feature rows nor sums");
    check_finite(m->second, "raw_mean");
    check_finite(c->second, "raw_cov");
    FeatureStats stats = FeatureStats::from_raw(m->second, c->second, items, items);
    // Finite sums whose mean or covariance is not (1e300 squared, in a damaged
    // file whose CRC is right): the FID failed later, not naming the cache.
    std::vector<double> mean, cov;
    stats.mean_cov(mean, cov);
    for (const std::vector<double>* v : {&mean, &cov})
      for (double x : *v)
        if (!std::isfinite(x)) throw Error("its mean or covariance is not finite");
    return stats;
  } catch (const std::exception& e) {
    if (log) log("metrics cache: ignoring " + path + " (" + e.what() + "); computing the statistics again");
    return std::nullopt;
  }
}

void save_cached_stats(const std::string& path, const std::string& key, const FeatureStats& stats,
                       const std::function<void(const std::string&)>& log) {
  try {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    // The cache's own name in its folder: anything there but a file (a FIFO
    // would block the write until a reader came) is left alone.
    std::error_code ec;
    const auto there = std::filesystem::status(path, ec).type();
    if (there != std::filesystem::file_type::not_found && there != std::filesystem::file_type::regular)
      throw Error("something other than a file is at that name");
    const io::Metadata meta = {{"key", key}, {"num_items", std::to_string(stats.num_items())}};
    if (stats.captures_mean_cov()) {
      io::save_safetensors(path, {{"raw_mean", stats.raw_mean()}, {"raw_cov", stats.raw_cov()}}, meta);
    } else {
      // Every row, float32 as captured (KID: up to 1M x 2048, 8 GB).
      Tensor all = Tensor::empty({stats.num_items(), stats.num_features()});
      std::copy(stats.all().begin(), stats.all().end(), all.data<float>());
      io::save_safetensors(path, {{"all", all}}, meta);
    }
  } catch (const std::filesystem::filesystem_error& e) {  // its what() is the library's text
    if (log) log("metrics cache: could not write " + path + " (" + e.code().message() + "); the statistics are not kept");
  } catch (const std::exception& e) {
    if (log) log("metrics cache: could not write " + path + " (" + e.what() + "); the statistics are not kept");
  }
}

}  // namespace gf::metrics

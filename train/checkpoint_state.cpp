#include "train/checkpoint_state.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "engine/error.h"
#include "models/network_file.h"
#include "train/cli.h"
#include "data/infinite_sampler.h"

namespace gf {

Tensor u64_tensor(const std::vector<uint64_t>& v) {
  std::vector<double> halves;
  for (uint64_t x : v) {
    halves.push_back(double(x >> 32));
    halves.push_back(double(x & 0xFFFFFFFFu));
  }
  return Tensor::from_vector(halves, {static_cast<int64_t>(halves.size())}, DType::f64);
}

Tensor f64_scalar(double v) { return Tensor::from_vector({v}, {1}, DType::f64); }

const Tensor& need_tensor(const io::TensorMap& m, const std::string& name, int64_t numel, const std::string& path) {
  auto it = m.find(name);
  if (it == m.end()) throw Error(path + ": checkpoint has no tensor '" + name + "'");
  if (it->second.numel() != numel)
    throw Error(path + ": '" + name + "' has " + std::to_string(it->second.numel()) + " values, expected " +
                std::to_string(numel));
  return it->second;
}

double whole_number(const io::TensorMap& m, const std::string& name, int64_t numel, size_t i, double limit,
                    const std::string& path) {
  const double v = need_tensor(m, name, numel, path).to_vector()[i];
  if (!(v >= 0 && v < limit && v == std::floor(v)))
    throw Error(path + ": '" + name + "' must hold whole numbers in [0, " + std::to_string(limit) + "), got " +
                std::to_string(v));
  return v;
}

uint64_t u64_of(const io::TensorMap& m, const std::string& name, int64_t count, size_t i, const std::string& path) {
  constexpr double k2to32 = 4294967296.0;
  return (static_cast<uint64_t>(whole_number(m, name, 2 * count, 2 * i, k2to32, path)) << 32) |
         static_cast<uint64_t>(whole_number(m, name, 2 * count, 2 * i + 1, k2to32, path));
}

double finite_number(const io::TensorMap& m, const std::string& name, int64_t numel, size_t i,
                     const std::string& path) {
  const double v = need_tensor(m, name, numel, path).to_vector()[i];
  if (!std::isfinite(v)) throw Error(path + ": '" + name + "' is not finite");
  return v;
}

namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ull, kFnvPrime = 1099511628211ull;

void fnv(uint64_t& h, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * kFnvPrime;
}

void fnv_i64(uint64_t& h, int64_t v) {
  uint8_t b[8];  // little-endian whatever the machine
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i));
  fnv(h, b, 8);
}

}  // namespace

namespace {

std::string hex16(uint64_t h) {
  char hex[20];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

// The count, shape, c_dim and every label: the part both keys share.
uint64_t dataset_shape_hash(const Dataset& ds) {
  uint64_t h = kFnvOffset;
  const int64_t n = ds.size();
  for (int64_t v : {n, int64_t(ds.resolution()), int64_t(ds.channels()), ds.c_dim()}) fnv_i64(h, v);
  if (ds.has_label_vectors()) {
    std::vector<float> row(static_cast<size_t>(ds.c_dim()));
    for (int64_t i = 0; i < n; ++i) {
      ds.label_row(i, row.data());
      fnv(h, row.data(), row.size() * sizeof(float));
    }
  } else if (ds.has_labels()) {
    for (int64_t i = 0; i < n; ++i) fnv_i64(h, ds.label(i));
  }
  return h;
}

// The key checkpoints held before 2026-12-03: the pixels of 16 items only,
// so other data differing elsewhere resumed without a word. Still read.
std::string sampled_dataset_key(const Dataset& ds) {
  constexpr int64_t kKeyedImages = 16;
  uint64_t h = dataset_shape_hash(ds);
  const int64_t n = ds.size();
  std::vector<uint8_t> px(static_cast<size_t>(ds.channels()) * ds.resolution() * ds.resolution());
  const int64_t k = std::min(n, kKeyedImages);
  for (int64_t j = 0; j < k; ++j) {
    const int64_t i = k == 1 ? 0 : j * (n - 1) / (k - 1);
    fnv_i64(h, i);
    ds.image(i, px.data());
    fnv(h, px.data(), px.size());
  }
  return hex16(h);
}

constexpr const char* kAllPixelsTag = "all-";

}  // namespace

std::string dataset_resume_key(const Dataset& ds) { return dataset_keys(ds).all; }

DatasetKeys dataset_keys(const Dataset& ds) {
  const uint64_t labels = dataset_shape_hash(ds);
  uint64_t h = labels, pixels = kFnvOffset;
  for (uint64_t v : ds.pixel_hashes()) fnv_i64(h, static_cast<int64_t>(v)), fnv_i64(pixels, static_cast<int64_t>(v));
  return {kAllPixelsTag + hex16(h), hex16(labels), hex16(pixels)};
}

std::string file_resume_key(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot read it");
  uint64_t h = kFnvOffset;
  std::vector<char> block(1 << 20);
  while (f) {
    f.read(block.data(), std::streamsize(block.size()));
    fnv(h, block.data(), size_t(f.gcount()));
  }
  if (!f.eof()) throw Error(path + ": read error");
  char hex[20];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

namespace {
// Which rule picked a --max-images subset (data/dataset.h): numpy's RandomState shuffle.
constexpr const char* kSubsetRule = "numpy-randomstate";
}  // namespace

void add_dataset_metadata(io::Metadata& meta, const Dataset& ds) {
  meta["dataset"] = ds.name();
  meta["dataset_size"] = std::to_string(ds.size());
  const DatasetKeys keys = dataset_keys(ds);
  meta["dataset_key"] = keys.all;
  meta["dataset_labels_key"] = keys.labels;  // the parts: a refused resume can say which changed
  meta["dataset_pixels_key"] = keys.pixels;
  meta["dataset_subset_rule"] = kSubsetRule;
}

std::string images_text(int resolution, int channels, int labels) {
  return std::to_string(resolution) + "x" + std::to_string(resolution) + "x" + std::to_string(channels) +
         " images with " + cli::count_text(labels, "label");
}

void check_networks_fit_data(const io::SafetensorsFile& file, const std::string& path, int resolution, int channels,
                             int labels, const Dataset& ds) {
  if (resolution == ds.resolution() && channels == ds.channels() && labels == ds.c_dim()) return;
  auto shape = [](int r, int c) { return std::to_string(r) + "x" + std::to_string(r) + "x" + std::to_string(c); };
  std::string hint;
  if (labels > 0 && ds.c_dim() == 0)
    hint = "; the networks are conditional: add --cond (with labelled data)";
  else if (labels == 0 && ds.c_dim() > 0)
    hint = "; the networks are not conditional: leave --cond out";
  const auto made_on = file.metadata.find("dataset");
  if (made_on != file.metadata.end() && made_on->second != ds.name())
    hint += "; the file was made on '" + made_on->second + "'" +
            (ds.name() == "fashion-mnist" ? " (Fashion-MNIST is the data without --data)" : "");
  throw Error(path + ": its networks make " + images_text(resolution, channels, labels) + ", but " + ds.name() + " has " + shape(ds.resolution(), ds.channels()) + " with " +
              cli::count_text(ds.c_dim(), "label") + ": --resume needs data the networks fit" + hint);
}

void check_same_dataset(const io::SafetensorsFile& file, const std::string& path, const Dataset& ds,
                        const std::string& flags) {
  const std::string ds_name = file.metadata.count("dataset") ? file.metadata.at("dataset") : "?";
  const std::string ds_size = file.metadata.count("dataset_size") ? file.metadata.at("dataset_size") : "?";
  const std::string made = path + ": made on dataset '" + ds_name + "' (" + ds_size + (ds_size == "1" ? " image" : " images") +
                           "), but this run has '" + ds.name() + "' (" + cli::count_text(ds.size(), "image");
  const std::string fix = ": " + flags + " must be those of the checkpoint's run";
  auto key = file.metadata.find("dataset_key");
  if (key != file.metadata.end()) {  // by content: a renamed copy passes, other data of the same name and size does not
    const bool all_pixels = key->second.rfind(kAllPixelsTag, 0) == 0;
    const std::string mine = all_pixels ? dataset_resume_key(ds) : sampled_dataset_key(ds);
    // Before 2026-12-03 --max-images kept another subset (not numpy's for --seed), which no flag picks now.
    const std::string old_subset = file.metadata.count("dataset_subset_rule")
                                       ? ""
                                       : " (if its run used --max-images: checkpoints written before 2026-12-03 kept "
                                         "another subset, which this build no longer picks)";
    if (key->second != mine) {
      // Checkpoints written before the two parts' keys (2026-12-04) cannot tell labels from pixels.
      const auto labels_key = file.metadata.find("dataset_labels_key");
      const auto pixels_key = file.metadata.find("dataset_pixels_key");
      std::string what = "other content";
      if (ds_size != "?" && ds_size != std::to_string(ds.size())) {
        what = "another image count";  // both keys hold the count: each would differ
      } else if (all_pixels && labels_key != file.metadata.end() && pixels_key != file.metadata.end()) {
        const bool labels = labels_key->second != dataset_keys(ds).labels;
        const bool pixels = pixels_key->second != dataset_keys(ds).pixels;
        what = labels && pixels ? "other pixels and labels" : labels ? "other labels" : "other pixels";
      }
      throw Error(made + ", " + what + ": key " + mine + ", the checkpoint's " + key->second + ")" + fix + old_subset);
    }
    return;
  }
  // Checkpoints written before "dataset_key" (2026-12-02) hold only the
  // dataset's name and size: those must match, as they had to then.
  if (ds_name != ds.name() || ds_size != std::to_string(ds.size())) throw Error(made + ")" + fix);
}

std::string no_discriminator_note(const io::SafetensorsFile& file, const std::string& path) {
  const std::vector<std::string> nets = networks_in(file);
  if (std::find(nets.begin(), nets.end(), "D") != nets.end()) return "";
  return "D starts from random weights: " + path + " holds no discriminator (a generator alone)";
}

bool has_format(const io::SafetensorsFile& file, const std::string& format) {
  auto it = file.metadata.find("format");
  return it != file.metadata.end() && it->second == format;
}

uint32_t data_subset_seed(uint64_t seed, bool seed_given, const std::string& resume) {
  if (!seed_given && !resume.empty()) {
    const io::SafetensorsFile file = io::read_safetensors(resume);
    if (file.metadata.count("format") && file.metadata.count("seed")) seed = metadata_seed(file, resume);
  }
  if (seed > 0xffffffffull) throw Error(resume + ": seed " + std::to_string(seed) + " is past 2^32 - 1");
  return static_cast<uint32_t>(seed);
}

bool resumes_checkpoint(const io::SafetensorsFile& file, const std::string& path, const std::string& format) {
  const auto tag = file.metadata.find("format");
  if (tag != file.metadata.end()) {
    if (tag->second == format) return true;
    throw Error(path + ": its format is '" + tag->second + "', but --resume here takes a checkpoint of format '" + format +
                "' (this build's) or a network file (a snapshot, a G alone, a converted pickle)");
  }
  for (const auto& [name, t] : file.tensors)
    if (name.rfind("state.", 0) == 0)
      throw Error(path + ": holds training state ('" + name + "') but no format tag, so it is no checkpoint this build wrote; " +
                  "--resume takes a checkpoint of format '" + format + "' or a network file");
  return false;
}

std::string diverged_note(const io::SafetensorsFile& file, const std::string& path) {
  const std::string name = first_nonfinite_tensor(file.tensors);
  if (name.empty()) return "";
  return "warning: " + path + " holds values that are not finite (first in '" + name +
         "'): the run had diverged by then; it resumes as it stood, as the run would have gone on";
}

void load_gan_state(const io::TensorMap& all, const std::string& path, Module& G, Module& D, Module& G_ema,
                    Optimizer& G_opt, Optimizer& D_opt, InfiniteSampler& sampler) {
  // The weights before anything is loaded; a diverged run's optimizer
  // moments may be inf, and resume as they are (check_finite_tensors).
  check_finite_tensors(all, path, /*training_state=*/true);
  load_module(G, select_prefix(all, "G."), path, "G");
  load_module(D, select_prefix(all, "D."), path, "D");
  load_module(G_ema, select_prefix(all, "G_ema."), path, "G_ema");
  try {
    G_opt.load_state_dict(select_prefix(all, "G_opt."));
    D_opt.load_state_dict(select_prefix(all, "D_opt."));
    sampler.load_state_dict(all, "sampler.");
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

}  // namespace gf

#include "train/progressive.h"

#include <cmath>
#include <string>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "engine/ops.h"
#include "engine/ops/scale2d.h"

namespace gf {
namespace {

template <class V>
V get_or(const std::map<int, V>& m, int key, V fallback) {
  auto it = m.find(key);
  return it == m.end() ? fallback : it->second;
}

bool power_of_two(int r) { return r >= 1 && (r & (r - 1)) == 0; }

template <class V>
nlohmann::json dict_json(const std::map<int, V>& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[std::to_string(k)] = v;
  return j;
}

template <class V>
std::map<int, V> dict_from(const nlohmann::json& j, const char* key) {
  GF_CHECK(j.is_object(), "schedule spec", key << " must be an object {resolution: value}");
  std::map<int, V> m;
  for (const auto& [k, v] : j.items()) {
    size_t used = 0;
    int r = 0;
    try {
      r = std::stoi(k, &used);
    } catch (...) {
    }
    GF_CHECK(used == k.size() && r > 0, "schedule spec", key << ": '" << k << "' is not a resolution");
    m[r] = v.template get<V>();
  }
  return m;
}

}  // namespace

Schedule training_schedule(int64_t cur_nimg, int resolution_log2, const ScheduleSpec& s) {
  Schedule out;
  out.kimg = static_cast<double>(cur_nimg) / 1000.0;
  const double phase_dur = s.lod_training_kimg + s.lod_transition_kimg;
  const double phase_idx = phase_dur > 0 ? std::floor(out.kimg / phase_dur) : 0;
  const double phase_kimg = out.kimg - phase_idx * phase_dur;
  double lod = resolution_log2;
  lod -= std::floor(std::log2(static_cast<double>(s.lod_initial_resolution)));
  lod -= phase_idx;
  if (s.lod_transition_kimg > 0) lod -= std::max(phase_kimg - s.lod_training_kimg, 0.0) / s.lod_transition_kimg;
  out.lod = std::max(lod, 0.0);
  out.resolution = 1 << (resolution_log2 - static_cast<int>(std::floor(out.lod)));
  out.minibatch = schedule_minibatch(s, out.resolution);
  out.G_lrate = get_or(s.G_lrate_dict, out.resolution, s.G_lrate_base);
  out.D_lrate = get_or(s.D_lrate_dict, out.resolution, s.D_lrate_base);
  out.tick_kimg = get_or(s.tick_kimg_dict, out.resolution, s.tick_kimg_base);
  return out;
}

int schedule_minibatch(const ScheduleSpec& s, int resolution) {
  int mb = get_or(s.minibatch_dict, resolution, s.minibatch_base);
  mb -= mb % s.num_gpus;
  auto lim = s.max_minibatch_per_gpu.find(resolution);
  if (lim != s.max_minibatch_per_gpu.end()) mb = std::min(mb, lim->second * s.num_gpus);
  return mb;
}

void check_schedule_spec(const ScheduleSpec& s) {
  const char* op = "schedule";
  GF_CHECK(power_of_two(s.lod_initial_resolution) && s.lod_initial_resolution >= 4, op,
           "lod_initial_resolution " << s.lod_initial_resolution << " is not a power of two >= 4");
  GF_CHECK(std::isfinite(s.lod_training_kimg) && s.lod_training_kimg >= 0 && std::isfinite(s.lod_transition_kimg) &&
               s.lod_transition_kimg >= 0,
           op, "lod_training_kimg and lod_transition_kimg must be finite and >= 0");
  GF_CHECK(s.num_gpus >= 1, op, "num_gpus must be at least 1, got " << s.num_gpus);
  GF_CHECK(s.minibatch_base >= s.num_gpus, op, "minibatch_base " << s.minibatch_base << " is below num_gpus " << s.num_gpus);
  for (const auto& [r, v] : s.minibatch_dict)
    GF_CHECK(power_of_two(r) && v >= s.num_gpus, op, "minibatch_dict " << r << ": " << v);
  for (const auto& [r, v] : s.max_minibatch_per_gpu) GF_CHECK(power_of_two(r) && v >= 1, op, "max_minibatch_per_gpu " << r << ": " << v);
  auto rate_ok = [](double v) { return std::isfinite(v) && v >= 0; };
  GF_CHECK(rate_ok(s.G_lrate_base) && rate_ok(s.D_lrate_base), op, "learning rates must be finite and >= 0");
  for (const auto* d : {&s.G_lrate_dict, &s.D_lrate_dict})
    for (const auto& [r, v] : *d) GF_CHECK(power_of_two(r) && rate_ok(v), op, "learning rate at " << r << ": " << v);
  GF_CHECK(std::isfinite(s.tick_kimg_base) && s.tick_kimg_base > 0, op, "tick_kimg_base must be > 0");
  for (const auto& [r, v] : s.tick_kimg_dict) GF_CHECK(power_of_two(r) && std::isfinite(v) && v > 0, op, "tick_kimg_dict " << r << ": " << v);
}

nlohmann::json to_json(const ScheduleSpec& s) {
  return {{"lod_initial_resolution", s.lod_initial_resolution},
          {"lod_training_kimg", s.lod_training_kimg},
          {"lod_transition_kimg", s.lod_transition_kimg},
          {"minibatch_base", s.minibatch_base},
          {"minibatch_dict", dict_json(s.minibatch_dict)},
          {"max_minibatch_per_gpu", dict_json(s.max_minibatch_per_gpu)},
          {"G_lrate_base", s.G_lrate_base},
          {"G_lrate_dict", dict_json(s.G_lrate_dict)},
          {"D_lrate_base", s.D_lrate_base},
          {"D_lrate_dict", dict_json(s.D_lrate_dict)},
          {"tick_kimg_base", s.tick_kimg_base},
          {"tick_kimg_dict", dict_json(s.tick_kimg_dict)},
          {"num_gpus", s.num_gpus}};
}

ScheduleSpec schedule_spec_from_json(const nlohmann::json& j) {
  ScheduleSpec s;
  GF_CHECK(j.is_object(), "schedule spec", "must be a JSON object");
  for (const auto& [key, v] : j.items()) {
    try {
      if (key == "lod_initial_resolution") s.lod_initial_resolution = io::json_int(v);
      else if (key == "lod_training_kimg") s.lod_training_kimg = v.get<double>();
      else if (key == "lod_transition_kimg") s.lod_transition_kimg = v.get<double>();
      else if (key == "minibatch_base") s.minibatch_base = io::json_int(v);
      else if (key == "minibatch_dict") s.minibatch_dict = dict_from<int>(v, "minibatch_dict");
      else if (key == "max_minibatch_per_gpu") s.max_minibatch_per_gpu = dict_from<int>(v, "max_minibatch_per_gpu");
      else if (key == "G_lrate_base") s.G_lrate_base = v.get<double>();
      else if (key == "G_lrate_dict") s.G_lrate_dict = dict_from<double>(v, "G_lrate_dict");
      else if (key == "D_lrate_base") s.D_lrate_base = v.get<double>();
      else if (key == "D_lrate_dict") s.D_lrate_dict = dict_from<double>(v, "D_lrate_dict");
      else if (key == "tick_kimg_base") s.tick_kimg_base = v.get<double>();
      else if (key == "tick_kimg_dict") s.tick_kimg_dict = dict_from<double>(v, "tick_kimg_dict");
      else if (key == "num_gpus") s.num_gpus = io::json_int(v);
      else throw Error("schedule spec: unknown key '" + key + "'");
    } catch (const nlohmann::json::exception& e) {
      throw Error("schedule spec: key '" + key + "' has a bad value " + io::json_excerpt(v) + " (" + io::json_error_text(e) + ")");
    }
  }
  return s;
}

namespace {

// A stored image's level `level` (dataset_level_image's rule), from its full
// resolution pixels.
void level_image(const uint8_t* full, int res, int C, int level, uint8_t* out) {
  const int f = 1 << level, r = res >> level;
  if (level == 0) {
    std::copy(full, full + static_cast<size_t>(C) * res * res, out);
    return;
  }
  const double inv = 1.0 / (static_cast<double>(f) * f);
  for (int c = 0; c < C; ++c)
    for (int y = 0; y < r; ++y)
      for (int x = 0; x < r; ++x) {
        int64_t sum = 0;
        for (int a = 0; a < f; ++a)
          for (int b = 0; b < f; ++b) sum += full[(static_cast<size_t>(c) * res + y * f + a) * res + x * f + b];
        // The exact block mean (float32's repeated 2x2 means are exact), then np.rint.
        const double v = std::nearbyint(static_cast<double>(sum) * inv);
        out[(static_cast<size_t>(c) * r + y) * r + x] = static_cast<uint8_t>(std::min(255.0, std::max(0.0, v)));
      }
}

// The level images of items, in order, to fn(k, image) (Dataset::each_image).
template <class Fn>
void each_level_image(const Dataset& ds, const std::vector<int64_t>& items, int level, Fn fn) {
  const int res = ds.resolution(), C = ds.channels(), r = res >> level;
  std::vector<uint8_t> img(static_cast<size_t>(C) * r * r);
  ds.each_image(items.data(), static_cast<int64_t>(items.size()), [&](int64_t k, const uint8_t* full) {
    level_image(full, res, C, level, img.data());
    fn(k, img.data());
  });
}

}  // namespace

void dataset_level_image(const Dataset& ds, int64_t i, int level, uint8_t* out) {
  const int res = ds.resolution(), C = ds.channels(), f = 1 << level, r = res >> level;
  GF_CHECK(level >= 0 && r >= 1 && r * f == res, "dataset_level_image", "level " << level << " of a " << res << "x" << res << " dataset");
  std::vector<uint8_t> full(static_cast<size_t>(C) * res * res);
  ds.image(i, full.data());
  level_image(full.data(), res, C, level, out);
}

Tensor level_pixels(const Dataset& ds, const std::vector<int64_t>& items, int level, const std::vector<bool>& flip) {
  GF_CHECK(flip.empty() || flip.size() == items.size(), "level_pixels", flip.size() << " flips for " << items.size() << " images");
  const int C = ds.channels(), r = ds.resolution() >> level;
  const int64_t n = static_cast<int64_t>(items.size()), plane = static_cast<int64_t>(r) * r;
  GF_CHECK(level >= 0 && r >= 1 && r << level == ds.resolution(), "level_pixels", "level " << level);
  std::vector<double> out;
  out.reserve(static_cast<size_t>(n * C * plane));
  each_level_image(ds, items, level, [&](int64_t k, const uint8_t* img) {
    const bool mirrored = !flip.empty() && flip[static_cast<size_t>(k)];
    for (int c = 0; c < C; ++c)
      for (int y = 0; y < r; ++y)
        for (int x = 0; x < r; ++x) out.push_back(img[static_cast<size_t>((c * r + y) * r + (mirrored ? r - 1 - x : x))]);
  });
  return Tensor::from_vector(out, {n, C, r, r}, DType::f64);
}

Tensor progressive_reals(const Dataset& ds, const std::vector<int64_t>& items, double lod,
                         const std::vector<bool>& flip, Device device) {
  const char* op = "progressive_reals";
  const int res = ds.resolution(), C = ds.channels();
  int log2 = 0;
  while ((1 << log2) < res) ++log2;
  GF_CHECK(std::isfinite(lod) && lod >= 0 && lod <= log2 - 1, op, "lod " << lod << " outside [0, " << log2 - 1 << "]");
  GF_CHECK(flip.empty() || flip.size() == items.size(), op, flip.size() << " flips for " << items.size() << " images");
  const int level = static_cast<int>(std::floor(lod)), r = res >> level;
  const int64_t n = static_cast<int64_t>(items.size());
  Tensor host = Tensor::empty({n, C, r, r}, DType::f32, Device::cpu());
  float* px = host.data<float>();
  // adjust_dynamic_range([0, 255] -> [-1, 1]) in float32, as the official graph computes it.
  const float scale = 2.0f / 255.0f, bias = -1.0f;
  each_level_image(ds, items, level, [&](int64_t k, const uint8_t* img) {
    const bool mirrored = !flip.empty() && flip[static_cast<size_t>(k)];
    for (int c = 0; c < C; ++c)
      for (int y = 0; y < r; ++y)
        for (int x = 0; x < r; ++x) {
          const uint8_t v = img[static_cast<size_t>((c * r + y) * r + (mirrored ? r - 1 - x : x))];
          px[((k * C + c) * r + y) * r + x] = static_cast<float>(v) * scale + bias;
        }
  });
  Tensor x = device.is_cpu() ? host : host.to(device);
  const double frac = lod - std::floor(lod);
  if (frac > 0) x = lerp(x, upscale2d(downscale2d(x, 2), 2), frac);
  return upscale2d(x, 1 << level);
}

Tensor progressive_labels(const Dataset& ds, const std::vector<int64_t>& items, Device device) {
  return ds.c_dim() == 0 ? Tensor() : labels_of(ds, items, device);
}

AdamOptions tf_adam_options(double beta1, double beta2, double epsilon) {
  AdamOptions o;
  o.beta1 = beta1;
  o.beta2 = beta2;
  o.eps = epsilon;
  o.tf_epsilon = true;
  return o;
}

}  // namespace gf

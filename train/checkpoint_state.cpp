#include "train/checkpoint_state.h"

#include <cmath>

#include "engine/error.h"
#include "models/network_file.h"

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

void add_dataset_metadata(io::Metadata& meta, const Dataset& ds) {
  meta["dataset"] = ds.name();
  meta["dataset_size"] = std::to_string(ds.size());
}

void check_same_dataset(const io::SafetensorsFile& file, const std::string& path, const Dataset& ds) {
  const std::string ds_name = file.metadata.count("dataset") ? file.metadata.at("dataset") : "?";
  const std::string ds_size = file.metadata.count("dataset_size") ? file.metadata.at("dataset_size") : "?";
  if (ds_name != ds.name() || ds_size != std::to_string(ds.size()))
    throw Error(path + ": made on dataset '" + ds_name + "' (" + ds_size + " images), but this run has '" + ds.name() +
                "' (" + std::to_string(ds.size()) +
                " images): --data, --mirror and --max-images must be those of the checkpoint's run");
}

bool has_format(const io::SafetensorsFile& file, const std::string& format) {
  auto it = file.metadata.find("format");
  return it != file.metadata.end() && it->second == format;
}

void load_gan_state(const io::TensorMap& all, const std::string& path, Module& G, Module& D, Module& G_ema,
                    Optimizer& G_opt, Optimizer& D_opt, InfiniteSampler& sampler) {
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

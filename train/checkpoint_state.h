// Plumbing every family's checkpoint shares: counters stored as float64
// tensors (64-bit values as two exact 32-bit halves), read back with checks
// that name the file and tensor; the dataset a run was made on; the format tag.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/module.h"
#include "train/dataset.h"
#include "train/optimizer.h"

namespace gf {

// 64-bit values as two exact float64 halves each (float64 holds 53 bits).
Tensor u64_tensor(const std::vector<uint64_t>& v);
// A float64 [1] tensor holding v.
Tensor f64_scalar(double v);

// Tensor `name` with numel values; throws naming the file when it is absent or misshapen.
const Tensor& need_tensor(const io::TensorMap& m, const std::string& name, int64_t numel, const std::string& path);
// Value i of `name`, a whole number in [0, limit); what every counter must be.
double whole_number(const io::TensorMap& m, const std::string& name, int64_t numel, size_t i, double limit,
                    const std::string& path);
// The i-th of `count` 64-bit values written by u64_tensor.
uint64_t u64_of(const io::TensorMap& m, const std::string& name, int64_t count, size_t i, const std::string& path);
// Value i of `name`, which must be finite.
double finite_number(const io::TensorMap& m, const std::string& name, int64_t numel, size_t i,
                     const std::string& path);

// Counters beyond this are not exact in float64.
inline constexpr double k2to53 = 9007199254740992.0;

// Metadata "dataset" and "dataset_size" of a run on ds.
void add_dataset_metadata(io::Metadata& meta, const Dataset& ds);
// Throws unless the file was made on a dataset of ds's name and size: the
// sampler's state and the image count mean nothing on other data.
void check_same_dataset(const io::SafetensorsFile& file, const std::string& path, const Dataset& ds);

// What every GAN family's checkpoint holds beside its counters: G.*, D.* and
// G_ema.* go into the networks, G_opt.* and D_opt.* into the optimizers,
// sampler.* into the data sampler. Throws gf::Error naming path when a
// tensor is missing or misshapen.
void load_gan_state(const io::TensorMap& all, const std::string& path, Module& G, Module& D, Module& G_ema,
                    Optimizer& G_opt, Optimizer& D_opt, InfiniteSampler& sampler);

// Whether the file's metadata "format" is `format`.
bool has_format(const io::SafetensorsFile& file, const std::string& format);

}  // namespace gf

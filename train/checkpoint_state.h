// Plumbing every family's checkpoint shares: counters stored as float64
// tensors (64-bit values as two exact 32-bit halves), read back with checks
// that name the file and tensor; the dataset a run was made on; the format tag.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <typeinfo>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/module.h"
#include "models/network_file.h"
#include "data/dataset.h"
#include "data/infinite_sampler.h"
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

// A key of what a run trains on: the item count, resolution, channels and
// c_dim, every item's label, and every item's pixels, x-flipped copies as
// they come out (Dataset::pixel_hashes: no file is decoded again). Not the name: a
// copy of the data under another name has the same key. "all-" and 16 hex
// digits of a 64-bit FNV-1a, defined here (not std::hash) so that a
// checkpoint reads the same on every build. (Checkpoints before 2026-12-03
// hold a bare key of 16 sampled items; check_same_dataset still reads them.)
std::string dataset_resume_key(const Dataset& ds);

// That key and its two parts (DatasetKeys, data/dataset.h), from the
// dataset's pixel hashes (computed once per dataset) and its labels.
DatasetKeys dataset_keys(const Dataset& ds);

// The same kind of key (FNV-1a 64, as hex) of a whole file's bytes, for an
// input a checkpoint records (train_psp's --generator). Throws gf::Error
// naming the file when it cannot be read.
std::string file_resume_key(const std::string& path);

// Metadata "dataset", "dataset_size", "dataset_key", "dataset_labels_key" and
// "dataset_pixels_key" (dataset_keys) of a run on ds.
void add_dataset_metadata(io::Metadata& meta, const Dataset& ds);
// Throws unless the file was made on data of ds's content (its "dataset_key";
// the name may differ): the sampler's state and the image count mean nothing
// on other data. The error says "another image count", "other labels",
// "other pixels" or both, or "other content" for a file without the parts' keys. A file from before
// the key holds only the name and size,
// which must then match. `flags` names what chooses the data, for the message.
void check_same_dataset(const io::SafetensorsFile& file, const std::string& path, const Dataset& ds,
                        const std::string& flags = "--data, --mirror and --max-images");

// "32x32x3 images with 0 labels" (1 label): the shape and labels of the
// images networks make, as --resume's lines say them.
std::string images_text(int resolution, int channels, int labels);

// Throws gf::Error naming `path` unless its networks, which make
// resolution x resolution x channels images with `labels` labels, fit ds:
// --resume on other data than the file's. The line says what to change
// when it can tell: --cond, or the data the file was made on (its
// "dataset" metadata, where it has one).
void check_networks_fit_data(const io::SafetensorsFile& file, const std::string& path, int resolution, int channels,
                             int labels, const Dataset& ds);

// --resume of a network file without a discriminator (export_weights --net
// G_ema, a converted generator): the generator loads and D starts from its
// random initialization, which the run log says (StyleGAN2-ADA's resume reads
// G, D and G_ema from its pickle and fails on one without D; ganforge takes
// the generator alone, as a start for G). Empty when the file holds a D.
std::string no_discriminator_note(const io::SafetensorsFile& file, const std::string& path);

// What every GAN family's checkpoint holds beside its counters: G.*, D.* and
// G_ema.* go into the networks, G_opt.* and D_opt.* into the optimizers,
// sampler.* into the data sampler. Throws gf::Error naming path when a
// tensor is missing or misshapen.
// The run log's line for a checkpoint that holds a NaN or an infinity (its
// optimizer moments, pl_mean, w_avg: a run that diverged, which resumes as it
// stood, as the run would have gone on), naming the first such tensor; "" for none.
std::string diverged_note(const io::SafetensorsFile& file, const std::string& path);

void load_gan_state(const io::TensorMap& all, const std::string& path, Module& G, Module& D, Module& G_ema,
                    Optimizer& G_opt, Optimizer& D_opt, InfiniteSampler& sampler);

// The seed of the --max-images subset, which is drawn before any trainer is
// built (train.py's --subset draws it with --seed): --seed when given (or
// nothing to resume), else, resuming a checkpoint, the checkpoint's run's
// seed (its subset); a network file starts a new run: --seed's default.
// resume: the --resume path, "" for none.
uint32_t data_subset_seed(uint64_t seed, bool seed_given, const std::string& resume);

// Whether the file's metadata "format" is `format`.
bool has_format(const io::SafetensorsFile& file, const std::string& format);

// --resume's gate: true for a checkpoint of `format` (this trainer's, this
// build's), false for a network file (no format tag and no "state."
// tensors: a snapshot, a G alone, a converted pickle). Anything else throws
// one line naming `path`: another format tag (another version's or
// family's checkpoint, a draw log), or training state without a tag. Such a
// file was resumed as a snapshot before: its progress, optimizer state and
// settings dropped in silence.
bool resumes_checkpoint(const io::SafetensorsFile& file, const std::string& path, const std::string& format);

// make() builds a trainer from the configs a --resume file holds: an error
// of their checks (networks that do not fit the dataset, a bad size) is
// prefixed with the file they came from, which it did not name. Subclasses
// of Error (a stop signal) pass through as they are.
template <class Make>
auto built_from_file(const std::string& path, Make make) -> decltype(make()) {
  try {
    return make();
  } catch (const Error& e) {
    if (typeid(e) != typeid(Error)) throw;
    const std::string m = e.what();
    throw Error(m.find(path) != std::string::npos ? m : path + ": " + m);
  }
}

// Before a trainer builds its networks (a copy per replica) from the configs
// of a --resume file: G (or G_ema) from `g` and D from `d` are each built
// once alone (as Net(config, 0)) under build_within_file's cap of the file's
// tensors for that network (models/network_file.h), so a config far larger
// than the file (z_dim 2^24 beside tensors of one element) is refused naming
// `path` before the trainer allocates it. A file without D still gives D's
// config (its D_kwargs, or the generator's widths): that D is capped by the
// generator's tensors (a discriminator is about a generator's size in every
// official config).
template <class G, class D, class GConfig, class DConfig>
void check_configs_fit_file(const io::SafetensorsFile& file, const std::string& path, const GConfig& g, const DConfig& d) {
  const std::vector<std::string> held = networks_in(file);
  auto has = [&](const std::string& n) { return std::find(held.begin(), held.end(), n) != held.end(); };
  const std::string gen = has("G") ? "G" : "G_ema";
  const io::TensorMap g_state = network_state(file, path, gen);
  std::string key = "G_kwargs";
  try {
    build_within_file(g_state, gen, [&] { return std::make_unique<G>(g, 0); });
    key = "D_kwargs";
    if (has("D"))
      build_within_file(network_state(file, path, "D"), "D", [&] { return std::make_unique<D>(d, 0); });
    else
      build_within_file(g_state, gen, [&] { return std::make_unique<D>(d, 0); });
  } catch (const Error& e) {
    throw Error(path + ": " + key + ": " + e.what());
  }
}

}  // namespace gf

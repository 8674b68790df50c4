// PGGAN's networks as the official networks.py defines them (G_paper,
// D_paper), with the 'recursive' structure's semantics: only the levels the
// level of detail needs are run.
//
// lod is the official level of detail: 0 is the full resolution, k runs the
// networks at resolution / 2^k, and a fractional lod fades between the two
// nearest levels. G always outputs the full resolution (the level's image
// nearest-upscaled); D always reads it (box-downscaled to the level).
// Parameters carry the official TensorFlow variable names ("4x4/Dense/weight",
// "8x8/Conv0_up/weight", "ToRGB_lod0/bias", "lod"), with the weights in
// ganforge's layouts: dense [out, in], conv [out, in, k, k] (the official
// [in, out] and [k, k, in, out]; the fused upscale conv's [k, k, out, in]).
// Equalized lr with the gain on the weight (models/equalized_lr.h).
#pragma once
#include <cstdint>
#include <vector>

#include "models/equalized_lr.h"
#include "models/pggan/config.h"

namespace gf::pggan {

// G's first layer: dense to 16 * C features, reshaped to [C, 4, 4], then a
// bias per channel and the activation ("4x4/Dense": weight [16 C, in], bias [C]).
class Dense4x4 : public Module {
 public:
  Dense4x4(int in_features, int channels, ParamInit& init, const EqualizedLR& eq, const BiasActSpec& act);
  Tensor forward(const Tensor& x) const;  // [N, in] -> [N, C, 4, 4]

  Tensor& weight;  // [16 C, in]
  Tensor& bias;    // [C]

 private:
  int channels_;
  double weight_gain_;
  BiasActSpec act_;
};

class Generator : public Module {
 public:
  Generator(const GeneratorConfig& cfg, uint64_t seed, DType dtype = DType::f32);
  // latents [N, latent_size], labels [N, label_size] (undefined without
  // labels) -> images [N, num_channels, resolution, resolution], at `lod`
  // (finite; values outside [0, resolution_log2 - 2] act as the nearest end).
  Tensor forward(const Tensor& latents, const Tensor& labels, double lod) const;
  // At the network's stored lod.
  Tensor forward(const Tensor& latents, const Tensor& labels) const { return forward(latents, labels, lod()); }

  const GeneratorConfig& config() const { return cfg_; }
  int latent_size() const { return latent_size_; }
  int resolution_log2() const { return res_log2_; }
  double lod() const;           // the "lod" buffer (float32, as the official variable)
  void set_lod(double lod);

  Tensor& lod_var;  // buffer [] "lod"

 private:
  Generator(const GeneratorConfig& cfg, ParamInit&& init);
  // Level r (2 = 4x4): its block on x, and its ToRGB.
  Tensor block(int r, const Tensor& x) const;
  GeneratorConfig cfg_;
  int latent_size_, res_log2_;
  Dense4x4* dense_ = nullptr;
  struct Level {
    EqualizedConv2d* conv0 = nullptr;  // 4x4: "Conv"; above: "Conv0_up" or "Conv0"
    EqualizedConv2d* conv1 = nullptr;  // above 4x4: "Conv1"
    EqualizedConv2d* torgb = nullptr;  // "ToRGB_lod<k>"
  };
  std::vector<Level> levels_;  // index r - 2
};

class Discriminator : public Module {
 public:
  Discriminator(const DiscriminatorConfig& cfg, uint64_t seed, DType dtype = DType::f32);
  // images [N, num_channels, resolution, resolution] -> [N, 1 + label_size]:
  // column 0 the score, the rest the AC-GAN label logits (scores() and
  // label_logits() split them). N must be a multiple of the minibatch-stddev
  // group min(mbstd_group_size, N).
  Tensor forward(const Tensor& images, double lod) const;
  Tensor forward(const Tensor& images) const { return forward(images, lod()); }

  const DiscriminatorConfig& config() const { return cfg_; }
  int resolution_log2() const { return res_log2_; }
  double lod() const;
  void set_lod(double lod);

  Tensor& lod_var;  // buffer [] "lod"

 private:
  Discriminator(const DiscriminatorConfig& cfg, ParamInit&& init);
  Tensor block(int r, const Tensor& x) const;
  DiscriminatorConfig cfg_;
  int res_log2_;
  struct Level {
    EqualizedConv2d* fromrgb = nullptr;  // "FromRGB_lod<k>"
    EqualizedConv2d* conv0 = nullptr;    // above 4x4: "Conv0"; 4x4: "Conv"
    EqualizedConv2d* conv1 = nullptr;    // above 4x4: "Conv1_down" or "Conv1"
  };
  std::vector<Level> levels_;
  EqualizedDense* dense0_ = nullptr;  // "4x4/Dense0"
  EqualizedDense* dense1_ = nullptr;  // "4x4/Dense1"
};

// Column 0 of D's output [N, 1]; columns 1.. [N, label_size].
Tensor scores(const Tensor& d_out);
Tensor label_logits(const Tensor& d_out);

// The deepest level (r, 2 = 4x4) a lod runs: max(2, ceil(log2 - lod)), at most log2.
int top_level(int res_log2, double lod);

}  // namespace gf::pggan

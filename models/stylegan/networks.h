// StyleGAN (v1)'s networks as NVlabs/stylegan training/networks_stylegan.py
// defines them: G_style (G_mapping + G_synthesis, dlatent_avg, truncation,
// style mixing) and D_basic, with the 'recursive' structure's semantics (only
// the levels the lod needs run, as pggan::top_level decides).
//
// Parameters carry the official TensorFlow variable names, G's prefixed by its
// component ("G_mapping/Dense0/weight", "G_synthesis/4x4/Const/const",
// "G_synthesis/8x8/Conv0_up/Noise/weight", "G_synthesis/noise3", "dlatent_avg",
// "lod"), in ganforge's layouts: dense [out, in], conv [out, in, k, k] (the
// official [in, out] and [k, k, in, out], Conv0_up's too). Equalized lr with
// the gain on the weight (models/equalized_lr.h), lrmul folded into the
// stored weight's init and the run-time coefficient.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/noise.h"
#include "models/equalized_lr.h"
#include "models/stylegan/config.h"

namespace gf::stylegan {

// G_mapping: z [N, latent_size] (+ labels [N, label_size] through the
// LabelConcat embedding) -> w [N, dlatent_size], pixel-normalized input,
// mapping_layers dense layers with lrmul.
class Mapping : public Module {
 public:
  Mapping(const GeneratorConfig& cfg, ParamInit& init);
  Tensor forward(const Tensor& z, const Tensor& labels) const;

 private:
  GeneratorConfig cfg_;
  Tensor* label_concat_ = nullptr;  // "LabelConcat/weight" [latent_size, label_size] (official [label, latent])
  std::vector<EqualizedDense*> dense_;
};

// The per-channel noise strength of one layer ("Noise/weight" [C], zeros).
class NoiseStrength : public Module {
 public:
  NoiseStrength(int channels, DType t) : weight(param("weight", zeros({channels}, t))) {}
  Tensor& weight;
};

// One synthesis layer's epilogue (layer_epilogue): noise times a per-channel
// weight, bias, activation, optional pixel norm, instance norm (eps 1e-8) and
// style_mod: style = dense(w) (gain 1) + bias, x * (style[0] + 1) + style[1].
// Instance norm and style run as one adain op.
class Epilogue : public Module {
 public:
  Epilogue(int channels, const GeneratorConfig& cfg, ParamInit& init);
  // x [N, C, H, W], w [N, dlatent_size], noise [N or 1, 1, H, W] or undefined.
  Tensor forward(const Tensor& x, const Tensor& w, const Tensor& noise) const;

 private:
  GeneratorConfig cfg_;
  NoiseStrength* noise_ = nullptr;
  Tensor& bias_;
  EqualizedDense* style_ = nullptr;
};

struct SynthesisOptions {
  NoiseMode noise_mode = NoiseMode::random;  // constant reads the stored noise{i}
  gf::Generator* noise_gen = nullptr;        // required for NoiseMode::random (unless noise_source is set)
  // With NoiseMode::random: when set, each layer that runs takes its noise
  // [N, 1, H, W] from here instead of noise_gen, given the name of its official
  // noise input ("noise3"); a training step records or replays its draws
  // through it (train/draw_log.h).
  std::function<Tensor(const std::string& layer, const Shape& shape)> noise_source;
};

class Synthesis : public Module {
 public:
  Synthesis(const GeneratorConfig& cfg, ParamInit& init);
  // ws [N, num_layers, dlatent_size] -> images [N, num_channels, R, R] at lod.
  Tensor forward(const Tensor& ws, double lod, const SynthesisOptions& opt) const;
  int num_layers() const { return num_layers_; }
  Tensor& lod_var;  // "lod"

 private:
  Tensor layer(int idx, const Tensor& x, const Tensor& ws, const SynthesisOptions& opt) const;
  Tensor torgb(int r, const Tensor& x) const;
  GeneratorConfig cfg_;
  int res_log2_, num_layers_;
  Tensor blur_;  // the normalized blur filter, or undefined
  Tensor* const_ = nullptr;
  struct Layer {
    EqualizedConv2d* conv = nullptr;  // [out, in, 3, 3], no bias (null for the const layer)
    bool fused_up = false, upsample = false;
    Epilogue* epilogue = nullptr;
    Tensor* noise = nullptr;  // buffer noise<i> [1, 1, H, W]
  };
  std::vector<Layer> layers_;
  std::vector<EqualizedConv2d*> torgb_;  // index r - 2
};

struct GenerateOptions {
  double truncation_psi = 1;  // 1: off
  int truncation_cutoff = 0;  // <= 0: off
  SynthesisOptions synthesis;
};

// G_style at inference (is_training false): mapping, broadcast, truncation, synthesis.
class Generator : public Module {
 public:
  Generator(const GeneratorConfig& cfg, uint64_t seed, DType dtype = DType::f32);

  // z [N, latent_size], labels [N, label_size] (undefined without labels) -> ws [N, num_layers, dlatent_size].
  Tensor mapping(const Tensor& z, const Tensor& labels) const;
  // lerp(dlatent_avg, ws, psi) for the layers below cutoff (official Truncation).
  Tensor truncate(const Tensor& ws, double psi, int cutoff) const;
  Tensor synthesis(const Tensor& ws, double lod, const SynthesisOptions& opt) const;
  Tensor forward(const Tensor& z, const Tensor& labels, double lod, const GenerateOptions& opt) const;
  // The official defaults: the config's psi and cutoff, the stored lod.
  GenerateOptions default_options(const SynthesisOptions& s = {}) const;

  // dlatent_avg = lerp(mean over N of ws[:, 0], dlatent_avg, beta) (training mode; no gradient).
  void update_dlatent_avg(const Tensor& ws);

  const GeneratorConfig& config() const { return cfg_; }
  int num_layers() const { return synthesis_->num_layers(); }
  double lod() const;
  void set_lod(double lod);  // G's and the synthesis' lod (float32, as the official variables)

  Tensor& lod_var;          // "lod"
  Tensor& dlatent_avg;      // "dlatent_avg" [dlatent_size]

 private:
  Generator(const GeneratorConfig& cfg, ParamInit&& init);
  GeneratorConfig cfg_;
  Mapping* mapping_ = nullptr;
  Synthesis* synthesis_ = nullptr;
};

// Style mixing (the official StyleMix): ws where layer < cutoff, else ws2.
Tensor mix_styles(const Tensor& ws, const Tensor& ws2, int cutoff);

// D_basic: images [N, C, R, R] (labels [N, label_size] when labelled) -> scores [N, 1].
class Discriminator : public Module {
 public:
  Discriminator(const DiscriminatorConfig& cfg, uint64_t seed, DType dtype = DType::f32);
  Tensor forward(const Tensor& images, const Tensor& labels, double lod) const;
  Tensor forward(const Tensor& images, const Tensor& labels) const { return forward(images, labels, lod()); }

  const DiscriminatorConfig& config() const { return cfg_; }
  double lod() const;
  void set_lod(double lod);
  Tensor& lod_var;

 private:
  Discriminator(const DiscriminatorConfig& cfg, ParamInit&& init);
  Tensor block(int r, const Tensor& x) const;
  DiscriminatorConfig cfg_;
  int res_log2_;
  Tensor blur_;
  struct Level {
    EqualizedConv2d* fromrgb = nullptr;
    EqualizedConv2d* conv0 = nullptr;  // above 4x4: "Conv0"; 4x4: "Conv"
    EqualizedConv2d* conv1 = nullptr;  // above 4x4: "Conv1_down"
  };
  std::vector<Level> levels_;
  EqualizedDense* dense0_ = nullptr;
  EqualizedDense* dense1_ = nullptr;
};

}  // namespace gf::stylegan

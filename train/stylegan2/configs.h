// Training configurations: the official StyleGAN2-ADA cfg_specs (auto,
// stylegan2, paper256, paper512, paper1024, cifar) plus small ones for CPU
// runs and tests, resolved against the dataset's resolution.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gf {

struct TrainSpec {
  std::string cfg;
  int batch = 32;            // total minibatch, over all GPUs
  int gpus = 1;              // data-parallel replicas, each with batch / gpus images
  int batch_gpu = 0;         // images per pass on one GPU (gradients accumulate); 0: batch / gpus
  int mbstd_group = 4;       // minibatch-stddev group size
  int channel_base = 32768;  // fmaps * 32768
  int channel_max = 512;
  int mapping_layers = 8;
  int z_dim = 512, w_dim = 512;
  double lrate = 0.002;
  double gamma = 10;         // R1 weight
  double ema_kimg = 10;
  double ema_rampup = 0;     // 0: none
  double pl_weight = 2;
  double style_mixing = 0.9;
  int conv_clamp = 256;      // 0: none
  int g_reg_interval = 4, d_reg_interval = 16;
  double kimg = 25000;
  // Discriminator augmentation (official train.py --aug, --p, --target,
  // --augpipe; training_loop.py augment_p, ada_target, ada_interval,
  // ada_kimg). aug: "noaug" (no pipe), "ada" (p starts at augment_p and
  // follows the sign of D's real logits towards ada_target) or "fixed" (p =
  // augment_p throughout). A spec without these fields (files written before
  // augmentation) is "noaug". train_stylegan's default is the official "ada".
  std::string aug = "noaug";
  std::string augpipe = "bgc";  // train/augment_pipe.h: augpipe_spec()
  double augment_p = 0;
  double ada_target = 0.6;
  int ada_interval = 4;         // minibatches between adjustments of p
  double ada_kimg = 500;        // kimg for p to move by 1
};

// Names accepted by TrainSpec::aug.
std::vector<std::string> aug_modes();

// Names accepted by --cfg.
std::vector<std::string> config_names();
// Resolves a named config for a dataset resolution and GPU count, exactly as
// the official train.py does for 'auto'. Throws gf::Error for an unknown name.
TrainSpec make_train_spec(const std::string& cfg, int resolution, int gpus = 1);

// Images one GPU runs through the networks at a time.
int batch_per_pass(const TrainSpec& s);

// Throws gf::Error naming the first field out of range (intervals and sizes
// below 1, a negative or non-finite rate, weight or half-life, a batch that
// the GPUs, passes and minibatch-stddev groups do not divide, an unknown aug
// mode or pipe, a p or target outside [0, 1]).
void check_train_spec(const TrainSpec& s);

nlohmann::json to_json(const TrainSpec& s);
TrainSpec train_spec_from_json(const nlohmann::json& j);

}  // namespace gf

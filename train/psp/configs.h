// train_psp's settings: pSp's training options (options/train_options.py)
// that shape a run, and the two configurations:
//   psp  the paper's: the IR-SE50 GradualStyleEncoder on 256x256 inputs,
//        batch 4, Ranger at lr 1e-4, lambdas l2 1.0 and lpips 0.8 (pSp's
//        defaults; its face runs add --id_lambda 0.1);
//   cpu  a small encoder that a CPU trains in minutes: IR-SE units
//        [1, 2, 2, 1] at depths [w/2, w/2, w, w] (w the generator's w_dim,
//        which the last depth must equal), SE reduction 4, inputs at the
//        generator's resolution clamped to [32, 256], batch 8, 2000 steps, Ranger at lr
//        1e-2 (from scratch: no ArcFace weights to start from; 1e-3 learns
//        half as fast on the test generator), and only the
//        l2 loss by default (LPIPS needs weights nobody can download here).
// Every field can be changed by a flag of train_psp.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/psp/config.h"
#include "models/stylegan2/config.h"
#include "train/psp/losses.h"

namespace gf::psp {

struct PspTrainSpec {
  std::string cfg = "psp";
  PspConfig net;                 // the encoder (n_styles from the generator)
  int batch = 4;                 // --batch_size
  int64_t max_steps = 500000;    // --max_steps
  std::string optim = "ranger";  // --optim_name: ranger or adam
  double lr = 1e-4;              // --learning_rate
  PspLambdas lambdas;
  bool train_decoder = false;    // --train_decoder
  int val_images = 32;           // the held-out images: the last ones of the data
  // The loss networks' files (models/perceptual/network_file.h), "" for none,
  // and their bytes' keys (file_resume_key) as the run read them: a resumed
  // run reads them again (given anew or at the recorded path) and refuses
  // other content. The keys are empty in checkpoints from before they were
  // recorded.
  std::string lpips_path, arcface_path, moco_path;
  std::string lpips_key, arcface_key, moco_key;
  // The --generator the run started from: its path as given and its bytes'
  // key (file_resume_key), so that --resume takes that file again and refuses
  // another; empty in checkpoints from before they were recorded.
  std::string generator_path, generator_key;
};

// The configs' names, for --help.
std::vector<std::string> psp_config_names();
// The spec for a generator of `decoder`'s config; throws gf::Error for an
// unknown name or a generator pSp cannot decode with (conditional, or a w_dim
// the cpu body cannot match).
PspTrainSpec make_psp_train_spec(const std::string& cfg, const stylegan2::GeneratorConfig& decoder);
// Throws gf::Error naming the field that is out of range.
void check_psp_train_spec(const PspTrainSpec& s);

nlohmann::json to_json(const PspTrainSpec& s);
PspTrainSpec psp_train_spec_from_json(const nlohmann::json& j);

}  // namespace gf::psp

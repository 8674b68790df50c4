// StyleGAN (v1) training presets for train_stylegan --arch stylegan:
//  - "1gpu": the official train.py (FFHQ config, '-1gpu': minibatch 128 up
//    to 16x16 then 64 .. 4; learning rates 0.0015 / 0.002 / 0.003 from 128;
//    start at 8x8; 600 + 600 kimg per resolution; 25000 kimg; the official
//    networks' sizes);
//  - "cpu": small networks for Fashion-MNIST on two cores (8x8 to 32x32,
//    15 + 15 kimg per resolution, 75 kimg, minibatch 16);
//  - "tiny": for tests.
#pragma once
#include <string>
#include <vector>

#include "train/stylegan/trainer.h"

namespace gf {

std::vector<std::string> stylegan_config_names();
// The preset's spec (spec.cfg = cfg); the networks' resolution, channels and
// labels come from the dataset later. Throws gf::Error naming the known
// presets for an unknown name.
StyleGANSpec make_stylegan_spec(const std::string& cfg);

}  // namespace gf

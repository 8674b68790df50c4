// Progressive growing as PGGAN's train.py runs it, shared by the families
// that grow (PGGAN; StyleGAN v1 uses the same schedule and data path):
//  - TrainingSchedule: the level of detail, minibatch, learning rates and tick
//    length as functions of the images shown so far;
//  - the reals at a lod: the dataset's level (as dataset_tool.py stores it),
//    mirrored, faded and upscaled to the networks' size, as process_reals.
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tensor.h"
#include "train/adam.h"
#include "data/dataset.h"

namespace gf {

// The official TrainingSchedule's arguments, with its defaults.
struct ScheduleSpec {
  int lod_initial_resolution = 4;   // image resolution at the beginning
  double lod_training_kimg = 600;   // kimg per resolution before fading in the next
  double lod_transition_kimg = 600; // kimg of each fade
  int minibatch_base = 16;
  std::map<int, int> minibatch_dict;          // resolution -> minibatch
  std::map<int, int> max_minibatch_per_gpu;   // resolution -> per-GPU limit
  double G_lrate_base = 0.001;
  std::map<int, double> G_lrate_dict;
  double D_lrate_base = 0.001;
  std::map<int, double> D_lrate_dict;
  double tick_kimg_base = 160;
  std::map<int, double> tick_kimg_dict = {{4, 160}, {8, 140}, {16, 120}, {32, 100}, {64, 80},
                                          {128, 60}, {256, 40}, {512, 20}, {1024, 10}};
  int num_gpus = 1;  // the preset's GPU count (config.num_gpus): minibatch rounding and per-GPU limits
};

struct Schedule {
  double kimg = 0;
  double lod = 0;      // float64, as the official class computes it
  int resolution = 0;  // 2^(resolution_log2 - floor(lod))
  int minibatch = 0;
  double G_lrate = 0, D_lrate = 0, tick_kimg = 0;
};

// TrainingSchedule(cur_nimg, training_set) for a dataset of 2^resolution_log2.
Schedule training_schedule(int64_t cur_nimg, int resolution_log2, const ScheduleSpec& spec);

// The minibatch the schedule uses at a resolution.
int schedule_minibatch(const ScheduleSpec& spec, int resolution);

// Throws gf::Error naming the first bad field (sizes below 1, negative kimg,
// a non-power-of-two resolution key, a minibatch the GPUs do not divide...).
void check_schedule_spec(const ScheduleSpec& s);

nlohmann::json to_json(const ScheduleSpec& s);
ScheduleSpec schedule_spec_from_json(const nlohmann::json& j);

// Item i at level k: each pixel the mean of a 2^k x 2^k block of the stored
// image, rounded half to even and clipped to [0, 255], as dataset_tool.py's
// TFRecordExporter writes its lower-resolution copies (repeated 2x2 means in
// float32, which are exact). out holds C * (res / 2^k)^2 bytes.
void dataset_level_image(const Dataset& ds, int64_t i, int level, uint8_t* out);

// The level `level` images of the dataset items as dataset_tool.py stores
// them (dataset_level_image), flipped along x where flip[i] (empty: none):
// whole numbers 0..255 as float64 [N, C, res / 2^level, res / 2^level] on the
// CPU. What process_reals starts from; the draw log records it
// (PGGANTrainer::set_draw_log).
Tensor level_pixels(const Dataset& ds, const std::vector<int64_t>& items, int level, const std::vector<bool>& flip);

// The official process_reals at `lod` for the dataset items: the level
// floor(lod) images in [-1, 1] (x * float(2 / 255) - 1), flipped along x where
// flip[i] (empty: none), faded towards the 2x2 box mean by lod - floor(lod),
// and nearest-upscaled by 2^floor(lod) to the dataset's resolution.
// -> float32 [N, C, res, res] on `device`. lod must be finite and in
// [0, resolution_log2 - 1].
Tensor progressive_reals(const Dataset& ds, const std::vector<int64_t>& items, double lod,
                         const std::vector<bool>& flip, Device device);

// The one-hot labels [N, c_dim] of dataset items that condition the
// progressive networks, or an undefined tensor for a dataset without labels
// (their forward then takes no label input).
Tensor progressive_labels(const Dataset& ds, const std::vector<int64_t>& items, Device device);

// The official progressive trainers' optimizer, tf.train.AdamOptimizer:
// Adam with eps where TensorFlow puts it (train/adam.h), at the given betas
// and epsilon (the spec's adam_beta1, adam_beta2, adam_epsilon); the learning
// rate follows the schedule.
AdamOptions tf_adam_options(double beta1, double beta2, double epsilon);

}  // namespace gf

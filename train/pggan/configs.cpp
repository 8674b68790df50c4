#include "train/pggan/configs.h"

#include <cmath>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "models/config_json.h"

namespace gf {

std::vector<std::string> pggan_config_names() { return {"v1-1gpu", "v2-1gpu", "v2-2gpus", "v2-4gpus", "v2-8gpus", "cpu", "tiny"}; }

PGGANSpec make_pggan_spec(const std::string& cfg) {
  PGGANSpec s;
  s.cfg = cfg;
  ScheduleSpec& q = s.sched;
  // config.py's default '-fp32' precision sets these limits for every preset.
  const std::map<int, int> fp32_limits = {{256, 16}, {512, 8}, {1024, 4}};
  auto lrates = [&](std::map<int, double> d) {
    q.G_lrate_dict = d;
    q.D_lrate_dict = d;
  };
  if (cfg == "v1-1gpu") {
    q.num_gpus = 1;
    s.mbstd_group_size = 16;
    q.minibatch_base = 16;
    q.minibatch_dict = {{256, 14}, {512, 6}, {1024, 3}};
    q.lod_training_kimg = q.lod_transition_kimg = 800;
    s.total_kimg = 19000;
  } else if (cfg == "v2-1gpu") {
    q.num_gpus = 1;
    q.minibatch_base = 4;
    q.minibatch_dict = {{4, 128}, {8, 128}, {16, 128}, {32, 64}, {64, 32}, {128, 16}, {256, 8}, {512, 4}};
    lrates({{1024, 0.0015}});
    s.total_kimg = 12000;
  } else if (cfg == "v2-2gpus") {
    q.num_gpus = 2;
    q.minibatch_base = 8;
    q.minibatch_dict = {{4, 256}, {8, 256}, {16, 128}, {32, 64}, {64, 32}, {128, 16}, {256, 8}};
    lrates({{512, 0.0015}, {1024, 0.002}});
    s.total_kimg = 12000;
  } else if (cfg == "v2-4gpus") {
    q.num_gpus = 4;
    q.minibatch_base = 16;
    q.minibatch_dict = {{4, 512}, {8, 256}, {16, 128}, {32, 64}, {64, 32}, {128, 16}};
    lrates({{256, 0.0015}, {512, 0.002}, {1024, 0.003}});
    s.total_kimg = 12000;
  } else if (cfg == "v2-8gpus") {
    q.num_gpus = 8;
    q.minibatch_base = 32;
    q.minibatch_dict = {{4, 512}, {8, 256}, {16, 128}, {32, 64}, {64, 32}};
    lrates({{128, 0.0015}, {256, 0.002}, {512, 0.003}, {1024, 0.003}});
    s.total_kimg = 12000;
  } else if (cfg == "cpu" || cfg == "tiny") {
    // Small networks on the official schedule's shape, shortened: 'cpu' grows
    // Fashion-MNIST from 4x4 to 32x32 in minutes on two cores; 'tiny' is for tests.
    const bool tiny = cfg == "tiny";
    s.fmap_base = tiny ? 64 : 512;
    s.fmap_max = tiny ? 8 : 64;
    s.latent_size = tiny ? 8 : 0;  // cpu: nf(0) = 64, as the official default
    q.lod_training_kimg = q.lod_transition_kimg = tiny ? 0.032 : 15;
    q.minibatch_base = tiny ? 4 : 16;
    if (!tiny) q.minibatch_dict = {{4, 32}, {8, 32}, {16, 32}, {32, 16}};
    q.tick_kimg_base = tiny ? 0.016 : 4;
    q.tick_kimg_dict = {};
    // cpu: 4x4, then three fades and three trainings of 15 kimg: 32x32 for the last 15.
    s.total_kimg = tiny ? 0.256 : 105;
    // Gs averages over a half-life of about 70 minibatches (1-2 kimg) instead
    // of the official 700: a phase here is some 500 minibatches, and Gs should
    // show the current level rather than a blend of the previous ones.
    if (!tiny) s.G_smoothing = 0.99;
    return s;
  } else {
    std::string names;
    for (const auto& n : pggan_config_names()) names += (names.empty() ? "" : ", ") + n;
    throw Error("unknown --cfg '" + cfg + "' (expected " + names + ")");
  }
  q.max_minibatch_per_gpu = fp32_limits;
  return s;
}

void check_pggan_spec(const PGGANSpec& s) {
  const char* op = "PGGAN spec";
  GF_CHECK(s.fmap_base >= 1 && s.fmap_max >= 1 && std::isfinite(s.fmap_decay) && s.fmap_decay >= 0, op,
           "fmap_base, fmap_max must be >= 1 and fmap_decay finite and >= 0");
  GF_CHECK(s.latent_size >= 0, op, "latent_size must be >= 0 (0: nf(0))");
  GF_CHECK(s.mbstd_group_size >= 0, op, "mbstd_group_size must be >= 0");
  GF_CHECK(std::isfinite(s.total_kimg) && s.total_kimg >= 0, op, "total_kimg must be finite and >= 0");
  GF_CHECK(s.G_smoothing >= 0 && s.G_smoothing <= 1, op, "G_smoothing must be in [0, 1], got " << s.G_smoothing);
  GF_CHECK(s.D_repeats >= 1 && s.minibatch_repeats >= 1, op, "D_repeats and minibatch_repeats must be at least 1");
  for (double v : {s.wgan_lambda, s.wgan_epsilon, s.cond_weight})
    GF_CHECK(std::isfinite(v) && v >= 0, op, "loss weights must be finite and >= 0");
  GF_CHECK(std::isfinite(s.wgan_target) && s.wgan_target > 0, op, "wgan_target must be > 0");
  GF_CHECK(s.adam_beta1 >= 0 && s.adam_beta1 < 1 && s.adam_beta2 >= 0 && s.adam_beta2 < 1 && s.adam_epsilon > 0, op,
           "Adam betas must be in [0, 1) and epsilon > 0");
  check_schedule_spec(s.sched);
}

nlohmann::json to_json(const PGGANSpec& s) {
  return {{"cfg", s.cfg},
          {"fmap_base", s.fmap_base},
          {"fmap_decay", s.fmap_decay},
          {"fmap_max", s.fmap_max},
          {"latent_size", s.latent_size},
          {"fused_scale", s.fused_scale},
          {"mbstd_group_size", s.mbstd_group_size},
          {"sched", to_json(s.sched)},
          {"total_kimg", s.total_kimg},
          {"G_smoothing", s.G_smoothing},
          {"D_repeats", s.D_repeats},
          {"minibatch_repeats", s.minibatch_repeats},
          {"reset_opt_for_new_lod", s.reset_opt_for_new_lod},
          {"mirror_augment", s.mirror_augment},
          {"wgan_lambda", s.wgan_lambda},
          {"wgan_epsilon", s.wgan_epsilon},
          {"wgan_target", s.wgan_target},
          {"cond_weight", s.cond_weight},
          {"adam_beta1", s.adam_beta1},
          {"adam_beta2", s.adam_beta2},
          {"adam_epsilon", s.adam_epsilon}};
}

PGGANSpec pggan_spec_from_json(const nlohmann::json& j) {
  using json = nlohmann::json;
  PGGANSpec s;
  read_fields(j, "PGGAN spec",
              {{"cfg", [&](const json& v) { s.cfg = v.get<std::string>(); }},
               {"fmap_base", [&](const json& v) { s.fmap_base = json_size(v); }},
               {"fmap_decay", [&](const json& v) { s.fmap_decay = v.get<double>(); }},
               {"fmap_max", [&](const json& v) { s.fmap_max = json_size(v); }},
               {"latent_size", [&](const json& v) { s.latent_size = json_size(v); }},
               {"fused_scale", [&](const json& v) { s.fused_scale = v.get<bool>(); }},
               {"mbstd_group_size", [&](const json& v) { s.mbstd_group_size = json_size(v); }},
               {"sched", [&](const json& v) { s.sched = schedule_spec_from_json(v); }},
               {"total_kimg", [&](const json& v) { s.total_kimg = v.get<double>(); }},
               {"G_smoothing", [&](const json& v) { s.G_smoothing = v.get<double>(); }},
               {"D_repeats", [&](const json& v) { s.D_repeats = io::json_int(v); }},
               {"minibatch_repeats", [&](const json& v) { s.minibatch_repeats = io::json_int(v); }},
               {"reset_opt_for_new_lod", [&](const json& v) { s.reset_opt_for_new_lod = v.get<bool>(); }},
               {"mirror_augment", [&](const json& v) { s.mirror_augment = v.get<bool>(); }},
               {"wgan_lambda", [&](const json& v) { s.wgan_lambda = v.get<double>(); }},
               {"wgan_epsilon", [&](const json& v) { s.wgan_epsilon = v.get<double>(); }},
               {"wgan_target", [&](const json& v) { s.wgan_target = v.get<double>(); }},
               {"cond_weight", [&](const json& v) { s.cond_weight = v.get<double>(); }},
               {"adam_beta1", [&](const json& v) { s.adam_beta1 = v.get<double>(); }},
               {"adam_beta2", [&](const json& v) { s.adam_beta2 = v.get<double>(); }},
               {"adam_epsilon", [&](const json& v) { s.adam_epsilon = v.get<double>(); }}});
  return s;
}

}  // namespace gf

#include "train/stylegan2/configs.h"

#include <cmath>

#include <algorithm>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "models/config_json.h"
#include "train/augment_pipe.h"

namespace gf {
namespace {

struct Named {
  const char* name;
  int ref_gpus, mb, mbstd;
  double fmaps, lrate, gamma, ema, ramp;
  int map;
  double kimg;
};

// The official table (train.py, cfg_specs); -1 means "derive from resolution".
constexpr Named kSpecs[] = {
    {"auto", -1, -1, -1, -1, -1, -1, -1, 0.05, 2, 25000},
    {"stylegan2", 8, 32, 4, 1, 0.002, 10, 10, 0, 8, 25000},
    {"paper256", 8, 64, 8, 0.5, 0.0025, 1, 20, 0, 8, 25000},
    {"paper512", 8, 64, 8, 1, 0.0025, 0.5, 20, 0, 8, 25000},
    {"paper1024", 8, 32, 4, 1, 0.002, 2, 10, 0, 8, 25000},
    {"cifar", 2, 64, 32, 1, 0.0025, 0.01, 500, 0.05, 2, 100000},
};

}  // namespace

std::vector<std::string> config_names() {
  std::vector<std::string> n;
  for (const auto& s : kSpecs) n.push_back(s.name);
  n.push_back("small");
  n.push_back("tiny");
  return n;
}

TrainSpec make_train_spec(const std::string& cfg, int res, int gpus) {
  GF_CHECK(res >= 4 && (res & (res - 1)) == 0, "config", "resolution " << res << " is not a power of two >= 4");
  GF_CHECK(gpus >= 1, "config", "--gpus must be at least 1");
  TrainSpec s;
  s.cfg = cfg;
  s.gpus = gpus;
  // Small networks for CPU runs: 'small' trains Fashion-MNIST in minutes on a
  // laptop-class CPU; 'tiny' exists for tests.
  if (cfg == "small" || cfg == "tiny") {
    const bool tiny = cfg == "tiny";
    s.batch = tiny ? 4 : 16;
    s.mbstd_group = tiny ? 2 : 4;
    s.channel_base = tiny ? 128 : 1024;
    s.channel_max = tiny ? 16 : 64;
    s.mapping_layers = 2;
    s.z_dim = s.w_dim = tiny ? 16 : 64;
    s.lrate = 0.0025;
    s.gamma = 0.0002 * res * res / s.batch;
    s.ema_kimg = s.batch * 10 / 32.0;
    s.ema_rampup = 0.05;
    s.kimg = tiny ? 1 : 200;
    return s;
  }
  const Named* n = nullptr;
  for (const auto& k : kSpecs)
    if (cfg == k.name) n = &k;
  if (!n) {
    std::string names;
    for (const auto& c : config_names()) names += (names.empty() ? "" : ", ") + c;
    throw Error("config: unknown --cfg '" + cfg + "' (one of " + names + ")");
  }
  s.batch = n->mb;
  // As train.py: a pass holds what one of the reference GPUs took, so with
  // fewer GPUs each accumulates several passes (paper256 on one GPU: 8 x 8).
  s.batch_gpu = n->mb > 0 ? n->mb / n->ref_gpus : 0;
  s.mbstd_group = n->mbstd;
  double fmaps = n->fmaps;
  s.lrate = n->lrate;
  s.gamma = n->gamma;
  s.ema_kimg = n->ema;
  s.ema_rampup = n->ramp;
  s.mapping_layers = n->map;
  s.kimg = n->kimg;
  if (cfg == "auto") {
    s.batch = std::max(std::min(gpus * std::min(4096 / res, 32), 64), gpus);
    s.mbstd_group = std::min(s.batch / gpus, 4);
    s.batch_gpu = s.batch / gpus;
    fmaps = res >= 512 ? 1 : 0.5;
    s.lrate = res >= 1024 ? 0.002 : 0.0025;
    s.gamma = 0.0002 * res * res / s.batch;
    s.ema_kimg = s.batch * 10 / 32.0;
  }
  s.channel_base = static_cast<int>(fmaps * 32768);
  if (cfg == "cifar") {
    s.pl_weight = 0;     // disable path length regularization
    s.style_mixing = 0;  // disable style mixing
    // and D's architecture 'orig' (no residual skips): make_trainer_setup
  }
  return s;
}

nlohmann::json to_json(const TrainSpec& s) {
  return {{"cfg", s.cfg},           {"batch", s.batch},
          {"gpus", s.gpus},         {"batch_gpu", s.batch_gpu},
          {"mbstd_group", s.mbstd_group}, {"channel_base", s.channel_base},
          {"channel_max", s.channel_max}, {"mapping_layers", s.mapping_layers},
          {"z_dim", s.z_dim},       {"w_dim", s.w_dim},
          {"lrate", s.lrate},       {"gamma", s.gamma},
          {"ema_kimg", s.ema_kimg}, {"ema_rampup", s.ema_rampup},
          {"pl_weight", s.pl_weight}, {"style_mixing", s.style_mixing},
          {"conv_clamp", s.conv_clamp}, {"g_reg_interval", s.g_reg_interval},
          {"d_reg_interval", s.d_reg_interval}, {"kimg", s.kimg},
          {"aug", s.aug},           {"augpipe", s.augpipe},
          {"augment_p", s.augment_p}, {"ada_target", s.ada_target},
          {"ada_interval", s.ada_interval}, {"ada_kimg", s.ada_kimg}};
}

std::vector<std::string> aug_modes() { return {"noaug", "ada", "fixed"}; }

void check_train_spec(const TrainSpec& s) {
  auto at_least_1 = [](const char* name, int v) {
    GF_CHECK(v >= 1, "config", name << " must be at least 1, got " << v);
  };
  at_least_1("batch", s.batch);
  at_least_1("gpus", s.gpus);
  GF_CHECK(s.batch_gpu >= 0, "config", "batch_gpu must be >= 0, got " << s.batch_gpu);
  at_least_1("mbstd_group", s.mbstd_group);
  at_least_1("channel_base", s.channel_base);
  at_least_1("channel_max", s.channel_max);
  at_least_1("mapping_layers", s.mapping_layers);
  at_least_1("z_dim", s.z_dim);
  at_least_1("w_dim", s.w_dim);
  at_least_1("g_reg_interval", s.g_reg_interval);
  at_least_1("d_reg_interval", s.d_reg_interval);
  GF_CHECK(s.conv_clamp >= 0, "config", "conv_clamp must be >= 0, got " << s.conv_clamp);
  const std::pair<const char*, double> non_negative[] = {{"lrate", s.lrate},         {"gamma", s.gamma},
                                                         {"ema_kimg", s.ema_kimg},   {"ema_rampup", s.ema_rampup},
                                                         {"pl_weight", s.pl_weight}, {"kimg", s.kimg}};
  for (const auto& [name, v] : non_negative)
    GF_CHECK(std::isfinite(v) && v >= 0, "config", name << " must be finite and >= 0, got " << v);
  GF_CHECK(s.style_mixing >= 0 && s.style_mixing <= 1, "config", "style_mixing must be in [0, 1], got " << s.style_mixing);
  const std::vector<std::string> modes = aug_modes();
  GF_CHECK(std::find(modes.begin(), modes.end(), s.aug) != modes.end(), "config",
           "aug must be noaug, ada or fixed, got '" << s.aug << "'");
  augpipe_spec(s.augpipe);  // throws listing the names
  GF_CHECK(std::isfinite(s.augment_p) && s.augment_p >= 0 && s.augment_p <= 1, "config",
           "augment_p must be in [0, 1], got " << s.augment_p);
  GF_CHECK(std::isfinite(s.ada_target) && s.ada_target >= 0 && s.ada_target <= 1, "config",
           "ada_target must be in [0, 1], got " << s.ada_target);
  at_least_1("ada_interval", s.ada_interval);
  GF_CHECK(std::isfinite(s.ada_kimg) && s.ada_kimg > 0, "config", "ada_kimg must be finite and > 0, got " << s.ada_kimg);
  GF_CHECK(s.batch % s.gpus == 0, "config", "batch " << s.batch << " must be divisible by the replica count " << s.gpus
                                           << " (--gpus, or the processes launched)");
  const int per_gpu = s.batch / s.gpus, pass = batch_per_pass(s);
  GF_CHECK(per_gpu % pass == 0, "config",
           "batch per GPU " << per_gpu << " must be a multiple of batch_gpu " << pass);
  const int group = std::min(s.mbstd_group, pass);
  GF_CHECK(pass % group == 0, "config",
           "batch_gpu " << pass << " must be a multiple of the minibatch-stddev group " << group);
}

int batch_per_pass(const TrainSpec& s) {
  const int per_gpu = s.batch / std::max(s.gpus, 1);
  return s.batch_gpu > 0 ? std::min(s.batch_gpu, per_gpu) : per_gpu;
}

TrainSpec train_spec_from_json(const nlohmann::json& j) {
  TrainSpec s;
  try {
    s.cfg = j.at("cfg").get<std::string>();
    s.batch = io::json_int(j.at("batch"));
    s.gpus = j.value("gpus", 1);  // files before data-parallel training: one GPU, one pass
    s.batch_gpu = j.value("batch_gpu", 0);
    s.mbstd_group = json_size(j.at("mbstd_group"));
    s.channel_base = json_size(j.at("channel_base"));
    s.channel_max = json_size(j.at("channel_max"));
    s.mapping_layers = json_size(j.at("mapping_layers"));
    s.z_dim = json_size(j.at("z_dim"));
    s.w_dim = json_size(j.at("w_dim"));
    s.lrate = j.at("lrate").get<double>();
    s.gamma = j.at("gamma").get<double>();
    s.ema_kimg = j.at("ema_kimg").get<double>();
    s.ema_rampup = j.at("ema_rampup").get<double>();
    s.pl_weight = j.at("pl_weight").get<double>();
    s.style_mixing = j.at("style_mixing").get<double>();
    s.conv_clamp = io::json_int(j.at("conv_clamp"));
    s.g_reg_interval = io::json_int(j.at("g_reg_interval"));
    s.d_reg_interval = io::json_int(j.at("d_reg_interval"));
    s.kimg = j.at("kimg").get<double>();
    // Files written before augmentation trained without it.
    s.aug = j.value("aug", std::string("noaug"));
    s.augpipe = j.value("augpipe", std::string("bgc"));
    s.augment_p = j.value("augment_p", 0.0);
    s.ada_target = j.value("ada_target", 0.6);
    s.ada_interval = j.value("ada_interval", 4);
    s.ada_kimg = j.value("ada_kimg", 500.0);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("config: training spec in the file is incomplete: ") + io::json_error_text(e));
  }
  return s;
}

}  // namespace gf

// Parity with the official StyleGAN (v1) semantics: random networks with the
// official variable names (tools/fixtures/make_stylegan_fixtures.py) load through
// stylegan::load_generator / load_discriminator and reproduce the PyTorch
// reference (tools/reference/stylegan_reference.py, the official 'linear' structure) at
// integer and fractional lods, fused and separate resampling ('auto' at
// 128x128), truncation with a cutoff, const and no noise, labels by
// LabelConcat and LabelSwitch, and the ablation switches. Error measure:
// max |a - b| / max |b| over each output (b the reference), below 1e-4 in
// float32 on the CPU.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/fixtures.h"
#include "engine/io/safetensors.h"
#include "models/stylegan/network_file.h"

using namespace gf;

using test::data_path;
using test::max_rel_error;

namespace {

const double kTol = 1e-4;

const Tensor& tensor(const io::SafetensorsFile& f, const std::string& name) {
  auto it = f.tensors.find(name);
  INFO("io tensor " << name);
  REQUIRE(it != f.tensors.end());
  return it->second;
}

void check_fixture(const std::string& name) {
  NoGradGuard ng;
  const std::string path = data_path(name + ".bin");
  const io::SafetensorsFile file = io::read_safetensors(path);
  const io::SafetensorsFile io = io::read_safetensors(data_path(name + "_io.bin"));
  auto Gs = stylegan::load_generator(file, path, "G_ema");
  auto G = stylegan::load_generator(file, path, "G");
  auto D = stylegan::load_discriminator(file, path);
  const Tensor& z = tensor(io, "latents");
  const Tensor labels = io.tensors.count("labels") ? io.tensors.at("labels") : Tensor();
  CHECK((Gs->config().label_size > 0) == labels.defined());
  const double psi = std::stod(io.metadata.at("psi"));
  const int cutoff = std::stoi(io.metadata.at("cutoff"));

  const Tensor ws = Gs->mapping(z, labels);
  // The fixture itself must see w vary with z (a mapping drawn at the wrong
  // scale gave nearly one w for every z, and the checks below saw little):
  // the samples' ws differ by a tenth of their size or more.
  const Tensor want_ws = tensor(io, "ws_Gs");
  const int64_t n = want_ws.size(0);
  const double spread = max(abs(slice(want_ws, 0, 1, n) - slice(want_ws, 0, 0, 1))).item();
  CHECK(spread > 0.1 * max(abs(want_ws)).item());
  const double e_ws = max_rel_error(ws, want_ws);
  INFO(name << ": mapping max relative error " << e_ws);
  CHECK(e_ws < kTol);

  stylegan::GenerateOptions plain;
  plain.synthesis.noise_mode = NoiseMode::constant;
  stylegan::GenerateOptions trunc = plain;
  trunc.truncation_psi = psi;
  trunc.truncation_cutoff = cutoff;
  stylegan::GenerateOptions nonoise;
  nonoise.synthesis.noise_mode = NoiseMode::none;
  const double e_nn = max_rel_error(Gs->forward(z, labels, 0, nonoise), tensor(io, "Gs_nonoise"));
  INFO(name << ": no noise, max relative error " << e_nn);
  CHECK(e_nn < kTol);

  const auto lods = nlohmann::json::parse(io.metadata.at("lods"));
  REQUIRE(lods.size() >= 2);
  for (size_t k = 0; k < lods.size(); ++k) {
    const double lod = lods[k].get<double>();
    const std::string p = "lod" + std::to_string(k) + ".";
    const double e_gs = max_rel_error(Gs->forward(z, labels, lod, trunc), tensor(io, p + "Gs"));
    INFO(name << " lod " << lod << ": Gs (psi " << psi << ", cutoff " << cutoff << ") max relative error " << e_gs);
    CHECK(e_gs < kTol);
    if (io.tensors.count(p + "G")) {
      const double e_g = max_rel_error(G->forward(z, labels, lod, plain), tensor(io, p + "G"));
      INFO(name << " lod " << lod << ": G max relative error " << e_g);
      CHECK(e_g < kTol);
    }
    const double e_fake = max_rel_error(D->forward(tensor(io, p + "Gs"), labels, lod), tensor(io, p + "D_fake"));
    const double e_real = max_rel_error(D->forward(tensor(io, "reals"), labels, lod), tensor(io, p + "D_real"));
    INFO(name << " lod " << lod << ": D max relative error " << e_fake << " (fakes), " << e_real << " (reals)");
    CHECK(e_fake < kTol);
    CHECK(e_real < kTol);
  }
}

}  // namespace

TEST_CASE("stylegan parity: 16x16 RGB, fused resampling at every level, truncation cutoff 3", "[stylegan_parity]") {
  check_fixture("stylegan_16x3");
}

TEST_CASE("stylegan parity: 128x128 with 2 labels, 'auto' fusing, mbstd 2 features", "[stylegan_parity]") {
  check_fixture("stylegan_128x1_c2");
}

TEST_CASE("stylegan parity: the switches (no wscale, ReLU, pixel norm, no instance norm, noise or blur)",
          "[stylegan_parity]") {
  check_fixture("stylegan_8x3_ablations");
}

TEST_CASE("stylegan parity: official names in the file, and other families refused", "[stylegan_parity]") {
  const std::string path = data_path("stylegan_16x3.bin");
  const io::SafetensorsFile file = io::read_safetensors(path);
  auto Gs = stylegan::load_generator(file, path);
  CHECK(Gs->lod() == 0);
  CHECK(Gs->num_layers() == 6);
  for (const char* n : {"G_mapping/Dense0/weight", "G_mapping/Dense2/bias", "G_synthesis/4x4/Const/const",
                        "G_synthesis/4x4/Const/Noise/weight", "G_synthesis/4x4/Const/StyleMod/weight",
                        "G_synthesis/4x4/Conv/weight", "G_synthesis/8x8/Conv0_up/weight",
                        "G_synthesis/16x16/Conv1/bias", "G_synthesis/ToRGB_lod0/weight", "G_synthesis/noise5",
                        "G_synthesis/lod", "dlatent_avg", "lod"}) {
    INFO(n);
    CHECK(Gs->state_dict().count(n) == 1);
  }
  auto D = stylegan::load_discriminator(file, path);
  for (const char* n : {"FromRGB_lod0/weight", "16x16/Conv0/weight", "16x16/Conv1_down/weight", "4x4/Conv/weight",
                        "4x4/Dense0/weight", "4x4/Dense1/bias", "lod"}) {
    INFO(n);
    CHECK(D->state_dict().count(n) == 1);
  }
  CHECK_THROWS_WITH(stylegan::load_generator(io::read_safetensors(data_path("pggan_32x1.bin")), "pg.bin"),
                    Catch::Contains("pg.bin") && Catch::Contains("not StyleGAN (v1)"));
}

// Parity with the official PGGAN semantics: synthetic official pickles
// imported by tools/convert_weights.py (tools/fixtures/make_pggan_fixtures.py) load
// through pggan::load_generator / load_discriminator and reproduce the PyTorch
// reference (tools/reference/pggan_reference.py, the official 'linear' structure) at
// integer and fractional lods, fused and separate resampling, with and
// without labels. Error measure: max |a - b| / max |b| over each output (b the
// reference), below 1e-4 in float32 on the CPU.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/fixtures.h"
#include "engine/io/safetensors.h"
#include "models/pggan/network_file.h"

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
  auto Gs = pggan::load_generator(file, path, "G_ema");
  auto G = pggan::load_generator(file, path, "G");
  auto D = pggan::load_discriminator(file, path);
  const Tensor& z = tensor(io, "latents");
  const Tensor labels = io.tensors.count("labels") ? io.tensors.at("labels") : Tensor();
  CHECK((Gs->config().label_size > 0) == labels.defined());
  const auto lods = nlohmann::json::parse(io.metadata.at("lods"));
  REQUIRE(lods.size() >= 2);
  for (size_t k = 0; k < lods.size(); ++k) {
    const double lod = lods[k].get<double>();
    const std::string p = "lod" + std::to_string(k) + ".";
    const double e_gs = max_rel_error(Gs->forward(z, labels, lod), tensor(io, p + "Gs"));
    INFO(name << " lod " << lod << ": Gs max relative error " << e_gs);
    CHECK(e_gs < kTol);
    if (io.tensors.count(p + "G")) {
      const double e_g = max_rel_error(G->forward(z, labels, lod), tensor(io, p + "G"));
      INFO(name << " lod " << lod << ": G max relative error " << e_g);
      CHECK(e_g < kTol);
    }
    const double e_fake = max_rel_error(D->forward(tensor(io, p + "Gs"), lod), tensor(io, p + "D_fake"));
    const double e_real = max_rel_error(D->forward(tensor(io, "reals"), lod), tensor(io, p + "D_real"));
    INFO(name << " lod " << lod << ": D max relative error " << e_fake << " (fakes), " << e_real << " (reals)");
    CHECK(e_fake < kTol);
    CHECK(e_real < kTol);
  }
}

}  // namespace

TEST_CASE("pggan parity: 32x32 grayscale, fused resampling, mbstd groups of 4", "[pggan_parity]") {
  check_fixture("pggan_32x1");
}

TEST_CASE("pggan parity: 16x16 RGB with 3 labels, separate resampling layers", "[pggan_parity]") {
  check_fixture("pggan_16x3_c3");
}

TEST_CASE("pggan parity: the ablation switches (no wscale, pixel norm or mbstd; ReLU; fmap_decay 0.5)",
          "[pggan_parity]") {
  check_fixture("pggan_8x3_ablations");
}

TEST_CASE("pggan parity: the stored lod is the default, and the file's names are the official ones", "[pggan_parity]") {
  const std::string path = data_path("pggan_32x1.bin");
  const io::SafetensorsFile file = io::read_safetensors(path);
  auto Gs = pggan::load_generator(file, path);
  CHECK(Gs->lod() == 0);
  for (const char* n : {"4x4/Dense/weight", "4x4/Dense/bias", "4x4/Conv/weight", "8x8/Conv0_up/weight",
                        "32x32/Conv1/bias", "ToRGB_lod0/weight", "ToRGB_lod3/bias", "lod"}) {
    INFO(n);
    CHECK(Gs->state_dict().count(n) == 1);
    CHECK(file.tensors.count(std::string("G_ema.") + n) == 1);
  }
  auto D = pggan::load_discriminator(file, path);
  for (const char* n : {"FromRGB_lod0/weight", "FromRGB_lod3/bias", "32x32/Conv0/weight", "32x32/Conv1_down/weight",
                        "4x4/Conv/weight", "4x4/Dense0/weight", "4x4/Dense1/bias", "lod"}) {
    INFO(n);
    CHECK(D->state_dict().count(n) == 1);
  }
  CHECK_THROWS_WITH(pggan::load_generator(io::read_safetensors(data_path("parity_32x1.bin")), "sg2.bin"),
                    Catch::Contains("sg2.bin") && Catch::Contains("not PGGAN"));
}

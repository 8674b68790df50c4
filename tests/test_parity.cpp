// Parity with the official StyleGAN2-ADA semantics: bundles written by
// tools/fixtures/make_parity_fixtures.py (reference networks in PyTorch, converted by
// tools/convert_weights.py) load through load_generator/load_discriminator and
// reproduce the reference outputs. Error measure: max |a - b| / max |b| over
// each output tensor (b the reference), below 1e-4.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tests/fixtures.h"
#include "engine/io/safetensors.h"
#include "models/stylegan2/network_file.h"

using namespace gf;
using namespace gf::stylegan2;

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

NoiseMode noise_mode(const std::string& s) {
  if (s == "const") return NoiseMode::constant;
  if (s == "none") return NoiseMode::none;
  FAIL("unknown noise mode " << s);
  return NoiseMode::none;
}

void check_fixture(const std::string& name) {
  NoGradGuard ng;
  const std::string bin = data_path(name + ".bin");
  const io::SafetensorsFile io = io::read_safetensors(data_path(name + "_io.bin"));
  const Tensor& z = tensor(io, "z");
  const Tensor c = io.tensors.count("c") ? io.tensors.at("c") : Tensor();
  auto G_ema = load_generator(bin, "G_ema");
  auto G = load_generator(bin, "G");
  auto D = load_discriminator(bin);
  CHECK((G_ema->config().c_dim > 0) == c.defined());

  for (const auto& cs : nlohmann::json::parse(io.metadata.at("cases"))) {
    const std::string case_name = cs["name"];
    stylegan2::Generator& net = cs["net"] == "G" ? *G : *G_ema;
    std::optional<int> cutoff;
    if (!cs["cutoff"].is_null()) cutoff = cs["cutoff"].get<int>();
    // Both modulated-conv paths (one grouped conv, or activations scaled around a shared conv).
    for (bool fused : {true, false}) {
      SynthesisOptions opt;
      opt.noise_mode = noise_mode(cs["noise_mode"]);
      opt.fused_modconv = fused;
      Tensor img = net.forward(z, c, cs["psi"].get<double>(), cutoff, opt);
      if (!cs["rows"].is_null()) img = slice(img, 2, cs["rows"][0].get<int>(), cs["rows"][1].get<int>());
      const double err = max_rel_error(img, tensor(io, case_name + ".img"));
      INFO(name << " case " << case_name << (fused ? " fused" : " unfused") << ": max relative error " << err);
      CHECK(err < kTol);
    }
  }

  const Tensor& ref_img = tensor(io, "psi1.img");
  const Tensor fake = concat({ref_img, ref_img * -0.5}, 0);
  const Tensor fake_c = c.defined() ? concat({c, c}, 0) : Tensor();
  const double err_fake = max_rel_error(D->forward(fake, fake_c), tensor(io, "d_fake.logits"));
  INFO(name << " D on generated images: max relative error " << err_fake);
  CHECK(err_fake < kTol);
  if (io.tensors.count("d_real.img")) {
    const double err_real = max_rel_error(D->forward(tensor(io, "d_real.img"), c), tensor(io, "d_real.logits"));
    INFO(name << " D on random images: max relative error " << err_real);
    CHECK(err_real < kTol);
  }
}

}  // namespace

TEST_CASE("parity: 32x32 grayscale, unconditional, two mbstd channels", "[parity]") { check_fixture("parity_32x1"); }

TEST_CASE("parity: 32x32 RGB with 4 labels, conv_clamp reached", "[parity]") { check_fixture("parity_32x3_c4"); }

TEST_CASE("parity: 256x256 RGB without noise inputs", "[parity]") { check_fixture("parity_256x3"); }

// train.py's --cfg cifar D: architecture 'orig' (no residual skip path), with
// 10 labels and a clamp that is reached.
TEST_CASE("parity: 32x32 RGB, D architecture 'orig' (cifar), 10 labels", "[parity]") { check_fixture("parity_32x3_orig"); }

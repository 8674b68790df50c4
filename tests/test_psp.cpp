// pSp: the networks of tools/fixtures/make_psp_fixtures.py (the PyTorch reference of
// tools/reference/psp_reference.py, converted from a synthetic pSp checkpoint by
// tools/convert_weights.py) reproduce the reference's codes and
// reconstructions in eval mode (non-trivial running statistics) to 1e-4
// (max |a - b| / max |b|, float32, CPU), and its training-mode pass (batch
// statistics, running-stat updates). The full-size encoders' names and shapes
// equal pSp's; files round-trip; style mixing as style_mixing.py.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/fixtures.h"
#include "engine/io/safetensors.h"
#include "models/psp/network_file.h"
#include "models/stylegan2/network_file.h"
#include "tests/testing.h"

using namespace gf;
using namespace gf::psp;

using test::data_path;
using test::max_rel_error;

namespace {

stylegan2::SynthesisOptions const_noise() {
  stylegan2::SynthesisOptions so;
  so.noise_mode = NoiseMode::constant;
  return so;
}

}  // namespace

TEST_CASE("pSp parity: codes and reconstructions equal the PyTorch reference", "[psp]") {
  NoGradGuard ng;
  for (const std::string name : {"gradual", "w", "wplus"}) {
    INFO("psp_" << name);
    const auto net = load_psp(data_path("psp_" + name + ".bin"));
    const io::TensorMap io = io::load_safetensors(data_path("psp_" + name + "_io.bin"));
    const Tensor codes = net->encode(io.at("x"));
    const double ec = max_rel_error(codes, io.at("codes"));
    INFO("codes error " << ec);
    CHECK(ec < 1e-4);
    const double ei = max_rel_error(net->decode(io.at("codes"), false, const_noise()), io.at("images"));
    INFO("images error " << ei);
    CHECK(ei < 1e-4);
    // From the image all the way: what psp encode writes.
    CHECK(max_rel_error(net->decode(codes, false, const_noise()), io.at("images")) < 1e-4);
  }
}

TEST_CASE("pSp encoder in training mode: batch statistics and running stats as torch", "[psp]") {
  NoGradGuard ng;
  const auto net = load_psp(data_path("psp_gradual.bin"));
  const io::TensorMap io = io::load_safetensors(data_path("psp_gradual_io.bin"));
  net->encoder->train(true);
  const double e = max_rel_error(net->encoder->forward(io.at("x")), io.at("train.codes"));
  INFO("codes error " << e);
  CHECK(e < 1e-4);
  int checked = 0;
  for (const auto& [name, t] : net->encoder->state_dict()) {
    if (name.find("running_") == std::string::npos) continue;
    INFO(name);
    CHECK(max_rel_error(t, io.at("train." + name)) < 1e-5);
    ++checked;
  }
  // Every batch norm: the input layer's, two per unit (6 units), the stage-1 conv shortcut's.
  CHECK(checked == 2 * (1 + 2 * 6 + 1));
  // Back in eval mode, the updated statistics are used: the codes move.
  net->encoder->train(false);
  CHECK(max_rel_error(net->encoder->forward(io.at("x")), io.at("train.codes")) > 1e-3);
}

TEST_CASE("pSp full-size encoders have pSp's parameter names and shapes", "[psp]") {
  std::ifstream f(data_path("psp_irse50_names.json"));
  REQUIRE(f);
  const nlohmann::json want_all = nlohmann::json::parse(f);
  for (const std::string type : {"GradualStyleEncoder", "BackboneEncoderUsingLastLayerIntoW",
                                 "BackboneEncoderUsingLastLayerIntoWPlus"}) {
    INFO(type);
    PspConfig cfg;  // IR-SE50, 256 px, 18 styles
    cfg.encoder_type = type;
    cfg.learn_in_w = type == "BackboneEncoderUsingLastLayerIntoW";
    ParamInit init(0);
    init.skip_draws = true;  // ~270M parameters: shapes only
    const auto enc = make_encoder(cfg, init);
    std::map<std::string, Shape> got;
    for (const auto& [n, t] : enc->state_dict()) got[n] = t.shape();
    std::map<std::string, Shape> want;
    for (const auto& e : want_all.at(type)) want[e[0].get<std::string>()] = e[1].get<Shape>();
    for (const auto& [n, s] : want) {
      INFO(n);
      REQUIRE(got.count(n));
      CHECK(got[n] == s);
    }
    CHECK(got.size() == want.size());
  }
  // The totals a user sees: 267M encoder parameters in the paper's configuration.
  PspConfig cfg;
  ParamInit init(0);
  init.skip_draws = true;
  CHECK(make_encoder(cfg, init)->num_params() > 260'000'000);
}

TEST_CASE("pSp files round-trip and are refused when they are not pSp", "[psp]") {
  const std::string src = data_path("psp_gradual.bin");
  const auto net = load_psp(src);
  const std::string tmp = (std::filesystem::temp_directory_path() /
                           ("gf_test_psp_roundtrip_" + std::to_string(::getpid()) + ".bin")).string();
  save_psp(tmp, *net);
  const auto a = io::read_safetensors(src), b = io::read_safetensors(tmp);
  std::filesystem::remove(tmp);
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (const auto& [n, t] : a.tensors) {
    INFO(n);
    REQUIRE(b.tensors.count(n));
    CHECK(t.to_vector() == b.tensors.at(n).to_vector());
  }
  CHECK(nlohmann::json::parse(a.metadata.at("psp_kwargs")) == nlohmann::json::parse(b.metadata.at("psp_kwargs")));
  // generate reads the decoder of a pSp file as a generator bundle.
  CHECK(stylegan2::load_generator(src)->num_ws() == 8);
  REQUIRE_THROWS_WITH(load_psp(data_path("parity_32x1.bin")), Catch::Contains("not a pSp network"));
}

TEST_CASE("pSp style mixing replaces or blends the masked codes", "[psp]") {
  const Tensor codes = gf::test::random_tensor({2, 4, 3}, 1), inject = gf::test::random_tensor({2, 4, 3}, 2);
  const Tensor hard = mix_codes(codes, inject, {1, 3}, std::nullopt);
  const Tensor soft = mix_codes(codes, inject, {1, 3}, 0.25);
  for (int64_t i = 0; i < 4; ++i) {
    const Tensor c = slice(codes, 1, i, i + 1), j = slice(inject, 1, i, i + 1);
    const bool masked = i == 1 || i == 3;
    CHECK(slice(hard, 1, i, i + 1).to_vector() == (masked ? j : c).to_vector());
    CHECK(gf::test::allclose(slice(soft, 1, i, i + 1), masked ? c * 0.75 + j * 0.25 : c, 1e-14, 1e-15).ok);
  }
  REQUIRE_THROWS_WITH(mix_codes(codes, inject, {4}, std::nullopt), Catch::Contains("outside [0, 4)"));
  // An index listed twice is blended twice, as pSp's forward loops over the list: 0.25 of the
  // inject, then 0.25 of it again over that (psp.py's `for i in latent_mask`).
  const Tensor twice = mix_codes(codes, inject, {3, 1, 3}, 0.25);
  const Tensor c3 = slice(codes, 1, 3, 4), j3 = slice(inject, 1, 3, 4);
  CHECK(gf::test::allclose(slice(twice, 1, 3, 4), (c3 * 0.75 + j3 * 0.25) * 0.75 + j3 * 0.25, 1e-14, 1e-15).ok);
  CHECK(slice(twice, 1, 1, 2).to_vector() == slice(soft, 1, 1, 2).to_vector());
  CHECK(mix_codes(codes, inject, {1, 1, 3}, std::nullopt).to_vector() == hard.to_vector());
  // The random codes style_mixing.py injects: one mapped w, the same for every layer.
  const auto net = load_psp(data_path("psp_gradual.bin"));
  Generator g(5);
  const Tensor w = net->mapped_codes(randn({1, 16}, g));
  CHECK(w.shape() == Shape({1, 8, 16}));
  CHECK(slice(w, 1, 0, 1).to_vector() == slice(w, 1, 7, 8).to_vector());
}

TEST_CASE("pSp on cuda matches the cpu", "[psp][cuda]") {
  NoGradGuard ng;
  const auto net = load_psp(data_path("psp_gradual.bin"));
  const io::TensorMap io = io::load_safetensors(data_path("psp_gradual_io.bin"));
  const Tensor codes = net->encode(io.at("x")), img = net->decode(codes, false, const_noise());
  net->to(Device::cuda(0));
  const Tensor codes_g = net->encode(io.at("x").to(Device::cuda(0)));
  CHECK(max_rel_error(codes_g, codes) < 1e-4);
  CHECK(max_rel_error(net->decode(codes_g, false, const_noise()), img) < 1e-4);
  // Training mode too (batch statistics on the GPU).
  net->encoder->train(true);
  const Tensor train_g = net->encoder->forward(io.at("x").to(Device::cuda(0)));
  CHECK(max_rel_error(train_g, io.at("train.codes")) < 1e-4);
}

// The FID/IS Inception-v3 detector (models/perceptual/inception.h) against
// tools/reference/inception_reference.py: the official state-dict names and shapes,
// features and probabilities at the real widths and on a thin copy (weights
// and images both derived from a hash, the same on both sides, so only the
// expected outputs are committed: tests/data/inception_golden.bin from
// tools/fixtures/make_inception_fixtures.py), file round trip, bad files, bad inputs,
// CUDA vs CPU.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "engine/io/safetensors.h"
#include "engine/strings.h"
#include "models/perceptual/network_file.h"
#include "tests/fixtures.h"

using namespace gf;
using gf::test::data_path;
using gf::test::fnv1a64;
using gf::test::hashed_images;
using gf::test::hashed_uniform;
using gf::test::max_rel_error;
using perceptual::InceptionConfig;
using perceptual::InceptionV3;

namespace {

// hashed_tensor(name, shape): v = 2u - 1 scaled per kind, rounded to float32.
Tensor hashed_tensor(const std::string& name, const Shape& shape) {
  const uint64_t base = fnv1a64(name);
  int64_t count = 1;
  for (int64_t s : shape) count *= s;
  double scale = 0.1, shift = 0;
  if (name == "output.weight") scale = std::sqrt(12.0 / double(shape[1]));
  else if (name == "output.bias") scale = 1;
  else if (ends_with(name, ".weight")) scale = std::sqrt(6.0 / double(shape[1] * shape[2] * shape[3]));
  else if (ends_with(name, ".var")) scale = 0.5, shift = 1;
  std::vector<double> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const double x = (hashed_uniform(base, uint64_t(i)) * 2 - 1) * scale + shift;
    v[size_t(i)] = double(float(x));
  }
  return Tensor::from_vector(v, shape, DType::f32);
}

std::unique_ptr<InceptionV3> hashed_inception(int divisor) {
  InceptionConfig cfg;
  cfg.width_divisor = divisor;
  ParamInit init(0);
  init.skip_draws = true;
  auto net = std::make_unique<InceptionV3>(cfg, init);
  io::TensorMap state;
  for (const auto& [name, t] : net->state_dict()) state[name] = hashed_tensor(name, t.shape());
  net->load_state_dict(state);
  return net;
}

const io::SafetensorsFile& golden() {
  static const io::SafetensorsFile g = io::read_safetensors(data_path("inception_golden.bin"));
  return g;
}

const std::vector<std::pair<std::string, Shape>> kCases = {
    {"pair32", {2, 3, 32, 32}},
    {"rect48x40", {1, 3, 48, 40}},
    {"down512", {1, 3, 512, 512}},
    {"exact299", {1, 3, 299, 299}}};

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("gf_test_inception_" + name)).string();
}

}  // namespace

TEST_CASE("inception has the official state-dict names and shapes", "[inception]") {
  ParamInit init(0);
  init.skip_draws = true;
  const InceptionV3 net(InceptionConfig{}, init);
  const auto want = nlohmann::json::parse(golden().metadata.at("state_dict"));
  const io::TensorMap sd = net.state_dict();
  CHECK(sd.size() == want.size());  // 94 conv layers x 4 + output.weight, output.bias = 378
  for (const auto& entry : want) {
    const std::string name = entry[0].get<std::string>();
    INFO(name);
    REQUIRE(sd.count(name) == 1);
    CHECK(sd.at(name).shape() == entry[1].get<Shape>());
  }
  int64_t total = 0;
  for (const auto& [n, t] : sd) total += t.numel();
  CHECK(total == 23868176);
}

TEST_CASE("inception matches the PyTorch reference (features and probabilities)", "[inception]") {
  for (const auto& [net_name, divisor] : std::vector<std::pair<std::string, int>>{{"thin", 8}, {"full", 1}}) {
    const auto net = hashed_inception(divisor);
    for (const auto& [key, shape] : kCases) {
      const std::string k = net_name + "." + key;
      INFO(k);
      const Tensor images = hashed_images(key, shape);
      const Tensor f = net->features(images);
      const Tensor p = net->probabilities(images);
      CHECK(f.dtype() == DType::f32);
      CHECK(f.shape() == Shape{shape[0], 2048 / divisor});
      CHECK(p.shape() == Shape{shape[0], 1008});
      const double ef = max_rel_error(f, golden().tensors.at(k + ".features"));
      const double ep = max_rel_error(p, golden().tensors.at(k + ".probabilities"));
      INFO("features " << ef << ", probabilities " << ep);
      CHECK(ef < 1e-4);
      CHECK(ep < 1e-4);
    }
  }
}

TEST_CASE("inception files round-trip, and bad ones are refused by name", "[inception]") {
  const auto net = hashed_inception(8);
  const std::string path = temp_file("thin.bin");
  perceptual::save_inception(path, *net);
  const auto back = perceptual::load_inception(path);
  CHECK(back->config().width_divisor == 8);
  for (const auto& [n, t] : net->state_dict()) CHECK(t.to_vector() == back->state_dict().at(n).to_vector());
  const Tensor images = hashed_images("pair32", {2, 3, 32, 32});
  CHECK(back->features(images).to_vector() == net->features(images).to_vector());

  const io::SafetensorsFile file = io::read_safetensors(path);
  const std::string bad = temp_file("bad.bin");
  SECTION("a missing tensor") {
    io::TensorMap t = file.tensors;
    t.erase("layers.mixed_4.tower_1.conv_3.beta");
    io::save_safetensors(bad, t, file.metadata);
    REQUIRE_THROWS_WITH(perceptual::load_inception(bad),
                        Catch::StartsWith(bad) &&
                            Catch::Contains("missing tensor 'layers.mixed_4.tower_1.conv_3.beta'"));
  }
  SECTION("a misshapen tensor") {
    io::TensorMap t = file.tensors;
    t["layers.mixed_9.tower_1_mixed_conv_1.weight"] = zeros({48, 48, 1, 3});
    io::save_safetensors(bad, t, file.metadata);
    REQUIRE_THROWS_WITH(perceptual::load_inception(bad),
                        Catch::StartsWith(bad) && Catch::Contains("layers.mixed_9.tower_1_mixed_conv_1.weight") &&
                            Catch::Contains("[48, 48, 1, 3]") && Catch::Contains("[48, 48, 3, 1]"));
  }
  SECTION("an extra tensor") {
    io::TensorMap t = file.tensors;
    t["layers.conv.num_batches_tracked"] = zeros({});
    io::save_safetensors(bad, t, file.metadata);
    REQUIRE_THROWS_WITH(perceptual::load_inception(bad),
                        Catch::StartsWith(bad) && Catch::Contains("layers.conv.num_batches_tracked"));
  }
  SECTION("not an inception file") {
    io::save_safetensors(bad, file.tensors, {{"perceptual", "lpips"}});
    REQUIRE_THROWS_WITH(perceptual::load_inception(bad),
                        Catch::StartsWith(bad) && Catch::Contains("not a converted inception network") &&
                            Catch::Contains("inception-2015-12-05.pt"));
    REQUIRE_THROWS_WITH(perceptual::load_inception(data_path("psp_lpips.bin")),
                        Catch::Contains("not a converted inception network"));
  }
  SECTION("without inception_kwargs a file is the official width") {
    io::save_safetensors(bad, file.tensors, {{"perceptual", "inception"}});
    REQUIRE_THROWS_WITH(perceptual::load_inception(bad),
                        Catch::StartsWith(bad) && Catch::Contains("layers.conv.weight") &&
                            Catch::Contains("[32, 3, 3, 3]"));
  }
  SECTION("a bad config") {
    io::Metadata m = file.metadata;
    m["inception_kwargs"] = R"({"width_divisor": 3})";
    io::save_safetensors(bad, file.tensors, m);
    REQUIRE_THROWS_WITH(perceptual::load_inception(bad), Catch::StartsWith(bad) && Catch::Contains("width_divisor"));
  }
  std::filesystem::remove(bad);
  std::filesystem::remove(path);
}

TEST_CASE("inception refuses bad images with a clear message", "[inception]") {
  const auto net = hashed_inception(16);
  REQUIRE_THROWS_WITH(net->features(zeros({3, 32, 32})), Catch::Contains("[N, 3, H, W]"));
  REQUIRE_THROWS_WITH(net->features(zeros({1, 1, 32, 32})), Catch::Contains("[N, 3, H, W]"));
  REQUIRE_THROWS_WITH(net->probabilities(zeros({1, 4, 32, 32})), Catch::Contains("[N, 3, H, W]"));
  REQUIRE_THROWS_WITH(net->features(zeros({0, 3, 32, 32})), Catch::Contains("empty"));
  REQUIRE_THROWS_WITH(net->features(zeros({1, 3, 32, 32}, DType::f64)), Catch::Contains("float32"));
  // Any size from one pixel up is resized to 299x299.
  CHECK(net->features(full({1, 3, 1, 1}, 200)).shape() == Shape{1, 128});
}

TEST_CASE("inception on cuda matches the cpu", "[inception][cuda]") {
  const auto net = hashed_inception(8);  // the thin copy: about 1 s on the emulator
  const Tensor images = hashed_images("rect48x40", {2, 3, 48, 40});
  const Tensor f_cpu = net->features(images), p_cpu = net->probabilities(images);
  net->to(Device::cuda(0));
  const Tensor g = images.to(Device::cuda(0));
  CHECK(max_rel_error(net->features(g).to(Device::cpu()), f_cpu) < 1e-4);
  CHECK(max_rel_error(net->probabilities(g).to(Device::cpu()), p_cpu) < 1e-4);
  REQUIRE_THROWS_WITH(net->features(images), Catch::Contains("images are on cpu"));
}

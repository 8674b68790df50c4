// StyleGAN2-ADA's VGG16 (models/perceptual/vgg16.h) against
// tools/reference/vgg16_reference.py: torchvision's state-dict names and shapes, the
// LPIPS embedding, the LPIPS distance (computed the LPIPS way by the
// reference) as the embeddings' squared distance, and the fc2 features, at
// the real widths and on a thin copy (weights and images both derived from a
// hash, the same on both sides, so only the expected outputs are committed:
// tests/data/vgg16_golden.bin from tools/fixtures/make_vgg16_fixtures.py); the
// embedding's input gradient by finite differences; file round trip, bad
// files, bad inputs, CUDA vs CPU.
#include <unistd.h>
#include <catch2/catch.hpp>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "models/perceptual/vgg16.h"
#include "tests/fixtures.h"
#include "tests/vgg16_fixture.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::data_path;
using gf::test::hashed_vgg16;
using gf::test::hashed_images;
using gf::test::max_rel_error;
using perceptual::Vgg16;
using perceptual::Vgg16Config;

namespace {

const io::SafetensorsFile& golden() {
  static const io::SafetensorsFile g = io::read_safetensors(data_path("vgg16_golden.bin"));
  return g;
}

// Row i's squared distance to row j.
double squared_distance(const Tensor& e, int64_t i, int64_t j) {
  const std::vector<double> v = e.to_vector();
  const size_t f = size_t(e.size(1));
  double s = 0;
  for (size_t c = 0; c < f; ++c) s += (v[size_t(i) * f + c] - v[size_t(j) * f + c]) * (v[size_t(i) * f + c] - v[size_t(j) * f + c]);
  return s;
}

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("gf_test_vgg16_" + std::to_string(::getpid()) + "_" + name)).string();
}

}  // namespace

TEST_CASE("vgg16 has torchvision's and LPIPS's state-dict names and shapes", "[vgg16]") {
  ParamInit init(0);
  init.skip_draws = true;
  const Vgg16 net(Vgg16Config{}, init);
  const auto want = nlohmann::json::parse(golden().metadata.at("state_dict"));
  const io::TensorMap sd = net.state_dict();
  CHECK(sd.size() == want.size());  // 13 convs x 2 + fc1, fc2 x 2 + 5 lins = 35
  for (const auto& entry : want) {
    const std::string name = entry[0].get<std::string>();
    INFO(name);
    REQUIRE(sd.count(name) == 1);
    CHECK(sd.at(name).shape() == entry[1].get<Shape>());
  }
  int64_t total = 0;
  for (const auto& [n, t] : sd) total += t.numel();
  CHECK(total == 138357544 - 4097000 + 1472);  // torchvision's vgg16 less classifier.6, plus the lins
  for (const Tensor& p : net.parameters()) CHECK(!p.requires_grad());
}

TEST_CASE("vgg16 matches the PyTorch reference (LPIPS embedding and distance, features)", "[vgg16]") {
  struct Case {
    std::string net;
    int divisor;
    std::string emb_key;
    Shape emb_shape;
    std::string feat_key;
    Shape feat_shape;
  };
  for (const Case& c : {Case{"thin", 8, "pair24x20", {2, 3, 24, 20}, "down300x260", {2, 3, 300, 260}},
                        Case{"full", 1, "pair16", {2, 3, 16, 16}, "rect20x24", {1, 3, 20, 24}}}) {
    INFO(c.net);
    const auto net = hashed_vgg16(c.divisor);
    const std::string k = c.net + "." + c.emb_key;
    const Tensor e = net->lpips_embedding(hashed_images(c.emb_key, c.emb_shape));
    const int64_t d = c.divisor, h = c.emb_shape[2], w = c.emb_shape[3];
    int64_t dim = 0;
    for (int s = 0; s < 5; ++s) dim += std::min<int64_t>(64 << s, 512) / d * (h >> s) * (w >> s);
    REQUIRE(e.shape() == Shape{2, dim});
    const Tensor& want = golden().tensors.at(k + ".embedding");  // the full network's: the first row only
    const double ee = max_rel_error(slice(e, 0, 0, want.size(0)), want);
    // The reference's LPIPS: lin conv of the squared difference, pixel mean, sum over the taps.
    const double lpips = golden().tensors.at(k + ".distance").item();
    const double de = std::abs(squared_distance(e, 0, 1) - lpips) / lpips;
    const Tensor f = net->features(hashed_images(c.feat_key, c.feat_shape));
    CHECK(f.shape() == Shape{c.feat_shape[0], 4096 / d});
    const double ef = max_rel_error(f, golden().tensors.at(c.net + "." + c.feat_key + ".features"));
    INFO("embedding " << ee << ", distance " << de << ", features " << ef);
    CHECK(ee < 1e-4);
    CHECK(de < 1e-4);
    CHECK(ef < 1e-4);
  }
}

TEST_CASE("vgg16 lpips_embedding: input gradient by finite differences", "[vgg16]") {
  Vgg16Config cfg;
  cfg.width_divisor = 16;
  ParamInit init(3, DType::f64);  // lin weights drawn non-negative by the constructor
  const Vgg16 net(cfg, init);
  // Continuous pixels: no two max-pool candidates tie within the step.
  const Tensor x = test::uniform_tensor({2, 3, 16, 18}, 5, 0, 255).requires_grad_();
  const test::Check c = test::gradcheck([&](const std::vector<Tensor>& in) { return net.lpips_embedding(in[0]); },
                                        {x}, 1e-5);
  INFO(c.message);
  CHECK(c.ok);
  for (const Tensor& p : net.parameters()) CHECK(!p.grad().defined());
}

TEST_CASE("vgg16: the same bits on one thread or two", "[vgg16]") {
  const auto net = hashed_vgg16(8);
  const Tensor x = hashed_images("pair24x20", {2, 3, 24, 20});
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const std::vector<double> e1 = net->lpips_embedding(x).to_vector(), f1 = net->features(x).to_vector();
  omp_set_num_threads(2);
  const std::vector<double> e2 = net->lpips_embedding(x).to_vector(), f2 = net->features(x).to_vector();
  omp_set_num_threads(threads);
  CHECK(e1 == e2);
  CHECK(f1 == f2);
}

TEST_CASE("vgg16 refuses bad images with a clear message", "[vgg16]") {
  const auto net = hashed_vgg16(16);
  REQUIRE_THROWS_WITH(net->lpips_embedding(zeros({3, 32, 32})), Catch::Contains("[N, 3, H, W]"));
  REQUIRE_THROWS_WITH(net->lpips_embedding(zeros({1, 1, 32, 32})), Catch::Contains("[N, 3, H, W]"));
  REQUIRE_THROWS_WITH(net->features(zeros({1, 4, 32, 32})), Catch::Contains("[N, 3, H, W]"));
  REQUIRE_THROWS_WITH(net->lpips_embedding(zeros({0, 3, 32, 32})), Catch::Contains("empty"));
  REQUIRE_THROWS_WITH(net->lpips_embedding(zeros({1, 3, 15, 32})), Catch::Contains("at least 16x16, got 15x32"));
  REQUIRE_THROWS_WITH(net->lpips_embedding(zeros({1, 3, 32, 15})), Catch::Contains("at least 16x16, got 32x15"));
  REQUIRE_THROWS_WITH(net->lpips_embedding(zeros({1, 3, 32, 32}, DType::f64)), Catch::Contains("float32"));
  REQUIRE_THROWS_WITH(net->features(zeros({1, 3, 32, 32}, DType::f64)), Catch::Contains("float32"));
  // 16x16 is the smallest embedding (relu5_3 at 1x1); features resize any size to 224x224.
  CHECK(net->lpips_embedding(full({1, 3, 16, 16}, 200)).shape() == Shape{1, (4 * 256 + 8 * 64 + 16 * 16 + 32 * 4 + 32)});
  CHECK(net->features(full({1, 3, 1, 1}, 200)).shape() == Shape{1, 256});
}

TEST_CASE("vgg16 files round-trip, and bad ones are refused by name", "[vgg16]") {
  const auto net = hashed_vgg16(8);
  const std::string path = temp_file("thin.bin");
  perceptual::save_vgg16(path, *net);
  const auto back = perceptual::load_vgg16(path);
  CHECK(back->config().width_divisor == 8);
  for (const auto& [n, t] : net->state_dict()) CHECK(t.to_vector() == back->state_dict().at(n).to_vector());
  const Tensor images = hashed_images("pair24x20", {2, 3, 24, 20});
  CHECK(back->lpips_embedding(images).to_vector() == net->lpips_embedding(images).to_vector());

  const io::SafetensorsFile file = io::read_safetensors(path);
  const std::string bad = temp_file("bad.bin");
  SECTION("a negative lin weight") {
    io::TensorMap t = file.tensors;
    std::vector<double> w = t.at("lin3.model.1.weight").to_vector();
    w[5] = -0.25;
    t["lin3.model.1.weight"] = Tensor::from_vector(w, {1, 64, 1, 1}, DType::f32);
    io::save_safetensors(bad, t, file.metadata);
    REQUIRE_THROWS_WITH(perceptual::load_vgg16(bad), Catch::StartsWith(bad) &&
                                                         Catch::Contains("lin3.model.1.weight[0, 5, 0, 0] is -0.25") &&
                                                         Catch::Contains("non-negative"));
  }
  SECTION("a missing tensor") {
    io::TensorMap t = file.tensors;
    t.erase("features.19.bias");
    io::save_safetensors(bad, t, file.metadata);
    REQUIRE_THROWS_WITH(perceptual::load_vgg16(bad),
                        Catch::StartsWith(bad) && Catch::Contains("missing tensor 'features.19.bias'"));
  }
  SECTION("a misshapen tensor") {
    io::TensorMap t = file.tensors;
    t["classifier.0.weight"] = zeros({512, 64 * 6 * 6});
    io::save_safetensors(bad, t, file.metadata);
    REQUIRE_THROWS_WITH(perceptual::load_vgg16(bad), Catch::StartsWith(bad) &&
                                                         Catch::Contains("classifier.0.weight") &&
                                                         Catch::Contains("[512, 2304]") &&
                                                         Catch::Contains("[512, 3136]"));
  }
  SECTION("an extra tensor (the 1000-class layer)") {
    io::TensorMap t = file.tensors;
    t["classifier.6.weight"] = zeros({1000, 512});
    io::save_safetensors(bad, t, file.metadata);
    REQUIRE_THROWS_WITH(perceptual::load_vgg16(bad), Catch::StartsWith(bad) && Catch::Contains("classifier.6.weight"));
  }
  SECTION("not a vgg16 file") {
    io::save_safetensors(bad, file.tensors, {{"perceptual", "inception"}});
    REQUIRE_THROWS_WITH(perceptual::load_vgg16(bad), Catch::StartsWith(bad) &&
                                                         Catch::Contains("not a converted vgg16 network") &&
                                                         Catch::Contains("--format vgg16"));
  }
  SECTION("without vgg16_kwargs a file is the official width") {
    io::save_safetensors(bad, file.tensors, {{"perceptual", "vgg16"}});
    REQUIRE_THROWS_WITH(perceptual::load_vgg16(bad), Catch::StartsWith(bad) && Catch::Contains("features.0.weight") &&
                                                         Catch::Contains("[64, 3, 3, 3]"));
  }
  SECTION("a bad config") {
    io::Metadata m = file.metadata;
    m["vgg16_kwargs"] = R"({"width_divisor": 3})";
    io::save_safetensors(bad, file.tensors, m);
    REQUIRE_THROWS_WITH(perceptual::load_vgg16(bad), Catch::StartsWith(bad) && Catch::Contains("width_divisor"));
  }
  std::filesystem::remove(bad);
  std::filesystem::remove(path);
}

TEST_CASE("vgg16 on cuda matches the cpu (values and the embedding's input gradient)", "[vgg16][cuda]") {
  const auto net = hashed_vgg16(8);  // the thin copy
  const Tensor images = hashed_images("pair24x20", {2, 3, 24, 20});
  const Tensor x = images.detach().requires_grad_();
  const Tensor e_cpu = net->lpips_embedding(x);
  const Tensor r = test::random_tensor(e_cpu.shape(), 9, DType::f32);
  const Tensor g_cpu = grad({sum(e_cpu * r)}, {x})[0];
  const Tensor f_cpu = net->features(images);
  net->to(Device::cuda(0));
  const Tensor xg = images.to(Device::cuda(0)).requires_grad_();
  const Tensor e = net->lpips_embedding(xg);
  const Tensor g = grad({sum(e * r.to(Device::cuda(0)))}, {xg})[0];
  CHECK(max_rel_error(e.to(Device::cpu()), e_cpu) < 1e-4);
  CHECK(max_rel_error(g.to(Device::cpu()), g_cpu) < 1e-4);
  CHECK(max_rel_error(net->features(xg.detach()).to(Device::cpu()), f_cpu) < 1e-4);
  REQUIRE_THROWS_WITH(net->lpips_embedding(images), Catch::Contains("images are on cpu"));
}

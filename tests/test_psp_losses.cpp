// pSp's training losses (train/psp/losses.h) and their networks
// (models/perceptual/) against tools/reference/perceptual_reference.py, a PyTorch
// reference written from pSp's criteria/ and coach.calc_loss: small LPIPS and
// ArcFace networks with random weights, converted from the user-file layouts
// by tools/convert_weights.py (tools/fixtures/make_psp_train_fixtures.py). Each loss
// and its gradient to 1e-4 (max |a - b| / max |b|, float32, CPU).
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "tests/fixtures.h"
#include "engine/io/safetensors.h"
#include "engine/ops/resize.h"
#include "models/perceptual/network_file.h"
#include "train/psp/losses.h"
#include "tests/testing.h"

using namespace gf;
using namespace gf::psp;

using test::data_path;
using test::max_rel_error;

namespace {

const io::TensorMap& fixture() {
  static const io::TensorMap io = io::load_safetensors(data_path("psp_losses_io.bin"));
  return io;
}

// The loss at x (a fresh leaf) and its gradient there.
std::pair<Tensor, Tensor> value_and_grad(const std::function<Tensor(const Tensor&)>& f, const Tensor& x0) {
  Tensor x = x0.clone().detach().requires_grad_();
  const Tensor loss = f(x);
  backward(loss);
  return {loss.detach().reshape({1}), x.grad()};
}

void check_against(const std::pair<Tensor, Tensor>& got, const std::string& loss_key, const std::string& grad_key) {
  const double el = max_rel_error(got.first, fixture().at(loss_key));
  const double eg = max_rel_error(got.second, fixture().at(grad_key));
  INFO(loss_key << " error " << el << ", " << grad_key << " error " << eg);
  CHECK(el < 1e-4);
  CHECK(eg < 1e-4);
}

Tensor up256(const Tensor& u) { return resize_bilinear(u, 256, 256, ResizeCoords::half_pixel); }

}  // namespace

TEST_CASE("LPIPS (AlexNet) equals the PyTorch reference, with its gradient", "[psp_losses]") {
  const auto lpips = perceptual::load_lpips(data_path("psp_lpips.bin"));
  const io::TensorMap& io = fixture();
  check_against(value_and_grad([&](const Tensor& x) { return lpips_loss(*lpips, x, io.at("lpips.y")); },
                               io.at("lpips.x")),
                "lpips.loss", "lpips.grad");
  // Grey images are replicated to RGB: the gradient sums the three channels'.
  check_against(value_and_grad([&](const Tensor& x) { return lpips_loss(*lpips, x, io.at("lpips_grey.y")); },
                               io.at("lpips_grey.x")),
                "lpips_grey.loss", "lpips_grey.grad");
  // A distance: zero between an image and itself, symmetric.
  NoGradGuard ng;
  CHECK(lpips_loss(*lpips, io.at("lpips.x"), io.at("lpips.x")).item() == 0);
  CHECK(lpips_loss(*lpips, io.at("lpips.y"), io.at("lpips.x")).item() ==
        Approx(lpips_loss(*lpips, io.at("lpips.x"), io.at("lpips.y")).item()).epsilon(1e-6));
  // The loss network is fixed.
  for (const Tensor& p : lpips->parameters()) CHECK(!p.requires_grad());
}

TEST_CASE("identity loss (ArcFace on the face crop) equals the PyTorch reference, with its gradient", "[psp_losses]") {
  const auto arcface = perceptual::load_arcface(data_path("psp_arcface.bin"));
  const io::TensorMap& io = fixture();
  const Tensor y = up256(io.at("id.u"));
  // The gradient is taken in the 32 px image the 256 px one is resized from
  // (a small fixture), through resize_bilinear's adjoint.
  check_against(value_and_grad([&](const Tensor& u) { return id_loss(*arcface, up256(u), y); }, io.at("id.u_hat")),
                "id.loss", "id.grad");
  NoGradGuard ng;
  CHECK(std::abs(id_loss(*arcface, y, y).item()) < 1e-6);  // unit embeddings: 1 - <f, f> = 0
  Generator g(1);
  const Tensor emb = arcface->forward(randn({3, 3, 112, 112}, g));
  CHECK(emb.shape() == Shape({3, 8}));
  for (double n : sqrt(sum(square(emb), {1})).to_vector()) CHECK(n == Approx(1).epsilon(1e-6));
  REQUIRE_THROWS_WITH(id_loss(*arcface, io.at("lpips.x"), io.at("lpips.y")), Catch::Contains("256x256"));
}

TEST_CASE("w_norm and l2 losses equal the PyTorch reference, with their gradients", "[psp_losses]") {
  const io::TensorMap& io = fixture();
  const Tensor avg = io.at("w_norm.latent_avg");
  check_against(value_and_grad([&](const Tensor& l) { return w_norm_loss(l, avg); }, io.at("w_norm.latent")),
                "w_norm.loss", "w_norm.grad");
  check_against(value_and_grad([&](const Tensor& l) { return w_norm_loss(l, Tensor()); }, io.at("w_norm.latent")),
                "w_norm.loss_no_avg", "w_norm.grad_no_avg");
  check_against(value_and_grad([&](const Tensor& x) { return l2_loss(x, io.at("lpips.y")); }, io.at("lpips.x")),
                "l2.loss", "l2.grad");
}

TEST_CASE("pSp's total loss: every term and lambda as coach.calc_loss, with gradients", "[psp_losses]") {
  const auto lpips = perceptual::load_lpips(data_path("psp_lpips.bin"));
  const auto arcface = perceptual::load_arcface(data_path("psp_arcface.bin"));
  const io::TensorMap& io = fixture();
  PspLambdas l;  // as the fixture's metadata
  l.id = 0.1;
  l.l2 = 1.0;
  l.lpips = 0.8;
  l.lpips_crop = 0.2;
  l.l2_crop = 0.3;
  l.w_norm = 0.005;
  const PspLoss loss(l, lpips.get(), arcface.get());
  Tensor u = io.at("id.u_hat").clone().requires_grad_();
  Tensor latent = io.at("w_norm.latent").clone().requires_grad_();
  const PspLoss::Result r = loss(up256(u), up256(io.at("id.u")), latent, io.at("w_norm.latent_avg"));
  backward(r.loss);
  std::vector<std::string> names;
  for (const auto& [name, t] : r.terms) {
    names.push_back(name);
    const std::string key = name == "loss" ? "total.loss" : "total." + name;
    INFO(name);
    CHECK(max_rel_error(t.reshape({1}), io.at(key)) < 1e-4);
  }
  CHECK(names == std::vector<std::string>{"loss_id", "id_improve", "loss_l2", "loss_lpips", "loss_lpips_crop", "loss_l2_crop",
                                          "loss_w_norm", "loss"});
  CHECK(max_rel_error(u.grad(), io.at("total.grad_u_hat")) < 1e-4);
  CHECK(max_rel_error(latent.grad(), io.at("total.grad_latent")) < 1e-4);
}

TEST_CASE("MoCo loss (ResNet-50 features at 224 px) equals the PyTorch reference, with its gradient", "[psp_losses]") {
  const auto moco = perceptual::load_moco(data_path("psp_moco.bin"));
  const io::TensorMap& io = fixture();
  const Tensor y = up256(io.at("moco.u"));
  check_against(value_and_grad([&](const Tensor& u) { return moco_loss(*moco, up256(u), y); }, io.at("moco.u_hat")),
                "moco.loss", "moco.grad");
  NoGradGuard ng;
  CHECK(std::abs(moco_loss(*moco, y, y).item()) < 1e-6);  // unit features: 1 - <g, g> = 0
  for (const Tensor& p : moco->parameters()) CHECK(!p.requires_grad());
}

TEST_CASE("pSp's total loss with MoCo in place of the id loss, as coach.calc_loss orders it", "[psp_losses]") {
  const auto lpips = perceptual::load_lpips(data_path("psp_lpips.bin"));
  const auto moco = perceptual::load_moco(data_path("psp_moco.bin"));
  const io::TensorMap& io = fixture();
  PspLambdas l;  // as the fixture's metadata moco_lambdas
  l.l2 = 1.0;
  l.lpips = 0.8;
  l.w_norm = 0.005;
  l.moco = 0.5;
  const PspLoss loss(l, lpips.get(), nullptr, moco.get());
  Tensor u = io.at("moco.u_hat").clone().requires_grad_();
  Tensor latent = io.at("total_moco.latent").clone().requires_grad_();
  const PspLoss::Result r = loss(up256(u), up256(io.at("moco.u")), latent, io.at("total_moco.latent_avg"));
  backward(r.loss);
  std::vector<std::string> names;
  for (const auto& [name, t] : r.terms) {
    names.push_back(name);
    INFO(name);
    CHECK(max_rel_error(t.reshape({1}), io.at(name == "loss" ? "total_moco.loss" : "total_moco." + name)) < 1e-4);
  }
  CHECK(names == std::vector<std::string>{"loss_l2", "loss_lpips", "loss_w_norm", "loss_moco", "id_improve", "loss"});
  CHECK(max_rel_error(u.grad(), io.at("total_moco.grad_u_hat")) < 1e-4);
  CHECK(max_rel_error(latent.grad(), io.at("total_moco.grad_latent")) < 1e-4);
}

TEST_CASE("a loss without its network is refused unless its lambda is 0", "[psp_losses]") {
  PspLambdas l;  // the official defaults: lpips 0.8
  REQUIRE_THROWS_WITH(PspLoss(l, nullptr, nullptr), Catch::Contains("--lpips FILE.bin"));
  l.lpips = 0;
  l.id = 0.1;
  REQUIRE_THROWS_WITH(PspLoss(l, nullptr, nullptr), Catch::Contains("--arcface FILE.bin"));
  l.id = 0;
  l.moco = 0.5;
  REQUIRE_THROWS_WITH(PspLoss(l, nullptr, nullptr), Catch::Contains("--moco FILE.bin"));
  // pSp's coach refuses the two similarity losses together.
  const auto moco = perceptual::load_moco(data_path("psp_moco.bin"));
  const auto arcface = perceptual::load_arcface(data_path("psp_arcface.bin"));
  l.id = 0.1;
  REQUIRE_THROWS_WITH(PspLoss(l, nullptr, arcface.get(), moco.get()),
                      Catch::Contains("--id-lambda and --moco-lambda are both > 0"));
  l.id = 0;
  l.moco = 0;
  const PspLoss only_l2(l, nullptr, nullptr);
  const Tensor a = ones({1, 1, 8, 8}), b = zeros({1, 1, 8, 8}), lat = zeros({1, 2, 4});
  const PspLoss::Result r = only_l2(a, b, lat, Tensor());
  CHECK(r.loss.item() == 1);
  CHECK(r.terms.size() == 2);  // loss_l2, loss
  l.l2 = 0;
  REQUIRE_THROWS_WITH(PspLoss(l, nullptr, nullptr)(a, b, lat, Tensor()), Catch::Contains("every lambda is 0"));
}

TEST_CASE("full-size LPIPS and ArcFace have torchvision's and pSp's names and shapes", "[psp_losses]") {
  ParamInit init(0);
  init.skip_draws = true;
  const perceptual::Lpips lpips(perceptual::LpipsConfig{}, init);
  const std::map<std::string, Shape> want = {
      {"net.layers.0.weight", {64, 3, 11, 11}}, {"net.layers.0.bias", {64}},
      {"net.layers.3.weight", {192, 64, 5, 5}}, {"net.layers.3.bias", {192}},
      {"net.layers.6.weight", {384, 192, 3, 3}}, {"net.layers.6.bias", {384}},
      {"net.layers.8.weight", {256, 384, 3, 3}}, {"net.layers.8.bias", {256}},
      {"net.layers.10.weight", {256, 256, 3, 3}}, {"net.layers.10.bias", {256}},
      {"lin.0.1.weight", {1, 64, 1, 1}},  {"lin.1.1.weight", {1, 192, 1, 1}}, {"lin.2.1.weight", {1, 384, 1, 1}},
      {"lin.3.1.weight", {1, 256, 1, 1}}, {"lin.4.1.weight", {1, 256, 1, 1}}};
  std::map<std::string, Shape> got;
  for (const auto& [n, t] : lpips.state_dict()) got[n] = t.shape();
  CHECK(got == want);

  // ArcFace IR-SE50: the body is the pSp encoder's (tests/data/psp_irse50_names.json), then the output layer.
  const perceptual::ArcFace arc(perceptual::ArcFaceConfig{}, init);
  std::map<std::string, Shape> arc_got, arc_want;
  for (const auto& [n, t] : arc.state_dict()) arc_got[n] = t.shape();
  std::ifstream f(data_path("psp_irse50_names.json"));
  REQUIRE(f);
  const nlohmann::json names = nlohmann::json::parse(f);  // kept: the loop must not run over a destroyed temporary
  for (const auto& e : names.at("GradualStyleEncoder")) {
    const std::string n = e[0].get<std::string>();
    if (n.rfind("input_layer.", 0) == 0 || n.rfind("body.", 0) == 0) arc_want[n] = e[1].get<Shape>();
  }
  REQUIRE(arc_want.size() > 300);
  for (const char* bn : {"output_layer.0", "output_layer.4"})
    for (const char* p : {".weight", ".bias", ".running_mean", ".running_var"}) arc_want[std::string(bn) + p] = {512};
  arc_want["output_layer.3.weight"] = {512, 512 * 7 * 7};
  arc_want["output_layer.3.bias"] = {512};
  CHECK(arc_got == arc_want);

  // MoCo's ResNet-50: torchvision's resnet50 without fc (tests/data/resnet50_names.json).
  const perceptual::ResNet res(perceptual::ResNetConfig{}, init);
  std::map<std::string, Shape> res_got, res_want;
  for (const auto& [n, t] : res.state_dict()) res_got[n] = t.shape();
  std::ifstream rf(data_path("resnet50_names.json"));
  REQUIRE(rf);
  const nlohmann::json res_names = nlohmann::json::parse(rf);
  for (const auto& e : res_names.at("resnet50")) res_want[e[0].get<std::string>()] = e[1].get<Shape>();
  REQUIRE(res_want.size() == 265);
  CHECK(res_got == res_want);
  CHECK(res.config().features() == 2048);
}

TEST_CASE("loss-network files are refused when they are not what is asked for", "[psp_losses]") {
  REQUIRE_THROWS_WITH(perceptual::load_lpips(data_path("psp_arcface.bin")),
                      Catch::Contains("not a converted lpips network"));
  REQUIRE_THROWS_WITH(perceptual::load_arcface(data_path("psp_gradual.bin")),
                      Catch::Contains("not a converted arcface network") && Catch::Contains("model_ir_se50.pth"));
  // A file round-trips.
  const auto a = perceptual::load_arcface(data_path("psp_arcface.bin"));
  const std::string tmp = (std::filesystem::temp_directory_path() / "gf_test_arcface_roundtrip.bin").string();
  perceptual::save_arcface(tmp, *a);
  const auto b = perceptual::load_arcface(tmp);
  std::filesystem::remove(tmp);
  for (const auto& [n, t] : a->state_dict()) CHECK(t.to_vector() == b->state_dict().at(n).to_vector());
  REQUIRE_THROWS_WITH(perceptual::load_moco(data_path("psp_arcface.bin")),
                      Catch::Contains("not a converted moco network") && Catch::Contains("moco_v2_800ep_pretrain"));
  const auto m = perceptual::load_moco(data_path("psp_moco.bin"));
  perceptual::save_moco(tmp, *m);
  const auto m2 = perceptual::load_moco(tmp);
  std::filesystem::remove(tmp);
  CHECK(m2->config().layers == m->config().layers);
  for (const auto& [n, t] : m->state_dict()) CHECK(t.to_vector() == m2->state_dict().at(n).to_vector());
}

// A file's kwargs describing a network far larger than its tensors (each
// value within its own range): the network is built under a cap of the
// file's size (build_within_file) and refused in one line, not built to
// gigabytes before its tensors are compared. Each load runs in a child
// under an address-space limit of 1 GiB past its mappings, which building
// the described network outgrows.
TEST_CASE("loss-network files whose kwargs describe a huge network are refused before it is built", "[psp_losses]") {
#if defined(__SANITIZE_ADDRESS__) || defined(GF_ASAN)
  WARN("skipped: AddressSanitizer maps its own memory");
  return;
#endif
  test::TempDir dir("huge_loss_net");
  struct Case {
    std::string file, key, field;
    nlohmann::json value;
    std::function<void(const std::string&)> load;
  };
  const std::vector<Case> cases = {
      {"psp_lpips.bin", "lpips_kwargs", "channels", {8, 12, 16, 1 << 14, 1 << 14},
       [](const std::string& p) { perceptual::load_lpips(p); }},
      {"psp_arcface.bin", "arcface_kwargs", "embedding", 1 << 24, [](const std::string& p) { perceptual::load_arcface(p); }},
      {"psp_moco.bin", "moco_kwargs", "width", 4096, [](const std::string& p) { perceptual::load_moco(p); }},
  };
  for (const Case& c : cases) {
    INFO(c.file);
    io::SafetensorsFile file = io::read_safetensors(data_path(c.file));
    nlohmann::json kwargs = nlohmann::json::parse(file.metadata.at(c.key));
    kwargs[c.field] = c.value;
    file.metadata[c.key] = kwargs.dump();
    const std::string path = dir / c.file;
    io::save_safetensors(path, file.tensors, file.metadata);
    const test::ChildEnd end = test::run_with_address_limit(uint64_t(1) << 30, [&] { c.load(path); });
    REQUIRE(WIFEXITED(end.status));
    CHECK(WEXITSTATUS(end.status) == 1);
    CHECK(end.err.find(path + ": " + c.key + ": ") != std::string::npos);
    CHECK(end.err.find("the network it describes needs over") != std::string::npos);
  }
}

TEST_CASE("pSp losses on cuda match the cpu", "[psp_losses][cuda]") {
  const auto lpips = perceptual::load_lpips(data_path("psp_lpips.bin"));
  const auto arcface = perceptual::load_arcface(data_path("psp_arcface.bin"));
  const io::TensorMap& io = fixture();
  PspLambdas l;
  l.id = 0.1;
  l.lpips_crop = 0.2;
  l.l2_crop = 0.3;
  l.w_norm = 0.005;
  const Device cuda = Device::cuda(0);
  const auto run = [&](Device d, const perceptual::Lpips& lp, const perceptual::ArcFace& af) {
    // Fresh leaves each run: on the CPU to() returns the fixture's own tensor,
    // which must not keep requires_grad for the CUDA run's copy.
    Tensor u = io.at("id.u_hat").to(d).detach().requires_grad_();
    Tensor latent = io.at("w_norm.latent").to(d).detach().requires_grad_();
    const PspLoss loss(l, &lp, &af);
    const PspLoss::Result r = loss(up256(u), up256(io.at("id.u").to(d)), latent, io.at("w_norm.latent_avg").to(d));
    backward(r.loss);
    return std::make_tuple(r.loss.to(Device::cpu()), u.grad().to(Device::cpu()), latent.grad().to(Device::cpu()));
  };
  const auto [l_cpu, gu_cpu, gl_cpu] = run(Device::cpu(), *lpips, *arcface);
  lpips->to(cuda);
  arcface->to(cuda);
  const auto [l_gpu, gu_gpu, gl_gpu] = run(cuda, *lpips, *arcface);
  CHECK(max_rel_error(l_gpu.reshape({1}), l_cpu.reshape({1})) < 1e-4);
  CHECK(max_rel_error(gu_gpu, gu_cpu) < 1e-4);
  CHECK(max_rel_error(gl_gpu, gl_cpu) < 1e-4);

  // The MoCo loss (its nearest resize, the ResNet's strided convs, max pool, shortcuts).
  const auto moco = perceptual::load_moco(data_path("psp_moco.bin"));
  const auto moco_run = [&](Device d) {
    Tensor u = io.at("moco.u_hat").to(d).detach().requires_grad_();
    const Tensor m = moco_loss(*moco, up256(u), up256(io.at("moco.u").to(d)));
    backward(m);
    return std::make_pair(m.to(Device::cpu()), u.grad().to(Device::cpu()));
  };
  const auto [m_cpu, gm_cpu] = moco_run(Device::cpu());
  moco->to(cuda);
  const auto [m_gpu, gm_gpu] = moco_run(cuda);
  CHECK(max_rel_error(m_gpu.reshape({1}), m_cpu.reshape({1})) < 1e-4);
  CHECK(max_rel_error(gm_gpu, gm_cpu) < 1e-4);
}

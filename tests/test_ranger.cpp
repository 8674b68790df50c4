// pSp's optimizers step for step against torch: Ranger (train/ranger.h) against
// the formula of pSp's training/ranger.py as tools/fixtures/make_psp_train_fixtures.py
// writes it in PyTorch, and Adam against torch.optim.Adam, 20 steps each in
// float64 on a fixed non-quadratic loss, for a 4-D and a 2-D parameter (both
// gradient-centralized by Ranger) and a 1-D one; pSp's lr 1e-4 and a large lr
// 0.05 that moves far. Ranger's state round-trips bit for bit mid-Lookahead.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "tests/testing.h"
#include "train/adam.h"
#include "train/psp/trainer.h"
#include "train/ranger.h"

using namespace gf;

namespace {

const char* const kParams[] = {"conv.weight", "fc.weight", "bias"};

const io::TensorMap& fixture() {
  static const io::TensorMap io = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/psp_optim_io.bin");
  return io;
}

struct Problem {
  std::vector<std::pair<std::string, Tensor>> params;
  Problem() {
    for (const char* n : kParams) params.emplace_back(n, fixture().at(std::string("init.") + n).clone().requires_grad_());
  }
  // sum(a (p - c)^2) + 0.25 sum((p - c)^4) over the parameters.
  void backward_loss() const {
    Tensor total;
    for (const auto& [n, p] : params) {
      const Tensor d2 = square(p - fixture().at("c." + n));
      const Tensor l = sum(fixture().at("a." + n) * d2) + sum(square(d2)) * 0.25;
      total = total.defined() ? total + l : l;
    }
    gf::backward(total);
  }
};

void check_trajectory(Optimizer& opt, const Problem& prob, const std::string& run, int from = 0, int to = 20) {
  for (int t = from; t < to; ++t) {
    opt.zero_grad();
    prob.backward_loss();
    opt.step();
    for (const auto& [n, p] : prob.params) {
      const Tensor want = slice(fixture().at(run + "." + n), 0, t, t + 1).reshape(p.shape());
      const Tensor p0 = fixture().at("init." + n);
      // The step taken so far, to 1e-9 of its size: float64 sums in another order.
      INFO(run << " step " << t + 1 << " " << n);
      CHECK(test::allclose(p - p0, want - p0, 1e-9, 1e-15).ok);
    }
  }
}

}  // namespace

TEST_CASE("Ranger follows pSp's ranger.py for 20 steps", "[ranger]") {
  for (const auto& [run, lr] : {std::pair<std::string, double>{"ranger_default", 1e-4}, {"ranger_fast", 0.05}}) {
    Problem prob;
    RangerOptions o;  // pSp's defaults
    o.lr = lr;
    Ranger ranger(prob.params, o);
    check_trajectory(ranger, prob, run);
    CHECK(ranger.state_dict().at("bias.step").item() == 20);
  }
}

TEST_CASE("Adam follows torch.optim.Adam for 20 steps", "[ranger]") {
  for (const auto& [run, lr] : {std::pair<std::string, double>{"adam_default", 1e-4}, {"adam_fast", 0.05}}) {
    Problem prob;
    AdamOptions o;  // torch's defaults, as pSp's --optim_name adam builds it
    o.lr = lr;
    Adam adam(prob.params, o);
    check_trajectory(adam, prob, run);
  }
}

TEST_CASE("Ranger state round-trips bit for bit between Lookahead syncs", "[ranger]") {
  RangerOptions o;
  o.lr = 0.05;
  Problem straight, first;
  Ranger a(straight.params, o), b(first.params, o);
  check_trajectory(a, straight, "ranger_fast", 0, 20);
  check_trajectory(b, first, "ranger_fast", 0, 8);  // two steps past the first sync (k = 6)
  const std::string path =
      (std::filesystem::temp_directory_path() / ("gf_test_ranger_" + std::to_string(::getpid()) + ".bin")).string();
  io::save_safetensors(path, b.state_dict());
  const io::TensorMap state = io::load_safetensors(path);
  std::filesystem::remove(path);
  CHECK(state.size() == 3 * 4);  // exp_avg, exp_avg_sq, slow_buffer, step per parameter
  Problem resumed;
  for (size_t i = 0; i < resumed.params.size(); ++i) resumed.params[i].second.copy_(first.params[i].second);
  Ranger c(resumed.params, o);
  c.load_state_dict(state);
  check_trajectory(c, resumed, "ranger_fast", 8, 20);
  for (size_t i = 0; i < resumed.params.size(); ++i)
    CHECK(resumed.params[i].second.to_vector() == straight.params[i].second.to_vector());  // exact
  // Bad state is refused before anything changes.
  io::TensorMap bad = state;
  bad.erase("fc.weight.slow_buffer");
  CHECK_THROWS_WITH(c.load_state_dict(bad), Catch::Contains("incomplete"));
  bad = state;
  bad["bias.exp_avg"] = zeros({7}, DType::f64);
  CHECK_THROWS_AS(c.load_state_dict(bad), Error);
  bad = state;
  bad["bias.exp_avg_sq"] = bad["bias.exp_avg_sq"] * -1.0 - 1.0;
  CHECK_THROWS_WITH(c.load_state_dict(bad), Catch::Contains("bias.exp_avg_sq holds -"));
  CHECK(c.state_dict().at("bias.step").item() == 20);
}

// ranger.py centralizes a gradient over every dim but the first: pSp's
// rosinality decoder stores its conv weights, const and to_rgb bias with a
// leading dim of 1, so they lose the mean of the whole tensor. A parameter
// stored without that dim (StyleGAN2-ADA's layout) and marked
// unit_leading_dim steps exactly as the official shape does.
TEST_CASE("Ranger's unit_leading_dim steps as the parameter with its leading 1", "[ranger]") {
  for (const Shape& shape : {Shape{3, 5, 1, 1}, Shape{3}, Shape{4, 2, 3, 3}, Shape{1}}) {
    Shape official = shape;
    official.insert(official.begin(), 1);
    Generator g0(5);
    const Tensor init = randn(shape, g0, DType::f64);
    Tensor ours = init.clone().requires_grad_(), theirs = init.reshape(official).clone().requires_grad_();
    RangerOptions o;
    o.lr = 0.05;
    Ranger a({{"p", ours}}, o, [](const std::string& n) { return n == "p"; });
    Ranger b({{"p", theirs}}, o);
    Generator g(9);
    for (int t = 0; t < 8; ++t) {  // through the rectification (step 6) and a Lookahead sync
      const Tensor grad = randn(shape, g, DType::f64);
      a.zero_grad();
      b.zero_grad();
      gf::backward(sum(ours * grad));
      gf::backward(sum(theirs * grad.reshape(official)));
      a.step();
      b.step();
      INFO("shape " << shape_str(shape) << " step " << t + 1);
      CHECK(test::allclose(ours, theirs.reshape(shape), 1e-12, 1e-15).ok);
    }
  }
  // The names pSp's decoder gives that shape (rosinality's model.py).
  for (const char* n : {"decoder.synthesis.b4.const", "decoder.synthesis.b4.conv1.weight", "decoder.synthesis.b8.conv0.weight",
                        "decoder.synthesis.b8.torgb.weight", "decoder.synthesis.b8.torgb.bias"})
    CHECK(psp::psp_decoder_unit_leading_dim(n));
  for (const char* n : {"decoder.synthesis.b8.conv0.affine.weight", "decoder.synthesis.b8.conv0.bias",
                        "decoder.synthesis.b8.conv0.noise_strength", "decoder.mapping.fc0.weight", "encoder.styles.0.linear.weight",
                        "decoder.synthesis.b8.torgb.affine.bias"})
    CHECK_FALSE(psp::psp_decoder_unit_leading_dim(n));
}

TEST_CASE("Ranger skips parameters without a gradient and checks its options", "[ranger]") {
  Tensor p = Tensor::from_vector({1.0, 2.0}, {2}, DType::f64).requires_grad_();
  Tensor q = Tensor::from_vector({3.0}, {1}, DType::f64).requires_grad_();
  Ranger r({{"p", p}, {"q", q}}, RangerOptions{});
  gf::backward(sum(square(p)));
  r.step();
  CHECK(q.to_vector() == std::vector<double>{3.0});
  CHECK(r.state_dict().count("q.step") == 0);
  // Step 1: N_sma = 1 <= 5, so an SGD-with-momentum step of lr * m / (1 - beta1) = lr * g.
  CHECK(p.to_vector()[0] == Approx(1.0 - 1e-4 * 2.0).epsilon(1e-12));
  RangerOptions bad;
  bad.alpha = 1.5;
  CHECK_THROWS_WITH(Ranger({{"p", p}}, bad), Catch::Contains("slow update rate"));
  bad = RangerOptions{};
  bad.k = 0;
  CHECK_THROWS_WITH(Ranger({{"p", p}}, bad), Catch::Contains("lookahead steps"));
}

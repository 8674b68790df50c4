// Saved tensors and in-place writes (engine/autograd.h, SavedTensor): for
// every op, each operand is overwritten in place (copy_) between the forward
// and the backward. Where the backward reads that operand's values the pass
// is refused, as torch refuses it ("modified by an inplace operation");
// where it does not, the gradients are the ones of an untouched run, bit for
// bit. Either way no gradient is ever computed from the new values.
#include <catch2/catch.hpp>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/ops/adain.h"
#include "engine/ops/batch_norm.h"
#include "engine/ops/bias_act.h"
#include "engine/ops/grid_sample.h"
#include "engine/ops/minibatch_stddev.h"
#include "engine/ops/modulated_conv2d.h"
#include "engine/ops/noise.h"
#include "engine/ops/pixel_norm.h"
#include "engine/ops/pool2d.h"
#include "engine/ops/prelu.h"
#include "engine/ops/upfirdn2d.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::random_tensor;
using gf::test::uniform_tensor;

namespace {

// One op under test: fresh operands (the same values on every call), which
// of them require grad, the scalar differentiated, and the operands whose
// values its backward reads.
struct SavedCase {
  std::string name;
  std::function<std::vector<Tensor>()> operands;
  std::vector<bool> requires_grad;
  std::function<Tensor(const std::vector<Tensor>&)> loss;
  std::set<size_t> read;
};

std::vector<Tensor> wanted(const std::vector<Tensor>& in, const std::vector<bool>& requires) {
  std::vector<Tensor> out;
  for (size_t i = 0; i < in.size(); ++i)
    if (requires[i]) out.push_back(in[i]);
  return out;
}

std::vector<Tensor> operands_of(const SavedCase& c) {
  std::vector<Tensor> in = c.operands();
  for (size_t i = 0; i < in.size(); ++i)
    if (c.requires_grad[i]) in[i].requires_grad_();
  return in;
}

void check_case(const SavedCase& c) {
  std::vector<Tensor> in = operands_of(c);
  const std::vector<Tensor> reference = grad({c.loss(in)}, wanted(in, c.requires_grad));
  for (size_t i = 0; i < in.size(); ++i) {
    INFO(c.name << ", operand " << i << " written in place after the forward");
    std::vector<Tensor> run = operands_of(c);
    const Tensor loss = c.loss(run);
    {
      NoGradGuard ng;  // new values, still positive where the op wants them so
      run[i].copy_(run[i] * 1.5 + 0.125);
    }
    if (c.read.count(i)) {
      REQUIRE_THROWS_WITH(grad({loss}, wanted(run, c.requires_grad)), Catch::Contains("written in place"));
    } else {
      const std::vector<Tensor> got = grad({loss}, wanted(run, c.requires_grad));
      REQUIRE(got.size() == reference.size());
      for (size_t k = 0; k < got.size(); ++k) CHECK(got[k].to_vector() == reference[k].to_vector());
    }
  }
}

Tensor positive(const Shape& s, uint64_t seed) { return uniform_tensor(s, seed, 0.5, 2.0); }

// A scalar of y that weights every element differently, so no gradient is
// a plain sum that hides a wrong operand.
Tensor weighted(const Tensor& y) { return sum(y * random_tensor(y.shape(), 999, y.dtype())); }

std::vector<SavedCase> first_order_cases() {
  const Shape s{2, 3};
  std::vector<SavedCase> cases = {
      {"add", [=] { return std::vector<Tensor>{random_tensor(s, 1), random_tensor(s, 2)}; }, {true, true},
       [](const auto& in) { return weighted(add(in[0], in[1])); }, {}},
      {"mul", [=] { return std::vector<Tensor>{random_tensor(s, 1), random_tensor(s, 2)}; }, {true, true},
       [](const auto& in) { return weighted(mul(in[0], in[1])); }, {0, 1}},
      // Only a's gradient is wanted: it reads b, never a (torch saves b only).
      {"mul, b constant", [=] { return std::vector<Tensor>{random_tensor(s, 1), random_tensor(s, 2)}; },
       {true, false}, [](const auto& in) { return weighted(mul(in[0], in[1])); }, {1}},
      {"div", [=] { return std::vector<Tensor>{random_tensor(s, 1), positive(s, 2)}; }, {true, true},
       [](const auto& in) { return weighted(div(in[0], in[1])); }, {0, 1}},
      {"log", [=] { return std::vector<Tensor>{positive(s, 3)}; }, {true},
       [](const auto& in) { return weighted(log(in[0])); }, {0}},
      // exp and sqrt read their output, not x.
      {"exp", [=] { return std::vector<Tensor>{random_tensor(s, 4)}; }, {true},
       [](const auto& in) { return weighted(exp(in[0])); }, {}},
      {"sqrt", [=] { return std::vector<Tensor>{positive(s, 5)}; }, {true},
       [](const auto& in) { return weighted(sqrt(in[0])); }, {}},
      {"square", [=] { return std::vector<Tensor>{random_tensor(s, 6)}; }, {true},
       [](const auto& in) { return weighted(square(in[0])); }, {0}},
      {"relu", [=] { return std::vector<Tensor>{random_tensor(s, 7)}; }, {true},
       [](const auto& in) { return weighted(relu(in[0])); }, {0}},
      {"where", [=] {
         return std::vector<Tensor>{Tensor::from_vector({1, 0, 1, 0, 0, 1}, s, DType::f64), random_tensor(s, 8),
                                    random_tensor(s, 9)};
       },
       {false, true, true}, [](const auto& in) { return weighted(where(in[0], in[1], in[2])); }, {0}},
      {"lerp", [=] { return std::vector<Tensor>{random_tensor(s, 10), random_tensor(s, 11), random_tensor(s, 12)}; },
       {true, true, true}, [](const auto& in) { return weighted(lerp(in[0], in[1], in[2])); }, {0, 1, 2}},
      {"max", [=] { return std::vector<Tensor>{random_tensor(s, 13)}; }, {true},
       [](const auto& in) { return weighted(max(in[0], {1})); }, {0}},
      {"sum of a reshape", [=] { return std::vector<Tensor>{random_tensor(s, 14)}; }, {true},
       [](const auto& in) { return weighted(in[0].reshape({3, 2})); }, {}},
      {"matmul", [=] { return std::vector<Tensor>{random_tensor({2, 3}, 15), random_tensor({3, 4}, 16)}; },
       {true, true}, [](const auto& in) { return weighted(matmul(in[0], in[1])); }, {0, 1}},
      // A view of a: the storage's version is shared, as torch's.
      {"mul of a view", [=] { return std::vector<Tensor>{random_tensor(s, 17), random_tensor({3, 2}, 18)}; },
       {true, true}, [](const auto& in) { return weighted(mul(in[0].reshape({3, 2}), in[1])); }, {0, 1}},
      {"conv2d", [] { return std::vector<Tensor>{random_tensor({2, 2, 5, 5}, 19), random_tensor({3, 2, 3, 3}, 20)}; },
       {true, true}, [](const auto& in) { return weighted(conv2d(in[0], in[1], {1, 1, 1, 1, 1})); }, {0, 1}},
      {"conv_transpose2d",
       [] { return std::vector<Tensor>{random_tensor({2, 3, 4, 4}, 21), random_tensor({3, 2, 3, 3}, 22)}; },
       {true, true}, [](const auto& in) { return weighted(conv_transpose2d(in[0], in[1], {2, 2, 1, 1, 1}, 1, 1)); },
       {0, 1}},
      // lrelu's gradient is a function of the output alone.
      {"bias_act lrelu", [] { return std::vector<Tensor>{random_tensor({2, 3, 4}, 23), random_tensor({3}, 24)}; },
       {true, true}, [](const auto& in) { return weighted(bias_act(in[0], in[1], 1, "lrelu")); }, {}},
      {"bias_act swish", [] { return std::vector<Tensor>{random_tensor({2, 3, 4}, 25), random_tensor({3}, 26)}; },
       {true, true}, [](const auto& in) { return weighted(bias_act(in[0], in[1], 1, "swish")); }, {0, 1}},
      {"upfirdn2d", [] { return std::vector<Tensor>{random_tensor({1, 2, 6, 6}, 27), positive({4, 4}, 28)}; },
       {true, false}, [](const auto& in) { return weighted(upfirdn2d(in[0], in[1], UpFirDn2dParams{})); }, {1}},
      {"pixel_norm", [] { return std::vector<Tensor>{random_tensor({2, 4, 3, 3}, 29)}; }, {true},
       [](const auto& in) { return weighted(pixel_norm(in[0])); }, {0}},
      {"minibatch_stddev", [] { return std::vector<Tensor>{random_tensor({4, 3, 2, 2}, 30)}; }, {true},
       [](const auto& in) { return weighted(minibatch_stddev(in[0], 2)); }, {0}},
      {"adain", [] {
         return std::vector<Tensor>{random_tensor({2, 3, 4, 4}, 31), random_tensor({2, 3}, 32),
                                    random_tensor({2, 3}, 33)};
       },
       {true, true, true}, [](const auto& in) { return weighted(adain(in[0], in[1], in[2])); }, {0, 1}},
      {"prelu", [] { return std::vector<Tensor>{random_tensor({2, 3, 2, 2}, 34), positive({3}, 35)}; }, {true, true},
       [](const auto& in) { return weighted(prelu(in[0], in[1])); }, {0, 1}},
      // The slope's gradient reads x alone.
      {"prelu, x constant", [] { return std::vector<Tensor>{random_tensor({2, 3, 2, 2}, 34), positive({3}, 35)}; },
       {false, true}, [](const auto& in) { return weighted(prelu(in[0], in[1])); }, {0}},
      {"max_pool2d", [] { return std::vector<Tensor>{random_tensor({1, 2, 4, 4}, 36)}; }, {true},
       [](const auto& in) { return weighted(max_pool2d(in[0], MaxPool2dParams{2, 2, 2, 2, 0, 0})); }, {0}},
      {"affine_grid_sample", [] {
         return std::vector<Tensor>{random_tensor({1, 2, 5, 5}, 37),
                                    Tensor::from_vector({0.9, 0.1, 0.05, -0.1, 1.1, 0.0}, {1, 2, 3}, DType::f64)};
       },
       {true, false}, [](const auto& in) { return weighted(affine_grid_sample(in[0], in[1], 5, 5)); }, {1}},
      {"modulated_conv2d", [] {
         return std::vector<Tensor>{random_tensor({2, 3, 5, 5}, 38), random_tensor({4, 3, 3, 3}, 39),
                                    positive({2, 3}, 40)};
       },
       {true, true, true},
       [](const auto& in) {
         ModConv2dParams p;
         p.padding = 1;
         return weighted(modulated_conv2d(in[0], in[1], in[2], Tensor(), p));
       },
       {0, 1, 2}},
      // The weight's part of the gradient (invstd * weight) is formed in
      // the forward: weight is not read again (torch saves and checks it).
      {"batch_norm", [] {
         return std::vector<Tensor>{random_tensor({4, 3, 2, 2}, 41), positive({3}, 42), random_tensor({3}, 43)};
       },
       {true, true, true},
       [](const auto& in) {
         const Tensor rm = zeros({3}, DType::f64), rv = ones({3}, DType::f64);
         return weighted(batch_norm(in[0], in[1], in[2], rm, rv, /*training=*/true));
       },
       {0}},
      {"noise_bias_act swish", [] {
         return std::vector<Tensor>{random_tensor({2, 3, 4, 4}, 44), random_tensor({2, 1, 4, 4}, 45),
                                    Tensor::scalar(0.3, DType::f64), random_tensor({3}, 46)};
       },
       {true, true, true, true},
       [](const auto& in) {
         return weighted(noise_bias_act(in[0], in[1], in[2], in[3], bias_act_spec("swish", {}, {}, {})));
       },
       {0, 1, 2, 3}},
      // lrelu's gradient comes from the output: x and b are not read; the
      // noise's gradient reads the strength, the strength's the noise.
      {"noise_bias_act lrelu", [] {
         return std::vector<Tensor>{random_tensor({2, 3, 4, 4}, 47), random_tensor({2, 1, 4, 4}, 48),
                                    Tensor::scalar(0.3, DType::f64), random_tensor({3}, 49)};
       },
       {true, true, true, true},
       [](const auto& in) {
         return weighted(noise_bias_act(in[0], in[1], in[2], in[3], bias_act_spec("lrelu", {}, {}, {})));
       },
       {1, 2}},
  };
  return cases;
}

// Gradients of gradients: the penalties' second backward reads what the
// first one's graph saved. The scalar is |d f / d in[0]|^2, as R1's.
std::vector<SavedCase> second_order_cases() {
  const auto grad_norm = [](std::function<Tensor(const std::vector<Tensor>&)> f) {
    return [f](const std::vector<Tensor>& in) {
      const Tensor g = grad({weighted(f(in))}, {in[0]}, {}, /*create_graph=*/true)[0];
      return sum(square(g));
    };
  };
  return {
      {"pixel_norm, second order", [] { return std::vector<Tensor>{random_tensor({2, 4, 3, 3}, 50)}; }, {true},
       grad_norm([](const auto& in) { return pixel_norm(in[0]); }), {0}},
      {"minibatch_stddev, second order", [] { return std::vector<Tensor>{random_tensor({4, 3, 2, 2}, 51)}; },
       {true}, grad_norm([](const auto& in) { return minibatch_stddev(in[0], 2); }), {0}},
      {"bias_act swish, second order", [] { return std::vector<Tensor>{random_tensor({2, 3, 4}, 52)}; }, {true},
       grad_norm([](const auto& in) { return bias_act(in[0], Tensor(), 1, "swish"); }), {0}},
      // x's gradient reads only w; the penalty's gradient for w reads x
      // again (conv2d's weight gradient).
      {"conv2d, second order",
       [] { return std::vector<Tensor>{random_tensor({1, 2, 4, 4}, 53), random_tensor({2, 2, 3, 3}, 54)}; },
       {true, true}, grad_norm([](const auto& in) { return square(conv2d(in[0], in[1], {1, 1, 1, 1, 1})); }), {0, 1}},
      // Only x's penalty gradient wanted: no path reads x's values.
      {"conv2d, second order, w constant",
       [] { return std::vector<Tensor>{random_tensor({1, 2, 4, 4}, 55), random_tensor({2, 2, 3, 3}, 56)}; },
       {true, false}, grad_norm([](const auto& in) { return square(conv2d(in[0], in[1], {1, 1, 1, 1, 1})); }), {1}},
  };
}

}  // namespace

TEST_CASE("an operand written in place after the forward: refused where the backward reads it", "[autograd]") {
  for (const SavedCase& c : first_order_cases()) check_case(c);
}

TEST_CASE("an operand written in place after a create_graph pass: refused where the second backward reads it",
          "[autograd]") {
  for (const SavedCase& c : second_order_cases()) check_case(c);
}

TEST_CASE("the refusal names the op and both versions; nan_to_num_ and copy_ count as writes", "[autograd]") {
  Tensor x = random_tensor({3}, 60).requires_grad_();
  Tensor y = exp(x);  // its backward reads y
  const Tensor loss = sum(y * 2.0);
  CHECK(y.version() == 0);
  nan_to_num_(y);
  CHECK(y.version() == 1);
  REQUIRE_THROWS_WITH(backward(loss), Catch::Contains("exp: ") && Catch::Contains("written in place") &&
                                          Catch::Contains("at version 1, saved at 0"));

  Tensor a = random_tensor({3}, 61).requires_grad_(), b = random_tensor({3}, 62).requires_grad_();
  const Tensor prod = sum(mul(a, b));
  {
    NoGradGuard ng;
    b.copy_(b);  // the same buffer: nothing written, no new version
    CHECK(b.version() == 0);
    b.detach().copy_(b * 2.0);  // a detached view shares the count
    CHECK(b.version() == 1);
  }
  REQUIRE_THROWS_WITH(backward(prod), Catch::Contains("mul: ") && Catch::Contains("float64[3] on cpu"));
  // After a refused pass, a pass on a fresh graph runs and names nothing stale.
  backward(sum(mul(a, b)));
  CHECK(a.grad().to_vector() == b.to_vector());
}

TEST_CASE("an optimizer-style write after the backward is no write to the finished graph", "[autograd]") {
  Tensor w = random_tensor({2, 2}, 70).requires_grad_();
  const Tensor x = random_tensor({3, 2}, 71);
  for (int step = 0; step < 3; ++step) {
    backward(sum(square(matmul(x, w))));
    NoGradGuard ng;
    w.copy_(w - w.grad() * 0.01);
    w.zero_grad();
  }
  CHECK(w.version() == 3);
}

TEST_CASE("on cuda, copy_ counts as a write and the backward refuses", "[autograd][cuda]") {
  const Device gpu = Device::cuda(0);
  Tensor a = random_tensor({4}, 80, DType::f32, gpu).requires_grad_();
  Tensor b = random_tensor({4}, 81, DType::f32, gpu).requires_grad_();
  const Tensor loss = sum(mul(a, b));
  {
    NoGradGuard ng;
    a.copy_(random_tensor({4}, 82, DType::f32));  // from the host
  }
  CHECK(a.version() == 1);
  REQUIRE_THROWS_WITH(backward(loss), Catch::Contains("mul: ") && Catch::Contains("written in place"));
}

// The autograd engine itself: accumulation, grad() on leaves and non-leaves,
// higher orders, the needs-input-grad mask, retain_graph, no-grad mode.
#include <catch2/catch.hpp>
#include <pthread.h>

#include <atomic>
#include <thread>
#include <vector>

#include "engine/ops/upfirdn2d.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::random_tensor;

TEST_CASE("backward accumulates into leaf .grad", "[autograd]") {
  Tensor x = Tensor::from_vector({1, 2, 3}, {3}, DType::f64).requires_grad_();
  backward(sum(square(x)));
  CHECK(x.grad().to_vector() == std::vector<double>{2, 4, 6});
  backward(sum(x * 3.0));
  CHECK(x.grad().to_vector() == std::vector<double>{5, 7, 9});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

// Backwards pass gradients through (add, reshape), so two leaves' .grad and
// the caller's grad_output could be one buffer, and an in-place edit of one
// (nan_to_num_, an all-reduce's copy_) changed the others.
TEST_CASE("every leaf's .grad is its own buffer, apart from the grad_output and each other", "[autograd]") {
  Tensor x = Tensor::from_vector({1, 2}, {2}, DType::f64).requires_grad_();
  Tensor y = Tensor::from_vector({3, 4}, {2}, DType::f64).requires_grad_();
  const Tensor gout = Tensor::from_vector({0.5, 0.25}, {2}, DType::f64);
  backward(add(x, y), gout);
  CHECK(x.grad().raw() != y.grad().raw());
  CHECK(x.grad().raw() != gout.raw());
  CHECK(y.grad().raw() != gout.raw());
  x.grad().copy_(zeros({2}, DType::f64));
  CHECK(y.grad().to_vector() == std::vector<double>{0.5, 0.25});
  CHECK(gout.to_vector() == std::vector<double>{0.5, 0.25});
  // A leaf reached through a reshape alone shares nothing either.
  Tensor w = Tensor::from_vector({1, 2, 3, 4}, {2, 2}, DType::f64).requires_grad_();
  const Tensor gw = Tensor::from_vector({1, 1, 1, 1}, {4}, DType::f64);
  backward(w.reshape({4}), gw);
  CHECK(w.grad().raw() != gw.raw());
}

// Each node owns the earlier ones; freeing a long chain recursed once per
// node and overflowed the stack (about 400k ops on an 8 MiB stack). Run on a
// thread of a 1 MiB stack, so 100k ops fail the old way whatever the
// process's own limit.
TEST_CASE("a graph 100k ops deep is built, differentiated and freed on a 1 MiB stack", "[autograd]") {
  Tensor x = Tensor::from_vector({1}, {1}, DType::f64).requires_grad_();
  const auto chain = [](void* arg) -> void* {
    Tensor& leaf = *static_cast<Tensor*>(arg);
    Tensor y = leaf;
    for (int i = 0; i < 100000; ++i) y = affine(y, 1.0, 1e-6);
    backward(y);  // the nodes stay linked through their edges until y goes
    return nullptr;
  };
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 1 << 20);
  pthread_t t;
  REQUIRE(pthread_create(&t, &attr, +chain, &x) == 0);
  pthread_join(t, nullptr);
  pthread_attr_destroy(&attr);
  CHECK(x.grad().item() == 1.0);
}

TEST_CASE("a value used twice gets the sum of both gradients", "[autograd]") {
  Tensor x = Tensor::from_vector({2}, {1}, DType::f64).requires_grad_();
  Tensor y = x * x + exp(x) * x;  // dy/dx = 2x + e^x (1 + x)
  double want = 4 + std::exp(2.0) * 3;
  CHECK(grad({sum(y)}, {x})[0].item() == Approx(want));
}

TEST_CASE("gradients to any order: d^k/dx^k of x^4", "[autograd]") {
  Tensor x = Tensor::from_vector({1.5}, {1}, DType::f64).requires_grad_();
  Tensor y = sum(pow(x, 4.0));
  Tensor g1 = grad({y}, {x}, {}, true)[0];
  Tensor g2 = grad({sum(g1)}, {x}, {}, true)[0];
  Tensor g3 = grad({sum(g2)}, {x}, {}, true)[0];
  Tensor g4 = grad({sum(g3)}, {x}, {}, true)[0];
  CHECK(g1.item() == Approx(4 * 1.5 * 1.5 * 1.5));
  CHECK(g2.item() == Approx(12 * 1.5 * 1.5));
  CHECK(g3.item() == Approx(24 * 1.5));
  CHECK(g4.item() == Approx(24.0));
}

TEST_CASE("a backward that reuses its output is right at second order", "[autograd]") {
  // d/dx exp(x) = exp(x) uses the saved output; d2/dx2 must still be exp(x).
  Tensor x = Tensor::from_vector({0.3, -0.7}, {2}, DType::f64).requires_grad_();
  Tensor g = grad({sum(exp(x))}, {x}, {}, true)[0];
  Tensor gg = grad({sum(g)}, {x})[0];
  CHECK(allclose(gg, exp(x.detach()), 1e-14, 0).ok);
  Tensor s = grad({sum(sigmoid(x))}, {x}, {}, true)[0];
  Tensor ss = grad({sum(s)}, {x})[0];  // s(1-s)(1-2s)
  Tensor sx = sigmoid(x.detach());
  CHECK(allclose(ss, sx * (1.0 - sx) * (1.0 - 2.0 * sx), 1e-12, 1e-15).ok);
}

TEST_CASE("grad with respect to an intermediate value", "[autograd]") {
  Tensor x = Tensor::from_vector({1, 2}, {2}, DType::f64).requires_grad_();
  Tensor w = x * 3.0;  // a non-leaf, like w in the path-length penalty
  Tensor y = sum(square(w));
  auto g = grad({y}, {w, x});
  CHECK(g[0].to_vector() == std::vector<double>{6, 12});
  CHECK(g[1].to_vector() == std::vector<double>{18, 36});
}

TEST_CASE("only the gradients asked for are formed", "[autograd]") {
  // A two-input op that records which input gradients its backward was asked for.
  std::vector<std::vector<bool>> asked;
  auto op = [&](const Tensor& a, const Tensor& b) {
    Tensor out;
    {
      NoGradGuard ng;
      out = mul(a, b);
    }
    return record_op("probe", out, {a, b}, [&asked, a, b](Node& n, const Tensor& g) {
      asked.push_back({n.needs_input_grad(0), n.needs_input_grad(1)});
      return std::vector<Tensor>{n.needs_input_grad(0) ? mul(g, b) : Tensor(),
                                 n.needs_input_grad(1) ? mul(g, a) : Tensor()};
    });
  };
  Tensor x = random_tensor({3}, 1).requires_grad_();
  Tensor weight = random_tensor({3}, 2).requires_grad_();
  grad({sum(op(x, weight))}, {x});
  REQUIRE(asked.size() == 1);
  CHECK(asked[0] == std::vector<bool>{true, false});  // no weight gradient for an input-gradient penalty
  backward(sum(op(x, weight)));
  CHECK(asked[1] == std::vector<bool>{true, true});
  Tensor frozen = random_tensor({3}, 3);  // requires no grad
  backward(sum(op(x, frozen)));
  CHECK(asked[2] == std::vector<bool>{true, false});
}

TEST_CASE("without retain_graph the graph's saved state is freed", "[autograd]") {
  Tensor x = random_tensor({3}, 4).requires_grad_();
  Tensor y = sum(exp(x));
  backward(y, Tensor(), /*retain_graph=*/true);
  backward(y);
  REQUIRE_THROWS_WITH(backward(y), Catch::Contains("retain_graph"));
}

TEST_CASE("no-grad mode records nothing", "[autograd]") {
  Tensor x = random_tensor({3}, 5).requires_grad_();
  {
    NoGradGuard ng;
    Tensor y = exp(x) * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
  CHECK(grad_enabled());
  CHECK((exp(x) * 2.0).requires_grad());
  CHECK_FALSE(exp(x).detach().requires_grad());
}

TEST_CASE("grad reports misuse clearly", "[autograd]") {
  Tensor x = random_tensor({3}, 6).requires_grad_();
  Tensor unused = random_tensor({3}, 7).requires_grad_();
  Tensor y = sum(square(x));
  REQUIRE_THROWS_WITH(grad({y}, {unused}, {}, false, true), Catch::Contains("not reached"));
  CHECK_FALSE(grad({y}, {unused}, {}, false, true, /*allow_unused=*/true)[0].defined());
  REQUIRE_THROWS_WITH(grad({square(x)}, {x}), Catch::Contains("not a scalar"));
  REQUIRE_THROWS_WITH(grad({random_tensor({1}, 8)}, {x}), Catch::Contains("does not require grad"));
  REQUIRE_THROWS_WITH(grad({Tensor()}, {x}), Catch::Contains("grad") && Catch::Contains("output 0 is an undefined tensor"));
  REQUIRE_THROWS_WITH(grad({y}, {Tensor()}), Catch::Contains("grad") && Catch::Contains("input 0 is an undefined tensor"));
  REQUIRE_THROWS_WITH(backward(Tensor()), Catch::Contains("backward") && Catch::Contains("undefined"));
}

TEST_CASE("a grad_output of another dtype is cast to its output's, as torch's engine does", "[autograd]") {
  // A float64 gradient for a float32 output gave the float32 leaf a float64
  // .grad (the next backward failed in add), or failed in some backward op.
  Tensor x = random_tensor({3}, 6, DType::f32).requires_grad_();
  const Tensor gx = grad({x * 2.0}, {x}, {ones({3}, DType::f64)})[0];
  CHECK(gx.dtype() == DType::f32);
  CHECK(allclose(gx, full_like(gx, 2.0), 0, 0).ok);
  backward(x * 2.0, ones({3}, DType::f64));
  CHECK(x.grad().dtype() == DType::f32);
  backward(sum(x));
  CHECK(allclose(x.grad(), full_like(x, 3.0), 0, 0).ok);
  const Tensor f = setup_filter({1, 3, 3, 1}), xi = random_tensor({1, 1, 4, 4}, 7, DType::f32).requires_grad_();
  const Tensor up = upsample2d(xi, f, 2);
  const Tensor g32 = grad({up}, {xi}, {random_tensor(up.shape(), 8, DType::f32)}, false, true)[0];
  const Tensor g64 = grad({up}, {xi}, {random_tensor(up.shape(), 8, DType::f32).to(DType::f64)})[0];
  CHECK(g64.dtype() == DType::f32);
  CHECK(allclose(g64, g32, 0, 0).ok);
}

TEST_CASE("passes of several threads through one retained graph each get the one-thread gradient", "[autograd]") {
  // A graph built once (a shared node) and differentiated by worker threads
  // with retain_graph: each pass wrote its own "needed" marks into the shared
  // node, so another pass lost an edge: a wrong gradient without a word, or
  // "not reached" (a helper's reproduction: every run failed).
  Tensor p = random_tensor({64}, 11, DType::f32).requires_grad_();
  const Tensor shared = exp(p * 0.5);
  auto pass = [&](bool through_p_too) {
    const Tensor loss = through_p_too ? sum(shared * 2.0) + sum(p * p) : sum(shared * 2.0);
    return grad({loss}, {p}, {}, false, /*retain_graph=*/true)[0];
  };
  const Tensor want[2] = {pass(false), pass(true)};
  std::atomic<int> wrong{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < 1500; ++k) {
        try {
          const bool both = (k + t) % 2 == 1;
          if (!allclose(pass(both), want[both], 0, 0).ok) ++wrong;
        } catch (const std::exception&) {
          ++errors;
        }
      }
    });
  for (std::thread& th : threads) th.join();
  CHECK(wrong.load() == 0);
  CHECK(errors.load() == 0);
}

TEST_CASE("backward of several threads into one leaf accumulates every gradient", "[autograd]") {
  // Hogwild-style: threads' passes share a parameter. Replacing its .grad
  // from two threads at once double-released it (a crash in the pool).
  Tensor p = random_tensor({16}, 12, DType::f32).requires_grad_();
  constexpr int kThreads = 4, kPerThread = 3000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int k = 0; k < kPerThread; ++k) backward(sum(p * 1.0));
    });
  for (std::thread& th : threads) th.join();
  CHECK(allclose(p.grad(), full_like(p, double(kThreads) * kPerThread), 0, 0).ok);
}

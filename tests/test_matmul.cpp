// matmul: values against a plain triple loop for every transpose combination,
// batched and with a shared 2-D operand; first- and second-order gradient
// checks; shape errors; CUDA (cuBLAS) against the CPU (OpenBLAS).
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>

#include "tests/testing.h"

#if GF_WITH_CUDA && !GF_CUDA_EMU
#include "kernels/cublas_loader.h"
#endif

using namespace gf;
using gf::test::allclose;
using gf::test::gradcheck;
using gf::test::gradgradcheck;
using gf::test::random_tensor;

namespace {

// How the operands of one case are laid out.
struct Case {
  int64_t m, k, n;
  Shape batch_a, batch_b;  // empty: a 2-D operand, shared when the other side is batched
};

const std::vector<Case> kCases = {
    {3, 4, 5, {}, {}},           // plain 2-D
    {2, 3, 4, {2, 3}, {2, 3}},   // batched, two batch dims
    {3, 2, 4, {}, {3}},          // A shared across B's batch
    {4, 3, 2, {3}, {}},          // B shared across A's batch
    {1, 5, 1, {2}, {2}},         // vector-like products
};

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector()) m = std::max(m, std::fabs(v));
  return m;
}

Shape stored_shape(Shape batch, int64_t rows, int64_t cols, bool trans) {
  batch.push_back(trans ? cols : rows);
  batch.push_back(trans ? rows : cols);
  return batch;
}

// op(A) op(B) with plain loops, batch broadcast as matmul defines it.
std::vector<double> loop_matmul(const Tensor& a, const Tensor& b, const Case& c, bool ta, bool tb) {
  const auto va = a.to_vector(), vb = b.to_vector();
  const int64_t batch = shape_numel(c.batch_a.empty() ? c.batch_b : c.batch_a);
  const int64_t sa = c.batch_a.empty() ? 0 : c.m * c.k, sb = c.batch_b.empty() ? 0 : c.k * c.n;
  std::vector<double> out(static_cast<size_t>(batch * c.m * c.n), 0.0);
  for (int64_t p = 0; p < batch; ++p)
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        double acc = 0;
        for (int64_t l = 0; l < c.k; ++l)
          acc += va[static_cast<size_t>(p * sa + (ta ? l * c.m + i : i * c.k + l))] *
                 vb[static_cast<size_t>(p * sb + (tb ? j * c.k + l : l * c.n + j))];
        out[static_cast<size_t>((p * c.m + i) * c.n + j)] = acc;
      }
  return out;
}

}  // namespace

TEST_CASE("matmul matches a triple loop for every transpose and batch layout", "[matmul]") {
  for (const Case& c : kCases)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        INFO("m " << c.m << " k " << c.k << " n " << c.n << " batch_a " << shape_str(c.batch_a) << " batch_b "
                  << shape_str(c.batch_b) << " trans " << ta << tb);
        for (DType t : {DType::f32, DType::f64}) {
          const Tensor a = random_tensor(stored_shape(c.batch_a, c.m, c.k, ta), 1, t);
          const Tensor b = random_tensor(stored_shape(c.batch_b, c.k, c.n, tb), 2, t);
          const Tensor y = matmul(a, b, ta, tb);
          Shape out = c.batch_a.empty() ? c.batch_b : c.batch_a;
          out.push_back(c.m);
          out.push_back(c.n);
          REQUIRE(y.shape() == out);
          const Tensor want = Tensor::from_vector(loop_matmul(a, b, c, ta, tb), out, DType::f64);
          const auto chk = allclose(y.to(DType::f64), want, t == DType::f32 ? 1e-5 : 1e-12, 1e-6);
          INFO(chk.message);
          CHECK(chk.ok);
        }
      }
}

TEST_CASE("matmul: the same bits at 1, 2 and 3 threads", "[matmul]") {
  // Shapes where OpenBLAS 0.3.21 on SkylakeX, splitting a product by its
  // thread count, gave other bits: sgemm 100x700 * 700x200 at 1 thread
  // against 2, dgemm 300^3 at 3 threads against 1 and 2; and a short, wide
  // product (the mapping network's at a small batch), cut by columns.
  struct Shape3 {
    int64_t m, k, n;
    DType t;
  };
  for (const Shape3 c : {Shape3{100, 700, 200, DType::f32}, Shape3{300, 300, 300, DType::f64},
                         Shape3{300, 300, 300, DType::f32}, Shape3{4, 512, 2048, DType::f64}}) {
    for (const bool ta : {false, true})
      for (const bool tb : {false, true}) {
        const Tensor a = random_tensor(ta ? Shape{c.k, c.m} : Shape{c.m, c.k}, 41, c.t);
        const Tensor b = random_tensor(tb ? Shape{c.n, c.k} : Shape{c.k, c.n}, 42, c.t);
        std::vector<Tensor> got;
        for (int threads : {1, 2, 3}) {
          test::OmpThreads scope(threads);
          got.push_back(matmul(a, b, ta, tb));
        }
        INFO(c.m << "x" << c.k << " * " << c.k << "x" << c.n << " " << dtype_name(c.t) << ", transposes " << ta
                 << tb);
        CHECK(test::bit_equal(got[0], got[1]));
        CHECK(test::bit_equal(got[0], got[2]));
      }
  }
}

TEST_CASE("matmul with an empty inner dim is zero", "[matmul]") {
  const Tensor y = matmul(random_tensor({2, 3, 0}, 1), random_tensor({0, 4}, 2));
  REQUIRE(y.shape() == Shape{2, 3, 4});
  for (double v : y.to_vector()) CHECK(v == 0.0);
}

TEST_CASE("matmul gradients match finite differences", "[matmul]") {
  for (const Case& c : kCases)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        INFO("m " << c.m << " k " << c.k << " n " << c.n << " batch_a " << shape_str(c.batch_a) << " batch_b "
                  << shape_str(c.batch_b) << " trans " << ta << tb);
        Tensor a = random_tensor(stored_shape(c.batch_a, c.m, c.k, ta), 3).requires_grad_();
        Tensor b = random_tensor(stored_shape(c.batch_b, c.k, c.n, tb), 4).requires_grad_();
        const auto chk = gradcheck([ta, tb](const std::vector<Tensor>& in) { return matmul(in[0], in[1], ta, tb); },
                                   {a, b});
        INFO(chk.message);
        CHECK(chk.ok);
      }
}

TEST_CASE("matmul second-order gradients match finite differences", "[matmul]") {
  for (const Case& c : kCases)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        INFO("m " << c.m << " k " << c.k << " n " << c.n << " batch_a " << shape_str(c.batch_a) << " batch_b "
                  << shape_str(c.batch_b) << " trans " << ta << tb);
        Tensor a = random_tensor(stored_shape(c.batch_a, c.m, c.k, ta), 5).requires_grad_();
        Tensor b = random_tensor(stored_shape(c.batch_b, c.k, c.n, tb), 6).requires_grad_();
        // Squared so the first-order gradient depends on both operands.
        const auto chk = gradgradcheck(
            [ta, tb](const std::vector<Tensor>& in) { return square(matmul(in[0], in[1], ta, tb)); }, {a, b});
        INFO(chk.message);
        CHECK(chk.ok);
      }
}

TEST_CASE("matmul rejects operands that do not fit", "[matmul]") {
  using Catch::Matchers::Contains;
  const Tensor a = random_tensor({2, 3, 4}, 1);
  REQUIRE_THROWS_WITH(matmul(a, random_tensor({2, 5, 6}, 2)), Contains("matmul") && Contains("[2, 5, 6]"));
  REQUIRE_THROWS_WITH(matmul(a, random_tensor({3, 4, 6}, 2)), Contains("matmul") && Contains("batch"));
  REQUIRE_THROWS_WITH(matmul(random_tensor({4}, 1), random_tensor({4, 2}, 2)), Contains("matmul") && Contains("[4]"));
  REQUIRE_THROWS_AS(matmul(a, random_tensor({4, 2}, 2, DType::f32)), gf::Error);
  REQUIRE_THROWS_AS(matmul(a, random_tensor({3, 2}, 2), true, true), gf::Error);
}

TEST_CASE("matmul on cuda matches the cpu", "[matmul][cuda]") {
  const Device gpu = Device::cuda(0);
  const std::vector<Case> sweep = {
      {1, 1, 1, {}, {}},       {17, 33, 9, {}, {}},   {64, 129, 65, {}, {}},  {5, 7, 3, {3, 2}, {3, 2}},
      {13, 6, 11, {}, {4}},    {13, 6, 11, {4}, {}},  {1, 100, 1, {7}, {7}}, {31, 1, 31, {2}, {}},
  };
  for (const Case& c : sweep)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (DType t : {DType::f32, DType::f64}) {
          INFO("m " << c.m << " k " << c.k << " n " << c.n << " batch_a " << shape_str(c.batch_a) << " batch_b "
                    << shape_str(c.batch_b) << " trans " << ta << tb << " " << dtype_name(t));
          const Tensor a = random_tensor(stored_shape(c.batch_a, c.m, c.k, ta), 11, t);
          const Tensor b = random_tensor(stored_shape(c.batch_b, c.k, c.n, tb), 12, t);
          const double tol = t == DType::f32 ? 1e-4 : 1e-12;
          std::vector<Tensor> results[2];
          for (Device d : {Device::cpu(), gpu}) {
            Tensor da = a.to(d).detach().requires_grad_(), db = b.to(d).detach().requires_grad_();
            Tensor y = matmul(da, db, ta, tb);
            const Tensor gy = random_tensor(y.shape(), 13, t, d);
            const auto g = grad({y}, {da, db}, {gy});
            results[d.is_cuda()] = {y, g[0], g[1]};
          }
          for (size_t i = 0; i < 3; ++i) {
            // Rounding error grows with the size of the sums, not of each element.
            const auto chk =
                allclose(results[1][i].to(Device::cpu()), results[0][i], tol, tol * max_abs(results[0][i]));
            INFO("output " << i << ": " << chk.message);
            CHECK(chk.ok);
          }
        }
}

#if GF_WITH_CUDA && !GF_CUDA_EMU
// The CUDA build loads cuBLAS with dlopen at its first use
// (kernels/cublas_loader.h). Resolving needs no GPU, so these run with the
// CPU cases; the emulator's build fills the table without dlopen, and the
// [cuda] case above runs the GEMMs through it there and on a GPU.
TEST_CASE("cuBLAS loader resolves every function from each library it would try", "[matmul]") {
  const std::vector<std::string> libs = gf::cuda::cublas_libraries();
  REQUIRE(libs.size() >= 1);
  CHECK(libs.front().rfind("libcublas.so.", 0) == 0);  // the soname, for LD_LIBRARY_PATH and the RUNPATH
  for (const std::string& lib : libs) {
    INFO(lib);
    const gf::cuda::CublasApi api = gf::cuda::load_cublas({lib});
    CHECK(api.create != nullptr);
    CHECK(api.set_stream != nullptr);
    CHECK(api.sgemm_strided_batched != nullptr);
    CHECK(api.dgemm_strided_batched != nullptr);
  }
}

TEST_CASE("cuBLAS loader names every library it tried and the loader's reason", "[matmul]") {
  using Catch::Matchers::Contains;
  // Neither loads: one error naming both, with dlerror()'s reason.
  REQUIRE_THROWS_WITH(gf::cuda::load_cublas({"libcublas_gf_missing.so.13", "/nonexistent/libcublas.so.13"}),
                      Contains("cuBLAS: cannot load libcublas (") && Contains("libcublas_gf_missing.so.13: ") &&
                          Contains("/nonexistent/libcublas.so.13: ") && Contains("No such file"));
  // A missing first choice falls back to the next.
  const std::vector<std::string> libs = gf::cuda::cublas_libraries();
  CHECK(gf::cuda::load_cublas({"libcublas_gf_missing.so.13", libs.back()}).create != nullptr);
  // A library that loads but is not cuBLAS: the first missing function, by its exported name.
  REQUIRE_THROWS_WITH(gf::cuda::load_cublas({"libm.so.6"}), Contains("libm.so.6 has no cublasCreate_v2"));
}
#endif

#include "metrics/kernel_inception_distance.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "engine/error.h"
#include "kernels/matmul.h"
#include "kernels/parallel.h"
#include "kernels/philox.h"

namespace gf::metrics {
namespace {

// 64-bit words from the Philox stream of a seed, four 32-bit words per counter.
class Words64 {
 public:
  Words64(uint64_t seed, uint64_t& counter) : seed_(seed), counter_(counter) {}
  uint64_t next() {
    if (used_ == 4) {
      block_ = philox::block(seed_, counter_++);
      used_ = 0;
    }
    const uint64_t w = (uint64_t(block_.v[used_]) << 32) | block_.v[used_ + 1];
    used_ += 2;
    return w;
  }
  // Uniform in [0, n) without modulo bias: words below 2^64 mod n are
  // rejected, which leaves a range that is a whole multiple of n.
  uint64_t below(uint64_t n) {
    const uint64_t reject = (0 - n) % n;
    for (;;)
      if (const uint64_t w = next(); w >= reject) return w % n;
  }

 private:
  uint64_t seed_;
  uint64_t& counter_;
  philox::Words block_{};
  int used_ = 4;
};

// Rows idx of the float32 [n, dim] features, widened to float64 [m, dim].
void gather(const std::vector<float>& f, int64_t n, int64_t dim, const std::vector<int64_t>& idx,
            std::vector<double>& out) {
  std::vector<int64_t> sorted(idx);
  std::sort(sorted.begin(), sorted.end());
  GF_CHECK(sorted.front() >= 0 && sorted.back() < n, "kernel_inception_distance",
           "a subset index is outside [0, " << n << ")");
  GF_CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(), "kernel_inception_distance",
           "a subset holds a row twice (subsets are drawn without replacement)");
  out.resize(idx.size() * size_t(dim));
  for (size_t i = 0; i < idx.size(); ++i) {
    const float* row = f.data() + size_t(idx[i]) * size_t(dim);
    for (int64_t j = 0; j < dim; ++j) {
      GF_CHECK(std::isfinite(row[j]), "kernel_inception_distance", "a feature is not finite");
      out[i * size_t(dim) + size_t(j)] = row[j];
    }
  }
}

double cube(double v) { return v * v * v; }

}  // namespace

int64_t kid_subset_size(int64_t n_gen, int64_t n_real, int64_t max_subset_size) {
  return std::min({n_gen, n_real, max_subset_size});
}

std::vector<int64_t> choice_without_replacement(int64_t n, int64_t m, uint64_t seed, uint64_t& counter) {
  GF_CHECK(m >= 0 && m <= n, "choice_without_replacement", "cannot choose " << m << " distinct items of " << n);
  // Fisher-Yates over a virtual [0, n): only the swapped positions are
  // stored, so a draw costs O(m) whatever n (a million real images).
  std::unordered_map<int64_t, int64_t> moved;
  auto at = [&](int64_t i) {
    const auto it = moved.find(i);
    return it == moved.end() ? i : it->second;
  };
  Words64 words(seed, counter);
  std::vector<int64_t> out;
  out.reserve(size_t(m));
  for (int64_t i = 0; i < m; ++i) {
    const int64_t j = i + int64_t(words.below(uint64_t(n - i)));
    const int64_t vj = at(j);
    moved[j] = at(i);
    out.push_back(vj);
  }
  return out;
}

KidSubsets draw_kid_subsets(int64_t n_gen, int64_t n_real, int64_t m, int num_subsets, uint64_t seed) {
  GF_CHECK(num_subsets > 0, "draw_kid_subsets", "num_subsets must be positive");
  KidSubsets s;
  uint64_t counter = uint64_t(1) << 63;
  for (int k = 0; k < num_subsets; ++k) {
    s.gen.push_back(choice_without_replacement(n_gen, m, seed, counter));
    s.real.push_back(choice_without_replacement(n_real, m, seed, counter));
  }
  return s;
}

double kernel_inception_distance(const std::vector<float>& gen, int64_t n_gen, const std::vector<float>& real,
                                 int64_t n_real, int64_t dim, const std::vector<std::vector<int64_t>>& gen_subsets,
                                 const std::vector<std::vector<int64_t>>& real_subsets) {
  GF_CHECK(dim > 0 && n_gen >= 0 && n_real >= 0 && gen.size() == size_t(n_gen * dim) &&
               real.size() == size_t(n_real * dim),
           "kernel_inception_distance",
           gen.size() << " and " << real.size() << " values are not " << n_gen << " and " << n_real << " rows of "
                      << dim << " features");
  GF_CHECK(!gen_subsets.empty() && gen_subsets.size() == real_subsets.size(), "kernel_inception_distance",
           gen_subsets.size() << " generated and " << real_subsets.size() << " real subsets; need as many of each");
  const int64_t m = int64_t(gen_subsets[0].size());
  GF_CHECK(m >= 2, "kernel_inception_distance",
           "subsets of " << m << " rows; KID needs at least 2 generated and 2 real images");
  for (size_t s = 0; s < gen_subsets.size(); ++s)
    GF_CHECK(int64_t(gen_subsets[s].size()) == m && int64_t(real_subsets[s].size()) == m,
             "kernel_inception_distance", "subset " << s << " is not of " << m << " rows as the first");
  const double inv_n = 1.0 / double(dim);  // k(x, y) = (x.y / n + 1)^3: BLAS scales by 1/n
  std::vector<double> x, y, kxx(size_t(m * m)), kyy(size_t(m * m)), kxy(size_t(m * m));
  double t = 0;
  for (size_t s = 0; s < gen_subsets.size(); ++s) {
    gather(gen, n_gen, dim, gen_subsets[s], x);
    gather(real, n_real, dim, real_subsets[s], y);
    // Gram matrices: x x^T and y y^T are symmetric (upper triangle only), x y^T is not.
    // OpenBLAS splits dsyrk by the thread count: it runs on one thread, and
    // cpu::gemm's tiles are fixed by the shape, so KID is the same on any.
    const blasint bm = blasint(m), bd = blasint(dim);
    cpu::on_one_thread([&] {
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, bm, bd, inv_n, x.data(), bd, 0.0, kxx.data(), bm);
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, bm, bd, inv_n, y.data(), bd, 0.0, kyy.data(), bm);
    });
    cpu::gemm<double>(false, true, m, m, dim, inv_n, x.data(), dim, y.data(), dim, 0.0, kxy.data(), m);
    // sum(a) - trace(a) for a = K_xx + K_yy: twice the strict upper triangle.
    double off = 0, cross = 0;
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = i + 1; j < m; ++j)
        off += cube(kxx[size_t(i * m + j)] + 1) + cube(kyy[size_t(i * m + j)] + 1);
      for (int64_t j = 0; j < m; ++j) cross += cube(kxy[size_t(i * m + j)] + 1);
    }
    t += 2 * off / double(m - 1) - cross * 2 / double(m);
  }
  return t / double(gen_subsets.size()) / double(m);
}

}  // namespace gf::metrics

#include "metrics/frechet.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "kernels/matmul.h"
#include "kernels/parallel.h"

// LAPACK's symmetric eigensolver (divide and conquer), from the OpenBLAS the
// engine links: OpenBLAS carries LAPACK. A Fortran routine with character
// arguments takes their lengths as trailing hidden arguments (gfortran:
// size_t each); they are passed, so no caller-side frame is assumed. It runs
// on one thread: its blocked steps call OpenBLAS, which splits them by the
// thread count, and the eigenvalues' last bits (FID's) changed with it.
extern "C" void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                        double* work, const int* lwork, int* iwork, const int* liwork, int* info, size_t jobz_len,
                        size_t uplo_len);

namespace gf::metrics {
namespace {

// Eigenvalues of the symmetric a [d, d] (ascending); with vectors, a becomes
// the eigenvectors as columns in column-major, i.e. rows in row-major.
std::vector<double> symmetric_eigen(std::vector<double>& a, int d, bool vectors) {
  const char jobz = vectors ? 'V' : 'N', uplo = 'U';
  std::vector<double> w(static_cast<size_t>(d));
  int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  dsyevd_(&jobz, &uplo, &d, a.data(), &d, w.data(), &work_query, &lwork, &iwork_query, &liwork, &info, 1, 1);
  GF_CHECK(info == 0, "frechet_distance", "LAPACK dsyevd workspace query failed (info " << info << ")");
  lwork = int(work_query);
  liwork = iwork_query;
  std::vector<double> work(size_t(std::max(lwork, 1)));
  std::vector<int> iwork(size_t(std::max(liwork, 1)));
  cpu::on_one_thread(
      [&] { dsyevd_(&jobz, &uplo, &d, a.data(), &d, w.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1); });
  GF_CHECK(info == 0, "frechet_distance", "LAPACK dsyevd did not converge (info " << info << ")");
  return w;
}

}  // namespace

double trace_sqrt_product(const std::vector<double>& s1, const std::vector<double>& s2, int d) {
  GF_CHECK(d > 0 && s1.size() == size_t(d) * d && s2.size() == size_t(d) * d, "trace_sqrt_product",
           "covariances must be [" << d << ", " << d << "]");
  // A = V diag(sqrt(max(l, 0))) V^T from S_1 = V diag(l) V^T. LAPACK is
  // column-major; S_1 is symmetric, so its row-major bytes are the same
  // matrix, and the eigenvectors come back as the rows of v here.
  std::vector<double> v(s1);
  const std::vector<double> l = symmetric_eigen(v, d, /*vectors=*/true);
  std::vector<double> vs(v);  // rows scaled: sqrt(l_k) v_k
  for (int k = 0; k < d; ++k) {
    const double r = std::sqrt(std::max(l[size_t(k)], 0.0));
    for (int j = 0; j < d; ++j) vs[size_t(k) * d + j] *= r;
  }
  std::vector<double> a(size_t(d) * d), t(size_t(d) * d), m(size_t(d) * d);
  // a = V^T-rows^T ... : A[i][j] = sum_k v[k][i] sqrt(l_k) v[k][j]
  // (cpu::gemm: tiles fixed by the shape, the same bits on any thread count)
  cpu::gemm<double>(true, false, d, d, d, 1.0, v.data(), d, vs.data(), d, 0.0, a.data(), d);
  cpu::gemm<double>(false, false, d, d, d, 1.0, a.data(), d, s2.data(), d, 0.0, t.data(), d);
  cpu::gemm<double>(false, false, d, d, d, 1.0, t.data(), d, a.data(), d, 0.0, m.data(), d);
  for (int i = 0; i < d; ++i)  // symmetric up to rounding: make it exactly so
    for (int j = 0; j < i; ++j) m[size_t(i) * d + j] = m[size_t(j) * d + i] = 0.5 * (m[size_t(i) * d + j] + m[size_t(j) * d + i]);
  const std::vector<double> e = symmetric_eigen(m, d, /*vectors=*/false);
  double tr = 0;
  for (double x : e) tr += std::sqrt(std::max(x, 0.0));
  return tr;
}

double frechet_distance(const std::vector<double>& mu1, const std::vector<double>& sigma1,
                        const std::vector<double>& mu2, const std::vector<double>& sigma2) {
  const size_t d = mu1.size();
  GF_CHECK(d > 0 && mu2.size() == d && sigma1.size() == d * d && sigma2.size() == d * d, "frechet_distance",
           "means of " << mu1.size() << " and " << mu2.size() << " features and covariances of " << sigma1.size()
                       << " and " << sigma2.size() << " values do not match");
  for (const auto* v : {&mu1, &sigma1, &mu2, &sigma2})
    for (double x : *v) GF_CHECK(std::isfinite(x), "frechet_distance", "statistics hold a non-finite value");
  double m = 0, tr = 0;
  for (size_t i = 0; i < d; ++i) {
    m += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
    tr += sigma1[i * d + i] + sigma2[i * d + i];
  }
  return m + tr - 2 * trace_sqrt_product(sigma1, sigma2, int(d));
}

}  // namespace gf::metrics

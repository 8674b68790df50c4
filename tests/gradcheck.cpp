#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <new>
#include <random>
#include <sstream>
#include <stdexcept>

#include "engine/strings.h"
#include "tests/testing.h"

namespace gf::test {

Tensor random_tensor(const Shape& s, uint64_t seed, DType t, Device d, double scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd(0.0, scale);
  std::vector<double> v(static_cast<size_t>(shape_numel(s)));
  for (auto& x : v) x = nd(rng);
  return Tensor::from_vector(v, s, t, d);
}

Tensor uniform_tensor(const Shape& s, uint64_t seed, double lo, double hi, DType t, Device d) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> ud(lo, hi);
  std::vector<double> v(static_cast<size_t>(shape_numel(s)));
  for (auto& x : v) x = ud(rng);
  return Tensor::from_vector(v, s, t, d);
}

TempDir::TempDir(const std::string& tag)
    : path(std::filesystem::temp_directory_path() / ("gf_test_" + tag + "_" + std::to_string(::getpid()))) {
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

int shell(const std::string& command) {
  const std::string tmp = std::filesystem::temp_directory_path().string();
  const std::string shell_chars = " '\"`$\\;&|<>()*?[]#~{}!";
  for (const unsigned char c : tmp)
    if (c < 0x20 || shell_chars.find(char(c)) != std::string::npos)
      throw std::runtime_error("the temporary folder '" + tmp +
                               "' (TMPDIR) holds a space or a shell character, which these tests' command lines "
                               "do not quote: set TMPDIR to a plain path");
  const int st = std::system(command.c_str());
  return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

ChildEnd run_in_child(const std::function<void()>& fn) {
  int pipe_fd[2];
  REQUIRE(::pipe(pipe_fd) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(pipe_fd[1], 2);
    fn();
    ::_exit(3);
  }
  ::close(pipe_fd[1]);
  ChildEnd end;
  char buf[256];
  for (ssize_t k; (k = ::read(pipe_fd[0], buf, sizeof buf)) > 0;) end.err.append(buf, size_t(k));
  ::close(pipe_fd[0]);
  REQUIRE(::waitpid(child, &end.status, 0) == child);
  return end;
}

uint64_t mapped_bytes() {
  uint64_t pages = 0;
  std::ifstream("/proc/self/statm") >> pages;
  return pages * uint64_t(::sysconf(_SC_PAGE_SIZE));
}

uint64_t limit_address_space(uint64_t extra) {
  const uint64_t limit = mapped_bytes() + extra;
  const rlimit as{rlim_t(limit), rlim_t(limit)};
  return ::setrlimit(RLIMIT_AS, &as) == 0 ? limit : 0;
}

ChildEnd run_with_address_limit(uint64_t extra, const std::function<void()>& fn) {
  return run_in_child([&] {
    if (limit_address_space(extra) == 0) ::_exit(4);
    try {
      fn();
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "out of memory\n");
      ::_exit(2);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      ::_exit(1);
    }
    ::_exit(0);
  });
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor ac = a.to(Device::cpu()), bc = b.to(Device::cpu());
  return std::memcmp(ac.raw(), bc.raw(), size_t(ac.nbytes())) == 0;
}

Check allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  Check c;
  if (a.shape() != b.shape()) {
    c.ok = false;
    c.message = "shapes differ: " + shape_str(a.shape()) + " vs " + shape_str(b.shape());
    return c;
  }
  const auto va = a.to_vector(), vb = b.to_vector();
  size_t worst = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    const double diff = std::fabs(va[i] - vb[i]);
    // Exact equality passes even with zero tolerances; NaN counts as the worst.
    double err = diff == 0 ? 0.0 : diff / (atol + rtol * std::fabs(vb[i]));
    if (std::isnan(err)) err = INFINITY;
    if (err > c.max_err) {
      c.max_err = err;
      worst = i;
    }
  }
  c.ok = c.max_err <= 1.0;
  std::ostringstream os;
  os << "max scaled error " << c.max_err << " at flat index " << worst;
  if (!va.empty()) os << " (got " << va[worst] << ", want " << vb[worst] << ")";
  c.message = os.str();
  return c;
}

namespace {

double weighted_sum(const Tensor& y, const Tensor& w) {
  NoGradGuard ng;
  return sum(mul(y, w)).item();
}

}  // namespace

Check gradcheck(const Fn& f, const std::vector<Tensor>& inputs, double eps, double rtol, double atol) {
  Check result;
  for (const Tensor& t : inputs)
    if (t.defined() && (t.dtype() != DType::f64 || !t.device().is_cpu() || !t.is_leaf())) {
      result.ok = false;
      result.message = "gradcheck needs float64 CPU leaf inputs, got " + t.desc();
      return result;
    }
  Tensor y = f(inputs);
  const Tensor w = random_tensor(y.shape(), 12345, DType::f64);
  std::vector<Tensor> wanted;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) wanted.push_back(t);
  // A loss that does not depend on the inputs (the gradient of a linear map,
  // say) has zero gradient.
  const Tensor loss = sum(mul(y, w));
  const std::vector<Tensor> analytic =
      loss.requires_grad() ? grad({loss}, wanted, {}, false, false, true) : std::vector<Tensor>(wanted.size());
  std::ostringstream os;
  for (size_t k = 0; k < wanted.size(); ++k) {
    Tensor x = wanted[k];
    double* p = x.data<double>();
    std::vector<double> numeric(static_cast<size_t>(x.numel()));
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double orig = p[i];
      p[i] = orig + eps;
      const double up = weighted_sum(f(inputs), w);
      p[i] = orig - eps;
      const double down = weighted_sum(f(inputs), w);
      p[i] = orig;
      numeric[static_cast<size_t>(i)] = (up - down) / (2 * eps);
    }
    const Tensor num = Tensor::from_vector(numeric, x.shape(), DType::f64);
    const Tensor ana = analytic[k].defined() ? analytic[k] : zeros_like(x);
    const Check c = allclose(ana, num, rtol, atol);
    result.max_err = std::max(result.max_err, c.max_err);
    if (!c.ok) {
      result.ok = false;
      os << "input " << k << " " << shape_str(x.shape()) << ": " << c.message << "; ";
    }
  }
  result.message = result.ok ? "ok" : os.str();
  return result;
}

Check gradgradcheck(const Fn& f, const std::vector<Tensor>& inputs, double eps, double rtol, double atol) {
  // Fixed weights for the output and for each first-order gradient.
  std::vector<Tensor> wanted;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) wanted.push_back(t);
  Tensor w;
  std::vector<Tensor> v;
  {
    NoGradGuard ng;
    Tensor y0 = f(inputs);
    w = random_tensor(y0.shape(), 777, DType::f64);
    for (size_t k = 0; k < wanted.size(); ++k) v.push_back(random_tensor(wanted[k].shape(), 1000 + k, DType::f64));
  }
  Fn h = [&](const std::vector<Tensor>& xs) {
    GradModeGuard on(true);
    Tensor y = f(xs);
    std::vector<Tensor> g = grad({sum(mul(y, w))}, wanted, {}, true, true, true);
    Tensor total = zeros({}, DType::f64);
    for (size_t k = 0; k < g.size(); ++k)
      if (g[k].defined()) total = add(total, sum(mul(g[k], v[k])));
    return total;
  };
  return gradcheck(h, inputs, eps, rtol, atol);
}

void check_first_and_second_order(const Fn& f, const std::vector<Tensor>& inputs) {
  const Check g1 = gradcheck(f, inputs);
  INFO("first order: " << g1.message);
  CHECK(g1.ok);
  const Check g2 = gradgradcheck(f, inputs);
  INFO("second order: " << g2.message);
  CHECK(g2.ok);
}

void check_close_state(const io::TensorMap& got, const io::TensorMap& want, double rtol) {
  REQUIRE(got.size() == want.size());
  for (const auto& [name, w] : want) {
    INFO(name);
    REQUIRE(got.count(name));
    const Tensor& g = got.at(name);
    REQUIRE(g.shape() == w.shape());
    const bool exact = (name.rfind("state.", 0) == 0 && name != "state.pl_mean") || name.rfind("sampler.", 0) == 0 ||
                       ends_with(name, ".step");
    if (exact) {
      CHECK(g.to_vector() == w.to_vector());
      continue;
    }
    double scale = 0;
    for (double v : w.to_vector()) scale = std::max(scale, std::fabs(v));
    const Check c = allclose(g, w, rtol, rtol * scale + 1e-7);
    INFO(c.message);
    CHECK(c.ok);
  }
}

}  // namespace gf::test

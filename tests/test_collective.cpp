// Collectives over data-parallel replicas (engine/collective.h): every replica
// ends with the mean (or replica 0's values), with the same bits everywhere.
#include <catch2/catch.hpp>

#include "engine/collective.h"
#include "tests/testing.h"

namespace {

using namespace gf;
using gf::test::allclose;
using gf::test::random_tensor;

const std::vector<Shape> kShapes = {{3, 4}, {7}, {2, 3, 5}, {1}};

// Replica r's tensors: fresh random values, different on every replica.
std::vector<std::vector<Tensor>> replicas(const std::vector<Device>& devices, DType t, uint64_t seed) {
  std::vector<std::vector<Tensor>> all;
  for (size_t r = 0; r < devices.size(); ++r) {
    std::vector<Tensor> mine;
    for (size_t i = 0; i < kShapes.size(); ++i) mine.push_back(random_tensor(kShapes[i], seed + 10 * r + i, t, devices[r]));
    all.push_back(std::move(mine));
  }
  return all;
}

// The mean over replicas of tensor i, in float64 on the host.
Tensor host_mean(const std::vector<std::vector<Tensor>>& all, size_t i) {
  std::vector<double> m(static_cast<size_t>(all[0][i].numel()), 0.0);
  for (const auto& rep : all) {
    const std::vector<double> v = rep[i].to_vector();
    for (size_t k = 0; k < m.size(); ++k) m[k] += v[k] / static_cast<double>(all.size());
  }
  return Tensor::from_vector(m, all[0][i].shape(), DType::f64);
}

void check_mean_everywhere(const std::vector<Device>& devices, DType t, double rtol) {
  const auto all = replicas(devices, t, 100);
  std::vector<Tensor> expected;
  for (size_t i = 0; i < kShapes.size(); ++i) expected.push_back(host_mean(all, i));
  all_reduce_mean(all);
  for (size_t r = 0; r < all.size(); ++r)
    for (size_t i = 0; i < kShapes.size(); ++i) {
      INFO("replica " << r << ", tensor " << i);
      CHECK(all[r][i].device() == devices[r]);
      const auto c = allclose(all[r][i].to(DType::f64), expected[i], rtol, rtol);
      INFO(c.message);
      CHECK(c.ok);
      CHECK(all[r][i].to_vector() == all[0][i].to_vector());  // the same bits on every replica
    }
}

}  // namespace

TEST_CASE("all_reduce_mean leaves every replica the mean, bit-identical", "[collective]") {
  const DType t = GENERATE(DType::f32, DType::f64);
  const int n = GENERATE(2, 3, 4);
  INFO(dtype_name(t) << ", " << n << " replicas");
  check_mean_everywhere(std::vector<Device>(static_cast<size_t>(n), Device::cpu()), t, t == DType::f32 ? 1e-6 : 1e-14);
}

TEST_CASE("one replica is left untouched", "[collective]") {
  auto all = replicas({Device::cpu()}, DType::f32, 5);
  const std::vector<double> before = all[0][2].to_vector();
  all_reduce_mean(all);
  CHECK(all[0][2].to_vector() == before);
}

TEST_CASE("broadcast_from_first copies replica 0 into the others", "[collective]") {
  const auto all = replicas({Device::cpu(), Device::cpu(), Device::cpu()}, DType::f32, 7);
  const std::vector<double> first = all[0][0].to_vector();
  CHECK(all[2][0].to_vector() != first);
  broadcast_from_first(all);
  for (size_t r = 0; r < all.size(); ++r)
    for (size_t i = 0; i < kShapes.size(); ++i) CHECK(all[r][i].to_vector() == all[0][i].to_vector());
  CHECK(all[2][0].to_vector() == first);
}

TEST_CASE("replicas that do not match are refused, naming the replica", "[collective]") {
  auto all = replicas({Device::cpu(), Device::cpu()}, DType::f32, 9);
  SECTION("a misshapen tensor") {
    all[1][2] = zeros({2, 3, 4});
    CHECK_THROWS_WITH(all_reduce_mean(all), Catch::Contains("replica 1") && Catch::Contains("tensor 2"));
  }
  SECTION("a missing tensor") {
    all[1].pop_back();
    CHECK_THROWS_WITH(all_reduce_mean(all), Catch::Contains("replica 1 has 3 tensors"));
  }
  SECTION("another dtype") {
    all[1][0] = all[1][0].to(DType::f64);
    CHECK_THROWS_WITH(broadcast_from_first(all), Catch::Contains("replica 1") && Catch::Contains("one dtype"));
  }
}

TEST_CASE("all_reduce_mean across a GPU and the CPU, and across GPUs", "[collective][cuda]") {
  check_mean_everywhere({Device::cuda(0), Device::cpu()}, DType::f32, 1e-6);
  check_mean_everywhere({Device::cpu(), Device::cuda(0), Device::cuda(0)}, DType::f32, 1e-6);
  if (cuda_device_count() >= 2) {
    enable_peer_access({Device::cuda(0), Device::cuda(1)});
    check_mean_everywhere({Device::cuda(0), Device::cuda(1)}, DType::f32, 1e-6);
    check_mean_everywhere({Device::cuda(1), Device::cuda(0), Device::cuda(1)}, DType::f32, 1e-6);
  }
}

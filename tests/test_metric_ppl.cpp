// PPL: the official percentile filter, the path's points (slerp, lerp), the face crop, the distances, the StyleGAN 2
// and v1 paths through calc_metric, and the distances against the PyTorch references (make_ppl_fixtures.py).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "engine/io/safetensors.h"
#include "engine/module.h"
#include "engine/ops.h"
#include "metrics/compute_features.h"
#include "metrics/generators.h"
#include "metrics/metric_main.h"
#include "metrics/perceptual_path_length.h"
#include "models/network_file.h"
#include "models/perceptual/vgg16.h"
#include "models/stylegan/config.h"
#include "models/stylegan/networks.h"
#include "models/stylegan2/config.h"
#include "models/stylegan2/generator.h"
#include "models/stylegan2/network_file.h"
#include "tests/metrics_fixture.h"
#include "tests/testing.h"
#include "tests/vgg16_fixture.h"

using namespace gf;
using namespace gf::metrics;
using gf::test::flat_embedding;
using gf::test::floats;
using gf::test::golden;
using gf::test::stand_in_context;

TEST_CASE("filtered_mean equals the official percentile filter and mean", "[metrics]") {
  const auto g = golden();
  for (const char* name : {"ppl_n1", "ppl_n2", "ppl_n101", "ppl_n250", "ppl_n1000_ties"}) {
    const std::vector<double> want = g.at(std::string(name) + ".ppl").to_vector();  // official, float64 mean, kept
    const double got = filtered_mean(floats(g.at(std::string(name) + ".dist")));
    INFO(name << ": got " << got << ", numpy " << want[0] << " (float32), " << want[1] << " (float64), kept "
              << want[2]);
    // The same values kept (a different set moves the float64 mean far
    // more than rounding), and the official float32 mean to its rounding.
    CHECK(std::abs(got - want[1]) <= 1e-12 * std::abs(want[1]));
    CHECK(std::abs(got - want[0]) <= 1e-6 * std::abs(want[0]));
  }
  // Outliers are dropped: 200 ones and two huge values keep the mean at 1.
  std::vector<float> d(200, 1.0f);
  d.push_back(1e9f);
  d.push_back(-1e9f);
  CHECK(filtered_mean(d) == 1.0);
  CHECK(std::isnan(filtered_mean({1.0f, std::nanf(""), 2.0f})));
  CHECK_THROWS_WITH(filtered_mean({}), Catch::Contains("no distances"));
}

TEST_CASE("slerp and lerp_rows: the path's points", "[metrics]") {
  const Tensor a = test::random_tensor({5, 7}, 11).to(DType::f32), b = test::random_tensor({5, 7}, 12).to(DType::f32);
  const std::vector<double> tv = {0.0, 1.0, 0.25, 0.5, 0.9};
  const Tensor t = Tensor::from_vector(tv, {5}).to(DType::f32);
  const Tensor s = slerp(a, b, t);
  const auto av = a.to_vector(), bv = b.to_vector(), sv = s.to_vector();
  for (int64_t i = 0; i < 5; ++i) {
    double na = 0, nb = 0, ns = 0, ab = 0, as = 0;
    for (int64_t k = 0; k < 7; ++k) {
      const size_t j = size_t(i * 7 + k);
      na += av[j] * av[j], nb += bv[j] * bv[j], ns += sv[j] * sv[j], ab += av[j] * bv[j], as += av[j] * sv[j];
    }
    INFO("row " << i << ", t " << tv[size_t(i)]);
    CHECK(ns == Approx(1.0).epsilon(1e-6));  // on the unit sphere
    // The angle from a is t times the angle between the ends.
    CHECK(std::acos(std::min(1.0, as / std::sqrt(na))) == Approx(tv[size_t(i)] * std::acos(ab / std::sqrt(na * nb))).margin(2e-3));
    if (tv[size_t(i)] == 1.0)
      for (int64_t k = 0; k < 7; ++k) CHECK(sv[size_t(i * 7 + k)] == Approx(bv[size_t(i * 7 + k)] / std::sqrt(nb)).margin(1e-6));
  }
  // The two points [2n]: t and t + epsilon, the second epsilon further along.
  const Tensor both = slerp_rows(a, b, t, 1e-2);
  REQUIRE(both.shape() == Shape{10, 7});
  CHECK(slice(both, 0, 0, 5).to_vector() == s.to_vector());

  // W: lerp at t and at t + epsilon (float32); t = 0 gives w0 itself.
  const Tensor w0 = test::random_tensor({5, 3, 4}, 13).to(DType::f32), w1 = test::random_tensor({5, 3, 4}, 14).to(DType::f32);
  const Tensor zero = zeros({5});
  const Tensor wl = lerp_rows(w0, w1, zero, 1e-4);
  REQUIRE(wl.shape() == Shape{10, 3, 4});
  CHECK(slice(wl, 0, 0, 5).to_vector() == w0.to_vector());
  const auto w0v = w0.to_vector(), w1v = w1.to_vector(), lv = wl.to_vector();
  for (size_t j = 0; j < w0v.size(); ++j)
    CHECK(lv[j + w0v.size()] == Approx(w0v[j] + double(1e-4f) * (w1v[j] - w0v[j])).margin(1e-7));
  // v1's tflib.lerp form agrees to rounding.
  const auto tf = lerp_rows(w0, w1, t, 1e-4, true).to_vector(), torch = lerp_rows(w0, w1, t, 1e-4).to_vector();
  for (size_t j = 0; j < tf.size(); ++j) CHECK(tf[j] == Approx(torch[j]).margin(1e-6));
  CHECK_THROWS_WITH(slerp(a, b, zeros({4})), Catch::Contains("t [N]"));
}

TEST_CASE("slerp is formed of engine ops: autograd sees through it", "[metrics][grad]") {
  // It runs where its rows are (no host round trip per batch on a GPU: the
  // [cuda] case below) and, as a composition of ops, is differentiable in
  // the ends and t; the host loop it replaced gave a tensor with no history.
  const Tensor a = test::random_tensor({3, 5}, 21).requires_grad_(), b = test::random_tensor({3, 5}, 22).requires_grad_();
  const Tensor t = Tensor::from_vector({0.2, 0.5, 0.9}, {3}, DType::f64).requires_grad_();
  const test::Fn f = [](const std::vector<Tensor>& in) { return slerp(in[0], in[1], in[2]); };
  const auto g = test::gradcheck(f, {a, b, t});
  INFO(g.message);
  CHECK(g.ok);
}

TEST_CASE("slerp_rows and lerp_rows on cuda: there, equal to the cpu's", "[metrics][cuda]") {
  const Device gpu = Device::cuda(0);
  const Tensor a = test::random_tensor({6, 512}, 23).to(DType::f32), b = test::random_tensor({6, 512}, 24).to(DType::f32);
  const Tensor t = Tensor::from_vector({0.0, 0.1, 0.3, 0.5, 0.7, 0.99}, {6}).to(DType::f32);
  const Tensor s = slerp_rows(a.to(gpu), b.to(gpu), t.to(gpu), 1e-4);
  CHECK(s.device() == gpu);
  CHECK(test::allclose(s.to(Device::cpu()), slerp_rows(a, b, t, 1e-4), 1e-5, 1e-6).ok);
  const Tensor l = lerp_rows(a.to(gpu), b.to(gpu), t.to(gpu), 1e-4);
  CHECK(l.device() == gpu);
  // nvcc may fuse lerp's multiply-add (--fmad=true), so the rows agree to rounding...
  CHECK(test::allclose(l.to(Device::cpu()), lerp_rows(a, b, t, 1e-4), 1e-6, 1e-7).ok);
  // ...and t + epsilon itself rounds alike: between 0 and 1 both lerp forms are exact.
  const Tensor zero = zeros({6, 4}), one = ones({6, 4});
  CHECK(lerp_rows(zero.to(gpu), one.to(gpu), t.to(gpu), 1e-4).to(Device::cpu()).to_vector() ==
        lerp_rows(zero, one, t, 1e-4).to_vector());
}

TEST_CASE("crop_and_downsample: the official face crop and block means", "[metrics]") {
  std::vector<double> v(2 * 16 * 16);
  for (size_t i = 0; i < v.size(); ++i) v[i] = double(i);
  const Tensor x = Tensor::from_vector(v, {1, 2, 16, 16}).to(DType::f32);
  const Tensor c = crop_and_downsample(x, true, 1);  // c = 2: rows 6..14, columns 4..12
  REQUIRE(c.shape() == Shape{1, 2, 8, 8});
  const auto cv = c.to_vector();
  CHECK(cv[0] == 6 * 16 + 4);
  CHECK(cv[63] == 13 * 16 + 11);
  CHECK(cv[64] == 256 + 6 * 16 + 4);
  const Tensor d = crop_and_downsample(x, true, 2);
  REQUIRE(d.shape() == Shape{1, 2, 4, 4});
  CHECK(d.to_vector()[0] == (96 + 4 + 96 + 5 + 112 + 4 + 112 + 5) / 4.0);
  CHECK(crop_and_downsample(x, false, 4).shape() == Shape{1, 2, 4, 4});
  CHECK_THROWS_WITH(crop_and_downsample(slice(x, 3, 0, 8), true, 1), Catch::Contains("square"));
  CHECK_THROWS_WITH(crop_and_downsample(x, false, 3), Catch::Contains("3x3 blocks"));
}

namespace {

stylegan2::GeneratorConfig ppl_g(int c_dim = 0) {
  stylegan2::GeneratorConfig c;
  c.z_dim = c.w_dim = 8;
  c.c_dim = c_dim;
  c.img_resolution = 16;
  c.img_channels = 1;
  c.channel_base = 64;
  c.channel_max = 8;
  c.mapping_layers = 2;
  return c;
}

}  // namespace

TEST_CASE("ppl_distances: the squared embedding difference over epsilon squared", "[metrics]") {
  // Images x and x + eps * delta on a 1/64 grid, so every step is exact:
  // with the pixels as the embedding, grey repeated to three channels, the
  // distance is 3 sum (127.5 delta)^2 whatever epsilon is.
  const double eps = 1.0 / 64;
  std::vector<double> x(2 * 16), y(2 * 16), want(2, 0.0);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = double(int(i * 7 % 50) - 25) / 64;
    const double delta = double(int(i % 5) - 2);
    y[i] = x[i] + eps * delta;
    want[i / 16] += 3 * (127.5 * delta) * (127.5 * delta);
  }
  std::vector<double> v = x;
  v.insert(v.end(), y.begin(), y.end());
  const Tensor pairs = Tensor::from_vector(v, {4, 1, 4, 4}).to(DType::f32);
  const auto d = ppl_distances(pairs, flat_embedding(), eps, Device::cpu()).to_vector();
  REQUIRE(d.size() == 2);
  CHECK(d[0] == Approx(want[0]).epsilon(1e-6));
  CHECK(d[1] == Approx(want[1]).epsilon(1e-6));
  CHECK_THROWS_WITH(ppl_distances(slice(pairs, 0, 0, 3), flat_embedding(), eps, Device::cpu()), Catch::Contains("[2n"));
}

TEST_CASE("perceptual_path_length reads the distances back in chunks: the same values in the same order", "[metrics]") {
  // 601 samples in batches of 2: three chunks of up to 256 batches (the last
  // partial, its last batch cut to one sample). Batch j draws from
  // batch_rng(rng, j); the same draws one batch at a time through
  // ppl_distances give the list.
  int calls = 0;
  const PathSampler paths = [&calls](int64_t n, const PplSpec&, gf::Generator& g) {
    ++calls;
    return rand({2 * n, 1, 4, 4}, g);
  };
  PplSpec spec;
  spec.epsilon = 1.0 / 64;
  const int64_t num = 601;
  gf::Generator a(5);
  std::vector<float> want;
  for (int64_t j = 0; int64_t(want.size()) < num; ++j) {
    gf::Generator b = batch_rng(a, j);
    for (double d : ppl_distances(paths(spec.batch, spec, b), flat_embedding(), spec.epsilon, Device::cpu()).to_vector())
      want.push_back(float(d));
  }
  want.resize(size_t(num));
  calls = 0;
  CHECK(perceptual_path_length(paths, flat_embedding(), spec, num, a, FeatureOptions{}) == filtered_mean(want));
  CHECK(calls == 301);  // no batch drawn past the last one needed
  CHECK(a.offset == 0);  // the batches draw from their own stretches, not from rng itself
}

TEST_CASE("the PPL metrics through calc_metric: draws, determinism, the network untouched, refusals", "[metrics]") {
  stylegan2::Generator G(ppl_g(3), 5);
  const auto ds_px = std::vector<uint8_t>(6 * 256, 100);
  const Dataset labelled("labelled", 16, 1, ds_px, std::vector<int64_t>{0, 1, 2, 0, 1, 2}, {});
  // The sampler's draws in the official order: labels, t, z (z0 the first
  // half), one fresh value set per noise_const buffer; t is 0 for "end".
  PplSpec wend;
  gf::Generator rng(3);
  const PathDraws d = stylegan2_path_draws(G, labelled, 2, wend, rng, Device::cpu());
  CHECK(d.c.shape() == Shape{2, 3});
  CHECK(d.t.to_vector() == std::vector<double>{0, 0});
  CHECK(d.z0.shape() == Shape{2, 8});
  int buffers = 0;
  for (const auto& [name, buf] : G.named_buffers())
    if (name.size() > 12 && name.substr(name.size() - 12) == ".noise_const") ++buffers;
  CHECK(int(d.noise.size()) == buffers);
  CHECK(buffers > 0);
  PplSpec zfull;
  zfull.space_w = false;
  zfull.full = true;
  gf::Generator rng2(3);
  const auto tf = stylegan2_path_draws(G, labelled, 2, zfull, rng2, Device::cpu()).t.to_vector();
  CHECK((tf[0] > 0 && tf[0] < 1 && tf[1] > 0 && tf[1] < 1));
  // The images: [2n, C, crop] with the crop, the whole image without.
  CHECK(stylegan2_path_images(G, d, wend).shape() == Shape{4, 1, 8, 8});
  PplSpec uncropped = wend;
  uncropped.crop = false;
  CHECK(stylegan2_path_images(G, d, uncropped).shape() == Shape{4, 1, 16, 16});

  const auto before = G.state_dict();
  std::vector<std::string> lines;
  MetricContext ctx = stand_in_context(labelled, "", 5, lines);
  ctx.generator = [](int64_t n, gf::Generator&) { return zeros({n, 1, 16, 16}); };
  ctx.lpips = flat_embedding();
  ctx.paths = stylegan2_paths(G, labelled, Device::cpu());
  for (const char* m : {"ppl_wend", "ppl_zfull", "ppl_wfull", "ppl_zend", "ppl2_wend"}) {
    const MetricResult a = calc_metric(m, ctx), b = calc_metric(m, ctx);
    const double v = a.results[m].get<double>();
    INFO(m << " = " << v);
    CHECK(std::isfinite(v));
    CHECK(v > 0);
    CHECK(a.results == b.results);  // the metric's seed: the same paths
    CHECK(a.num_gen == 5);
    CHECK(a.capped);
    CHECK(a.num_real == 0);
  }
  // Another seed, other paths.
  MetricContext other = ctx;
  other.seed = 1;
  CHECK(calc_metric("ppl_wend", other).results != calc_metric("ppl_wend", ctx).results);
  // The fresh noise went through the hook: the network's buffers are unchanged.
  const auto after = G.state_dict();
  for (const auto& [name, t] : before) CHECK(after.at(name).to_vector() == t.to_vector());

  // Refusals: no path sampler (PGGAN), no embedding.
  MetricContext pggan = ctx;
  pggan.paths = nullptr;
  CHECK_THROWS_WITH(calc_metric("ppl_zend", pggan), Catch::Contains("mapping network") && Catch::Contains("not PGGAN"));
  MetricContext no_vgg = ctx;
  no_vgg.lpips = nullptr;
  CHECK_THROWS_WITH(calc_metric("ppl_wend", no_vgg), Catch::Contains("needs the VGG16 detector"));
}

TEST_CASE("StyleGAN v1's PPL paths: interleaved latents, its noise inputs, the network untouched", "[metrics]") {
  stylegan::GeneratorConfig c;
  c.latent_size = c.dlatent_size = 4;
  c.mapping_layers = 2;
  c.mapping_fmaps = 4;
  c.num_channels = 1;
  c.resolution = 16;
  c.fmap_base = 16;
  c.fmap_max = 4;
  stylegan::Generator G(c, 9);
  const Dataset unlabelled("plain", 16, 1, std::vector<uint8_t>(3 * 256, 7), {}, {});
  PplSpec wfull;
  wfull.full = true;
  gf::Generator rng(4), same(4);
  const PathDraws d = stylegan_path_draws(G, unlabelled, 3, wfull, rng, Device::cpu());
  // z first ([2n, latent]: z0 the even rows), then t.
  const Tensor z = randn({6, 4}, same);
  CHECK(d.z0.to_vector() == slice(z, 0, 0, 6, 2).to_vector());
  CHECK(d.z1.to_vector() == slice(z, 0, 1, 6, 2).to_vector());
  CHECK(d.t.to_vector() == rand({3}, same).to_vector());
  CHECK(int(d.noise.size()) == G.num_layers());
  const auto before = G.state_dict();
  const Tensor img = stylegan_path_images(G, d, wfull);
  CHECK(img.shape() == Shape{6, 1, 8, 8});
  for (const auto& [name, t] : before) CHECK(G.state_dict().at(name).to_vector() == t.to_vector());
  std::vector<std::string> lines;
  MetricContext ctx = stand_in_context(unlabelled, "", 4, lines);
  ctx.generator = [](int64_t n, gf::Generator&) { return zeros({n, 1, 16, 16}); };
  ctx.lpips = flat_embedding();
  ctx.paths = stylegan_paths(G, unlabelled, Device::cpu());
  const double v = calc_metric("ppl_wfull", ctx).results["ppl_wfull"].get<double>();
  CHECK(std::isfinite(v));
  CHECK(v > 0);
}

TEST_CASE("PPL on cuda: the same draws and distances as on the cpu", "[metrics][cuda]") {
  const Device gpu = Device::cuda(0);
  stylegan2::Generator G(ppl_g(), 5), G_gpu(ppl_g(), 5);
  G_gpu.to(gpu);
  const Dataset plain("plain", 16, 1, std::vector<uint8_t>(2 * 256, 9), {}, {});
  PplSpec wend;
  gf::Generator a(7), b(7);
  const PathDraws d = stylegan2_path_draws(G, plain, 2, wend, a, Device::cpu());
  const PathDraws e = stylegan2_path_draws(G_gpu, plain, 2, wend, b, gpu);
  CHECK(e.z0.device() == gpu);
  CHECK(e.z1.to(Device::cpu()).to_vector() == d.z1.to_vector());
  CHECK(e.noise.back().second.to(Device::cpu()).to_vector() == d.noise.back().second.to_vector());
  // A path's distance amplifies the images' rounding by 1 / epsilon^2: the
  // devices agree to the rounding of float32 convolutions, not bit for bit.
  const auto cpu = ppl_distances(stylegan2_path_images(G, d, wend), flat_embedding(), 1e-4, Device::cpu()).to_vector();
  const Tensor on_gpu_t = ppl_distances(stylegan2_path_images(G_gpu, e, wend), flat_embedding(), 1e-4, gpu);
  CHECK(on_gpu_t.device() == gpu);  // read back by the metric's loop once per many batches, not per batch
  const auto on_gpu = on_gpu_t.to_vector();
  for (size_t i = 0; i < cpu.size(); ++i) CHECK(on_gpu[i] == Approx(cpu[i]).epsilon(1e-2));
}

namespace {

// tools/fixtures/make_ppl_fixtures.py's file: its cases of one family ("stylegan2"
// when a case names none), and the networks it holds (metadata "nets": each
// one's family and G_kwargs, its tensors under "net.<name>.").
struct PplReference {
  std::string dir = GF_TEST_DATA_DIR;
  io::SafetensorsFile io = io::read_safetensors(dir + "/ppl_reference.bin");
  nlohmann::json nets = nlohmann::json::parse(io.metadata.at("nets"));
  int divisor = std::stoi(io.metadata.at("vgg16_width_divisor"));
  // The thin hashed VGG16 the reference measured with, in float32 and float64.
  std::unique_ptr<perceptual::Vgg16> vgg32 = test::hashed_vgg16(divisor), vgg64 = test::hashed_vgg16(divisor, DType::f64);
  Detector lpips(DType t) const {
    const perceptual::Vgg16* v = t == DType::f64 ? vgg64.get() : vgg32.get();
    return [v](const Tensor& x) { return v->lpips_embedding(x); };
  }

  std::vector<nlohmann::json> cases(const std::string& family) const {
    std::vector<nlohmann::json> out;
    for (const auto& c : nlohmann::json::parse(io.metadata.at("cases")))
      if (c.value("family", std::string("stylegan2")) == family) out.push_back(c);
    return out;
  }
  // A network the file holds: built from its G_kwargs in dtype, its tensors loaded.
  template <class Net, class ConfigFromJson>
  std::unique_ptr<Net> held(const std::string& name, ConfigFromJson config_from_json, DType dtype) const {
    auto G = std::make_unique<Net>(config_from_json(nets.at(name).at("G_kwargs")), 0, dtype);
    G->load_state_dict(select_prefix(io.tensors, "net." + name + "."));
    return G;
  }
  // The draws of case `name` in dtype, the noise by the network's buffer names.
  PathDraws draws(const std::string& name, const Module& G, DType t) const {
    PathDraws d;
    auto get = [&](const std::string& k) { return io.tensors.at(name + "." + k).to(t); };
    if (io.tensors.count(name + ".c")) d.c = get("c");
    d.t = get("t");
    d.z0 = get("z0");
    d.z1 = get("z1");
    for (const auto& [buf, v] : G.named_buffers())
      if (io.tensors.count(name + ".noise." + buf)) d.noise.emplace_back(buf, get("noise." + buf));
    return d;
  }
  PplSpec spec(const nlohmann::json& c) const {
    PplSpec s;
    s.space_w = c.at("space") == "w";
    s.full = c.at("sampling") == "full";
    s.crop = c.at("crop");
    s.epsilon = c.at("epsilon");
    return s;
  }
};

// Float64 to 1e-4 relative; float32 to 1e-4 at epsilon 1e-2, to 5e-2 at 1e-4.
void check_distances(const Tensor& want_t, const Tensor& got64_t, const Tensor& got32_t, double epsilon) {
  const auto want = want_t.to_vector(), got64 = got64_t.to_vector(), got32 = got32_t.to_vector();
  REQUIRE(got64.size() == want.size());
  REQUIRE(got32.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("sample " << i << ": reference " << want[i] << ", float64 " << got64[i] << ", float32 " << got32[i]);
    CHECK(want[i] > 0);
    CHECK(std::abs(got64[i] - want[i]) <= 1e-4 * want[i]);
    CHECK(std::abs(got32[i] - want[i]) <= (epsilon > 1e-3 ? 1e-4 : 5e-2) * want[i]);
  }
}

}  // namespace

TEST_CASE("PPL distances equal the official PPLSampler's (PyTorch reference)", "[metrics]") {
  // tools/fixtures/make_ppl_fixtures.py: the parity fixtures' G_ema, a thin 512x512 G
  // and a thin hashed VGG16, the sampler's draws, and the official steps in
  // float64. Here the same draws through stylegan2_path_images and
  // ppl_distances, in float64 (to 1e-4 relative at the official epsilon)
  // and in float32, whose image rounding the 1 / epsilon^2 amplifies (to
  // 1e-4 at epsilon 1e-2; at 1e-4 only to a few percent).
  const PplReference ref;
  const Detector lpips32 = ref.lpips(DType::f32), lpips64 = ref.lpips(DType::f64);
  const auto cases = ref.cases("stylegan2");
  REQUIRE(cases.size() == 7);
  for (const auto& c : cases) {
    const std::string name = c.at("name"), fixture = c.at("fixture");
    INFO(name);
    const auto G32 = ref.nets.count(fixture)
                         ? ref.held<stylegan2::Generator>(fixture, stylegan2::generator_config_from_json, DType::f32)
                         : stylegan2::load_generator(ref.dir + "/" + fixture + ".bin");
    stylegan2::Generator G64(G32->config(), 0, DType::f64);
    G64.load_state_dict(G32->state_dict());
    const PplSpec spec = ref.spec(c);
    const PathDraws d64 = ref.draws(name, G64, DType::f64);
    CHECK(d64.noise.empty() == !G64.config().use_noise);
    const Tensor img64 = stylegan2_path_images(G64, d64, spec);
    // Above 256, the block mean by img_resolution / 256 after the crop: a
    // 512x512 network's 256x256 crop comes to 128x128, as the official's.
    const int64_t res = G64.config().img_resolution, factor = std::max<int64_t>(res / 256, 1);
    CHECK(img64.size(2) == (spec.crop ? res / 2 : res) / factor);
    const Tensor got64 = ppl_distances(img64, lpips64, spec.epsilon, Device::cpu());
    const Tensor got32 =
        ppl_distances(stylegan2_path_images(*G32, ref.draws(name, *G32, DType::f32), spec), lpips32, spec.epsilon, Device::cpu());
    check_distances(ref.io.tensors.at(name + ".dist"), got64, got32, spec.epsilon);
  }
}

TEST_CASE("StyleGAN v1 PPL distances equal NVlabs/stylegan's PPL (PyTorch reference)", "[metrics]") {
  // tools/fixtures/make_ppl_fixtures.py's v1 cases: Gs of tools/reference/stylegan_reference.py
  // (128x128 with labels and noise inputs; 512x512, thin, whose 256x256 crop
  // v1 keeps at 256), v1's draws and steps in float64; here the same draws
  // through stylegan_path_images and ppl_distances, as the v2 test.
  const PplReference ref;
  const Detector lpips32 = ref.lpips(DType::f32), lpips64 = ref.lpips(DType::f64);
  const auto cases = ref.cases("stylegan");
  REQUIRE(cases.size() == 5);
  for (const auto& c : cases) {
    const std::string name = c.at("name"), fixture = c.at("fixture");
    INFO(name);
    const auto G32 = ref.held<stylegan::Generator>(fixture, stylegan::generator_config_from_json, DType::f32);
    const auto G64 = ref.held<stylegan::Generator>(fixture, stylegan::generator_config_from_json, DType::f64);
    const PplSpec spec = ref.spec(c);
    const PathDraws d64 = ref.draws(name, *G64, DType::f64);
    CHECK(int(d64.noise.size()) == (G64->config().use_noise ? G64->num_layers() : 0));
    const Tensor img64 = stylegan_path_images(*G64, d64, spec);
    // v1 brings what is taller than 256 after the crop to 256.
    const int64_t res = G64->config().resolution, side = spec.crop ? res / 2 : res;
    CHECK(img64.size(2) == std::min<int64_t>(side, 256));
    const Tensor got64 = ppl_distances(img64, lpips64, spec.epsilon, Device::cpu());
    const Tensor got32 =
        ppl_distances(stylegan_path_images(*G32, ref.draws(name, *G32, DType::f32), spec), lpips32, spec.epsilon, Device::cpu());
    check_distances(ref.io.tensors.at(name + ".dist"), got64, got32, spec.epsilon);
  }
}

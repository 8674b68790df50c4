// StyleGAN2-ADA networks: official state-dict names and shapes, the layers'
// semantics, truncation and w_avg, noise modes, conditional networks, first-
// and second-order gradient checks (R1 through D, path length through G), and
// a bit-exact state-dict round trip through a .bin.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/ops/upfirdn2d.h"
#include "engine/strings.h"
#include "models/network_file.h"
#include "models/config_json.h"
#include "models/stylegan2/discriminator.h"
#include "models/stylegan2/generator.h"
#include "tests/testing.h"

using namespace gf;
using namespace gf::stylegan2;
using gf::test::allclose;
using gf::test::Fn;
using gf::test::gradcheck;
using gf::test::random_tensor;

namespace {

using NameShapes = std::vector<std::pair<std::string, Shape>>;

NameShapes shapes_of(const std::vector<std::pair<std::string, Tensor>>& named) {
  NameShapes out;
  for (const auto& [n, t] : named) out.emplace_back(n, t.shape());
  return out;
}

std::string listing(const NameShapes& v) {
  std::string s;
  for (const auto& [n, sh] : v) s += n + " " + shape_str(sh) + "\n";
  return s;
}

bool all_finite(const Tensor& t) {
  for (double v : t.to_vector())
    if (!std::isfinite(v)) return false;
  return true;
}

using gf::test::bit_equal;

// The small configurations the expected name lists below are written for.
DiscriminatorConfig small_d(int c_dim = 0) {
  DiscriminatorConfig c;
  c.c_dim = c_dim;
  c.img_resolution = 16;
  c.channel_base = 256;  // 16 channels at 16x16, 32 (channel_max) at 8x8 and 4x4
  c.channel_max = 32;
  c.mbstd_group_size = 2;
  c.mapping_layers = 2;
  return c;
}

// A float64 D small enough for finite differences: 8x8, one channel.
DiscriminatorConfig tiny_d() {
  DiscriminatorConfig c;
  c.img_resolution = 8;
  c.img_channels = 1;
  c.channel_base = 16;  // 2 channels at 8x8, 4 at 4x4
  c.channel_max = 4;
  c.mbstd_group_size = 2;
  return c;
}

GeneratorConfig small_g(int c_dim = 0) {
  GeneratorConfig c;
  c.z_dim = c.w_dim = 8;
  c.c_dim = c_dim;
  c.img_resolution = 16;
  c.channel_base = 256;  // 32 (channel_max) channels at 4x4 and 8x8, 16 at 16x16
  c.channel_max = 32;
  c.mapping_layers = 2;
  return c;
}

// A float64 G small enough for finite differences: 8x8, one channel, w_dim 3.
GeneratorConfig tiny_g() {
  GeneratorConfig c;
  c.z_dim = c.w_dim = 3;
  c.img_resolution = 8;
  c.img_channels = 1;
  c.channel_base = 16;  // 4 channels at 4x4, 2 at 8x8
  c.channel_max = 4;
  c.mapping_layers = 1;
  return c;
}

SynthesisOptions noise(NoiseMode mode, gf::Generator* gen = nullptr) {
  SynthesisOptions o;
  o.noise_mode = mode;
  o.noise_gen = gen;
  return o;
}

}  // namespace

TEST_CASE("a bundle of G alone: the programs' G_ema refusal says how to take its G", "[networks]") {
  io::SafetensorsFile file;
  file.tensors["G.mapping.fc0.weight"] = zeros({2, 2});
  CHECK_THROWS_WITH(network_state(file, "g.bin", "G_ema"),
                    "g.bin: holds no G_ema network (no tensor named 'G_ema.*'); it holds G: export_weights --in g.bin "
                    "--net G --out G.bin makes a file of it that this takes");
  CHECK(network_state(file, "g.bin", "G").size() == 1);
  CHECK_THROWS_WITH(network_state(file, "g.bin", "D"), "g.bin: holds no D network (no tensor named 'D.*')");
  // An official state dict saved with safetensors' own tools: no metadata, no prefix.
  io::SafetensorsFile bare;
  bare.tensors["synthesis.b4.const"] = zeros({2, 4, 4});
  bare.metadata["format"] = "pt";  // transformers' and diffusers' mark: not ganforge's
  CHECK_THROWS_WITH(network_state(bare, "sd.safetensors", "G_ema"),
                    Catch::EndsWith("without ganforge's metadata: import it with tools/convert_weights.py import "
                                    "sd.safetensors net.bin"));
  // A generator's state dict asked for a discriminator: importing it would not help.
  CHECK_THROWS_WITH(network_state(bare, "sd.safetensors", "D"), "sd.safetensors: holds no D network (no tensor named 'D.*')");
}

TEST_CASE("D parameter and buffer names and shapes are the official ones", "[networks]") {
  // Read off training/networks.py for img_resolution 16, channel_base 256,
  // channel_max 32: blocks b16 (in 0, tmp 16, out 32) and b8 (32, 32, 32),
  // then the epilogue b4 on 32 channels plus one stddev channel.
  Discriminator d(small_d(), 0);
  const NameShapes params{
      {"b16.fromrgb.weight", {16, 3, 1, 1}}, {"b16.fromrgb.bias", {16}},
      {"b16.conv0.weight", {16, 16, 3, 3}},  {"b16.conv0.bias", {16}},
      {"b16.conv1.weight", {32, 16, 3, 3}},  {"b16.conv1.bias", {32}},
      {"b16.skip.weight", {32, 16, 1, 1}},   {"b8.conv0.weight", {32, 32, 3, 3}},
      {"b8.conv0.bias", {32}},               {"b8.conv1.weight", {32, 32, 3, 3}},
      {"b8.conv1.bias", {32}},               {"b8.skip.weight", {32, 32, 1, 1}},
      {"b4.conv.weight", {32, 33, 3, 3}},    {"b4.conv.bias", {32}},
      {"b4.fc.weight", {32, 512}},           {"b4.fc.bias", {32}},
      {"b4.out.weight", {1, 32}},            {"b4.out.bias", {1}},
  };
  const NameShapes buffers{
      {"b16.resample_filter", {4, 4}},       {"b16.fromrgb.resample_filter", {4, 4}},
      {"b16.conv0.resample_filter", {4, 4}}, {"b16.conv1.resample_filter", {4, 4}},
      {"b16.skip.resample_filter", {4, 4}},  {"b8.resample_filter", {4, 4}},
      {"b8.conv0.resample_filter", {4, 4}},  {"b8.conv1.resample_filter", {4, 4}},
      {"b8.skip.resample_filter", {4, 4}},   {"b4.conv.resample_filter", {4, 4}},
  };
  INFO(listing(shapes_of(d.named_parameters())));
  CHECK(shapes_of(d.named_parameters()) == params);
  INFO(listing(shapes_of(d.named_buffers())));
  CHECK(shapes_of(d.named_buffers()) == buffers);
}

// train.py's --cfg cifar: D_kwargs.architecture 'orig', blocks without the
// residual skip path, so no skip layers (networks.py registers skip only for
// 'resnet'), and each block is conv1(conv0(x)) with gain 1. The numbers
// against the official code: tests/test_parity.cpp's parity_32x3_orig.
TEST_CASE("D 'orig' (cifar): the 'resnet' names without skip, blocks without the residual sum", "[networks]") {
  DiscriminatorConfig cfg = small_d();
  cfg.architecture = DiscriminatorArchitecture::orig;
  Discriminator d(cfg, 0);
  NameShapes want;
  for (const auto& [name, shape] : shapes_of(Discriminator(small_d(), 0).named_parameters()))
    if (name.find(".skip.") == std::string::npos) want.emplace_back(name, shape);
  CHECK(shapes_of(d.named_parameters()) == want);
  CHECK(discriminator_config_from_json(to_json(cfg)).architecture == DiscriminatorArchitecture::orig);
  CHECK(discriminator_config_from_json(nlohmann::json{{"c_dim", 0}, {"img_resolution", 16}, {"img_channels", 3}})
            .architecture == DiscriminatorArchitecture::resnet);  // files written before the key: 'resnet'
  CHECK_THROWS_WITH(discriminator_config_from_json(
                        nlohmann::json{{"architecture", "skip"}, {"c_dim", 0}, {"img_resolution", 16}, {"img_channels", 3}}),
                    Catch::Contains("architecture") && Catch::Contains("\"resnet\" or \"orig\""));
  // A block is its two convs alone.
  const Tensor img = random_tensor({2, 3, 16, 16}, 5, DType::f32);
  const DiscriminatorBlock& b = *d.blocks[0];
  CHECK(b.skip == nullptr);
  CHECK(bit_equal(b.forward(Tensor(), img), b.conv1.forward(b.conv0.forward(b.fromrgb->forward(img)))));
}

// A damaged file's huge size (2^31 - 1) overflowed an int where a network
// adds its sizes (in_channels + mbstd_num_channels, z_dim + c_dim): undefined
// behaviour UBSan caught, then a negative tensor size. Every network config
// refuses sizes past kMaxNetworkSize as it is read.
TEST_CASE("network configs refuse sizes whose sums would overflow an int", "[networks]") {
  const nlohmann::json d{{"c_dim", 0}, {"img_resolution", 16}, {"img_channels", 3}, {"mbstd_num_channels", 2147483647}};
  CHECK_THROWS_WITH(discriminator_config_from_json(d), Catch::Contains("mbstd_num_channels") &&
                                                           Catch::Contains("a network size of magnitude at most 16777216"));
  const nlohmann::json g{{"z_dim", 2147483647}, {"c_dim", 1}, {"w_dim", 8}, {"img_resolution", 8}, {"img_channels", 3}};
  CHECK_THROWS_WITH(generator_config_from_json(g), Catch::Contains("z_dim") && Catch::Contains("at most 16777216"));
  nlohmann::json fits = g;
  fits["z_dim"] = kMaxNetworkSize;
  CHECK(generator_config_from_json(fits).z_dim == kMaxNetworkSize);
}

// networks.py's MinibatchStdLayer reshapes the 4x4 block's channels into
// mbstd_num_channels groups; a file whose D cannot do so is refused as it is
// built, not at its first forward pass.
TEST_CASE("D refuses mbstd_num_channels that do not divide its 4x4 channels", "[networks]") {
  DiscriminatorConfig cfg = small_d();  // 32 channels at 4x4
  cfg.mbstd_num_channels = 3;
  CHECK_THROWS_WITH(Discriminator(cfg, 0), Catch::Contains("mbstd_num_channels 3 does not divide the 4x4 block's 32 channels"));
  cfg.mbstd_num_channels = 4;
  CHECK(Discriminator(cfg, 0).b4->conv.weight.size(1) == 36);
}

TEST_CASE("D at 1024x1024 has the official parameter count", "[networks]") {
  // Counted by hand from networks.py for the 'stylegan2' config (channel_base
  // 32768, channel_max 512): blocks b1024 ... b8 and the epilogue.
  DiscriminatorConfig cfg;
  cfg.img_resolution = 1024;
  CHECK(Discriminator(cfg, 0).num_params() == 29012513);
}

TEST_CASE("conditional D: label mapping before b4 and a cmap_dim-wide output", "[networks]") {
  // Official: mapping registered between the blocks and b4, z_dim 0,
  // cmap_dim = channels at 4x4, no w_avg.
  Discriminator d(small_d(5), 0);
  CHECK(d.cmap_dim() == 32);
  const NameShapes params = shapes_of(d.named_parameters());
  const NameShapes tail(params.begin() + 12, params.end());
  const NameShapes expected{
      {"mapping.embed.weight", {32, 5}}, {"mapping.embed.bias", {32}}, {"mapping.fc0.weight", {32, 32}},
      {"mapping.fc0.bias", {32}},        {"mapping.fc1.weight", {32, 32}}, {"mapping.fc1.bias", {32}},
      {"b4.conv.weight", {32, 33, 3, 3}}, {"b4.conv.bias", {32}},       {"b4.fc.weight", {32, 512}},
      {"b4.fc.bias", {32}},              {"b4.out.weight", {32, 32}},   {"b4.out.bias", {32}},
  };
  INFO(listing(params));
  CHECK(tail == expected);
  for (const auto& [n, t] : d.named_buffers()) CHECK(n.find("w_avg") == std::string::npos);

  Tensor img = random_tensor({4, 3, 16, 16}, 1, DType::f32);
  Tensor c1 = Tensor::from_vector({1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1}, {4, 5});
  Tensor c2 = Tensor::from_vector({0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0}, {4, 5});
  Tensor y1 = d.forward(img, c1), y2 = d.forward(img, c2);
  CHECK(y1.shape() == Shape{4, 1});
  CHECK(all_finite(y1));
  CHECK_FALSE(allclose(y1, y2, 1e-3, 1e-5).ok);  // the label changes the logit
  REQUIRE_THROWS_WITH(d.forward(img, Tensor()), Catch::Contains("c must be [N, 5]"));
}

TEST_CASE("D forward: [N, 1] logits, deterministic weights from the seed", "[networks]") {
  Discriminator a(small_d(), 7), b(small_d(), 7), c(small_d(), 8);
  Tensor img = random_tensor({4, 3, 16, 16}, 2, DType::f32);
  Tensor y = a.forward(img, Tensor());
  CHECK(y.shape() == Shape{4, 1});
  CHECK(all_finite(y));
  CHECK(bit_equal(y, b.forward(img, Tensor())));
  CHECK_FALSE(bit_equal(y, c.forward(img, Tensor())));
  // The minibatch-stddev groups need a batch divisible by the group size.
  REQUIRE_THROWS_WITH(a.forward(random_tensor({3, 3, 16, 16}, 3, DType::f32), Tensor()), Catch::Contains("group"));
  REQUIRE_THROWS_WITH(a.forward(random_tensor({4, 3, 8, 8}, 3, DType::f32), Tensor()), Catch::Contains("img"));
}

TEST_CASE("Freeze-D keeps the first layers' weights as buffers under the same names", "[networks]") {
  DiscriminatorConfig cfg = small_d();
  cfg.freeze_layers = 2;  // b16.fromrgb and b16.conv0
  Discriminator d(cfg, 0);
  std::vector<std::string> frozen;
  for (const auto& [n, t] : d.named_buffers())
    if (n.find("resample_filter") == std::string::npos) frozen.push_back(n);
  CHECK(frozen == std::vector<std::string>{"b16.fromrgb.weight", "b16.fromrgb.bias", "b16.conv0.weight",
                                           "b16.conv0.bias"});
  CHECK(d.named_parameters().front().first == "b16.conv1.weight");
  CHECK(d.state_dict().size() == Discriminator(small_d(), 0).state_dict().size());
}

TEST_CASE("FullyConnectedLayer: equalized lr with a learning-rate multiplier", "[networks]") {
  ParamInit init(3, DType::f64);
  const double lr = 0.01;
  FullyConnectedLayer fc(4, 3, init, true, "lrelu", lr, 0.5);
  // Stored N(0, 1) / lr; the bias starts at bias_init.
  CHECK(fc.bias->to_vector() == std::vector<double>(3, 0.5));
  Tensor x = random_tensor({2, 4}, 4);
  Tensor ref = matmul(x, fc.weight * (lr / 2.0), false, true) + *fc.bias * lr;  // gain lr / sqrt(4)
  ref = leaky_relu(ref, 0.2) * std::sqrt(2.0);
  CHECK(allclose(fc.forward(x), ref, 1e-12, 1e-12).ok);
  // Large stored weights (1/lr scale) are what make the effective step small.
  double sq = 0;
  for (double v : fc.weight.to_vector()) sq += v * v;
  CHECK(std::sqrt(sq / 12) > 20);
}

TEST_CASE("conv2d_resample matches the official generic path", "[networks]") {
  const Tensor f = default_resample_filter(DType::f64);
  Tensor x = random_tensor({2, 3, 8, 8}, 5);
  Tensor w3 = random_tensor({4, 3, 3, 3}, 6), w1 = random_tensor({4, 3, 1, 1}, 7);
  auto pad = [](const Tensor& t, int p0, int p1) {
    UpFirDn2dParams p;
    p.pad_x0 = p.pad_y0 = p0;
    p.pad_x1 = p.pad_y1 = p1;
    return upfirdn2d(t, Tensor::from_vector({1}, {1, 1}, DType::f64), p);
  };
  UpFirDn2dParams down;
  down.down_x = down.down_y = 2;
  // Down: pad by padding + 1 + 1 (filter), valid conv, then filter and decimate.
  Tensor d3 = conv2d_resample(x, w3, f, 1, 2, 1);
  CHECK(d3.shape() == Shape{2, 4, 4, 4});
  CHECK(allclose(d3, upfirdn2d(conv2d(pad(x, 2, 2), w3), f, down), 1e-12, 1e-12).ok);
  CHECK(allclose(conv2d_resample(x, w1, f, 1, 2, 0), upfirdn2d(conv2d(pad(x, 1, 1), w1), f, down), 1e-12, 1e-12).ok);
  // Up: zero-insert, pad by padding + (2, 1), filter with gain 4, then a true
  // convolution (the weight flipped).
  std::vector<double> wv = w3.to_vector(), flipped(wv.size());
  for (size_t i = 0; i < wv.size(); ++i) flipped[i] = wv[(i / 9) * 9 + 8 - i % 9];
  UpFirDn2dParams up;
  up.up_x = up.up_y = 2;
  up.pad_x0 = up.pad_y0 = 3;
  up.pad_x1 = up.pad_y1 = 2;
  up.gain = 4;
  Tensor u3 = conv2d_resample(x, w3, f, 2, 1, 1);
  CHECK(u3.shape() == Shape{2, 4, 16, 16});
  CHECK(allclose(u3, conv2d(upfirdn2d(x, f, up), Tensor::from_vector(flipped, w3.shape(), DType::f64)), 1e-12, 1e-12)
            .ok);
  CHECK(allclose(conv2d_resample(x, w1, f, 2, 1, 0), upsample2d(conv2d(x, w1), f), 1e-12, 1e-12).ok);
}

TEST_CASE("MappingNetwork: w_avg tracking, truncation with cutoff, broadcast", "[networks]") {
  MappingNetwork::Options o;
  o.z_dim = 6;
  o.w_dim = 5;
  o.num_ws = 4;
  o.num_layers = 2;
  ParamInit init(9, DType::f64);
  MappingNetwork m(o, init);
  Tensor z = random_tensor({3, 6}, 10);
  Tensor ws = m.forward(z, Tensor());
  REQUIRE(ws.shape() == Shape{3, 4, 5});
  for (int i = 1; i < 4; ++i) CHECK(bit_equal(slice(ws, 1, i, i + 1), slice(ws, 1, 0, 1)));
  // normalize_2nd_moment: z and a multiple of it map alike (up to its eps).
  CHECK(allclose(m.forward(z * 3.0, Tensor()), ws, 1e-7, 1e-9).ok);

  // w_avg <- lerp(mean w, w_avg, 0.995), only when asked.
  CHECK(m.w_avg->to_vector() == std::vector<double>(5, 0.0));
  m.forward(z, Tensor());
  CHECK(m.w_avg->to_vector() == std::vector<double>(5, 0.0));
  m.forward(z, Tensor(), 1, std::nullopt, true);
  const Tensor w0 = slice(ws, 1, 0, 1).reshape({3, 5});
  CHECK(allclose(*m.w_avg, mean(w0, {0}) * 0.005, 1e-12, 1e-15).ok);
  const Tensor avg = m.w_avg->clone();

  CHECK(bit_equal(m.forward(z, Tensor(), 1.0), ws));
  Tensor t0 = m.forward(z, Tensor(), 0.0);
  CHECK(allclose(t0, expand(avg.reshape({1, 1, 5}), {3, 4, 5}), 0, 1e-15).ok);
  Tensor t5 = m.forward(z, Tensor(), 0.5, 2);
  CHECK(allclose(slice(t5, 1, 0, 2), (slice(ws, 1, 0, 2) + avg.reshape({1, 1, 5})) * 0.5, 1e-12, 1e-15).ok);
  CHECK(bit_equal(slice(t5, 1, 2, 4), slice(ws, 1, 2, 4)));
  REQUIRE_THROWS_WITH(m.forward(z, Tensor(), 0.5, 5), Catch::Contains("cutoff"));
  REQUIRE_THROWS_WITH(m.forward(random_tensor({3, 4}, 1), Tensor()), Catch::Contains("z must be"));
}

TEST_CASE("D: first-order gradients in x and every weight (float64)", "[networks][grad]") {
  Discriminator d(tiny_d(), 11, DType::f64);
  Tensor x = random_tensor({2, 1, 8, 8}, 12).requires_grad_();
  std::vector<Tensor> inputs{x};
  for (const Tensor& p : d.parameters()) inputs.push_back(p);
  Fn f = [&](const std::vector<Tensor>& v) { return d.forward(v[0], Tensor()); };
  auto r = gradcheck(f, inputs);
  INFO(r.message);
  CHECK(r.ok);
}

TEST_CASE("R1 through D: gradient of |dD/dx|^2 in x and every weight (float64)", "[networks][grad]") {
  // The R1 penalty differentiates D's input gradient, so this checks the
  // backward of every backward on D's path.
  Discriminator d(tiny_d(), 13, DType::f64);
  Tensor x = random_tensor({2, 1, 8, 8}, 14).requires_grad_();
  std::vector<Tensor> inputs{x};
  for (const Tensor& p : d.parameters()) inputs.push_back(p);
  Fn r1 = [&](const std::vector<Tensor>& v) {
    GradModeGuard on(true);
    Tensor logits = d.forward(v[0], Tensor());
    Tensor g = grad({sum(logits)}, {v[0]}, {}, /*create_graph=*/true, /*retain_graph=*/true)[0];
    return sum(square(g));
  };
  auto r = gradcheck(r1, inputs, 1e-6, 1e-4, 1e-7);
  INFO(r.message);
  CHECK(r.ok);
}

TEST_CASE("config JSON round trip; unknown keys and bad values are errors", "[networks]") {
  GeneratorConfig g;
  g.c_dim = 10;
  g.img_resolution = 32;
  g.conv_clamp = 256;
  g.mapping_layers = 2;
  const GeneratorConfig g2 = generator_config_from_json(nlohmann::json::parse(to_json(g).dump()));
  CHECK(to_json(g2) == to_json(g));
  CHECK(g2.conv_clamp == 256.0);
  // The shape keys networks.py takes without defaults are required; the rest default.
  nlohmann::json shape = {{"z_dim", 8}, {"c_dim", 0}, {"w_dim", 8}, {"img_resolution", 8}, {"img_channels", 3}};
  CHECK_FALSE(generator_config_from_json(shape).conv_clamp.has_value());
  shape.erase("img_resolution");
  CHECK_THROWS_WITH(generator_config_from_json(shape), Catch::Contains("missing key 'img_resolution'"));
  CHECK_THROWS_WITH(discriminator_config_from_json({{"c_dim", 0}, {"img_resolution", 8}}),
                    Catch::Contains("missing key 'img_channels'"));
  nlohmann::json negative = to_json(small_d(3));
  negative["mbstd_group_size"] = -3;
  CHECK_THROWS_WITH(discriminator_config_from_json(negative),
                    Catch::Contains("key 'mbstd_group_size': expected a whole number >= 0, got -3"));
  DiscriminatorConfig d = small_d(3);
  const DiscriminatorConfig d2 = discriminator_config_from_json(nlohmann::json::parse(to_json(d).dump()));
  CHECK(to_json(d2) == to_json(d));
  CHECK(d2.mbstd_group_size == 2);
  REQUIRE_THROWS_WITH(generator_config_from_json({{"zdim", 3}}), Catch::Contains("unknown key 'zdim'"));
  REQUIRE_THROWS_WITH(discriminator_config_from_json({{"c_dim", "ten"}}), Catch::Contains("'c_dim'"));
}

TEST_CASE("G parameter and buffer names and shapes are the official ones", "[networks]") {
  // Read off training/networks.py for img_resolution 16, channel_base 256,
  // channel_max 32, z_dim = w_dim = 8, 2 mapping layers: synthesis (registered
  // first) with blocks b4 (const, conv1, torgb), b8 and b16 (conv0 up, conv1,
  // torgb); each SynthesisLayer's own parameters come before its affine's.
  stylegan2::Generator g(small_g(), 0);
  NameShapes params{{"synthesis.b4.const", {32, 4, 4}}};
  NameShapes buffers{{"synthesis.b4.resample_filter", {4, 4}}};
  auto layer = [&](const std::string& p, int64_t in, int64_t out, int64_t res) {
    params.insert(params.end(), {{p + ".weight", {out, in, 3, 3}},
                                 {p + ".noise_strength", {}},
                                 {p + ".bias", {out}},
                                 {p + ".affine.weight", {in, 8}},
                                 {p + ".affine.bias", {in}}});
    buffers.insert(buffers.end(), {{p + ".resample_filter", {4, 4}}, {p + ".noise_const", {res, res}}});
  };
  auto torgb = [&](const std::string& p, int64_t in) {
    params.insert(params.end(),
                  {{p + ".weight", {3, in, 1, 1}}, {p + ".bias", {3}}, {p + ".affine.weight", {in, 8}},
                   {p + ".affine.bias", {in}}});
  };
  layer("synthesis.b4.conv1", 32, 32, 4);
  torgb("synthesis.b4.torgb", 32);
  buffers.push_back({"synthesis.b8.resample_filter", {4, 4}});
  layer("synthesis.b8.conv0", 32, 32, 8);
  layer("synthesis.b8.conv1", 32, 32, 8);
  torgb("synthesis.b8.torgb", 32);
  buffers.push_back({"synthesis.b16.resample_filter", {4, 4}});
  layer("synthesis.b16.conv0", 32, 16, 16);
  layer("synthesis.b16.conv1", 16, 16, 16);
  torgb("synthesis.b16.torgb", 16);
  params.insert(params.end(), {{"mapping.fc0.weight", {8, 8}},
                               {"mapping.fc0.bias", {8}},
                               {"mapping.fc1.weight", {8, 8}},
                               {"mapping.fc1.bias", {8}}});
  buffers.push_back({"mapping.w_avg", {8}});
  INFO(listing(shapes_of(g.named_parameters())));
  CHECK(shapes_of(g.named_parameters()) == params);
  INFO(listing(shapes_of(g.named_buffers())));
  CHECK(shapes_of(g.named_buffers()) == buffers);
  // Initial values as in the official constructors.
  for (const auto& [n, t] : g.named_parameters()) {
    INFO(n);
    const auto values = t.to_vector();
    if (ends_with(n, "affine.bias"))
      CHECK(values == std::vector<double>(values.size(), 1.0));  // styles start at 1
    else if (ends_with(n, ".bias") || ends_with(n, "noise_strength"))
      CHECK(values == std::vector<double>(values.size(), 0.0));
  }

  stylegan2::Generator gc(small_g(4), 0);
  CHECK(gc.mapping.named_parameters().front().first == "embed.weight");
  CHECK(gc.mapping.named_parameters().front().second.shape() == Shape{8, 4});
  CHECK(gc.mapping.fc[0]->weight.shape() == Shape{8, 16});  // z and the embedded label, concatenated
}

TEST_CASE("G at 1024x1024 has the parameter count the official code prints", "[networks]") {
  GeneratorConfig cfg;  // z_dim = w_dim = 512, 8 mapping layers, channel_base 32768, channel_max 512
  cfg.img_resolution = 1024;
  CHECK(stylegan2::Generator(cfg, 0).num_params() == 30370060);
}

TEST_CASE("num_ws: two per block, one at 4x4, plus the last ToRGB", "[networks]") {
  for (int res : {4, 8, 16, 32, 64}) {
    GeneratorConfig c = small_g();
    c.img_resolution = res;
    c.channel_base = 64 * res;
    c.channel_max = 8;
    stylegan2::Generator g(c, 0);
    CHECK(g.num_ws() == 2 * static_cast<int>(std::log2(res)) - 2);
    CHECK(g.mapping.options().num_ws == g.num_ws());
  }
}

TEST_CASE("G forward: image shape, finite values, noise modes", "[networks]") {
  GeneratorConfig cfg = small_g();
  cfg.conv_clamp = 256;
  stylegan2::Generator g(cfg, 1);
  // Non-zero noise strengths, so the noise modes are visible.
  for (const auto& [n, t] : g.named_parameters())
    if (n.find("noise_strength") != std::string::npos) t.copy_(Tensor::scalar(0.5));
  Tensor z = random_tensor({2, 8}, 20, DType::f32);
  Tensor c1 = g.forward(z, Tensor(), 1, std::nullopt, noise(NoiseMode::constant));
  CHECK(c1.shape() == Shape{2, 3, 16, 16});
  CHECK(all_finite(c1));
  CHECK(bit_equal(c1, g.forward(z, Tensor(), 1, std::nullopt, noise(NoiseMode::constant))));
  Tensor none = g.forward(z, Tensor(), 1, std::nullopt, noise(NoiseMode::none));
  CHECK(all_finite(none));
  CHECK_FALSE(allclose(none, c1, 1e-3, 1e-5).ok);
  gf::Generator r1(5), r2(5), r3(6);
  Tensor a = g.forward(z, Tensor(), 1, std::nullopt, noise(NoiseMode::random, &r1));
  CHECK(bit_equal(a, g.forward(z, Tensor(), 1, std::nullopt, noise(NoiseMode::random, &r2))));
  CHECK_FALSE(allclose(a, g.forward(z, Tensor(), 1, std::nullopt, noise(NoiseMode::random, &r3)), 1e-3, 1e-5).ok);
  REQUIRE_THROWS_WITH(g.forward(z, Tensor()), Catch::Contains("generator"));
  // The fused and unfused modulated convolutions compute the same image.
  SynthesisOptions unfused = noise(NoiseMode::constant);
  unfused.fused_modconv = false;
  CHECK(allclose(g.forward(z, Tensor(), 1, std::nullopt, unfused), c1, 1e-4, 1e-5).ok);
}

TEST_CASE("G truncation: psi 1 is the identity, psi 0 gives the image of w_avg", "[networks]") {
  stylegan2::Generator g(small_g(), 2);
  Tensor z = random_tensor({2, 8}, 21, DType::f32);
  g.mapping.forward(z, Tensor(), 1, std::nullopt, true);  // a non-zero w_avg
  const SynthesisOptions o = noise(NoiseMode::constant);
  Tensor ws = g.mapping.forward(z, Tensor());
  CHECK(bit_equal(g.forward(z, Tensor(), 1.0, std::nullopt, o), g.synthesis.forward(ws, o)));
  Tensor avg = expand(g.mapping.w_avg->reshape({1, 1, 8}), {2, g.num_ws(), 8});
  CHECK(allclose(g.forward(z, Tensor(), 0.0, std::nullopt, o), g.synthesis.forward(avg, o), 1e-5, 1e-6).ok);
  // With a cutoff, later layers keep their own w.
  CHECK_FALSE(allclose(g.forward(z, Tensor(), 0.0, 2, o), g.synthesis.forward(avg, o), 1e-3, 1e-5).ok);
}

TEST_CASE("conditional G: the label changes the image", "[networks]") {
  stylegan2::Generator g(small_g(3), 3);
  Tensor z = random_tensor({2, 8}, 22, DType::f32);
  Tensor ca = Tensor::from_vector({1, 0, 0, 0, 1, 0}, {2, 3}), cb = Tensor::from_vector({0, 0, 1, 1, 0, 0}, {2, 3});
  const SynthesisOptions o = noise(NoiseMode::constant);
  Tensor a = g.forward(z, ca, 1, std::nullopt, o), b = g.forward(z, cb, 1, std::nullopt, o);
  CHECK(a.shape() == Shape{2, 3, 16, 16});
  CHECK(all_finite(a));
  CHECK_FALSE(allclose(a, b, 1e-3, 1e-5).ok);
  REQUIRE_THROWS_WITH(g.forward(z, Tensor()), Catch::Contains("c must be [N, 3]"));
}

TEST_CASE("G: gradients in ws, first order and through the path-length term (float64)", "[networks][grad]") {
  stylegan2::Generator g(tiny_g(), 23, DType::f64);
  for (const auto& [n, t] : g.named_parameters())
    if (n.find("noise_strength") != std::string::npos) t.copy_(Tensor::scalar(0.3, DType::f64));
  Tensor ws = random_tensor({2, g.num_ws(), 3}, 24).requires_grad_();
  for (bool fused : {true, false}) {
    INFO("fused " << fused);
    SynthesisOptions o = noise(NoiseMode::constant);
    o.fused_modconv = fused;
    Fn f = [&](const std::vector<Tensor>& v) { return g.synthesis.forward(v[0], o); };
    auto r = gradcheck(f, {ws});
    INFO(r.message);
    CHECK(r.ok);
  }
  // Path length: the gradient of |d(img . y)/dws|^2 in ws and every weight.
  std::vector<Tensor> inputs{ws};
  for (const Tensor& p : g.synthesis.parameters()) inputs.push_back(p);
  const Tensor y = random_tensor({2, 1, 8, 8}, 25);
  Fn pl = [&](const std::vector<Tensor>& v) {
    GradModeGuard on(true);
    Tensor img = g.synthesis.forward(v[0], noise(NoiseMode::constant));
    Tensor gw = grad({sum(img * y)}, {v[0]}, {}, /*create_graph=*/true, /*retain_graph=*/true)[0];
    return sum(square(gw));
  };
  auto r = gradcheck(pl, inputs, 1e-6, 1e-4, 1e-7);
  INFO(r.message);
  CHECK(r.ok);
}

TEST_CASE("state dict round trip through a .bin is bit-exact, config in the metadata", "[networks]") {
  GeneratorConfig cfg = small_g(2);
  cfg.conv_clamp = 256;
  stylegan2::Generator g(cfg, 4);
  Tensor z = random_tensor({2, 8}, 26, DType::f32);
  Tensor c = Tensor::from_vector({1, 0, 0, 1}, {2, 2});
  g.mapping.forward(z, c, 1, std::nullopt, true);  // w_avg is state too
  const std::string path = "test_networks_roundtrip.bin";
  io::save_safetensors(path, g.state_dict(), {{"G", to_json(cfg).dump()}});
  const io::SafetensorsFile file = io::read_safetensors(path);
  std::remove(path.c_str());
  stylegan2::Generator h(generator_config_from_json(nlohmann::json::parse(file.metadata.at("G"))), 99);
  CHECK(to_json(h.config()) == to_json(cfg));
  h.load_state_dict(file.tensors);
  const io::TensorMap a = g.state_dict(), b = h.state_dict();
  REQUIRE(a.size() == b.size());
  for (const auto& [n, t] : a) {
    INFO(n);
    CHECK(bit_equal(t, b.at(n)));
  }
  const SynthesisOptions o = noise(NoiseMode::constant);
  CHECK(bit_equal(g.forward(z, c, 0.7, std::nullopt, o), h.forward(z, c, 0.7, std::nullopt, o)));

  Discriminator d(small_d(2), 5), e(small_d(2), 6);
  io::save_safetensors(path, d.state_dict());
  e.load_state_dict(io::load_safetensors(path));
  std::remove(path.c_str());
  Tensor img = random_tensor({2, 3, 16, 16}, 27, DType::f32);
  CHECK(bit_equal(d.forward(img, c), e.forward(img, c)));
}

namespace {

// Two slots, a parameter "w" and a buffer "f", of the given shapes, zeros.
struct TwoSlots : Module {
  TwoSlots(const Shape& w, const Shape& f) {
    param("w", Tensor::from_vector(std::vector<double>(size_t(shape_numel(w)), 0.0), w));
    buffer("f", Tensor::from_vector(std::vector<double>(size_t(shape_numel(f)), 0.0), f));
  }
};

}  // namespace

TEST_CASE("load_what_fits: torch copy_'s broadcast by name, the rest kept, a misfit refused before any change",
          "[networks]") {
  TwoSlots m({2, 3}, {2, 2});
  // "w" [3] of float64 broadcasts to each row; "f" is missing; "x" is not m's.
  const io::TensorMap fits{{"w", Tensor::from_vector({1, 2, 3}, {3}, DType::f64)}, {"x", Tensor::scalar(9)}};
  CHECK(m.load_what_fits(fits) == std::vector<std::string>{"f"});
  CHECK(m.state_dict().at("w").to_vector() == std::vector<double>{1, 2, 3, 1, 2, 3});
  CHECK(m.state_dict().at("w").dtype() == DType::f32);
  CHECK(m.state_dict().at("f").to_vector() == std::vector<double>(4, 0.0));
  // "w" would fit, but "f" [2, 3] does not go into [2, 2]: nothing changes.
  const io::TensorMap misfit{{"w", Tensor::from_vector({7, 7, 7}, {3})},
                             {"f", Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3})}};
  CHECK_THROWS_WITH(m.load_what_fits(misfit),
                    "tensor 'f' has shape [2, 3], which does not broadcast to [2, 2]");
  CHECK(m.state_dict().at("w").to_vector() == std::vector<double>{1, 2, 3, 1, 2, 3});
  // More dimensions than the slot, or a size that is neither the slot's nor 1,
  // never broadcast (torch 1.13's copy_ raises on [1, 1, 3] and [2] into [2, 3]).
  CHECK_THROWS(m.load_what_fits({{"w", Tensor::from_vector({1, 2, 3}, {1, 1, 3})}}));
  CHECK_THROWS(m.load_what_fits({{"w", Tensor::from_vector({1, 2}, {2})}}));
  CHECK(m.load_what_fits({{"f", Tensor::from_vector({5, 6}, {2, 1})}}) == std::vector<std::string>{"w"});
  CHECK(m.state_dict().at("f").to_vector() == std::vector<double>{5, 5, 6, 6});
}

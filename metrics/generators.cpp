#include "metrics/generators.h"

#include <map>

#include "engine/error.h"
#include "engine/strings.h"

namespace gf::metrics {

ImageGenerator stylegan2_images(stylegan2::Generator& G, const Dataset& labels, Device device) {
  return [&G, &labels, device](int64_t n, gf::Generator& rng) {
    const Tensor z = randn({n, G.config().z_dim}, rng, DType::f32, device);
    stylegan2::SynthesisOptions so;
    so.noise_mode = NoiseMode::random;
    so.noise_gen = &rng;
    return G.forward(z, random_labels(labels, n, rng, device), 1, std::nullopt, so);
  };
}

ImageGenerator stylegan_images(const stylegan::Generator& G, const Dataset& labels, Device device) {
  return [&G, &labels, device](int64_t n, gf::Generator& rng) {
    const Tensor z = randn({n, G.config().latent_size}, rng, DType::f32, device);
    stylegan::SynthesisOptions so;
    so.noise_mode = NoiseMode::random;
    so.noise_gen = &rng;
    return G.synthesis(G.mapping(z, random_labels(labels, n, rng, device)), G.lod(), so);
  };
}

ImageGenerator pggan_images(const pggan::Generator& G, const Dataset& labels, Device device) {
  return [&G, &labels, device](int64_t n, gf::Generator& rng) {
    const Tensor z = randn({n, G.latent_size()}, rng, DType::f32, device);
    return G.forward(z, random_labels(labels, n, rng, device));
  };
}

namespace {

// dlatents[:, -1]: the last layer's w of ws [n, num_ws, w_dim].
Tensor last_layer(const Tensor& ws) {
  const int64_t layers = ws.size(1);
  return slice(ws, 1, layers - 1, layers).reshape({ws.size(0), ws.size(2)});
}

}  // namespace

LatentSampler stylegan2_latents(stylegan2::Generator& G, const Dataset& labels, Device device) {
  return [&G, &labels, device](int64_t n, gf::Generator& rng) {
    LatentSample s;
    s.z = randn({n, G.config().z_dim}, rng, DType::f32, device);
    const Tensor ws = G.mapping.forward(s.z, random_labels(labels, n, rng, device));
    stylegan2::SynthesisOptions so;
    so.noise_mode = NoiseMode::random;
    so.noise_gen = &rng;
    s.images = G.synthesis.forward(ws, so);
    s.w = last_layer(ws);
    return s;
  };
}

LatentSampler stylegan_latents(const stylegan::Generator& G, const Dataset& labels, Device device) {
  return [&G, &labels, device](int64_t n, gf::Generator& rng) {
    LatentSample s;
    s.z = randn({n, G.config().latent_size}, rng, DType::f32, device);
    const Tensor ws = G.mapping(s.z, random_labels(labels, n, rng, device));
    stylegan::SynthesisOptions so;
    so.noise_mode = NoiseMode::random;
    so.noise_gen = &rng;
    s.images = G.synthesis(ws, G.lod(), so);
    s.w = last_layer(ws);
    return s;
  };
}

namespace {

// The noise hook that hands every layer its constant noise [1, 1, H, W]
// (by the layer's official name, key(buffer name) of the draws) broadcast
// over the batch: the official noise_mode='const' over fresh buffers.
std::function<Tensor(const std::string&, const Shape&)> constant_noise(
    const PathDraws& d, const std::function<std::string(const std::string&)>& key) {
  auto by_layer = std::make_shared<std::map<std::string, Tensor>>();
  for (const auto& [name, values] : d.noise) (*by_layer)[key(name)] = values;
  return [by_layer](const std::string& layer, const Shape& shape) {
    const auto it = by_layer->find(layer);
    GF_CHECK(it != by_layer->end(), "ppl", "no constant noise drawn for layer " << layer);
    return expand(it->second.reshape({1, 1, shape[2], shape[3]}), shape);
  };
}

Tensor twice(const Tensor& c) { return c.defined() ? concat({c, c}, 0) : Tensor(); }

// A v1 noise input: "G_synthesis/noise3" -> "noise3".
std::string after_slash(const std::string& s) { return s.substr(s.rfind('/') + 1); }

}  // namespace

PathDraws stylegan2_path_draws(const stylegan2::Generator& G, const Dataset& labels, int64_t n, const PplSpec& spec,
                               gf::Generator& rng, Device device) {
  PathDraws d;
  d.c = random_labels(labels, n, rng, device);
  d.t = rand({n}, rng, DType::f32, device) * (spec.full ? 1.0 : 0.0);
  const Tensor z = randn({2 * n, G.config().z_dim}, rng, DType::f32, device);
  d.z0 = slice(z, 0, 0, n);
  d.z1 = slice(z, 0, n, 2 * n);
  for (const auto& [name, buf] : G.named_buffers())
    if (ends_with(name, ".noise_const")) d.noise.emplace_back(name, randn(buf.shape(), rng, DType::f32, device));
  return d;
}

Tensor stylegan2_path_images(stylegan2::Generator& G, const PathDraws& d, const PplSpec& spec) {
  const Tensor ws = spec.space_w ? [&] {
    const Tensor w = G.mapping.forward(concat({d.z0, d.z1}, 0), twice(d.c));
    const int64_t n = d.z0.size(0);
    return lerp_rows(slice(w, 0, 0, n), slice(w, 0, n, 2 * n), d.t, spec.epsilon);
  }()
                                 : G.mapping.forward(slerp_rows(d.z0, d.z1, d.t, spec.epsilon), twice(d.c));
  stylegan2::SynthesisOptions so;
  so.noise_mode = NoiseMode::random;
  so.noise_source = constant_noise(d, [](const std::string& name) {
    // "synthesis.b8.conv0.noise_const" -> "b8.conv0"
    const std::string prefix = "synthesis.", suffix = ".noise_const";
    return name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  });
  const Tensor img = G.synthesis.forward(ws, so);
  return crop_and_downsample(img, spec.crop, G.config().img_resolution / 256);
}

PathSampler stylegan2_paths(stylegan2::Generator& G, const Dataset& labels, Device device) {
  return [&G, &labels, device](int64_t n, const PplSpec& spec, gf::Generator& rng) {
    return stylegan2_path_images(G, stylegan2_path_draws(G, labels, n, spec, rng, device), spec);
  };
}

PathDraws stylegan_path_draws(const stylegan::Generator& G, const Dataset& labels, int64_t n, const PplSpec& spec,
                              gf::Generator& rng, Device device) {
  PathDraws d;
  d.c = random_labels(labels, n, rng, device);
  const Tensor z = randn({2 * n, G.config().latent_size}, rng, DType::f32, device);
  d.z0 = slice(z, 0, 0, 2 * n, 2);
  d.z1 = slice(z, 0, 1, 2 * n, 2);
  d.t = rand({n}, rng, DType::f32, device) * (spec.full ? 1.0 : 0.0);
  for (const auto& [name, buf] : G.named_buffers())
    if (after_slash(name).rfind("noise", 0) == 0) d.noise.emplace_back(name, randn(buf.shape(), rng, DType::f32, device));
  return d;
}

Tensor stylegan_path_images(const stylegan::Generator& G, const PathDraws& d, const PplSpec& spec) {
  const Tensor ws = spec.space_w ? [&] {
    const Tensor w = G.mapping(concat({d.z0, d.z1}, 0), twice(d.c));
    const int64_t n = d.z0.size(0);
    return lerp_rows(slice(w, 0, 0, n), slice(w, 0, n, 2 * n), d.t, spec.epsilon, /*tflib=*/true);
  }()
                                 : G.mapping(slerp_rows(d.z0, d.z1, d.t, spec.epsilon), twice(d.c));
  stylegan::SynthesisOptions so;
  so.noise_mode = NoiseMode::random;
  so.noise_source = constant_noise(d, after_slash);
  Tensor img = crop_and_downsample(G.synthesis(ws, G.lod(), so), spec.crop, 1);
  return img.size(2) > 256 ? crop_and_downsample(img, false, img.size(2) / 256) : img;
}

PathSampler stylegan_paths(const stylegan::Generator& G, const Dataset& labels, Device device) {
  return [&G, &labels, device](int64_t n, const PplSpec& spec, gf::Generator& rng) {
    return stylegan_path_images(G, stylegan_path_draws(G, labels, n, spec, rng, device), spec);
  };
}

}  // namespace gf::metrics

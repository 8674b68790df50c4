#include "metrics/generators.h"

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

}  // namespace gf::metrics

#include "models/stylegan2/latents.h"

#include "engine/io/npy.h"

namespace gf::stylegan2 {

Tensor seed_ws(Generator& G, const std::vector<long long>& seeds, const Tensor& c, double psi, Device dev) {
  std::vector<Tensor> ws;
  for (long long seed : seeds) ws.push_back(G.mapping.forward(seed_latent(seed, G.config().z_dim, dev), c, psi));
  return concat(ws, 0);
}

Tensor read_ws(const std::string& path, int num_ws, int w_dim, const std::string& flag) {
  const Tensor t = io::read_input_npy(path, flag);
  const int64_t n = t.dim() >= 1 ? t.size(0) : 0;
  if (n >= 1 && t.dim() == 3 && t.size(1) == num_ws && t.size(2) == w_dim) return t.to(DType::f32);
  if (n >= 1 && t.dim() == 2 && t.size(1) == w_dim) return expand(t.to(DType::f32).reshape({n, 1, w_dim}), {n, num_ws, w_dim});
  throw Error(flag + " " + path + ": shape " + shape_str(t.shape()) + ", expected [N, " + std::to_string(num_ws) + ", " +
              std::to_string(w_dim) + "] (N, num_ws, w_dim) or [N, " + std::to_string(w_dim) + "] (N, w_dim), N >= 1");
}

Tensor style_mix(const Tensor& row_ws, const Tensor& col_ws, const std::vector<long long>& styles) {
  GF_CHECK(row_ws.dim() == 3 && col_ws.dim() == 3 && row_ws.size(1) == col_ws.size(1) &&
               row_ws.size(2) == col_ws.size(2),
           "style_mix", "row and column ws must be [N, num_ws, w_dim] alike, got " << shape_str(row_ws.shape()) << " and "
                                                                                  << shape_str(col_ws.shape()));
  const int64_t R = row_ws.size(0), C = col_ws.size(0), nw = row_ws.size(1), wd = row_ws.size(2);
  std::vector<double> mask(static_cast<size_t>(nw), 0.0);
  for (long long s : styles) {
    GF_CHECK(s >= 0 && s < nw, "style_mix", "style " << s << " is outside [0, " << nw << ") (the generator's num_ws)");
    mask[static_cast<size_t>(s)] = 1;
  }
  // where() picks whole values, so a mixed w is bit-for-bit its sources' entries.
  const Tensor m = expand(Tensor::from_vector(mask, {1, 1, nw, 1}, row_ws.dtype(), row_ws.device()), {R, C, nw, wd});
  const Tensor rows = expand(row_ws.reshape({R, 1, nw, wd}), {R, C, nw, wd});
  const Tensor cols = expand(col_ws.reshape({1, C, nw, wd}), {R, C, nw, wd});
  return where(m, cols, rows).reshape({R * C, nw, wd});
}

Tensor mixing_canvas(const Tensor& row_imgs, const Tensor& col_imgs, const Tensor& mixed, double corner) {
  const int64_t R = row_imgs.size(0), C = col_imgs.size(0);
  GF_CHECK(mixed.size(0) == R * C, "mixing_canvas", "expected " << R * C << " mixed images, got " << mixed.size(0));
  Shape cell = row_imgs.shape();
  cell[0] = 1;
  std::vector<Tensor> cells{full(cell, corner, row_imgs.dtype(), row_imgs.device())};
  for (int64_t c = 0; c < C; ++c) cells.push_back(slice(col_imgs, 0, c, c + 1));
  for (int64_t r = 0; r < R; ++r) {
    cells.push_back(slice(row_imgs, 0, r, r + 1));
    for (int64_t c = 0; c < C; ++c) cells.push_back(slice(mixed, 0, r * C + c, r * C + c + 1));
  }
  return concat(cells, 0);
}

Tensor interpolate_w(const Tensor& wa, const Tensor& wb, int64_t k, int64_t frames) {
  GF_CHECK(wa.shape() == wb.shape(), "interpolate_w",
           "ends differ in shape: " << shape_str(wa.shape()) << " and " << shape_str(wb.shape()));
  GF_CHECK(frames >= 2, "interpolate_w", "needs at least 2 frames, got " << frames);
  GF_CHECK(k >= 0 && k < frames, "interpolate_w", "frame " << k << " is outside [0, " << frames << ")");
  const double t = static_cast<double>(k) / static_cast<double>(frames - 1);
  return add(affine(wa, 1 - t, 0), affine(wb, t, 0));
}

}  // namespace gf::stylegan2

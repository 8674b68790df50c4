// Multi-scale structural similarity (MS-SSIM; Wang, Simoncelli and Bovik
// 2003) of image pairs, as PGGAN's metric computes it
// (progressive_growing_of_gans metrics/ms_ssim.py, run by
// util_scripts.evaluate_metrics as config.py's "msssim-20k": the
// generated images paired 0-1, 2-3, ... and the mean over the pairs; a low
// value means diverse images). Per pair, at 5 scales (the images as float32,
// each next scale the mean of 2x2 blocks, in float32):
//  - a Gaussian window of side min(11, h, w) and sigma side * 1.5 / 11
//    (MATLAB's fspecial; an even side is centred between pixels), 'valid'
//    filtering of x, y, x*x, y*y, x*y (the products in float32) in float64;
//  - per channel and place, with c1 = (0.01 * 255)^2, c2 = (0.03 * 255)^2:
//    cs = (2 s_xy + c2) / (s_xx + s_yy + c2) and ssim = cs * (2 mu_x mu_y +
//    c1) / (mu_x^2 + mu_y^2 + c1), each scale's mean over places and
//    channels, clipped at 0;
//  - the product of cs^w at the first 4 scales and ssim^w at the last, w =
//    (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), the paper's.
// The official filters by FFT (scipy.signal.fftconvolve, the image's
// transform in complex64: up to 4.3e-6 from the exact value); the window is
// separable and filtered here by rows and columns in float64. Checked against
// tools/fixtures/make_pggan_metrics_golden.py (tests/test_pggan_metrics.cpp).
#pragma once
#include <cstdint>

namespace gf::metrics {

// MS-SSIM of two images uint8 [channels, side, side] (side a power of two of
// at least 16: every scale but the last keeps an even side). gf::Error
// otherwise.
double ms_ssim(const uint8_t* a, const uint8_t* b, int64_t channels, int64_t side);

}  // namespace gf::metrics

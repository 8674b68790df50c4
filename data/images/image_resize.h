// Resizing 8-bit images as PIL's Image.resize(size, Image.BILINEAR) does,
// which is what pSp's torchvision transforms.Resize((256, 256)) runs on every
// input (pixel2style2pixel configs/transforms_config.py): a separable triangle
// filter whose support widens with the reduction factor (so downscaling
// averages, with no aliasing), coefficients normalized and rounded to 22-bit
// fixed point, the horizontal pass first, each pass rounded to 8 bits.
// resize_lanczos_pil is the same with PIL's Image.LANCZOS filter (a sinc
// windowed by a sinc, support 3), which the official projector.py resizes its
// target with. resize_box_pil is PIL's Image.BOX (each output pixel the
// area-weighted mean of the input pixels it covers, support 0.5), one of the
// official dataset_tool.py's two --resize-filter choices. resize_bicubic_pil
// is PIL's Image.BICUBIC (the cubic convolution with a = -0.5, support 2),
// Image.resize's default in Pillow 9.4, with which pSp's inference.py and
// style_mixing.py size the panels of their side-by-side images.
#pragma once
#include <cstdint>
#include <vector>

namespace gf {

// hwc: interleaved [in_h, in_w, channels] -> [out_h, out_w, channels].
std::vector<uint8_t> resize_bilinear_pil(const std::vector<uint8_t>& hwc, int in_w, int in_h, int channels,
                                         int out_w, int out_h);
std::vector<uint8_t> resize_lanczos_pil(const std::vector<uint8_t>& hwc, int in_w, int in_h, int channels,
                                        int out_w, int out_h);
std::vector<uint8_t> resize_bicubic_pil(const std::vector<uint8_t>& hwc, int in_w, int in_h, int channels,
                                        int out_w, int out_h);
std::vector<uint8_t> resize_box_pil(const std::vector<uint8_t>& hwc, int in_w, int in_h, int channels, int out_w,
                                    int out_h);
// PIL's Image.NEAREST, which Image.resize uses for a bilevel (mode '1')
// image whatever filter is asked: output x takes input floor(s / 2 + x s),
// s = in / out, the position summed step by step in double as PIL's affine
// loop does (a product differs at some sizes).
std::vector<uint8_t> resize_nearest_pil(const std::vector<uint8_t>& hwc, int in_w, int in_h, int channels,
                                        int out_w, int out_h);

}  // namespace gf

// PSD files as Pillow 9.4 (PsdImagePlugin) reads them, where stb_image 2.27
// differs: an RGB PSD of more than four channels is, to Pillow, its first
// three (RGB; four channels alone are RGBA). stb took the fourth for alpha,
// and "removed the white matte" from the colours by it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace gf {

// Whether Pillow reads `d` as the RGB of its first three channels of more.
bool psd_extra_channels(const uint8_t* d, size_t n);

// Such a PSD rebuilt for stb with those three channels alone (raw or
// run-length data); empty for any other file, or one cut short.
std::vector<uint8_t> psd_first_three_channels(const uint8_t* d, size_t n);

}  // namespace gf

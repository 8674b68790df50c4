// PSD files as Pillow 9.4 (PsdImagePlugin) reads them, where stb_image 2.27
// differs: an RGB PSD of more than four channels is, to Pillow, its first
// three (RGB; four channels alone are RGBA). stb took the fourth for alpha,
// and "removed the white matte" from the colours by it. And stb reads RGB
// PSDs alone: the other modes Pillow reads are decoded here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gf {

// A PSD in a colour mode other than RGB, as Pillow 9.4 opens it (its MODES
// table): grey, multichannel and duotone of 8 bits as 'L' (the first
// channel alone), bitmap (1 bit) as '1', indexed as 'P', CMYK as inverted
// CMYK ('CMYK;I'). Not for RGB (stb_image's), nor for what is no PSD.
struct PsdMode {
  bool applies = false;  // a PSD (version 1) in mode 0, 1, 2, 4, 7, 8 or 9
  // Set when the file is not read here: "PSD in Lab mode" (Pillow reads it
  // as 'LAB'), "PSD in grey mode of 16 bits" (Pillow reads 8-bit ones alone),
  // "PSD in CMYK mode of 3 channels" (fewer than the mode needs).
  std::string refused;
  bool pil_reads = false;  // whether Pillow 9.4 opens a file `refused` names
  int64_t width = 0, height = 0;
  int channels = 0;      // as decoded: 1 (grey, bitmap) or 3 (indexed: its palette; CMYK: as convert('RGB'))
  bool bilevel = false;  // bitmap: Pillow's mode '1'
  bool cmyk = false;
};
PsdMode psd_mode(const uint8_t* d, size_t n);

// The pixels of a PSD psd_mode applies to and does not refuse: height rows
// of width pixels of its channels, interleaved. Raw or PackBits data as
// Pillow decodes them: a bitmap's set bit is 255 (Pillow's raw mode '1'); an
// indexed image's palette is the colour mode data's 768 bytes (256 reds,
// greens, blues), or, for data of another size, Pillow's default one, the
// grey ramp; a PackBits channel is one stream from its first row's start
// (the rows' byte counts only find the next channel), and what a packet
// holds past a row's end is dropped, as Pillow drops it. Where Pillow 9.4
// misreads PackBits of more channels than the mode's (it takes the
// byte-count table to hold the mode's channels alone), the channels are
// read as stored. Throws gf::Error naming `name` for data cut short or a
// compression other than raw or PackBits.
std::vector<uint8_t> decode_psd_mode(const uint8_t* d, size_t n, const std::string& name);

// Where a PSD's image data starts (its compression field): after the header
// and three sections each after its length (the colour mode data, the image
// resources, the layers and masks); 0 for a file cut before it.
size_t psd_image_data(const uint8_t* d, size_t n);

// The fewest bytes a PSD (raw or PackBits) must hold for the pixels read
// of it, header and sections included; 0 for another compression or a file
// cut before its image data. A shorter file is refused before the image is
// allocated.
uint64_t psd_least_bytes(const uint8_t* d, size_t n);

// Whether Pillow reads `d` as the RGB of its first three channels of more.
bool psd_extra_channels(const uint8_t* d, size_t n);

// Such a PSD rebuilt for stb with those three channels alone (raw or
// run-length data); empty for any other file, or one cut short.
std::vector<uint8_t> psd_first_three_channels(const uint8_t* d, size_t n);

}  // namespace gf

// TGA files as Pillow 9.4 (TgaImagePlugin) reads them, where stb_image 2.27
// differs; image_io.cpp decodes with stb and applies these.
//
// - The descriptor's right-to-left bit (0x10): Pillow mirrors the image
//   (its _flip_horizontally); stb ignores the bit.
// - A colour map (8-bit indices into 16- or 24-bit entries): Pillow's
//   palette holds black for the indices below the map's first index, the
//   map's entries from there, and the grey (i, i, i) past them. stb skipped
//   bytes for a first index above 0 (and found the file cut) and took colour
//   0 for an index past the map.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gf {

// Whether Pillow mirrors the TGA `d` left to right (its descriptor's bit 4).
bool tga_right_to_left(const uint8_t* d, size_t n);

// A colour-mapped TGA (8-bit indices, 16- or 24-bit entries) rebuilt for
// stb: no image ID, a map of 256 24-bit entries from index 0 as Pillow has
// them, then the file's pixel data. Empty for any other file, or with `why`
// set for a map reaching past index 255 (Pillow: "invalid palette size").
std::vector<uint8_t> tga_colour_map_rebuilt(const uint8_t* d, size_t n, std::string* why);

}  // namespace gf

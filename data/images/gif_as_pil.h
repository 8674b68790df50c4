// GIF files as Pillow 9.4 (GifImagePlugin) reads their first frame, where
// stb_image 2.27 differs; image_io.cpp decodes with stb what gif_rebuilt
// gives it and fills the pixels the frame leaves. Block walking without
// decoding (frames counted for the dataset log).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gf {

// The frames of a GIF: decoding every frame, as stbi_load_gif does, holds
// all of them at once, gigabytes for a long animation. A cut or malformed
// file counts the frames that started before the fault (at least 1).
int gif_frame_count(const uint8_t* d, size_t n);

// A GIF's first frame as Pillow 9.4 (GifImagePlugin) composes it, where
// stb_image 2.27 differs: Pillow's image is the logical screen grown to
// hold the frame (stb refuses a frame past the screen), and the pixels the
// frame does not cover are its palette's index 0, or its transparency index
// when it has one (stb leaves them transparent, or paints the screen's
// background index when that is not 0). An index past the frame's colour
// table is the grey (i, i, i) (stb: colour 0); a frame whose table is the
// grey ramp 0, 1, 2, ..., or without any table (stb refuses it), Pillow
// opens as grey (mode L). `fill` is index 0's colour in the frame's own
// table, else the global one.
struct GifFirstFrame {
  int width = 0, height = 0;  // the image: the screen grown to the frame
  bool transparency = false;  // a graphic control extension before the frame gives a transparency index
  uint8_t transparency_index = 0;  // the last one given
  bool grey = false;          // Pillow's mode L
  uint8_t fill[3] = {0, 0, 0};
  size_t descriptor = 0;      // where the first image descriptor's fields begin (after its 0x2C); 0: no frame
  std::string problem;        // a block before the frame that Pillow fails on; "" for none
};
// From the header and the blocks up to the first frame.
GifFirstFrame gif_first_frame(const uint8_t* d, size_t n);

// The GIF stb is given: the screen grown to the first frame, no background
// index (the pixels the frame leaves come out transparent, to be filled as
// Pillow fills them), the global table and the frame's own filled up to 256
// entries with Pillow's greys (a file without tables gets the grey ramp),
// and before the frame only a control extension of its transparency index
// as Pillow has it (stb refuses bytes between blocks that Pillow passes
// over, and reads a control extension of 4 bytes alone). Empty when the
// file has no frame.
std::vector<uint8_t> gif_rebuilt(const uint8_t* d, size_t n, const GifFirstFrame& f);

}  // namespace gf

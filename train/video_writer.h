// MP4 videos through the ffmpeg program, as the official scripts write
// theirs (VideoFlavor): the projector's proj.mp4 through imageio's writer,
// generate's latent walk (PGGAN's generate_interpolation_video) through
// moviepy's. Frames go to ffmpeg as raw RGB through a pipe, into a temporary
// file renamed to the path when ffmpeg succeeds. ffmpeg runs without a
// shell, so no path is ever parsed as a command, and its output is named
// through ffmpeg's file: protocol, so no path is taken for an option (an
// --outdir "-x") or another protocol (one with a colon). A SIGINT or SIGTERM
// meanwhile kills ffmpeg and removes its temporary (io::TempFileGuard)
// before the program dies of it.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/temp_file_guard.h"
#include "engine/tensor.h"
#include "data/images/image_io.h"

namespace gf {

// One video frame, interleaved RGB bytes [gh * h * zoom, gw * w * zoom, 3],
// from images [gw * gh, C, h, w] (C = 1 or 3, in [-1, 1], any device): laid
// out row-major as the official misc.create_image_grid, each value to 8 bits
// as `how` says, enlarged as scipy.ndimage.zoom(grid, [zoom, zoom, 1],
// order=0) does (output pixel o reads input floor(o * (n - 1) / (N - 1) +
// 0.5)), grey repeated to RGB. gf::Error for another shape.
std::vector<uint8_t> grid_video_frame(const Tensor& images, int gw, int gh, int zoom, To8Bit how);

// The first executable `program` in PATH's folders (an empty entry is the
// current folder), or "" when there is none.
std::string find_on_path(const std::string& program);

// The encoder flags of the two official writers.
enum class VideoFlavor {
  // imageio's ffmpeg writer (StyleGAN2-ADA's projector.py): libx264,
  // yuv420p, -b:v 16M, sizes scaled up to multiples of 16 (its
  // macro_block_size).
  imageio,
  // moviepy's write_videofile (PGGAN's util_scripts, moviepy 0.2.3's
  // ffmpeg_writer): libx264 -preset medium -b 16M, yuv420p where both sides
  // are even, no scaling.
  moviepy,
};

class VideoWriter {
 public:
  // ffmpeg: the program (find_on_path("ffmpeg")); path: the .mp4 to write
  // (a plain file's name: the rename replaces whatever is there); w x h:
  // each frame's size in pixels; fps: frames per second; program: who
  // writes it, for the error lines ("projector", "generate"). Throws
  // gf::Error when ffmpeg cannot start (the temporary is removed).
  VideoWriter(const std::string& ffmpeg, const std::string& path, int w, int h, int fps, VideoFlavor flavor,
              const std::string& program);
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;
  // One frame, interleaved RGB bytes [h, w, 3]. Throws gf::Error when
  // ffmpeg stopped reading (with its exit status when it failed).
  void add(const std::vector<uint8_t>& rgb);
  // Ends the stream, waits for ffmpeg and renames its file into place.
  // Throws gf::Error naming ffmpeg's failure, or the rename's.
  void finish();

 private:
  void start(const std::string& ffmpeg, int w, int h, int fps, VideoFlavor flavor);
  // Ends the stream and waits for ffmpeg; throws when it failed or was stopped.
  void check_exit_status();
  int wait();
  // guard_ before tmp_, which create_guarded_temporary sets it for; released
  // after the destructor removed the file.
  std::unique_ptr<io::TempFileGuard> guard_;
  std::string path_, tmp_, program_;
  pid_t pid_ = -1;
  int fd_ = -1;
};

}  // namespace gf

#include "train/video_writer.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "engine/error.h"
#include "engine/io/atomic_file.h"

namespace gf {

std::vector<uint8_t> grid_video_frame(const Tensor& images, int gw, int gh, int zoom, To8Bit how) {
  GF_CHECK(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3) && gw > 0 && gh > 0 &&
               images.size(0) == int64_t(gw) * gh && zoom >= 1,
           "grid_video_frame", "expected [" << int64_t(gw) * gh << ", 1 or 3, H, W] images and a zoom >= 1, got "
                                            << images.desc() << " and " << zoom);
  const int64_t c = images.size(1), h = images.size(2), w = images.size(3);
  const int64_t H = h * gh, W = w * gw, ZH = H * zoom, ZW = W * zoom;
  const std::vector<double> v = images.to(Device::cpu()).to_vector();
  // The grid as 8-bit values [H, W, c].
  std::vector<uint8_t> grid(size_t(H * W * c));
  for (int64_t i = 0; i < int64_t(gw) * gh; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
          grid[size_t((((i / gw) * h + y) * W + (i % gw) * w + x) * c + ch)] =
              to_8_bit(float(v[size_t(((i * c + ch) * h + y) * w + x)]), how);
  // scipy's zoom at order 0: the input coordinate o * (n - 1) / (N - 1), rounded by floor(x + 0.5).
  const auto source = [](int64_t o, int64_t n, int64_t N) {
    return N > 1 ? static_cast<int64_t>(std::floor(double(o) * (double(n - 1) / double(N - 1)) + 0.5)) : 0;
  };
  std::vector<uint8_t> out(size_t(ZH * ZW * 3));
  for (int64_t y = 0; y < ZH; ++y) {
    const int64_t sy = source(y, H, ZH);
    for (int64_t x = 0; x < ZW; ++x) {
      const int64_t sx = source(x, W, ZW);
      for (int k = 0; k < 3; ++k)
        out[size_t((y * ZW + x) * 3 + k)] = grid[size_t((sy * W + sx) * c + (c == 1 ? 0 : k))];
    }
  }
  return out;
}

std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  size_t at = 0;
  while (at <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', at), dirs.size());
    const std::string dir = end > at ? dirs.substr(at, end - at) : ".";
    const std::string file = dir + "/" + program;
    if (::access(file.c_str(), X_OK) == 0 && !std::filesystem::is_directory(file)) return file;
    at = end + 1;
  }
  return "";
}

VideoWriter::VideoWriter(const std::string& ffmpeg, const std::string& path, int w, int h, int fps,
                         VideoFlavor flavor, const std::string& program)
    : path_(path), tmp_(io::create_guarded_temporary(path, guard_, program)), program_(program) {
  // Made here, this process's alone (another's of the same process id is
  // passed over); ffmpeg's -y writes over it. Removed if ffmpeg cannot start.
  try {
    start(ffmpeg, w, h, fps, flavor);
  } catch (...) {
    std::remove(tmp_.c_str());  // before guard_'s destructor lets a held signal through
    throw;
  }
}

VideoWriter::~VideoWriter() {
  if (pid_ > 0) wait();
  std::error_code ec;
  std::filesystem::remove(tmp_, ec);
}

void VideoWriter::start(const std::string& ffmpeg, int w, int h, int fps, VideoFlavor flavor) {
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.2f", double(fps));  // imageio's and moviepy's '%.02f'
  std::vector<std::string> a{ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-vcodec", "rawvideo", "-s",
                             std::to_string(w) + "x" + std::to_string(h), "-pix_fmt", "rgb24", "-r", rate,
                             "-i", "-", "-an"};
  if (flavor == VideoFlavor::imageio) {
    a.insert(a.end(), {"-vcodec", "libx264", "-pix_fmt", "yuv420p", "-b:v", "16M"});
    const int W = (w + 15) / 16 * 16, H = (h + 15) / 16 * 16;
    if (W != w || H != h) a.insert(a.end(), {"-vf", "scale=" + std::to_string(W) + ":" + std::to_string(H)});
  } else {
    a.insert(a.end(), {"-vcodec", "libx264", "-preset", "medium", "-b", "16M"});
    if (w % 2 == 0 && h % 2 == 0) a.insert(a.end(), {"-pix_fmt", "yuv420p"});
  }
  a.insert(a.end(), {"-f", "mp4", "file:" + tmp_});
  std::vector<char*> argv;
  for (std::string& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  int fds[2];
  if (::pipe(fds) != 0) throw Error("cannot start ffmpeg: " + std::string(std::strerror(errno)));
  std::signal(SIGPIPE, SIG_IGN);  // an ffmpeg that stops reading shows as a failed write, not a killed program
  pid_ = ::fork();
  if (pid_ == 0) {
    io::TempFileGuard::reset_signals_in_child();  // ffmpeg takes Ctrl-C as usual
    ::dup2(fds[0], 0);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[0]);
  if (pid_ < 0) {
    ::close(fds[1]);
    throw Error("cannot start ffmpeg: " + std::string(std::strerror(errno)));
  }
  guard_->set_writer(pid_);
  guard_->created();  // signals held since the guard began are handled here: ffmpeg is killed first
  fd_ = fds[1];
}

void VideoWriter::add(const std::vector<uint8_t>& rgb) {
  size_t done = 0;
  while (done < rgb.size()) {
    const ssize_t n = ::write(fd_, rgb.data() + done, rgb.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // ffmpeg stopped reading
      check_exit_status();  // throws with its status when it failed; the temporary is never renamed
      throw Error("ffmpeg stopped reading the frames of " + path_ + " and exited 0 (the video is incomplete)");
    }
    done += size_t(n);
  }
}

void VideoWriter::finish() {
  check_exit_status();
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  if (ec) {
    const bool made = std::filesystem::exists(tmp_);
    std::filesystem::remove(tmp_, ec);
    throw Error(made ? "cannot write " + path_ + ": renaming its temporary failed: " + ec.message()
                     : "ffmpeg exited 0 but wrote no " + path_);
  }
}

void VideoWriter::check_exit_status() {
  if (pid_ <= 0) throw Error("ffmpeg writing " + path_ + " has already ended");
  const int status = wait();
  if (status == -1) throw Error("ffmpeg writing " + path_ + " was stopped by a signal to the " + program_);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error("ffmpeg failed writing " + path_ + " (" +
                (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                   : "signal " + std::to_string(WTERMSIG(status))) + ")");
}

int VideoWriter::wait() {
  ::close(fd_);
  fd_ = -1;
  // Exited but not reaped, its pid not yet free: only now is it no longer the guard's to kill.
  siginfo_t info {};
  while (::waitid(P_PID, id_t(pid_), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
  if (guard_->set_writer(0) == -1) {  // the signal handler, on another thread, kills and reaps it and ends the process
    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, SIGINT);
    sigaddset(&both, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &both, nullptr);
    for (;;) ::pause();
  }
  int status = 0;
  pid_t got = -1;
  while ((got = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return got < 0 ? -1 : status;  // -1: reaped by the signal handler on another thread, which ends the process
}

}  // namespace gf

#include "train/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "engine/error.h"
#include "engine/io/append_file.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json_input.h"
#include "train/report.h"

namespace gf {

namespace fs = std::filesystem;

void write_file_atomic(const std::string& path, const std::string& text) {
  io::write_atomic(path, [&](std::ostream& f) { f << text; }, "");  // the error names the file
}

namespace {

// Run numbers as decimal digits without leading zeros, of any length, as
// train.py's Python ints: a folder 99999999999999999999-x is followed by
// 100000000000000000000-..., where an int's overflow started again at 00000.
std::string plus_one(std::string n) {
  size_t i = n.size();
  while (i > 0 && n[i - 1] == '9') n[--i] = '0';
  if (i == 0) return "1" + n;
  ++n[i - 1];
  return n;
}

// The number after the largest NNNNN- prefix of a folder in outdir ("0" when
// it has none, or does not exist); files are not counted, as train.py counts
// only os.path.isdir entries.
std::string next_run_number(const std::string& outdir) {
  std::string largest;  // none yet
  std::error_code ec;
  for (fs::directory_iterator it(outdir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code dir_ec;
    if (!it->is_directory(dir_ec)) continue;
    const std::string n = it->path().filename().string();
    size_t digits = 0;
    while (digits < n.size() && std::isdigit(static_cast<unsigned char>(n[digits]))) ++digits;
    if (digits == 0) continue;
    size_t zeros = 0;
    while (zeros + 1 < digits && n[zeros] == '0') ++zeros;
    const std::string v = n.substr(zeros, digits - zeros);
    if (largest.empty() || v.size() > largest.size() || (v.size() == largest.size() && v > largest)) largest = v;
  }
  return largest.empty() ? "0" : plus_one(largest);
}

// The run folder this process made (its last RunDir), for record_run_stopped.
std::string& active_run() {
  static std::string path;
  return path;
}

std::string run_path(const std::string& outdir, const std::string& number, const std::string& desc) {
  std::ostringstream os;
  os << std::setw(5) << std::setfill('0') << number << "-";  // train.py's {:05d}
  // A folder name holds 255 bytes: a long dataset name (desc starts with it)
  // is cut, at a character's start, rather than failing once the data is read.
  constexpr size_t kNameMax = 255;
  std::string d = desc;
  const size_t room = kNameMax > os.str().size() ? kNameMax - os.str().size() : 0;
  if (d.size() > room) {
    size_t cut = room;
    while (cut > 0 && (static_cast<unsigned char>(d[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
    d.resize(cut);
    while (!d.empty() && d.back() == '-') d.pop_back();
  }
  return (std::filesystem::path(outdir) / (os.str() + d)).string();  // "runs/" gives runs/00000-..., as os.path.join
}

}  // namespace

std::string next_run_path(const std::string& outdir, const std::string& desc) {
  return run_path(outdir, next_run_number(outdir), desc);
}

RunDir::RunDir(const std::string& outdir, const std::string& desc, bool echo) : echo_(echo) {
  io::create_folder(outdir, "--outdir");
  std::error_code ec;
  // Runs started in one outdir at once scan it before either makes its
  // folder: under one lock on the outdir, each sees the others' folders, so
  // runs of different names no longer take the same number (00005-a and
  // 00005-b). Held for the scan and the mkdir only; released however we leave.
  struct OutdirLock {
    int fd;
    ~OutdirLock() {
      if (fd >= 0) ::close(fd);
    }
  } lock{::open(outdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (lock.fd >= 0)
    while (::flock(lock.fd, LOCK_EX) != 0 && errno == EINTR) {
    }
  std::string next = next_run_number(outdir);
  // Where there is no lock (a file system without flock, or another
  // program), a run may still take the number first (create_directory then
  // finds the folder there): take the next one, as the scan would have.
  for (int tries = 0;; ++tries, next = plus_one(next)) {
    path_ = run_path(outdir, next, desc);
    if (fs::create_directory(path_, ec)) break;
    if (ec) throw Error("cannot create run folder " + path_ + ": " + ec.message());
    if (tries == 1000) throw Error("cannot create run folder " + path_ + ": 1000 numbers in a row were taken");
  }
  // Both logs exist from the start (the report page looks for them); each
  // record is then appended whole by io::append_record.
  for (const char* name : {"stats.jsonl", "log.txt"}) {
    const int fd = io::open_for_append(file(name), /*create=*/true, io::AppendTo::follow);
    if (fd < 0) throw Error("cannot open the logs in " + path_ + ": " + std::strerror(errno));
    if (std::string(name) == "log.txt" && ::flock(fd, LOCK_SH) == 0) {
      live_fd_ = fd;  // a filesystem without flock: the folder never reads as live
      continue;
    }
    ::close(fd);
  }
  active_run() = path_;
}

RunDir::~RunDir() { end_live(); }

void RunDir::end_live() {
  if (live_fd_ >= 0) ::close(live_fd_);
  live_fd_ = -1;
}

bool run_is_live(const std::string& run_dir) {
  const int fd = ::open((run_dir + "/log.txt").c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // drops the lock this took, if it took one
  return held;
}

void record_run_stopped(const std::string& line) noexcept {
  try {
    const std::string dir = active_run();
    if (dir.empty()) return;
    try {
      io::append_record(dir + "/log.txt", line + "\n", io::AppendTo::follow, /*sync=*/false);
    } catch (const std::exception& e) {
      // Not when the error is that very failure (the run folder removed):
      // the one error line says it already.
      if (line.find(e.what()) == std::string::npos)
        std::cerr << "warning: the error line is not in log.txt: " << e.what() << std::endl;
      return;  // the page reads the stop from there: the last tick's page stays
    }
    // A page once the folder has what one is made of (a run that stopped
    // before writing its options has nothing to show).
    std::error_code ec;
    if (fs::exists(dir + "/stats.jsonl", ec) || fs::exists(dir + "/training_options.json", ec))
      update_report(dir, /*live=*/false);
  } catch (const std::exception& e) {
    std::cerr << "warning: the run folder does not record the stop: " << e.what() << std::endl;
  }
}

void RunDir::write_json(const std::string& name, const nlohmann::json& j) const {
  write_file_atomic(file(name), io::json_text(j, 2) + "\n");
}

// A failed append (a full disk) stops the run with the file named, as the
// official loop's write raises; a reader never finds half a line.
void RunDir::append_stats(const nlohmann::json& j) {
  io::append_record(file("stats.jsonl"), io::json_text(j) + "\n", io::AppendTo::follow,
                    /*sync=*/false);
}

void RunDir::log(const std::string& line) {
  if (echo_) std::cout << line << std::endl;
  io::append_record(file("log.txt"), line + "\n", io::AppendTo::follow, /*sync=*/false);
}

}  // namespace gf

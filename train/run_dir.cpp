#include "train/run_dir.h"

#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "engine/error.h"
#include "engine/io/atomic_file.h"

namespace gf {

namespace fs = std::filesystem;

void write_file_atomic(const std::string& path, const std::string& text) {
  io::write_atomic(path, [&](std::ostream& f) { f << text; }, "write_file_atomic");
}

RunDir::RunDir(const std::string& outdir, const std::string& desc, bool echo) : echo_(echo) {
  std::error_code ec;
  fs::create_directories(outdir, ec);
  if (ec) throw Error("--outdir " + outdir + ": " + ec.message());
  // The next id after the largest existing NNNNN- prefix.
  int next = 0;
  for (const auto& e : fs::directory_iterator(outdir)) {
    const std::string n = e.path().filename().string();
    size_t digits = 0;
    while (digits < n.size() && std::isdigit(static_cast<unsigned char>(n[digits]))) ++digits;
    if (digits > 0 && digits <= 9) next = std::max(next, std::stoi(n.substr(0, digits)) + 1);
  }
  std::ostringstream os;
  os << outdir << "/" << std::setw(5) << std::setfill('0') << next << "-" << desc;
  path_ = os.str();
  if (!fs::create_directory(path_, ec) || ec) throw Error("cannot create run folder " + path_);
  stats_.open(file("stats.jsonl"), std::ios::app);
  log_.open(file("log.txt"), std::ios::app);
  if (!stats_ || !log_) throw Error("cannot open the logs in " + path_);
}

void RunDir::write_json(const std::string& name, const nlohmann::json& j) const {
  write_file_atomic(file(name), j.dump(2) + "\n");
}

void RunDir::append_stats(const nlohmann::json& j) {
  stats_ << j.dump() << "\n";
  stats_.flush();
}

void RunDir::log(const std::string& line) {
  if (echo_) std::cout << line << std::endl;
  log_ << line << "\n";
  log_.flush();
}

}  // namespace gf

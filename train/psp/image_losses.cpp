#include "train/psp/image_losses.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engine/error.h"
#include "engine/io/input_file.h"
#include "engine/strings.h"
#include "data/images/image_io.h"
#include "train/psp/data.h"

namespace fs = std::filesystem;

namespace gf::psp {

namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

}  // namespace

std::vector<ResultGtPair> result_gt_pairs(const std::string& data_path, const std::string& gt_path) {
  std::error_code ec;
  if (!fs::is_directory(data_path, ec)) throw Error("--data-path " + data_path + ": not a folder");
  if (!fs::is_directory(gt_path, ec)) throw Error("--gt-path " + gt_path + ": not a folder");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(data_path, ec)) {
    const std::string f = e.path().filename().string();
    if (!ends_with(f, ".jpg") && !ends_with(f, ".png")) continue;
    // The official lists it as a result and fails opening it; named as what it is
    // (it was reported as a result without its ground truth).
    std::error_code is_dir_ec;  // its own: a dangling link's ENOENT is not the listing's error
    if (fs::is_directory(e.path(), is_dir_ec))
      throw Error("--data-path " + data_path + ": " + f + " is a folder named like a result image; rename or move it");
    names.push_back(f);
  }
  if (ec) throw Error("--data-path " + data_path + ": " + ec.message());
  if (names.empty()) throw Error("--data-path " + data_path + ": no .jpg or .png file in it");
  std::sort(names.begin(), names.end());
  std::vector<ResultGtPair> pairs;
  for (const std::string& f : names) {
    const std::string joined = (fs::path(gt_path) / f).string();
    std::string gt = replace_all(joined, ".png", ".jpg");  // the official: the whole path's ".png"
    if (!fs::exists(gt, ec) && fs::exists(joined, ec)) gt = joined;
    if (!fs::exists(gt, ec))
      throw Error("--gt-path " + gt_path + ": no ground truth for " + f + " (looked for " + gt +
                  (gt == joined ? "" : " and " + joined) + ")");
    pairs.push_back({f, (fs::path(data_path) / f).string(), gt});
  }
  return pairs;
}

Tensor read_loss_image(const std::string& path) {
  const std::vector<uint8_t> bytes = io::read_input(path);
  ImageInfo info;
  // PIL's .convert('RGB'): grey replicated, the EXIF orientation not applied.
  const std::vector<uint8_t> hwc = decode_image(bytes.data(), bytes.size(), path, 3, &info, nullptr, false);
  constexpr int kSize = 256;
  Tensor out = Tensor::empty({1, 3, kSize, kSize});
  transform_image(hwc, info.width, info.height, 3, kSize, false, 3, out.data<float>());
  return out;
}

std::string average_loss_line(const std::vector<double>& scores) {
  double mean = 0, var = 0;
  for (double s : scores) mean += s;
  mean /= double(scores.size());
  for (double s : scores) var += (s - mean) * (s - mean);
  const double std_dev = std::sqrt(var / double(scores.size()));
  char buf[96];
  std::snprintf(buf, sizeof buf, "Average loss is %.2f+-%.2f", mean, std_dev);
  return buf;
}

}  // namespace gf::psp

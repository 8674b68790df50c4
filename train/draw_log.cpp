#include "train/draw_log.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "data/dataset.h"

namespace gf {
namespace fs = std::filesystem;

namespace {

const char* kDrawLog = "draw log";
const char* kFormat = "ganforge-draw-log/1";

// "mb<digits>/" at the start of a name.
bool is_draw_name(const std::string& name) {
  if (name.rfind("mb", 0) != 0) return false;
  size_t i = 2;
  while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i;
  return i > 2 && i < name.size() && name[i] == '/';
}

std::string minibatch_prefix(int64_t k) { return "mb" + std::to_string(k) + "/"; }

bool bit_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor ac = a.to(Device::cpu()), bc = b.to(Device::cpu());
  const auto* x = static_cast<const unsigned char*>(ac.raw());
  const auto* y = static_cast<const unsigned char*>(bc.raw());
  return std::equal(x, x + ac.nbytes(), y);
}

}  // namespace

void DrawLog::check_recorder_folder(const std::string& dir) {
  io::check_folder(dir, std::string(kDrawLog) + ": folder");
  refuse_earlier_recording(dir);
}

void DrawLog::refuse_earlier_recording(const std::string& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string f = it->path().filename().string();
    if ((f.rfind("draws-mb", 0) == 0 && it->path().extension() == ".bin") || f == "trace.bin")
      throw Error(std::string(kDrawLog) + ": " + dir + " holds " + f +
                  " already (an earlier recording; a replay would mix its draws with this run's): give a new or "
                  "empty folder to --record-draws");
  }
}

std::unique_ptr<DrawLog> DrawLog::recorder(const std::string& dir, const io::Metadata& run) {
  io::create_folder(dir, std::string(kDrawLog) + ": folder");
  refuse_earlier_recording(dir);
  return std::unique_ptr<DrawLog>(new DrawLog(false, dir, run));
}

std::unique_ptr<DrawLog> DrawLog::replayer(const std::vector<std::string>& paths, const io::Metadata& run) {
  GF_CHECK(!paths.empty(), kDrawLog, "nothing to replay: no files given");
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    if (!fs::is_directory(p)) {
      files.push_back(p);
      continue;
    }
    std::vector<std::string> in_dir;
    for (const auto& e : fs::directory_iterator(p)) {
      const std::string f = e.path().filename().string();
      if (f.rfind("draws-mb", 0) == 0 && e.path().extension() == ".bin") in_dir.push_back(e.path().string());
    }
    GF_CHECK(!in_dir.empty(), kDrawLog, p << " holds no draws-mb*.bin files");
    std::sort(in_dir.begin(), in_dir.end());
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  std::string where;
  for (const std::string& f : files) where += (where.empty() ? "" : ", ") + f;
  std::unique_ptr<DrawLog> log(new DrawLog(true, where));
  for (const std::string& f : files) {
    const io::SafetensorsFile file = io::read_safetensors(f);
    const auto format = file.metadata.find("format");
    GF_CHECK(format == file.metadata.end() || format->second == kFormat, kDrawLog,
             f << " is a '" << format->second << "' file, not a draw log (" << kFormat << ")");
    for (const auto& [key, value] : run) {
      const auto logged = file.metadata.find(key);
      GF_CHECK(logged == file.metadata.end() || logged->second == value, kDrawLog,
               f << " was recorded by a run of " << key << " " << logged->second << ", this run has " << value
                 << " (its networks start elsewhere): give the recording run's --" << key);
    }
    for (auto& [name, t] : file.tensors) {
      if (!is_draw_name(name)) continue;
      const auto [it, added] = log->entries_.emplace(name, t);
      GF_CHECK(added || bit_equal(it->second, t), kDrawLog, "'" << name << "' differs between two of " << where);
    }
  }
  GF_CHECK(!log->entries_.empty(), kDrawLog, "no draws (names mb<K>/...) in " << where);
  return log;
}

const Tensor& DrawLog::logged(const std::string& full, const Shape& shape, DType dtype) {
  auto it = entries_.find(full);
  GF_CHECK(it != entries_.end(), kDrawLog, "the run asks for '" << full << "', which " << where_ << " does not hold");
  GF_CHECK(it->second.shape() == shape && it->second.dtype() == dtype, kDrawLog,
           "'" << full << "' is " << it->second.desc() << " in " << where_ << ", the run needs " << dtype_name(dtype)
               << shape_str(shape));
  GF_CHECK(taken_.insert(full).second, kDrawLog, "'" << full << "' is asked for twice");
  return it->second;
}

Tensor DrawLog::draw(const std::string& name, const Shape& shape, DType dtype, Device device,
                     const std::function<Tensor()>& fresh, bool uniform) {
  const std::string full = scope_ + name;
  if (replay_) {
    const Tensor& t = logged(full, shape, dtype);
    if (t.numel() > 0) {
      const std::vector<double> v = t.to_vector();
      const auto bad = std::find_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); });
      GF_CHECK(bad == v.end(), kDrawLog,
               "'" << full << "' in " << where_ << " holds " << *bad << " at element " << (bad - v.begin())
                   << "; draws are finite numbers (a damaged or edited log)");
      const auto outside = std::find_if(v.begin(), v.end(), [](double x) { return x < 0 || x >= 1; });
      GF_CHECK(!uniform || outside == v.end(), kDrawLog,
               "'" << full << "' in " << where_ << " holds " << *outside << " at element " << (outside - v.begin())
                   << "; a uniform draw lies in [0, 1) (a damaged or edited log)");
    }
    return t.to(device);
  }
  Tensor t = fresh();
  GF_CHECK(t.shape() == shape && t.dtype() == dtype, kDrawLog,
           "the draw '" << full << "' came out " << t.desc() << ", declared " << dtype_name(dtype) << shape_str(shape));
  GF_CHECK(entries_.emplace(full, t.to(Device::cpu()).clone()).second, kDrawLog, "'" << full << "' is drawn twice");
  return t;
}

void DrawLog::derived(const std::string& name, const Tensor& value) {
  const std::string full = scope_ + name;
  if (!replay_) {
    GF_CHECK(entries_.emplace(full, value.to(Device::cpu()).clone()).second, kDrawLog, "'" << full << "' is noted twice");
    return;
  }
  const Tensor& want = logged(full, value.shape(), value.dtype());
  GF_CHECK(bit_equal(want, value), kDrawLog,
           "'" << full << "' differs between " << where_ << " and this run (another dataset or options?)");
}

void DrawLog::set_process(int rank, int first, int count) {
  GF_CHECK(rank >= 0 && first >= 0 && count > 0, kDrawLog, "set_process(" << rank << ", " << first << ", " << count << ")");
  rank_ = rank;
  first_replica_ = first;
  replicas_ = count;
}

bool DrawLog::own(const std::string& full) const {
  if (replicas_ < 0) return true;
  // "mb<K>/r<j>/...": replica j's.
  const size_t slash = full.find('/');
  if (slash == std::string::npos || full.compare(slash + 1, 1, "r") != 0) return true;
  size_t i = slash + 2;
  int j = 0;
  while (i < full.size() && full[i] >= '0' && full[i] <= '9') j = 10 * j + (full[i++] - '0');
  if (i == slash + 2 || i >= full.size() || full[i] != '/') return true;
  return j >= first_replica_ && j < first_replica_ + replicas_;
}

void DrawLog::end_minibatch(int64_t k) {
  const std::string prefix = minibatch_prefix(k);
  auto first = entries_.lower_bound(prefix), last = first;
  while (last != entries_.end() && last->first.rfind(prefix, 0) == 0) ++last;
  if (replay_) {
    for (auto it = first; it != last; ++it)
      GF_CHECK(taken_.count(it->first) || !own(it->first), kDrawLog,
               "'" << it->first << "' of " << where_ << " was not used by minibatch " << k
                   << " (the run draws differently from the one that made the log)");
    return;
  }
  io::TensorMap out(first, last);
  char file[48];
  if (rank_ >= 0)
    std::snprintf(file, sizeof file, "draws-mb%06lld-rank%d.bin", static_cast<long long>(k), rank_);
  else
    std::snprintf(file, sizeof file, "draws-mb%06lld.bin", static_cast<long long>(k));
  io::Metadata meta = run_;
  meta["format"] = kFormat;
  io::save_safetensors((fs::path(where_) / file).string(), out, meta);
  entries_.erase(first, last);
}

Tensor logged_uniform(DrawLog* log, const char* name, const Shape& shape, DType dtype, Device device, Generator& rng) {
  const auto fresh = [&] { return rand(shape, rng, dtype, device); };
  return log ? log->draw(name, shape, dtype, device, fresh, /*uniform=*/true) : fresh();
}

std::vector<int64_t> logged_items(DrawLog* log, const char* name, int64_t n, int64_t size,
                                  const std::function<std::vector<int64_t>()>& fresh) {
  if (!log) return fresh();
  const Tensor t = log->draw(name, {n}, DType::f64, Device::cpu(), [&] {
    const std::vector<int64_t> items = fresh();
    return Tensor::from_vector(std::vector<double>(items.begin(), items.end()), {n}, DType::f64);
  });
  std::vector<int64_t> items;
  for (double v : t.to_vector()) {
    GF_CHECK(v >= 0 && v < static_cast<double>(size) && v == std::floor(v), kDrawLog,
             log->scope() << name << ": " << v << " is not an item of the dataset's " << size);
    items.push_back(static_cast<int64_t>(v));
  }
  return items;
}

std::unique_ptr<DrawLog> draw_log_from_flags(const std::string& record_dir, const std::string& replay_paths,
                                             uint64_t seed) {
  if (!record_dir.empty() && !replay_paths.empty()) throw Error("--record-draws and --replay-draws exclude each other");
  const io::Metadata run = {{"seed", std::to_string(seed)}};
  if (!record_dir.empty()) return DrawLog::recorder(record_dir, run);
  if (replay_paths.empty()) return nullptr;
  std::vector<std::string> paths;
  std::stringstream list(replay_paths);
  for (std::string p; std::getline(list, p, ',');)
    if (!p.empty()) paths.push_back(p);
  return DrawLog::replayer(paths, run);
}

std::vector<std::string> DrawLog::names() const {
  std::vector<std::string> n;
  for (const auto& [name, t] : entries_) n.push_back(name);
  return n;
}

Tensor logged_labels(DrawLog* log, const Dataset& ds, int64_t n, Generator& rng, Device device) {
  if (!log) return random_labels(ds, n, rng, device);
  if (ds.c_dim() == 0) return Tensor();
  const Tensor c =
      labels_of(ds, logged_items(log, "c_item", n, ds.size(), [&] { return random_items(ds, n, rng); }), device);
  log->derived("c", c);
  return c;
}

}  // namespace gf

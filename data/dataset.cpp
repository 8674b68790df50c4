#include "data/dataset.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <nlohmann/json.hpp>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/error.h"
#include "engine/host_memory.h"
#include "engine/numpy_random_state.h"
#include "engine/strings.h"
#include "engine/io/crc32.h"
#include "engine/io/input_file.h"
#include "engine/io/json_input.h"
#include "engine/ops.h"
#include "data/images/image_io.h"
#include "data/mnist_idx.h"
#include "data/pixel_hash.h"
#include "data/python_order.h"
#include "data/archives/zip_reader.h"

namespace gf {
namespace fs = std::filesystem;
namespace {

// As train.py's --subset: at most the images the data holds.
void check_max_images(const DatasetOptions& opt, const std::string& path, size_t images) {
  if (opt.max_images > 0 && static_cast<uint64_t>(opt.max_images) > images)
    throw Error(path + ": --max-images " + std::to_string(opt.max_images) + " is more than its " +
                count_text(static_cast<long long>(images), "image"));
}

// Where the files come from: every file's sorted relative name (the labels
// file dataset.json aside), the sizes, a reader, and what the listing itself
// passed over (entries that are not regular files).
struct Source {
  std::string path;
  std::vector<std::string> names;
  std::vector<uint64_t> sizes;  // bytes, by name
  std::vector<std::pair<std::string, std::string>> unlisted;  // name, why
  std::function<std::vector<uint8_t>(const std::string&)> read;  // may throw
  std::function<bool(const std::string&)> exists;
  std::map<std::string, size_t> copies;  // a zip's names it lists more than once: how many times
  std::string display(const std::string& name) const { return path + "/" + name; }
};

std::vector<uint8_t> read_whole_file(const std::string& path) {
  return io::read_input(path);
}

// Sorted by name as Python sorts the official dataset's names (str):
// item order (and labels) never depend on the file system or the archive's
// order.
void sort_by_name(Source& src) {
  std::vector<size_t> order(src.names.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return python_name_less(src.names[a], src.names[b]); });
  std::vector<std::string> names;
  std::vector<uint64_t> sizes;
  for (size_t i : order) names.push_back(src.names[i]), sizes.push_back(src.sizes[i]);
  src.names = std::move(names);
  src.sizes = std::move(sizes);
  std::sort(src.unlisted.begin(), src.unlisted.end());
}

Source folder_source(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  Source src;
  src.path = dir;
  // Links to folders are followed, except a link to a folder inside the
  // dataset or above it (sub/up -> ..: a loop; alias -> sub: the same images
  // twice) and a link back to a folder on its own path (a loop outside the
  // dataset). Followed, a loop went 40 links deep in every branch (a hang).
  // Both tests look only at the link and its path, never at what the walk
  // met before, so what is read does not depend on the file system's order.
  std::error_code root_ec;
  const fs::path root = fs::canonical(dir, root_ec);
  auto folder_id = [](const fs::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 ? std::make_pair(uint64_t(st.st_dev), uint64_t(st.st_ino))
                                       : std::make_pair(uint64_t(0), uint64_t(0));
  };
  std::vector<std::pair<uint64_t, uint64_t>> path_ids{folder_id(dir)};  // the root and the folders above the entry
  try {
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink);
         it != fs::recursive_directory_iterator(); ++it) {
      const fs::directory_entry& e = *it;
      const std::string rel = e.path().lexically_relative(dir).generic_string();
      std::error_code ec;
      if (e.is_directory(ec)) {
        path_ids.resize(static_cast<size_t>(it.depth()) + 1);
        if (e.is_symlink(ec)) {
          const fs::path target = fs::canonical(e.path(), ec);
          if (!ec && !root_ec && (io::is_within(target, root) || io::is_within(root, target))) {
            it.disable_recursion_pending();
            src.unlisted.emplace_back(rel, "a link to " + target.string() + ", inside or above the dataset folder: not followed");
            continue;
          }
        }
        const auto id = folder_id(e.path());
        if (std::find(path_ids.begin(), path_ids.end(), id) != path_ids.end()) {
          it.disable_recursion_pending();
          src.unlisted.emplace_back(rel, "a link to a folder on its own path (a loop): not followed");
          continue;
        }
        path_ids.push_back(id);
        continue;
      }
      if (!e.is_regular_file(ec)) {
        std::string why = "not a regular file";
        if (e.is_symlink(ec)) {  // a link that leads nowhere, round in a loop of links, or to a device or pipe
          std::error_code status_ec;
          const fs::file_status target = fs::status(e.path(), status_ec);
          why = status_ec == std::errc::too_many_symbolic_link_levels ? "a link in a loop of links"
                : status_ec == std::errc::no_such_file_or_directory || (!status_ec && !fs::exists(target))
                    ? "a link to nothing"
                : status_ec ? "a link that cannot be followed (" + status_ec.message() + ")"
                            : "a link to something that is not a regular file";
        }
        src.unlisted.emplace_back(rel, why);
        continue;
      }
      if (rel == "dataset.json") continue;
      if (!pil_lists_extension(splitext_extension(rel))) {
        src.unlisted.emplace_back(rel, kNotImageNameReason);
        continue;
      }
      src.names.push_back(rel);
      src.sizes.push_back(e.file_size(ec));
    }
  } catch (const fs::filesystem_error& e) {
    throw Error(dir + ": cannot list the folder (" + e.what() + ")");
  }
  sort_by_name(src);
  src.read = [dir](const std::string& name) { return read_whole_file(dir + "/" + name); };
  src.exists = [dir](const std::string& name) { return fs::is_regular_file(dir + "/" + name); };
  return src;
}

// A file given where a folder or .zip of images is expected: every zip
// starts with a local header ("PK\3\4") or, empty, the end record
// ("PK\5\6"), unless other bytes come before it (a self-extracting stub),
// when its end records are read. Anything else, most often one image or an
// archive of another kind, is named as such rather than reported as a
// broken zip. Only the head is read (and, for a zip after other bytes, the
// end records and the directory): such a file may be a tar of many
// gigabytes.
void check_zip_magic(const std::string& path) {
  constexpr size_t kHead = 1 << 20;  // enough for any image header stb_image reads
  std::vector<uint8_t> head(kHead, 0);
  {
    std::string why;
    std::ifstream f = io::open_input(path, why, /*seekable=*/true);  // the zip reader's next
    if (!f.is_open()) throw Error(path + ": " + why);
    try {  // libstdc++'s filebuf throws from a failed read(2)
      f.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(kHead));
    } catch (const std::ios_base::failure&) {
      throw Error(path + ": read error");
    }
    head.resize(static_cast<size_t>(f.gcount()));
  }
  auto at = [&](size_t pos, const std::string& magic) {
    return head.size() >= pos + magic.size() && std::memcmp(head.data() + pos, magic.data(), magic.size()) == 0;
  };
  if (at(0, std::string("PK\3\4", 4)) || at(0, std::string("PK\5\6", 4))) return;
  std::string kind;
  if (at(257, "ustar")) kind = " (a tar archive: unpack it to a folder, or make a .zip)";
  else if (at(0, "\x1f\x8b")) kind = " (a gzip file, perhaps a .tar.gz: unpack it to a folder, or make a .zip)";
  else if (at(0, "7z\xBC\xAF\x27\x1C")) kind = " (a 7z archive: unpack it to a folder, or make a .zip)";
  else if (at(0, "Rar!")) kind = " (a RAR archive: unpack it to a folder, or make a .zip)";
  else {
    try {  // a zip after other bytes (a self-extracting stub), as Python's zipfile reads it
      ZipReader zip(path);
      return;
    } catch (const Error&) {
    }
    try {
      image_info(head.data(), head.size(), path);
      kind = " (one image: give the folder that holds it)";
    } catch (const Error&) {
    }
  }
  throw Error(path + ": not a folder or a .zip of images" + kind);
}

Source zip_source(const std::string& path) {
  check_zip_magic(path);
  auto zip = std::make_shared<ZipReader>(path);
  Source src;
  src.path = path;
  for (const auto& e : zip->entries()) {
    if (const size_t n = zip->records(e.name); n > 1) src.copies[e.name] = n;
    if (e.is_dir() || e.name == "dataset.json") continue;
    if (!pil_lists_extension(splitext_extension(e.name))) src.unlisted.emplace_back(e.name, kNotImageNameReason);
    else if (!e.unreadable.empty()) src.unlisted.emplace_back(e.name, "entry " + e.unreadable);
    else src.names.push_back(e.name), src.sizes.push_back(e.size);
  }
  sort_by_name(src);
  src.read = [zip](const std::string& name) {
    return zip->read(zip->entries()[static_cast<size_t>(zip->find(name))]);
  };
  src.exists = [zip](const std::string& name) { return zip->find(name) >= 0; };
  return src;
}

}  // namespace

// As the official loader, only files whose names PIL lists as images
// (training/dataset.py: by extension, whatever they hold): a backup
// "a.png~" or a "thumb" file are not images there either. Listed, not read.
const char* const kNotImageNameReason = "its name has no image extension PIL lists (the official loader leaves it out)";

std::string no_images_message(const std::string& path, const std::vector<std::string>& skipped) {
  // The first file that was taken for an image and failed says more than one that never was.
  auto first = std::find_if(skipped.begin(), skipped.end(), [](const std::string& line) {
    return !ends_with(line, kNotImageNameReason);
  });
  if (first == skipped.end()) first = skipped.begin();
  return path + ": no images the decoders here read (PNG, JPEG, JPEG 2000, BMP, TGA, GIF, PSD, PNM, PCX, WebP, TIFF) in files named as PIL names images" +
         (skipped.empty() ? std::string()
                          : "; skipped " + count_text(static_cast<long long>(skipped.size()), "file") + ", e.g. " + *first);
}

namespace {

// dataset.json: {"labels": [["relative/path.png", label], ...]} or "labels": null.
// The labels of the images `names` (those kept), as parse_labels reads them.
RawLabels read_labels(const Source& src, const std::vector<std::string>& names) {
  const std::string where = src.display("dataset.json");
  if (!src.exists("dataset.json")) return {};
  // Python's json.load takes UTF-16 and UTF-32 too (Windows' PowerShell writes UTF-16).
  const nlohmann::json j = io::parse_json(io::json_file_text(src.read("dataset.json"), where), where);
  if (!j.is_object()) throw Error(where + ": not a JSON object");
  if (!j.contains("labels") || j["labels"].is_null()) return {};
  if (!j["labels"].is_array()) throw Error(where + ": \"labels\" must be a list of [path, label] pairs");
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& pair : j["labels"]) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string())
      throw Error(where + ": every label must be a [path, label] pair, got " + io::json_excerpt(pair));
    // Listed twice with two labels: which one is meant cannot be known
    // (1 and 1.0 are one label).
    const auto [it, added] = by_name.emplace(pair[0].get<std::string>(), pair[1]);
    if (!added && it->second != pair[1])
      throw Error(where + ": '" + it->first + "' is labelled twice, " + io::json_excerpt(it->second) + " and " +
                  io::json_excerpt(pair[1]));
  }
  std::vector<std::pair<std::string, nlohmann::json>> named;
  for (const auto& name : names) {
    // As the official loader: a zip made on Windows may name "sub\\a.png",
    // which dataset.json lists as "sub/a.png".
    std::string key = name;
    std::replace(key.begin(), key.end(), '\\', '/');
    auto it = by_name.find(key);
    if (it == by_name.end()) throw Error(where + ": no label for " + name);
    named.emplace_back(key, it->second);
  }
  try {
    return parse_labels(named);
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
}

// The dataset log: a count line per kind of event, then one line per file,
// each one line whatever the names hold (a newline or an escape sequence in
// an entry's name split the listing or reached the terminal).
void add_notes(std::vector<std::string>& notes, const std::string& head, const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  notes.push_back(one_line(head, SIZE_MAX));
  for (const auto& l : lines) notes.push_back("  " + one_line(l, SIZE_MAX));
}

// Why the decoded pixels of `images` images cannot be held in memory, or ""
// when they can. The buffer would be sized from the headers before any image
// decodes: data that cannot fit (or headers that claim 32768x32768 in a few
// bytes) is read from its files instead, not std::bad_alloc or the OOM
// killer zeroing gigabytes. Within a container the cap is its memory limit,
// not the host's RAM.
std::string memory_shortfall(const std::string& path, size_t images, int res, int channels, const std::string& first) {
  const HostMemory memory = usable_host_memory();
  if (memory.bytes == 0 || images == 0) return "";
  const uint64_t image_size = uint64_t(res) * uint64_t(res) * uint64_t(channels);
  if (images <= memory.bytes / image_size) return "";
  auto gib = [](long double b) {
    char s[32];
    std::snprintf(s, sizeof s, "%.1Lf", b / (1ull << 30));
    return std::string(s);
  };
  const std::string cap = memory.limited == "physical memory" ? "this machine's " + gib((long double)memory.bytes) + " GiB"
                                                               : "the " + gib((long double)memory.bytes) +
                                                                     " GiB this process may use (" + memory.limited + ")";
  return path + ": " + std::to_string(images) + " images of " + std::to_string(res) + "x" + std::to_string(res) + "x" +
         std::to_string(channels) + " (as " + first + " says) need " + gib((long double)images * image_size) +
         " GiB in memory as 8-bit pixels, more than " + cap;
}

void hwc_to_chw(const uint8_t* hwc, size_t plane, int channels, uint8_t* chw) {
  for (size_t p = 0; p < plane; ++p)
    for (int c = 0; c < channels; ++c) chw[c * plane + p] = hwc[p * channels + c];
}

// A CHW image mirrored left to right (--mirror's copies).
void xflip_chw(const uint8_t* src, size_t rows, size_t width, uint8_t* out) {
  for (size_t row = 0; row < rows; ++row)
    std::reverse_copy(src + row * width, src + (row + 1) * width, out + row * width);
}

// What a file held when the dataset was opened: its bytes' count and CRC-32,
// checked at every read, and the pixel_hash of its CHW pixels, plain and
// mirrored (the latter only for a dataset that mirrors), for the keys.
struct FileStamp {
  uint64_t size = 0;
  uint32_t crc = 0;
  uint64_t pixels = 0, xflipped_pixels = 0;
  static FileStamp of(const std::vector<uint8_t>& bytes, const uint8_t* hwc, int res, int channels, bool xflip) {
    FileStamp st{bytes.size(), crc32(bytes.data(), bytes.size())};
    const size_t plane = size_t(res) * size_t(res), image_size = plane * size_t(channels);
    std::vector<uint8_t> chw(image_size);
    hwc_to_chw(hwc, plane, channels, chw.data());
    st.pixels = pixel_hash(chw.data(), image_size);
    if (xflip) {
      std::vector<uint8_t> mirrored(image_size);
      xflip_chw(chw.data(), size_t(channels) * size_t(res), size_t(res), mirrored.data());
      st.xflipped_pixels = pixel_hash(mirrored.data(), image_size);
    }
    return st;
  }
  bool same_bytes(const std::vector<uint8_t>& bytes) const {
    return bytes.size() == size && crc32(bytes.data(), bytes.size()) == crc;
  }
};

// A folder's or zip's images read again from their files (from_files): the
// bytes under a lock (a zip is one stream), decoded outside it. A file whose
// bytes are not those decoded when the dataset was opened is refused: the
// run would train on other pixels than its resume key names.
class FileImages final : public RawImageReader {
 public:
  FileImages(Source src, std::vector<std::string> names, std::vector<FileStamp> stamps, int res, int channels,
             bool xflip)
      : src_(std::move(src)), names_(std::move(names)), stamps_(std::move(stamps)), res_(res), channels_(channels),
        xflip_(xflip) {}
  int64_t count() const override { return static_cast<int64_t>(names_.size()); }
  void read(int64_t raw, uint8_t* out) const override {
    GF_CHECK(raw >= 0 && raw < count(), "FileImages::read", "image " << raw << " of " << count());
    const std::string& name = names_[static_cast<size_t>(raw)];
    const std::string file = src_.display(name);
    std::vector<uint8_t> bytes;
    {
      std::lock_guard<std::mutex> lock(read_mutex_);
      bytes = src_.read(name);
    }
    if (!stamps_[static_cast<size_t>(raw)].same_bytes(bytes))
      throw Error(file + ": changed since the dataset was opened (the run reads each image from its file again: "
                         "leave the data as it is while it trains)");
    const std::vector<uint8_t> hwc = decode_image(bytes.data(), bytes.size(), file, channels_);
    hwc_to_chw(hwc.data(), size_t(res_) * size_t(res_), channels_, out);
  }
  uint64_t pixel_hash(int64_t raw, bool xflipped) const override {
    GF_CHECK(raw >= 0 && raw < count(), "FileImages::pixel_hash", "image " << raw << " of " << count());
    const FileStamp& st = stamps_[static_cast<size_t>(raw)];
    GF_CHECK(!xflipped || xflip_, "FileImages::pixel_hash", "the dataset was opened without --mirror");
    return xflipped ? st.xflipped_pixels : st.pixels;
  }

 private:
  Source src_;
  std::vector<std::string> names_;  // raw image order
  std::vector<FileStamp> stamps_;   // by raw image
  int res_, channels_;
  bool xflip_;  // whether the stamps hold the mirrored pixels' hashes
  mutable std::mutex read_mutex_;
};

// Pass 1's outcome: the files to decode (indices into src.names, in name
// order) and the size and channels every image is decoded to.
struct HeaderPass {
  std::vector<size_t> used;
  int res = 0, channels = 1;
  std::string first;  // the first image, named where another differs in size
};

// Pass 1, from the headers: what stb_image cannot read is skipped (and
// named); the rest must be square, a power of two and the same size as the
// first, before any pixels are decoded. The dataset is RGB when any image
// has colour, else grey.
HeaderPass read_headers(const Source& src, std::vector<std::string>& skip_reason) {
  HeaderPass h;
  for (size_t i = 0; i < src.names.size(); ++i) {
    const std::string file = src.display(src.names[i]);
    if (src.sizes[i] > static_cast<uint64_t>(INT_MAX)) {
      skip_reason[i] = file + ": over 2 GiB, more than stb_image reads";
      continue;
    }
    ImageInfo info;
    try {  // a file that cannot be read (permissions, a corrupt zip entry) is skipped too
      const std::vector<uint8_t> bytes = src.read(src.names[i]);
      info = image_info(bytes.data(), bytes.size(), file);
    } catch (const Error& e) {
      skip_reason[i] = e.what();
      continue;
    }
    const std::string dims = std::to_string(info.width) + "x" + std::to_string(info.height);
    if (info.width != info.height) throw Error(file + ": image is " + dims + "; images must be square");
    if (info.width < 4 || (info.width & (info.width - 1)) != 0)
      throw Error(file + ": image is " + dims + "; the resolution must be a power of two, at least 4");
    if (h.first.empty()) {
      h.res = info.width;
      h.first = file;
    } else if (info.width != h.res) {
      throw Error(file + ": image is " + dims + ", but " + h.first + " is " + std::to_string(h.res) + "x" +
                  std::to_string(h.res) + "; all images must be the same size");
    }
    if (info.colour_channels() == 3) h.channels = 3;
    h.used.push_back(i);
  }
  return h;
}

// --max-images: the seeded subset is taken from the files here, before
// decoding, as the official max_size picks among the files: a quick run
// of 100 images from a folder of 70000 decoded and held all 70000.
// With --cond the class count still comes from every image's label, as the
// official label_shape (the largest raw label, before max_size's subset):
// a subset that misses the highest class keeps the networks' c_dim.
// Returns that class count (0 when not counted here); `stand_ins` gets the
// files past the subset, the next one at the back.
int64_t take_subset(const Source& src, const DatasetOptions& opt, std::vector<size_t>& used,
                    std::vector<size_t>& stand_ins) {
  int64_t classes = 0;
  check_max_images(opt, src.path, used.size());
  if (opt.max_images > 0 && used.size() > static_cast<size_t>(opt.max_images)) {
    if (opt.use_labels) {
      std::vector<std::string> all_names;
      for (size_t i : used) all_names.push_back(src.names[i]);
      for (int64_t l : read_labels(src, all_names).classes) classes = std::max(classes, l + 1);
    }
    std::vector<int64_t> pick(used.size());
    for (size_t i = 0; i < pick.size(); ++i) pick[i] = static_cast<int64_t>(i);
    NumpyRandomState(opt.subset_seed).shuffle(pick);  // as the official dataset.py
    // The files past the subset, in the shuffled order, stand in for picked
    // files that fail to decode: the subset is the first max_images files of
    // that order that decode, as many as asked while enough do.
    for (size_t k = pick.size(); k-- > static_cast<size_t>(opt.max_images);) stand_ins.push_back(used[size_t(pick[k])]);
    pick.resize(static_cast<size_t>(opt.max_images));
    std::sort(pick.begin(), pick.end());
    std::vector<size_t> subset;
    for (int64_t i : pick) subset.push_back(used[static_cast<size_t>(i)]);
    used = std::move(subset);
  }
  return classes;
}

// Pass 2's images, slot by slot: a slot is one image of the dataset, its
// file changed when a stand-in takes over from one that failed.
struct DecodePass {
  // What each image becomes: res x res with `channels`; with from_files only
  // checked and stamped (its stamp x-flipped with xflip), its pixels not kept.
  int res, channels;
  bool xflip, from_files;
  std::vector<size_t> used;       // each slot's file (an index into src.names)
  std::vector<uint8_t> pixels;    // [slots, channels, res, res], empty with from_files
  std::vector<Conversions> done;  // what decoding did to each image, for the notes
  std::vector<FileStamp> stamps;  // with from_files: what each file held when it was decoded here
  std::vector<char> ok;           // whether the slot's file decoded

  DecodePass(std::vector<size_t> slots, int resolution, int image_channels, bool x_flip, bool read_from_files)
      : res(resolution), channels(image_channels), xflip(x_flip), from_files(read_from_files), used(std::move(slots)),
        pixels(from_files ? 0 : used.size() * image_size()), done(used.size()), stamps(from_files ? used.size() : 0),
        ok(used.size(), 0) {}
  size_t image_size() const { return static_cast<size_t>(res) * res * channels; }
};

// Pass 2: decode into NCHW. Files are read in order (a zip is one stream)
// and decoded in parallel a chunk at a time. A file that fails to decode is
// skipped and named; under --max-images the next stand-in takes over its
// slot and is decoded in a later chunk, so the pixels never outgrow the
// size checked here. A transparent image stops the run (image_io.h).
// With from_files (asked for, or where the pixels would not fit in
// memory) every image is decoded here as well, for the same checks and
// notes, but its pixels are not kept.
void decode_images(const Source& src, std::vector<size_t>& stand_ins, std::vector<std::string>& skip_reason,
                   DecodePass& d) {
  const int res = d.res, channels = d.channels;
  const size_t plane = static_cast<size_t>(res) * res, image_size = d.image_size();
  std::vector<size_t>& used = d.used;
  std::string transparent;
  size_t transparent_count = 0;
  // A chunk is at most 256 files and, past its first file, kChunkBytes of
  // them as the source sizes them: a zip of a few kilobytes can hold
  // hundreds of valid images each followed by a gigabyte of compressed
  // zeros, and a chunk of 256 of those held 256 GB of file bytes at once.
  constexpr size_t kChunk = 256;
  constexpr uint64_t kChunkBytes = uint64_t(128) << 20;
  std::vector<size_t> todo(used.size());  // slots to decode; a slot given a stand-in comes back
  std::iota(todo.begin(), todo.end(), size_t(0));
  for (size_t next = 0; next < todo.size();) {
    size_t count = 1;
    for (uint64_t bytes = src.sizes[used[todo[next]]]; next + count < todo.size() && count < kChunk; ++count) {
      bytes += src.sizes[used[todo[next + count]]];
      if (bytes > kChunkBytes) break;
    }
    const int64_t n = static_cast<int64_t>(count);
    const size_t* slot = todo.data() + next;
    std::vector<std::vector<uint8_t>> bytes(count);
    std::vector<std::string> errors(count);
    for (int64_t k = 0; k < n; ++k) {
      try {
        bytes[k] = src.read(src.names[used[slot[k]]]);
      } catch (const Error& e) {
        errors[k] = e.what();
      }
    }
    std::vector<char> see_through(count, 0), no_memory(count, 0);
#pragma omp parallel for schedule(dynamic)
    for (int64_t k = 0; k < n; ++k) {
      const size_t u = slot[k];
      const std::string file = src.display(src.names[used[u]]);
      if (!errors[k].empty()) continue;  // not read
      try {
        ImageInfo info;
        d.done[u] = Conversions{};
        const std::vector<uint8_t> hwc =
            decode_image(bytes[k].data(), bytes[k].size(), file, channels, &info, &d.done[u]);
        if (info.width != res || info.height != res) throw Error(file + ": image changed size between reads");
        if (d.from_files)
          d.stamps[u] = FileStamp::of(bytes[k], hwc.data(), res, channels, d.xflip);
        else
          hwc_to_chw(hwc.data(), plane, channels, d.pixels.data() + u * image_size);
        d.ok[u] = 1;
      } catch (const TransparentImageError& e) {  // exceptions must not leave an OpenMP region
        errors[k] = e.what();
        see_through[k] = 1;
      } catch (const Error& e) {
        errors[k] = e.what();
      } catch (const std::bad_alloc&) {
        errors[k] = file + ": out of memory while decoding it";
        no_memory[k] = 1;
      }
    }
    // Memory that ran out is no damaged file to pass over: the dataset
    // would train smaller without a word but the log's.
    for (int64_t k = 0; k < n; ++k)
      if (no_memory[k] || errors[k].find("(Out of memory)") != std::string::npos)
        throw Error(errors[k] + " (out of memory: free memory, or raise the process's limit, ulimit -v)");
    std::vector<size_t> retry;
    for (int64_t k = 0; k < n; ++k) {
      if (see_through[k] && transparent_count++ == 0) transparent = errors[k];
      if (!see_through[k] && !errors[k].empty()) {
        skip_reason[used[slot[k]]] = errors[k];
        if (!stand_ins.empty()) {
          used[slot[k]] = stand_ins.back();
          stand_ins.pop_back();
          retry.push_back(slot[k]);
        }
      }
    }
    next += count;
    todo.insert(todo.end(), retry.begin(), retry.end());  // after `slot` is last used: insert may move it
  }
  if (transparent_count > 1) transparent += " (" + std::to_string(transparent_count - 1) + " more images have transparent pixels)";
  if (transparent_count > 0) throw Error(transparent);
}

// Stand-ins took their slots out of name order: put the slots back in
// order in place, following each cycle of the permutation with one image
// of scratch (a second buffer of pixels could pass the memory check's limit).
void restore_name_order(DecodePass& d) {
  std::vector<size_t>& used = d.used;
  const size_t image_size = d.image_size();
  if (std::is_sorted(used.begin(), used.end())) return;
  std::vector<size_t> by_name(used.size());  // position r takes slot by_name[r]
  std::iota(by_name.begin(), by_name.end(), size_t(0));
  std::sort(by_name.begin(), by_name.end(), [&](size_t a, size_t b) { return used[a] < used[b]; });
  std::vector<uint8_t> scratch(image_size);
  std::vector<char> placed(used.size(), d.from_files);  // no pixels to move
  auto image = [&](size_t u) { return d.pixels.data() + u * image_size; };
  for (size_t r = 0; r < by_name.size(); ++r) {
    if (placed[r]) continue;
    std::memcpy(scratch.data(), image(r), image_size);
    for (size_t j = r;;) {
      const size_t k = by_name[j];
      placed[j] = 1;
      if (k == r) {
        std::memcpy(image(j), scratch.data(), image_size);
        break;
      }
      std::memcpy(image(j), image(k), image_size);
      j = k;
    }
  }
  std::vector<size_t> sorted_used(used.size());
  std::vector<Conversions> sorted_done(used.size());
  std::vector<FileStamp> sorted_stamps(d.stamps.size());
  std::vector<char> sorted_ok(used.size());
  for (size_t r = 0; r < by_name.size(); ++r) {
    sorted_used[r] = used[by_name[r]];
    sorted_done[r] = d.done[by_name[r]];
    if (d.from_files) sorted_stamps[r] = d.stamps[by_name[r]];
    sorted_ok[r] = d.ok[by_name[r]];
  }
  used = std::move(sorted_used);
  d.done = std::move(sorted_done);
  d.stamps = std::move(sorted_stamps);
  d.ok = std::move(sorted_ok);
}

// dataset.json's labels of the kept images, for --cond and what else needs
// them (opt.labels_for): none is refused, naming where dataset.json was not found.
RawLabels required_labels(const Source& src, const DatasetOptions& opt, const std::vector<std::string>& kept_names) {
  RawLabels labels = read_labels(src, kept_names);
  if (labels.empty()) {
    // A folder zipped with its own name puts everything one level down,
    // where the official loader does not look for dataset.json either.
    std::string nested, unreadable;
    for (const auto& [name, why] : src.unlisted) {  // not an image name, so listed there
      if (name.size() > 13 && name.compare(name.size() - 13, 13, "/dataset.json") == 0 && nested.empty()) nested = name;
      if (name == "dataset.json") unreadable = why;  // a folder's link to nothing, or into a loop
    }
    throw Error(src.path + ": " + opt.labels_for + " needs labels in dataset.json" +
                (!unreadable.empty() ? " (its dataset.json is " + unreadable + ")"
                 : nested.empty()    ? std::string()
                                     : " at the top level (there is a " + nested +
                                           ": labels name the images from the top, so make the archive or folder "
                                           "from inside that folder)"));
  }
  return labels;
}

std::unique_ptr<Dataset> open_images(const Source& src, const DatasetOptions& opt) {
  const size_t files = src.names.size();
  std::vector<std::string> skipped;  // "<file>: why", in name order
  for (const auto& [name, why] : src.unlisted) skipped.push_back(src.display(name) + ": " + why);

  std::vector<std::string> skip_reason(files);
  HeaderPass h = read_headers(src, skip_reason);
  const int res = h.res, channels = h.channels;

  std::vector<size_t> stand_ins;  // a stack: the next one at the back
  const int64_t classes = take_subset(src, opt, h.used, stand_ins);

  // Pass 2, with from_files where it is asked for or the pixels would not fit in memory.
  const size_t image_size = static_cast<size_t>(res) * res * channels;
  bool from_files = opt.from_files;
  std::string too_large;
  if (!from_files) too_large = memory_shortfall(src.path, h.used.size(), res, channels, h.first);
  if (!too_large.empty()) from_files = true;
  DecodePass d(std::move(h.used), res, channels, opt.xflip, from_files);
  decode_images(src, stand_ins, skip_reason, d);
  restore_name_order(d);

  // Keep what decoded, in name order; note every file by what happened to it.
  std::vector<std::string> kept_names;
  std::vector<FileStamp> kept_stamps;
  std::vector<std::string> grey, opaque, oriented, bits16, high_byte, rescaled, hdr, cmyk, animated;
  size_t kept = 0;
  for (size_t u = 0; u < d.used.size(); ++u) {
    if (!d.ok[u]) continue;
    if (kept != u && !from_files)
      std::memmove(d.pixels.data() + kept * image_size, d.pixels.data() + u * image_size, image_size);
    ++kept;
    const std::string& name = src.names[d.used[u]];
    const std::string file = src.display(name);
    const Conversions& c = d.done[u];
    kept_names.push_back(name);
    if (from_files) kept_stamps.push_back(d.stamps[u]);
    if (c.grey_to_rgb) grey.push_back(file);
    if (c.alpha_dropped) opaque.push_back(file);
    if (c.oriented) oriented.push_back(file);
    if (c.to_8_bit) bits16.push_back(file);
    if (c.high_byte) high_byte.push_back(file);
    if (c.rescaled) rescaled.push_back(file);
    if (c.hdr_to_8_bit) hdr.push_back(file);
    if (c.cmyk_to_rgb) cmyk.push_back(file);
    if (c.frames > 1) animated.push_back(file + " (" + std::to_string(c.frames) + " frames)");
  }
  if (!from_files) d.pixels.resize(kept * image_size);
  for (size_t i = 0; i < files; ++i)
    if (!skip_reason[i].empty()) skipped.push_back(skip_reason[i]);
  std::sort(skipped.begin(), skipped.end());
  if (kept == 0) throw Error(no_images_message(src.path, skipped));

  RawLabels labels;
  if (opt.use_labels) labels = required_labels(src, opt, kept_names);
  std::vector<std::string> notes;
  const std::string in = "Dataset " + src.path + ": ";
  const std::string n = std::to_string(kept);
  add_notes(notes, in + std::to_string(skipped.size()) + " of " + std::to_string(files + src.unlisted.size()) +
                       " files skipped, " + count_text(static_cast<long long>(kept), "image") + " used:", skipped);
  add_notes(notes, in + std::to_string(grey.size()) + " of " + n + " images are grey in a colour dataset: replicated to RGB (lossless):", grey);
  add_notes(notes, in + std::to_string(opaque.size()) + " of " + n + " images have an alpha channel that is opaque everywhere: dropped (lossless):", opaque);
  add_notes(notes, in + std::to_string(oriented.size()) + " of " + n + " images are turned upright as their EXIF orientation says (as viewers show them):", oriented);
  add_notes(notes, in + std::to_string(bits16.size()) + " of " + n + " images have 16 bits per channel: rounded to 8 bits:", bits16);
  add_notes(notes, in + std::to_string(high_byte.size()) + " of " + n + " images have 16 bits per colour channel: the high byte kept, as PIL reads them:", high_byte);
  add_notes(notes, in + std::to_string(rescaled.size()) + " of " + n + " images are PNM with a maxval below 255: scaled to 0..255:", rescaled);
  add_notes(notes, in + std::to_string(hdr.size()) + " of " + n + " images are floating-point HDR: mapped to 8 bits by stb_image (gamma 2.2, values above 1 clipped):", hdr);
  add_notes(notes, in + std::to_string(cmyk.size()) + " of " + n + " images are CMYK (JPEG, PSD or TIFF): converted to RGB without a colour profile (colours may differ from a viewer's):", cmyk);
  add_notes(notes, in + std::to_string(animated.size()) + " of " + n + " images are animated (GIF, WebP): only the first frame is used:", animated);

  // The folder's or zip's own name, also for "." or "photos/".
  fs::path named = fs::absolute(src.path).lexically_normal();
  if (named.filename().empty()) named = named.parent_path();
  const std::string name = named.stem().string();
  if (!too_large.empty())
    notes.push_back(too_large + ": read from the files, each image decoded again whenever a batch takes it");
  auto ds = from_files
                ? std::make_unique<Dataset>(
                      name, res, channels,
                      std::make_shared<FileImages>(src, kept_names, std::move(kept_stamps), res, channels, opt.xflip),
                      std::move(labels), opt, classes)
                : std::make_unique<Dataset>(name, res, channels, std::move(d.pixels), std::move(labels), opt, classes);
  ds->set_notes(std::move(notes));
  return ds;
}

std::unique_ptr<Dataset> open_fashion_mnist(const DatasetOptions& opt) {
  if (opt.from_files)  // one gzip'd file of 60000 images: no image has a file of its own to decode again
    throw Error("--data-from-files reads a folder's or zip's images from their files; Fashion-MNIST (no --data) is "
                "read whole: give --data, or leave it out");
  if (!fashion_mnist_installed(opt.fashion_mnist_dir))
    throw Error(opt.fashion_mnist_dir + ": Fashion-MNIST not found (install dataset-fashion-mnist, or pass --data)");
  IdxImages idx = read_idx_images(opt.fashion_mnist_dir + "/train-images-idx3-ubyte.gz",
                                  opt.fashion_mnist_dir + "/train-labels-idx1-ubyte.gz");
  std::vector<int64_t> labels(idx.labels.begin(), idx.labels.end());
  if (!opt.use_labels) labels.clear();
  check_max_images(opt, opt.fashion_mnist_dir, idx.size());
  return std::make_unique<Dataset>("fashion-mnist", IdxImages::kRes, 1, std::move(idx.pixels), std::move(labels), opt);
}

}  // namespace

Dataset::Dataset(std::string name, int resolution, int channels, std::vector<uint8_t> pixels, RawLabels labels,
                 const DatasetOptions& opt, int64_t classes)
    : name_(std::move(name)), resolution_(resolution), channels_(channels), pixels_(std::move(pixels)),
      labels_(std::move(labels)) {
  const size_t image_size = static_cast<size_t>(channels) * resolution * resolution;
  GF_CHECK(image_size > 0 && pixels_.size() % image_size == 0, "Dataset", "pixel buffer is not a whole number of images");
  index_items(static_cast<int64_t>(pixels_.size() / image_size), opt, classes);
}

Dataset::Dataset(std::string name, int resolution, int channels, std::shared_ptr<const RawImageReader> files,
                 RawLabels labels, const DatasetOptions& opt, int64_t classes)
    : name_(std::move(name)), resolution_(resolution), channels_(channels), files_(std::move(files)),
      labels_(std::move(labels)) {
  GF_CHECK(files_ != nullptr && channels > 0 && resolution > 0, "Dataset", "no image reader");
  index_items(files_->count(), opt, classes);
}

void Dataset::index_items(int64_t raw_n, const DatasetOptions& opt, int64_t classes) {
  GF_CHECK(labels_.classes.empty() || labels_.vectors.empty(), "Dataset", "class labels and label vectors at once");
  GF_CHECK(labels_.classes.empty() || static_cast<int64_t>(labels_.classes.size()) == raw_n, "Dataset",
           labels_.classes.size() << " labels for " << raw_n << " images");
  GF_CHECK(labels_.vectors.empty() || (labels_.vector_dim > 0 && static_cast<int64_t>(labels_.vectors.size()) == raw_n * labels_.vector_dim),
           "Dataset", labels_.vectors.size() << " label vector entries for " << raw_n << " images of " << labels_.vector_dim);
  for (int64_t l : labels_.classes) {
    GF_CHECK(l >= 0, "Dataset", "class " << l << " is negative");
    c_dim_ = std::max(c_dim_, l + 1);
  }
  if (!labels_.classes.empty()) c_dim_ = std::max(c_dim_, classes);
  if (!labels_.vectors.empty()) c_dim_ = labels_.vector_dim;

  raw_idx_.resize(static_cast<size_t>(raw_n));
  for (int64_t i = 0; i < raw_n; ++i) raw_idx_[static_cast<size_t>(i)] = i;
  // As the official max_size: a seeded random subset, kept in file order.
  if (opt.max_images > 0 && raw_n > opt.max_images) {
    NumpyRandomState(opt.subset_seed).shuffle(raw_idx_);  // as the official dataset.py
    raw_idx_.resize(static_cast<size_t>(opt.max_images));
    std::sort(raw_idx_.begin(), raw_idx_.end());
  }
  xflip_.assign(raw_idx_.size(), 0);
  if (opt.xflip) {  // every image again, mirrored
    const size_t k = raw_idx_.size();
    raw_idx_.insert(raw_idx_.end(), raw_idx_.begin(), raw_idx_.end());
    xflip_.resize(2 * k, 1);
  }
}

void Dataset::image(int64_t i, uint8_t* out) const {
  GF_CHECK(i >= 0 && i < size(), "Dataset::image", "index " << i << " out of range for " << size() << " items");
  const size_t res = static_cast<size_t>(resolution_), image_size = channels_ * res * res;
  const int64_t raw = raw_idx_[static_cast<size_t>(i)];
  const bool flip = xflip_[static_cast<size_t>(i)] != 0;
  std::vector<uint8_t> decoded;
  const uint8_t* src = pixels_.data() + static_cast<size_t>(raw) * image_size;
  if (files_) {
    if (!flip) return files_->read(raw, out);
    decoded.resize(image_size);
    files_->read(raw, decoded.data());
    src = decoded.data();
  }
  if (flip)
    xflip_chw(src, channels_ * res, res, out);
  else
    std::memcpy(out, src, image_size);
}

const std::vector<uint64_t>& Dataset::pixel_hashes() const {
  if (!pixel_hashes_.empty() || size() == 0) return pixel_hashes_;
  const int64_t n = size();
  std::vector<uint64_t> hashes(static_cast<size_t>(n));
  if (files_) {
    for (int64_t i = 0; i < n; ++i)
      hashes[size_t(i)] = files_->pixel_hash(raw_idx_[size_t(i)], xflip_[size_t(i)] != 0);
  } else {  // at memory speed, in parallel
    const size_t image_size = static_cast<size_t>(channels_) * resolution_ * resolution_;
#pragma omp parallel
    {
      std::vector<uint8_t> px(image_size);
#pragma omp for schedule(dynamic, 16)
      for (int64_t i = 0; i < n; ++i) {
        image(i, px.data());  // held pixels: nothing to throw
        hashes[size_t(i)] = pixel_hash(px.data(), image_size);
      }
    }
  }
  pixel_hashes_ = std::move(hashes);
  return pixel_hashes_;
}

int64_t Dataset::label(int64_t i) const {
  GF_CHECK(i >= 0 && i < size(), "Dataset::label", "index " << i << " out of range for " << size() << " items");
  return labels_.classes.empty() ? -1 : labels_.classes[static_cast<size_t>(raw_idx_[static_cast<size_t>(i)])];
}

void Dataset::label_row(int64_t i, float* out) const {
  GF_CHECK(i >= 0 && i < size(), "Dataset::label_row", "index " << i << " out of range for " << size() << " items");
  const size_t raw = static_cast<size_t>(raw_idx_[static_cast<size_t>(i)]), dim = static_cast<size_t>(c_dim_);
  if (has_label_vectors()) {
    std::copy_n(labels_.vectors.begin() + static_cast<std::ptrdiff_t>(raw * dim), dim, out);
    return;
  }
  std::fill_n(out, dim, 0.0f);
  if (!labels_.classes.empty()) out[labels_.classes[raw]] = 1.0f;
}

bool Dataset::xflipped(int64_t i) const {
  GF_CHECK(i >= 0 && i < size(), "Dataset::xflipped", "index " << i << " out of range for " << size() << " items");
  return xflip_[static_cast<size_t>(i)] != 0;
}

std::vector<int64_t> random_items(const Dataset& ds, int64_t n, Generator& rng) {
  const std::vector<double> u = rand({n}, rng, DType::f64).to_vector();
  std::vector<int64_t> items(static_cast<size_t>(n));
  for (size_t i = 0; i < items.size(); ++i) items[i] = std::min(static_cast<int64_t>(u[i] * ds.size()), ds.size() - 1);
  return items;
}

Tensor labels_of(const Dataset& ds, const std::vector<int64_t>& items, Device device) {
  const int64_t n = static_cast<int64_t>(items.size());
  Tensor labels = Tensor::empty({n, ds.c_dim()});
  for (int64_t i = 0; i < n; ++i) ds.label_row(items[static_cast<size_t>(i)], labels.data<float>() + i * ds.c_dim());
  return labels.to(device);
}

Tensor random_labels(const Dataset& ds, int64_t n, Generator& rng, Device device) {
  if (ds.c_dim() == 0) return Tensor();
  return labels_of(ds, random_items(ds, n, rng), device);
}

// Items decoded from their files into out[n * C * res * res] on the OpenMP
// threads (the official loader's DataLoader workers); an error leaves the
// parallel region as a message.
void Dataset::decode_side_by_side(const int64_t* items, int64_t n, uint8_t* out) const {
  const size_t image_size = static_cast<size_t>(channels_) * resolution_ * resolution_;
  std::vector<std::string> errors(static_cast<size_t>(n));
#pragma omp parallel for schedule(dynamic) if (n > 1)
  for (int64_t k = 0; k < n; ++k) {
    try {
      image(items[k], out + size_t(k) * image_size);
    } catch (const std::bad_alloc&) {
      errors[size_t(k)] = name_ + ": out of memory while decoding item " + std::to_string(items[k]);
    } catch (const std::exception& e) {  // gf::Error, and anything else the reader throws
      errors[size_t(k)] = e.what();
    } catch (...) {
      errors[size_t(k)] = name_ + ": item " + std::to_string(items[k]) + " could not be read";
    }
  }
  for (const std::string& e : errors)
    if (!e.empty()) throw Error(e);
}

void Dataset::each_image(const int64_t* items, int64_t n,
                         const std::function<void(int64_t, const uint8_t*)>& fn) const {
  const size_t image_size = static_cast<size_t>(channels_) * resolution_ * resolution_;
  constexpr int64_t kBlock = 64;  // images decoded side by side: a few per thread
  const int64_t block = files_ ? kBlock : 1;
  std::vector<uint8_t> buf;
  for (int64_t at = 0; at < n; at += block) {
    const int64_t m = std::min(block, n - at);
    buf.resize(static_cast<size_t>(m) * image_size);
    if (files_)
      decode_side_by_side(items + at, m, buf.data());
    else
      image(items[at], buf.data());
    for (int64_t k = 0; k < m; ++k) fn(at + k, buf.data() + static_cast<size_t>(k) * image_size);
  }
}

Dataset::Batch Dataset::batch(const std::vector<int64_t>& indices, Device device) const {
  const int64_t n = static_cast<int64_t>(indices.size()), res = resolution_;
  const size_t image_size = static_cast<size_t>(channels_ * res * res);
  Tensor images = Tensor::empty({n, channels_, res, res});
  Tensor labels = zeros({n, c_dim_});
  float* img = images.data<float>();
  each_image(indices.data(), n, [&](int64_t k, const uint8_t* px) {
    for (size_t p = 0; p < image_size; ++p) img[k * image_size + p] = px[p] / 127.5f - 1.0f;
  });
  if (c_dim_ > 0)
    for (int64_t k = 0; k < n; ++k) label_row(indices[static_cast<size_t>(k)], labels.data<float>() + k * c_dim_);
  return {images.to(device), labels.to(device)};
}

ImageFiles open_image_files(const std::string& path) {
  if (!fs::is_directory(path) && !fs::exists(path)) throw Error(path + ": no such file or folder");
  const Source src = fs::is_directory(path) ? folder_source(path) : zip_source(path);
  return ImageFiles{src.path, src.names, src.unlisted, src.read, src.exists, src.copies};
}

std::unique_ptr<Dataset> open_dataset(const std::string& path, const DatasetOptions& opt) {
  if (path.empty()) return open_fashion_mnist(opt);
  if (fs::is_directory(path)) return open_images(folder_source(path), opt);
  if (!fs::exists(path)) throw Error(path + ": no such file or folder");
  return open_images(zip_source(path), opt);
}

}  // namespace gf

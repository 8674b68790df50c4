// dataset_tool: the official StyleGAN2-ADA dataset_tool.py as a ganforge
// program. Turns a folder or .zip of images (any sizes), an LSUN lmdb
// folder, CIFAR-10's Python tarball or MNIST's IDX files into a dataset train_stylegan takes: square, power-of-two PNGs named
// NNNNN/imgNNNNNNNN.png by source index, in a folder or a stored .zip, with
// dataset.json labels.
//
// As the official tool: sources in sorted name order (a folder's by path
// components, as pathlib sorts; a zip's by stored name), the files whose
// extension is an image format's, labels from the source's dataset.json by
// relative name; --max-images takes the first N; the transforms' integer
// crop arithmetic and PIL's resize filters (data/images/image_resize.h); the first
// written image fixes the size and channels; the output index counts every
// source image, skipped ones included (center-crop-wide skips images that
// are too small), so names may have gaps; "labels" is null when any written
// image has none.
// Where this differs, and why (README "Preparing a dataset"):
//  - decoding is data/'s (stb_image, data/images/image_io.h), not PIL's: alpha
//    that is opaque everywhere is dropped and transparent images are
//    refused (the official tool writes RGBA and then refuses it, or
//    garbles it under a crop; grey with alpha, LA, likewise), palettes
//    expand to their colours (the official writes the palette indices as
//    grey), CMYK JPEGs and PSDs become RGB (the official refuses their 4 channels,
//    or garbles them under a crop), 16 bits round to 8, EXIF
//    orientation is applied; JPEG pixels are libjpeg-turbo's, as PIL's.
//    Extensions are those the decoders here read; a file of a
//    format PIL reads and they do not (ICO, PCX, ...) is refused,
//    since leaving it out would shift every later index;
//  - grey images stay grey under center-crop and center-crop-wide (the
//    official tool fails on them: PIL.Image.fromarray(grey, 'RGB') raises);
//  - a source without images, or a run that skips them all, is refused
//    rather than written as an empty dataset; --max-images 0 is refused
//    (the official tool writes one image for it);
//  - an lmdb record that is an image with transparent pixels is refused
//    (cv2.imdecode drops the alpha); a folder holding data.mdb is an lmdb
//    whatever its name; the CIFAR-10 tarball may hold any number of images
//    (the official asserts 50000);
//  - the output appears whole or not at all: a .zip is written to a
//    temporary name and renamed, a new folder is built as "<dest>.<pid>.tmp"
//    and renamed, an existing empty --dest folder is filled (built in a
//    hidden folder inside it, moved up at the end); PNGs are stb_image_write's
//    (compressed; the pixels are what matter).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stb_image_write.h>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json_input.h"
#include "engine/io/temp_file_guard.h"
#include "data/cifar10.h"
#include "train/cli.h"
#include "train/output_paths.h"
#include "train/run_main.h"
#include "data/dataset.h"
#include "data/mnist_idx.h"
#include "data/images/image_io.h"
#include "data/images/image_resize.h"
#include "data/archives/lmdb_records.h"
#include "data/python_order.h"
#include "data/archives/zip_writer.h"

namespace fs = std::filesystem;
using gf::Error;
using json = nlohmann::ordered_json;  // labels are written back in the order they were read

namespace {

constexpr int kMaxSide = 16384;  // --width, --height: a canvas of 16384^2 x 3 is 768 MiB

struct Image {
  int w = 0, h = 0, c = 0;
  std::vector<uint8_t> px;  // HWC
  bool bilevel = false;     // decoded from a 1-bit file (PIL's mode '1')
};

// The source's images in the official order, each read on demand (in
// order: an lmdb is read as a stream).
struct Source {
  size_t size = 0;
  std::function<std::string(size_t)> name;  // for messages: relative names, "MNIST image i", ...
  // nullopt: an entry the source passes over, having said why (an lmdb
  // record that does not decode); it takes no output index.
  std::function<std::optional<Image>(size_t)> read;
  std::function<std::optional<json>(size_t)> label;  // nullopt: none
  // The loop ends after the first image read at this index or a later one:
  // an lmdb's --max-images, which the official counts in records, not images.
  size_t last = SIZE_MAX;
  std::string where;  // --source, for messages
};

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The official file_ext: the text after the last '.' of the whole name.
std::string file_ext(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

// The official is_image_ext: an extension PIL lists (PIL.Image.EXTENSION).
bool is_image_ext(const std::string& name) { return gf::pil_lists_extension(file_ext(name)); }

// Formats PIL reads (so the official tool converts them) that no decoder here does.
bool is_pil_only_ext(const std::string& name) {
  static const char* kExt[] = {"ico", "icns", "cur", "dds", "dcx", "sgi", "rgb", "rgba", "bw", "ras",
                               "xbm", "xpm", "blp", "eps", "ps", "fli", "flc", "im", "msp",
                               "pcd", "pxr", "gbr", "ftc", "ftu", "fit", "fits", "palm", "pdf", "wmf", "emf"};
  const std::string e = lower(file_ext(name));
  return std::any_of(std::begin(kExt), std::end(kExt), [&](const char* x) { return e == x; });
}

// pathlib's order: by '/'-separated parts, so "a/b.png" comes before "a.png",
// each part compared as Python compares str (data/python_order.h).
bool by_parts(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i <= a.size() && j <= b.size()) {
    const size_t ai = std::min(a.find('/', i), a.size()), bj = std::min(b.find('/', j), b.size());
    const std::string pa = a.substr(i, ai - i), pb = b.substr(j, bj - j);
    if (pa != pb) return gf::python_name_less(pa, pb);
    if (ai == a.size() || bj == b.size()) return ai == a.size() && bj != b.size();
    i = ai + 1, j = bj + 1;
  }
  return false;
}

// dataset.json's "labels" by name (later pairs win, as the official dict does); empty without the file.
std::map<std::string, json> read_labels(const gf::ImageFiles& files) {
  std::map<std::string, json> out;
  if (!files.exists("dataset.json")) return out;
  const std::string where = files.display("dataset.json");
  const std::vector<uint8_t> bytes = files.read("dataset.json");
  // Not JSON (Python's json also reads NaN and Infinity, which JSON has
  // not): the parser's words, with where it stopped.
  const json j = gf::io::parse_json(gf::io::json_file_text(bytes, where), where);
  if (!j.is_object() || !j.contains("labels"))
    throw Error(where + ": not a dataset.json (a JSON object with \"labels\")");
  if (j["labels"].is_null()) return out;
  if (!j["labels"].is_array()) throw Error(where + ": \"labels\" must be a list of [name, label] pairs or null");
  for (const json& pair : j["labels"]) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string())
      throw Error(where + ": every label must be a [name, label] pair, got " + gf::io::json_excerpt(pair));
    out[pair[0].get<std::string>()] = pair[1];
  }
  return out;
}

// An image file's bytes as `channels` (1 or 3) upright channels, as the trainers decode them.
Image decoded(const std::vector<uint8_t>& bytes, const std::string& shown, int channels) {
  gf::ImageInfo info;
  Image img;
  img.px = gf::decode_image(bytes.data(), bytes.size(), shown, channels, &info);
  img.c = channels, img.w = info.width, img.h = info.height;
  img.bilevel = info.bilevel;
  return img;
}

// Whether the official tool takes a file for an image by its name: is_image_ext
// of a zip entry's name, or of a folder file's whole path, whose text after
// the last dot is the file name's only when that has a dot (a file "png"
// is no image in a folder, and one in a zip). Unlike the trainers' loader
// (os.path.splitext), ".png" and "..png" are images here.
bool official_image_name(const std::string& name, bool in_folder) {
  if (in_folder && fs::path(name).filename().string().find('.') == std::string::npos) return false;
  return is_image_ext(name);
}

Source open_images(const std::string& path, int64_t max_images) {
  gf::ImageFiles files = gf::open_image_files(path);
  const bool in_folder = fs::is_directory(path);
  // A folder's entries that are not regular files under an image's name (a
  // link to nothing, a loop of links, a FIFO) are passed over and said, as
  // the official os.path.isfile passes over them; a zip entry that cannot be
  // read (encrypted, another compression) stops the run, as it stops the
  // official. Links to folders not followed, loops, sockets hold no image the
  // user named: said too, as the trainers' loader says them. Files that are
  // no images by name are passed over quietly, as the official tool does.
  std::vector<std::string> candidates = files.names;
  std::vector<std::pair<std::string, std::string>> said;
  for (const auto& [name, why] : files.unlisted) {
    if (why == std::string(gf::kNotImageNameReason)) {
      if (official_image_name(name, in_folder)) candidates.push_back(name);  // ".png": the loader's rule left it out
      continue;
    }
    if (!in_folder && is_image_ext(name)) throw Error(files.display(name) + ": cannot be read (" + why + ")");
    said.emplace_back(name, why);
  }
  if (!said.empty()) {
    std::cout << "dataset_tool: passed over " << gf::cli::count_text(static_cast<long long>(said.size()), "entry")
              << " of --source:\n";
    for (const auto& [name, why] : said) std::cout << "  " << gf::cli::one_line(files.display(name) + ": " + why, SIZE_MAX) << "\n";
  }
  std::vector<std::string> names;
  size_t apple_double = 0;
  for (const std::string& n : candidates) {
    // macOS's zip tool adds "__MACOSX/.../._name.png" resource forks beside
    // each image: metadata under an image's extension, which the official
    // tool fails on. Passed over, and counted.
    const fs::path p(n);
    if (p.filename().string().rfind("._", 0) == 0 || std::find(p.begin(), p.end(), fs::path("__MACOSX")) != p.end()) {
      ++apple_double;
      continue;
    }
    if (official_image_name(n, in_folder)) names.push_back(n);
  }
  if (apple_double > 0)
    std::cout << "dataset_tool: passed over " << apple_double << " macOS metadata files (__MACOSX/, ._*)\n";
  // A name the zip holds twice is two images, both its last record, as the
  // official sorted(z.namelist()) lists it and z.open(name) reads it.
  for (size_t i = 0, n = names.size(); i < n; ++i)
    if (const auto it = files.copies.find(names[i]); it != files.copies.end())
      names.insert(names.end(), it->second - 1, names[i]);
  if (in_folder) std::stable_sort(names.begin(), names.end(), by_parts);
  else std::sort(names.begin(), names.end(), gf::python_name_less);  // sorted(namelist()), with the names added above
  if (names.empty()) throw Error("--source " + path + ": no images (no file with an image extension PIL lists)");
  if (int64_t(names.size()) > max_images) names.resize(size_t(max_images));
  // Past --max-images the official tool opens no file: only the images taken must be readable here.
  for (const std::string& n : names)
    if (is_pil_only_ext(n))
      throw Error(files.display(n) + ": a ." + lower(file_ext(n)) +
                  " file, which the official tool converts and ganforge cannot read: "
                  "convert it to PNG or move it out of --source");
  auto by_name = std::make_shared<const std::map<std::string, json>>(read_labels(files));
  Source src;
  src.size = names.size();
  src.name = [names](size_t i) { return names[i]; };
  src.label = [names, by_name, in_folder](size_t i) {
    // A folder's relative name with '\\' made '/', as the official _open_folder
    // names its files (on Linux a '\\' is part of a file name).
    std::string key = names[i];
    if (in_folder) std::replace(key.begin(), key.end(), '\\', '/');
    const auto it = by_name->find(key);
    return it == by_name->end() || it->second.is_null() ? std::nullopt : std::optional<json>(it->second);
  };
  src.read = [files, names](size_t i) -> std::optional<Image> {
    const std::vector<uint8_t> bytes = files.read(names[i]);
    const std::string shown = files.display(names[i]);
    return decoded(bytes, shown, gf::image_info(bytes.data(), bytes.size(), shown).colour_channels());
  };
  return src;
}

Source open_mnist(const std::string& images_gz, int64_t max_images) {
  const std::string labels_gz = (fs::path(images_gz).parent_path() / "train-labels-idx1-ubyte.gz").string();
  auto idx = std::make_shared<gf::IdxImages>(gf::read_idx_images(images_gz, labels_gz));
  const size_t n = std::min(idx->size(), size_t(max_images));
  if (n == 0) throw Error("--source " + images_gz + ": no images");
  Source src;
  src.size = n;
  src.name = [](size_t i) { return "MNIST image " + std::to_string(i); };
  src.label = [idx](size_t i) { return std::optional<json>(int(idx->labels[i])); };
  src.read = [idx](size_t i) -> std::optional<Image> {
    constexpr int r = gf::IdxImages::kRes;
    const uint8_t* p = idx->pixels.data() + i * r * r;
    return Image{r, r, 1, std::vector<uint8_t>(p, p + r * r)};
  };
  return src;
}

// The official open_cifar10: the five training batches, with their classes.
Source open_cifar10(const std::string& tarball, int64_t max_images) {
  auto cifar = std::make_shared<gf::Cifar10>(gf::read_cifar10(tarball));
  Source src;
  src.size = std::min(cifar->size(), size_t(max_images));
  src.name = [](size_t i) { return "CIFAR-10 image " + std::to_string(i); };
  src.label = [cifar](size_t i) { return std::optional<json>(cifar->labels[i]); };
  src.read = [cifar](size_t i) -> std::optional<Image> {
    constexpr int r = gf::Cifar10::kRes;
    const uint8_t* p = cifar->pixels.data() + i * r * r * 3;
    return Image{r, r, 3, std::vector<uint8_t>(p, p + r * r * 3)};
  };
  return src;
}

// A record's key for messages: as text when it is printable, else in hex.
std::string shown_key(const std::string& key) {
  const bool text = !key.empty() && key.size() <= 64 &&
                    std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
  if (text) return "'" + key + "'";
  std::string hex;
  char b[4];
  for (size_t i = 0; i < std::min<size_t>(key.size(), 32); ++i) {
    std::snprintf(b, sizeof b, "%02x", static_cast<unsigned char>(key[i]));
    hex += b;
  }
  return "0x" + hex + (key.size() > 32 ? "..." : "");
}

// The official open_lmdb (LSUN): each record's value is an encoded image
// (LSUN's are WebP), decoded in colour (cv2.imdecode(..., IMREAD_COLOR): grey
// replicated to RGB), unlabelled; the first --max-images records are read.
// A record that does not decode is said and passed over (the official prints
// the exception and goes on); it takes no output name.
Source open_lmdb(const std::string& folder, int64_t max_images) {
  auto db = std::make_shared<gf::LmdbRecords>(folder);
  Source src;
  src.where = folder;
  src.size = db->entries();
  if (src.size == 0) throw Error("--source " + folder + ": the lmdb has no records");
  // The official stops after the image of record max_images - 1 or, when that
  // one does not decode, after the next one that does.
  src.last = std::min(src.size, size_t(max_images)) - 1;
  auto key = std::make_shared<std::string>();
  auto next = std::make_shared<size_t>(0);
  src.name = [key](size_t i) { return "lmdb record " + std::to_string(i) + " (key " + shown_key(*key) + ")"; };
  src.label = [](size_t) { return std::optional<json>(); };
  src.read = [db, key, next, folder](size_t i) -> std::optional<Image> {
    if (i != *next) throw Error("internal: lmdb records read out of order");
    ++*next;
    std::vector<uint8_t> value;
    if (!db->next(*key, value)) throw Error(folder + ": the lmdb ended before its " + std::to_string(i + 1) + " records");
    const std::string shown = folder + " record " + std::to_string(i) + " (key " + shown_key(*key) + ")";
    try {
      Image img = decoded(value, shown, 3);
      img.bilevel = false;  // cv2.imdecode gives 8-bit colour: scaled with the filter asked
      return img;
    } catch (const gf::TransparentImageError&) {
      throw;
    } catch (const Error& e) {
      // The official decodes with cv2, then PIL: an image PIL reads is
      // refused here, not passed over (every later name would shift).
      const std::string format = gf::pil_only_format(value.data(), value.size());
      if (!format.empty())
        throw Error(shown + ": " + (format == "ICO" ? "an " : "a ") + format + " image, which the official tool reads (PIL) and ganforge cannot: "
                    "re-encode the database's images as PNG, JPEG or WebP");
      std::cout << "dataset_tool: passed over " << gf::cli::one_line(e.what(), SIZE_MAX) << "\n";
      return std::nullopt;
    }
  };
  return src;
}

// The official open_dataset's dispatch on the --source name.
Source open_source(std::string source, int64_t max_images) {
  std::error_code ec;
  if (fs::is_directory(source, ec)) {
    while (source.size() > 1 && source.back() == '/') source.pop_back();
    // The official tool takes a folder as an lmdb by its name; one that holds
    // data.mdb under another name is one too (its images are in the database).
    if ((source.size() >= 5 && source.compare(source.size() - 5, 5, "_lmdb") == 0) ||
        fs::exists(fs::path(source) / "data.mdb", ec))
      return open_lmdb(source, max_images);
    return open_images(source, max_images);
  }
  if (!fs::exists(source, ec)) throw Error("--source " + source + ": no such file or folder");
  const std::string base = fs::path(source).filename().string();
  if (base == "cifar-10-python.tar.gz") return open_cifar10(source, max_images);
  if (base == "train-images-idx3-ubyte.gz") return open_mnist(source, max_images);
  if (file_ext(source) == "zip") return open_images(source, max_images);
  throw Error("--source " + source + ": not a folder, a .zip of images, an LSUN lmdb folder, "
              "cifar-10-python.tar.gz or MNIST's train-images-idx3-ubyte.gz");
}

// ---- transforms (the official make_transform) ----

using Resize = std::vector<uint8_t> (*)(const std::vector<uint8_t>&, int, int, int, int, int);

Image resized(const Image& img, int w, int h, Resize resize) {
  if (w == img.w && h == img.h) return img;  // PIL's resize to the same size is a copy
  return Image{w, h, img.c, resize(img.px, img.w, img.h, img.c, w, h)};
}

// Rows [top, top + rows) and columns [left, left + cols).
Image cropped(const Image& img, int top, int rows, int left, int cols) {
  Image out{cols, rows, img.c, std::vector<uint8_t>(size_t(rows) * cols * img.c)};
  for (int y = 0; y < rows; ++y)
    std::memcpy(&out.px[size_t(y) * cols * img.c], &img.px[(size_t(top + y) * img.w + left) * img.c],
                size_t(cols) * img.c);
  return out;
}

struct Transform {
  std::string kind;  // "", "center-crop", "center-crop-wide"
  std::optional<int> width, height;
  Resize resize = gf::resize_lanczos_pil;

  // The image to write, or nullopt when the transform drops it.
  std::optional<Image> operator()(const Image& img) const {
    // The official scale() resizes PIL.Image.fromarray(np.array(image)):
    // a 1-bit image stays mode '1', which PIL resizes NEAREST whatever the
    // filter. Its crops make the array 'RGB' (grey fails there; here grey
    // stays 'L' and takes the filter).
    if (kind.empty())
      return resized(img, width.value_or(img.w), height.value_or(img.h), img.bilevel ? gf::resize_nearest_pil : resize);
    const int W = *width, H = *height;
    if (kind == "center-crop") {
      // (h - crop) and (h + crop) have the same parity: exactly crop rows.
      const int crop = std::min(img.w, img.h);
      return resized(cropped(img, (img.h - crop) / 2, crop, (img.w - crop) / 2, crop), W, H, resize);
    }
    // center-crop-wide: numpy's round (half to even) of width * h / w.
    const int ch = int(std::nearbyint(double(int64_t(W) * img.h) / img.w));
    if (img.w < W || ch < H) return std::nullopt;
    const Image strip = resized(cropped(img, (img.h - ch) / 2, ch, 0, img.w), W, H, resize);
    Image canvas{W, W, img.c, std::vector<uint8_t>(size_t(W) * W * img.c, 0)};
    std::memcpy(&canvas.px[size_t((W - H) / 2) * W * img.c], strip.px.data(), strip.px.size());
    return canvas;
  }
};

// ---- output ----

std::string png_bytes(const Image& img) {
  std::string out;
  auto append = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append(static_cast<char*>(data), size_t(size)); };
  if (!stbi_write_png_to_func(append, &out, img.w, img.h, img.c, img.px.data(), img.w * img.c))
    throw Error("cannot encode a " + std::to_string(img.w) + "x" + std::to_string(img.h) + " PNG");
  return out;
}

volatile std::sig_atomic_t g_signal = 0;
void note_signal(int sig) { g_signal = sig; }

// Converts every image and hands each file (name, bytes) to put; returns the count written.
size_t convert(const Source& src, const Transform& transform,
               const std::function<void(const std::string&, const std::string&)>& put) {
  std::optional<Image> first;
  std::string first_name;
  std::vector<std::pair<std::string, std::optional<json>>> labels;
  size_t idx = 0;                // the output index, as the official enumerate over the images the source gives
  size_t unreadable = 0, dropped = 0, unlabelled = 0;
  std::string first_unlabelled;
  for (size_t i = 0; i < src.size; ++i) {
    if (g_signal) throw Error("interrupted");
    const std::optional<Image> read = src.read(i);
    if (!read) {
      ++unreadable;
      continue;
    }
    const bool final = i >= src.last;
    const std::optional<json> label = src.label(i);
    if (!label && unlabelled++ == 0) first_unlabelled = src.name(i);
    char buf[24];
    std::snprintf(buf, sizeof buf, "%08zu", idx++);
    const std::string archive_name = std::string(buf, 5) + "/img" + buf + ".png";
    const std::optional<Image> img = transform(*read);
    if (!img) {  // center-crop-wide drops images narrower or shorter than the output
      ++dropped;
      if (final) break;
      continue;
    }
    const std::string from = " (from " + src.name(i) + ")";
    if (!first) {
      if (img->w != img->h)
        throw Error("images must be square after scale and crop, got " + std::to_string(img->w) + "x" +
                    std::to_string(img->h) + from + ": give --width and --height, or --transform center-crop");
      if ((img->w & (img->w - 1)) != 0)
        throw Error("image width/height after scale and crop must be a power of two, got " + std::to_string(img->w) +
                    from + ": give --width and --height a power of two (8, 16, 32, ...)");
      first = Image{img->w, img->h, img->c, {}};
      first_name = archive_name + from;
    } else if (img->w != first->w || img->h != first->h || img->c != first->c) {
      auto attrs = [](const Image& i) {
        return std::to_string(i.w) + "x" + std::to_string(i.h) + (i.c == 1 ? " grey" : " RGB");
      };
      throw Error("image " + archive_name + from + " is " + attrs(*img) + ", but " + first_name + " is " +
                  attrs(*first) + ": all images must be alike after scale and crop" +
                  // The official tool refuses the same; the training loader takes the
                  // mix as it is, so the source itself is the way out.
                  (img->w == first->w && img->h == first->h
                       ? "; the trainers' --data takes grey and colour images mixed (grey replicated to RGB) when all are one size"
                       : "; give --width and --height to scale them alike"));
    }
    put(archive_name, png_bytes(*img));
    labels.emplace_back(archive_name, label);
    if (final) break;
  }
  if (idx == 0) throw Error("--source " + src.where + ": none of its " + std::to_string(src.size) + " records decodes as an image: nothing to write");
  if (!first) throw Error("every image was skipped by --transform " + transform.kind + " (narrower than --width or "
                          "shorter than --height once cropped): nothing to write");
  const bool all = std::all_of(labels.begin(), labels.end(), [](const auto& l) { return l.second.has_value(); });
  std::string meta = "{\"labels\": ";
  if (!all) {
    meta += "null";
  } else {
    meta += "[";
    for (size_t i = 0; i < labels.size(); ++i)
      meta += (i ? ", [" : "[") + gf::io::json_text(json(labels[i].first)) + ", " + gf::io::python_json_text(*labels[i].second) + "]";
    meta += "]";
  }
  put("dataset.json", meta + "}");
  // The official tool also writes null when one image has no label; a user
  // who gave labels should hear that all of them were dropped.
  if (!all && unlabelled < idx)
    std::cerr << "dataset_tool: warning: " << unlabelled << " of " << idx
              << " images have no label in dataset.json (the first: " << gf::cli::one_line(first_unlabelled, SIZE_MAX)
              << "), so none keeps its label: \"labels\" is null, as the official tool writes it\n";
  // Passed on as they are, as the official tool does; labels the trainers'
  // --cond refuses are said now rather than when training fails on them.
  if (all) {
    std::vector<std::pair<std::string, nlohmann::json>> named;
    for (const auto& [name, label] : labels) named.emplace_back(name, nlohmann::json(*label));
    try {
      gf::parse_labels(named);
    } catch (const gf::Error& e) {
      std::cerr << "dataset_tool: warning: --cond will refuse these labels: " << gf::cli::one_line(e.what()) << "\n";
    }
  }
  std::cout << "dataset_tool: " << gf::cli::count_text(static_cast<long long>(labels.size()), "image") << " of " << first->w << "x" << first->h
            << (first->c == 1 ? " grey" : " RGB") << (all ? ", labelled" : ", no labels");
  if (dropped) std::cout << "; " << dropped << " skipped by " << transform.kind;
  if (unreadable) std::cout << "; " << gf::cli::count_text(static_cast<long long>(unreadable), "record") << " passed over (not images)";
  std::cout << "\n";
  return labels.size();
}

// Writes each file that `put` is given into `folder`, flushed to the disk.
std::function<void(const std::string&, const std::string&)> file_writer(const std::string& folder) {
  return [folder](const std::string& name, const std::string& bytes) {
    const fs::path p = fs::path(folder) / name;
    fs::create_directories(p.parent_path());
    std::ofstream f(p, std::ios::binary);
    f.write(bytes.data(), std::streamsize(bytes.size()));
    f.close();
    if (!f) throw Error("cannot write " + p.string() + ": " + std::strerror(errno));
    if (!gf::io::sync_path(p.string())) throw Error("cannot flush " + p.string() + " to the disk");
  };
}

// Ends the process by the signal (one of io::kGuardedSignals) noted during the conversion.
[[noreturn]] void raise_noted_signal() {
  std::signal(g_signal, SIG_DFL);
  std::raise(g_signal);
  std::_Exit(128 + g_signal);
}

// A folder dataset. A new dest is built in "<dest>.<pid>.tmp" (or
// "<dest>.<pid>-<tag>.tmp" where that exists: io::create_temporary_folder) beside it and
// renamed, so after a power loss it is whole or absent. An existing empty
// folder (a mount point, a link to a folder, ".") is kept, with its owner,
// permissions and file system: the dataset is built in a hidden folder inside
// it and its entries are moved up at the end. Whatever was made is removed on
// failure or on a signal (SIGINT, SIGTERM, SIGHUP, SIGPIPE), even one that
// comes after the last image.
void write_folder(const std::string& dest, bool dest_exists,
                  const std::function<void(const std::function<void(const std::string&, const std::string&)>&)>& body) {
  // Built beside a new dest, or in a hidden folder inside an existing one.
  const std::string staging = dest_exists ? (fs::path(dest) / ".dataset_tool").string() : dest;
  // The folders made for a new dest go again when it fails, on a noted signal too.
  gf::io::MadeFolders parents = gf::io::create_parent_folder(staging, "--dest");
  // This process's own folder: another's of the same process id (another
  // PID namespace on a shared volume, an interrupted run) is left alone.
  const std::string tmp = gf::io::create_temporary_folder(staging, "--dest");
  // Where the action is the default, or the temporaries' handler (which the parents' guards installed): an ignored
  // signal stays ignored. This folder and its parents are removed below, on the signal noted.
  for (int sig : gf::io::kGuardedSignals) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
        (old.sa_handler == SIG_DFL || old.sa_handler == gf::io::remove_temporaries_and_die))
      std::signal(sig, note_signal);
  }
  bool renamed = false;  // dest is ours: made by the rename below
  std::vector<fs::path> moved;  // dest's entries made so far, for an existing dest
  try {
    body(file_writer(tmp));
    // Every file reached the disk above; the folders' entries, then the
    // rename, follow.
    for (const auto& e : fs::recursive_directory_iterator(tmp))
      if (e.is_directory()) gf::io::sync_path(e.path().string());  // best effort, as write_atomic's folder sync
    gf::io::sync_path(tmp);
    if (g_signal) throw Error("interrupted");
    std::error_code ec;
    if (dest_exists) {
      for (const auto& e : fs::directory_iterator(tmp)) {
        const fs::path to = fs::path(dest) / e.path().filename();
        fs::rename(e.path(), to, ec);
        if (ec) throw Error("--dest " + dest + ": cannot move " + to.filename().string() + " into it: " + ec.message());
        moved.push_back(to);
      }
      fs::remove(tmp, ec);
      gf::io::sync_path(dest);
    } else {
      fs::rename(tmp, dest, ec);
      if (ec) throw Error("--dest " + dest + ": " + ec.message());
      renamed = true;
      const std::string parent = fs::path(dest).parent_path().string();
      gf::io::sync_path(parent.empty() ? "." : parent);
    }
    if (g_signal) throw Error("interrupted");
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    for (const fs::path& p : moved) fs::remove_all(p, ignored);
    if (renamed) fs::remove_all(dest, ignored);  // renamed just before the signal was seen; never another's
    parents.remove();
    if (g_signal) raise_noted_signal();
    throw;
  }
  parents.keep();
}

int run(int argc, char** argv) {
  namespace cli = gf::cli;
  cli::Args args(argc, argv, "dataset_tool",
                 "Convert a folder or .zip of images, LSUN, CIFAR-10 or MNIST into a dataset for train_stylegan, as the official "
                 "StyleGAN2-ADA dataset_tool.py.",
                 {{"source", "PATH", "", "a folder or .zip of images (with dataset.json labels), an LSUN lmdb folder, "
                   "cifar-10-python.tar.gz or MNIST's train-images-idx3-ubyte.gz (required)"},
                  {"dest", "PATH", "", "the output: a folder (empty or new) or a .zip (required)"},
                  cli::integer("max-images", "N", "", "only the first N source images (default: all)", 1, cli::kInt64Max),
                  {"resize-filter", "FILTER", "lanczos", "PIL's resize filter: lanczos or box"},
                  {"transform", "MODE", "", "center-crop or center-crop-wide (default: scale only)"},
                  cli::integer("width", "W", "", "output width", 1, kMaxSide),
                  cli::integer("height", "H", "", "output height", 1, kMaxSide)});
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  if (!args.has("source")) throw Error("--source is required (see --help)");
  if (!args.has("dest") || args.str("dest").empty()) throw Error("--dest is required and must not be empty (see --help)");
  Transform transform;
  transform.kind = args.str("transform");
  if (transform.kind != "" && transform.kind != "center-crop" && transform.kind != "center-crop-wide")
    throw Error("--transform must be center-crop or center-crop-wide, got '" + transform.kind + "'");
  const std::string filter = args.str("resize-filter");
  if (filter != "lanczos" && filter != "box") throw Error("--resize-filter must be lanczos or box, got '" + filter + "'");
  transform.resize = filter == "box" ? gf::resize_box_pil : gf::resize_lanczos_pil;
  if (args.has("width")) transform.width = int(args.integer("width"));
  if (args.has("height")) transform.height = int(args.integer("height"));
  if (!transform.kind.empty() && !(transform.width && transform.height))
    throw Error("--transform " + transform.kind + " needs --width and --height");
  if (transform.kind == "center-crop-wide" && *transform.height > *transform.width)
    throw Error("--transform center-crop-wide needs --height <= --width (the image is pasted into a width x width square)");

  std::string dest = args.str("dest");
  while (dest.size() > 1 && dest.back() == '/') dest.pop_back();  // "out/": the folder out, built beside it
  const bool to_zip = file_ext(dest) == "zip";
  if (!to_zip) {  // whether it exists is asked before its folders are made: "made/../keep" is the keep there
    dest = gf::io::path_once_made(dest);
    while (dest.size() > 1 && dest.back() == '/') dest.pop_back();
  }
  std::error_code ec;
  if (to_zip) {
    cli::check_output_file(args, "dest", {"source"});
  } else {
    cli::check_not_in_input_folder(args, "--dest", dest, {"source"});
    if (fs::is_symlink(fs::symlink_status(dest, ec)) && !fs::exists(dest, ec))
      throw Error("--dest " + dest + ": a link to nothing (" + fs::read_symlink(dest, ec).string() + ")");
    if (fs::exists(dest, ec) && !fs::is_directory(dest, ec)) throw Error("--dest " + dest + ": not a folder");
    if (fs::is_directory(dest, ec)) {
      if (!fs::is_empty(dest, ec)) {
        // A killed run's hidden staging folder, which ls does not show, is
        // named; one whose process (.dataset_tool.<pid>.tmp) still runs
        // belongs to a dataset_tool at work there, whose folder to remove it was not.
        // (A process of another PID namespace, on a shared volume, is not
        // seen: its folder reads as left over.)
        std::string left, at_work;
        long at_work_pid = 0;
        for (const auto& e : fs::directory_iterator(dest, ec))
          if (const std::string n = e.path().filename().string(); n.rfind(".dataset_tool.", 0) == 0) {
            left = n;
            const long long pid = std::strtoll(n.c_str() + 14, nullptr, 10);
            if (pid > 0 && pid <= INT_MAX && pid != ::getpid() &&
                (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM))
              at_work = n, at_work_pid = static_cast<long>(pid);
          }
        throw Error("--dest folder " + dest + " must be empty" +
                    (!at_work.empty() ? "; it holds " + at_work + ", the folder of a dataset_tool at work there (process " +
                                            std::to_string(at_work_pid) +
                                            "; or one interrupted whose process id is taken again): wait for it, or choose another --dest"
                     : !left.empty() ? "; it holds " + left + ", left by an interrupted dataset_tool: remove it"
                                     : std::string()));
      }
      if (::access(dest.c_str(), W_OK | X_OK) != 0) throw Error("--dest " + dest + ": " + std::strerror(errno));
    }
    gf::io::check_parent_folder(dest, "--dest");
  }
  const int64_t max_images = args.has("max-images") ? args.integer("max-images") : cli::kInt64Max;
  const Source src = open_source(args.str("source"), max_images);

  if (to_zip) {
    gf::io::MadeFolders folders = gf::io::create_parent_folder(dest, "--dest");
    gf::io::write_atomic(dest, [&](std::ostream& f) {
      gf::ZipWriter zip(f, "--dest " + dest);
      convert(src, transform, [&](const std::string& name, const std::string& bytes) { zip.add(name, bytes.data(), bytes.size()); });
      zip.finish();
    }, "--dest");
    folders.keep();
  } else {
    write_folder(dest, fs::is_directory(dest, ec), [&](const auto& put) { convert(src, transform, put); });
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return gf::cli::run_main("dataset_tool", [&] { return run(argc, argv); }); }

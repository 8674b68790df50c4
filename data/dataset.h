// Training data with the semantics of the official StyleGAN2-ADA datasets:
// a folder or .zip of images (optionally labelled by dataset.json), or
// Fashion-MNIST read from its IDX files. Images are held in memory as uint8
// NCHW, or decoded from their files whenever asked for (from_files: data
// past memory, or --data-from-files); a batch comes out as float in
// [-1, 1] with its labels as the conditioning c (one-hot class indices, or
// dataset.json's label vectors).
//
// A folder or zip is read with stb_image (PNG, JPEG, BMP, TGA, GIF, PSD, HDR,
// PIC, PNM), whatever the file names: every other file is skipped and named,
// with the reason, in notes(). The dataset is RGB when any image has colour,
// else grey; what decoding does to an image (data/images/image_io.h) is named by
// file in notes() too, and an image with transparent pixels is refused.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset_labels.h"
#include "data/mnist_idx.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "engine/tensor.h"

namespace gf {

struct DatasetOptions {
  bool use_labels = false;  // --cond: labels become the conditioning c; else c_dim is 0
  // What needs the labels, named when the data has none ("<data>: <this> needs labels in dataset.json").
  std::string labels_for = "conditioning (--cond)";
  bool xflip = false;       // --mirror: append a mirrored copy of every image
  // > 0: keep a random subset of this many (before x-flips), the one the
  // official dataset.py's max_size keeps: np.random.RandomState(subset_seed)
  // shuffles the image indices, the first max_images are kept in file order
  // (train.py --subset takes --seed). More than there are images is refused.
  int64_t max_images = 0;
  uint32_t subset_seed = 0;
  std::string fashion_mnist_dir = kFashionMnistDir;
  // --data-from-files: hold no decoded pixels; decode each image from its
  // file whenever an item is asked for, as the official loader does (its
  // DataLoader workers read the zip per batch). A folder or zip whose
  // decoded pixels would not fit in memory is read this way without being
  // asked, and its notes say so. The images are checked and decoded once
  // when the dataset is opened either way, so what is skipped, refused and
  // noted is the same, and so are the items' pixels.
  bool from_files = false;
};

// A dataset's images as they are read again from their files (from_files):
// raw image r (0 <= r < count) decoded into out[C * res * res] as uint8
// CHW. Safe to call from several threads at once. Throws gf::Error naming
// the file when it no longer reads as it did (changed or removed since).
class RawImageReader {
 public:
  virtual ~RawImageReader() = default;
  virtual int64_t count() const = 0;
  virtual void read(int64_t raw, uint8_t* out) const = 0;
  // pixel_hash (data/pixel_hash.h) of what read(raw) gives, x-flipped
  // when asked, as decoded when the dataset was opened: no file is read.
  virtual uint64_t pixel_hash(int64_t raw, bool xflipped) const = 0;
};

// A dataset's resume key (`all`, train/checkpoint_state.h's
// dataset_resume_key) and its two parts: `labels` of the count, shape and
// labels alone, `pixels` of the pixels alone (their count included), so
// that a refused resume can say which changed.
struct DatasetKeys {
  std::string all, labels, pixels;
};

class Dataset {
 public:
  struct Batch {
    Tensor images;  // float32 [N, C, H, W] in [-1, 1]
    Tensor labels;  // float32 [N, c_dim]: one-hot classes or label vectors ([N, 0] without labels)
  };

  // Takes raw images (uint8 [raw_n, C, res, res] flattened) and their labels
  // (one per image, or none), then applies the options. With class labels,
  // c_dim is the largest class + 1, or `classes` when larger (the class count
  // of the whole dataset when the images are a subset of it); with label
  // vectors, their length.
  Dataset(std::string name, int resolution, int channels, std::vector<uint8_t> pixels, RawLabels labels,
          const DatasetOptions& opt, int64_t classes = 0);
  // The same over images decoded from their files when asked for.
  Dataset(std::string name, int resolution, int channels, std::shared_ptr<const RawImageReader> files,
          RawLabels labels, const DatasetOptions& opt, int64_t classes = 0);

  const std::string& name() const { return name_; }
  int resolution() const { return resolution_; }
  int channels() const { return channels_; }
  int64_t size() const { return static_cast<int64_t>(raw_idx_.size()); }  // x-flips included
  int64_t num_images() const { return static_cast<int64_t>(xflip_.empty() || !xflip_.back() ? raw_idx_.size() : raw_idx_.size() / 2); }  // x-flips not counted
  int64_t c_dim() const { return c_dim_; }
  bool has_labels() const { return c_dim_ > 0; }
  // For the run's log: files skipped and conversions made, a count line per
  // kind followed by one indented line per file; empty when nothing happened.
  const std::vector<std::string>& notes() const { return notes_; }
  void set_notes(std::vector<std::string> notes) { notes_ = std::move(notes); }

  // Item i (0 <= i < size()) as uint8 CHW into out[C * res * res]. Safe
  // from several threads; reads and decodes its file for a dataset read
  // from files (throwing gf::Error where that file no longer reads).
  void image(int64_t i, uint8_t* out) const;
  // Items items[0..n) in order, each to fn(k, chw) as image() gives it
  // (chw valid during the call): for a dataset read from its files a block
  // of them is decoded side by side on the OpenMP threads first (the first
  // failure thrown after the block has run); held pixels go through one
  // image's buffer. What every pass over many items goes through.
  void each_image(const int64_t* items, int64_t n, const std::function<void(int64_t, const uint8_t*)>& fn) const;
  // pixel_hash (data/pixel_hash.h) of every item's pixels as image() gives
  // them, computed once (not from several threads at once): from the held
  // pixels, or as the files were decoded when the dataset was opened.
  const std::vector<uint64_t>& pixel_hashes() const;
  // Whether the items are decoded from their files when asked for.
  bool from_files() const { return files_ != nullptr; }
  // Class of item i, or -1 without class labels (none, or label vectors).
  int64_t label(int64_t i) const;
  // The conditioning of item i into out[c_dim]: a one-hot of its class, or
  // its label vector.
  void label_row(int64_t i, float* out) const;
  bool has_label_vectors() const { return !labels_.vectors.empty(); }
  // Whether item i is a mirrored copy (--mirror's second half).
  bool xflipped(int64_t i) const;
  Batch batch(const std::vector<int64_t>& indices, Device device = Device::cpu()) const;

 private:
  std::string name_;
  int resolution_, channels_;
  int64_t c_dim_ = 0;
  std::vector<uint8_t> pixels_;                  // [raw_n, C, res, res], or empty with files_
  std::shared_ptr<const RawImageReader> files_;  // or the images read again from their files
  RawLabels labels_;               // per raw image
  std::vector<int64_t> raw_idx_;  // item -> raw image
  std::vector<uint8_t> xflip_;    // item -> mirrored?
  std::vector<std::string> notes_;
  mutable std::vector<uint64_t> pixel_hashes_;  // pixel_hashes(), once asked for
  void index_items(int64_t raw_n, const DatasetOptions& opt, int64_t classes);
  void decode_side_by_side(const int64_t* items, int64_t n, uint8_t* out) const;
};

// ImageFiles::unlisted's reason for a file whose name PIL lists as no image
// (pil_lists_extension): the official loader and dataset_tool.py pass over
// those without a word.
extern const char* const kNotImageNameReason;
// The one line for a folder or zip with no image read: `skipped` holds
// "<file>: <why>" for each file passed over, sorted; one that was taken for
// an image and failed is quoted before one that never was.
std::string no_images_message(const std::string& path, const std::vector<std::string>& skipped);

// The files of a folder (recursively) or .zip whose names PIL lists as
// images, sorted by relative name, with a reader, for programs that take
// images one by one (psp). Throws gf::Error naming the path when it cannot
// be listed.
struct ImageFiles {
  std::string path;
  std::vector<std::string> names;  // relative, '/' separated
  // Entries that are not read: a name PIL lists as no image
  // (kNotImageNameReason), a zip entry's unsupported compression or
  // encryption, a broken link in a folder: name, why.
  std::vector<std::pair<std::string, std::string>> unlisted;
  std::function<std::vector<uint8_t>(const std::string&)> read;
  std::function<bool(const std::string&)> exists;  // a file of that name (dataset.json, which names omits)
  // A zip's names that it lists more than once (zipfile's append mode writes
  // a file again): how many records. names holds each once, read as its last
  // record, as the official loader's set(namelist()); dataset_tool.py lists
  // each record's name.
  std::map<std::string, size_t> copies;
  std::string display(const std::string& name) const { return path + "/" + name; }
};
ImageFiles open_image_files(const std::string& path);

// `path`: a folder or .zip of images; empty: Fashion-MNIST (training split,
// 60000 images padded to 1x32x32, 10 classes). A bad dataset (no readable
// image, images of different or non-square sizes, transparent pixels, missing
// labels) throws gf::Error naming the offending file.
std::unique_ptr<Dataset> open_dataset(const std::string& path, const DatasetOptions& opt = {});

// Labels for generated images: those of n random dataset items (the official
// gen_c of StyleGAN2-ADA, PGGAN's get_random_labels_tf), [n, c_dim] rows as
// Dataset::label_row makes them,
// from n uniforms drawn from rng; undefined for a dataset without labels
// (nothing is drawn).
Tensor random_labels(const Dataset& ds, int64_t n, Generator& rng, Device device);
// The two halves of random_labels, for a trainer that logs the items it draws
// (train/draw_log.h): n items from n uniforms of rng, and the labels
// [n, c_dim] of given items.
std::vector<int64_t> random_items(const Dataset& ds, int64_t n, Generator& rng);
Tensor labels_of(const Dataset& ds, const std::vector<int64_t>& items, Device device);

}  // namespace gf

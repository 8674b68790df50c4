// dataset.json's labels as the official StyleGAN2-ADA dataset.py reads and
// holds them (training/dataset.py: ImageFolderDataset._load_raw_labels).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace gf {

// dataset.json class indices are below this: the one-hot conditioning has
// (largest index + 1) entries, and ImageNet-21k has 21841 classes.
inline constexpr int64_t kMaxClasses = 65536;

// The labels of a dataset's images, one per raw image, as the official
// StyleGAN2-ADA dataset.py holds them: class indices (its int64 labels; the
// conditioning c is a one-hot of largest + 1 entries) or float vectors of one
// length (its float32 labels; c is the vector itself). Both empty: none.
struct RawLabels {
  std::vector<int64_t> classes;  // [raw_n]
  std::vector<float> vectors;    // [raw_n * vector_dim]
  int64_t vector_dim = 0;
  RawLabels() = default;
  RawLabels(std::vector<int64_t> class_indices) : classes(std::move(class_indices)) {}  // NOLINT: implicit on purpose
  bool empty() const { return classes.empty() && vectors.empty(); }
};

// dataset.json's labels of a dataset's images, given as (name, label) in
// image order, read as the official loader reads them (np.array of them, then
// int64 for one dimension, float32 for two): all class indices (whole numbers
// in [0, kMaxClasses); 1.0 too, as tools that save floats write it) or all
// non-empty lists of numbers of one length (each finite as a float32).
// Throws gf::Error "the label of '<name>' ..." naming the first label that is
// neither ("must be a non-negative whole class index or a label vector ...",
// "is class 70000; class indices must be below 65536 ...") or the first whose
// kind or length differs from the first image's (where np.array fails).
RawLabels parse_labels(const std::vector<std::pair<std::string, nlohmann::json>>& labels);

}  // namespace gf

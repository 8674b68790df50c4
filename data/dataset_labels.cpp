#include "data/dataset_labels.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/io/json_input.h"

namespace gf {
namespace {

// Why one label is neither a class index nor a label vector; "" when it is one.
std::string one_label_problem(const nlohmann::json& label) {
  if (label.is_array()) {
    if (label.empty()) return "is an empty label vector (the networks would take no label: leave --cond out)";
    for (const auto& x : label)
      if (!x.is_number()) return "is a label vector with " + io::json_excerpt(x) + " in it; its entries must be numbers";
      else if (!std::isfinite(static_cast<float>(x.get<double>())))
        return "is a label vector with " + io::json_excerpt(x) + " in it, which is no finite float32";
    return "";
  }
  const bool whole_float = label.is_number_float() && std::isfinite(label.get<double>()) &&
                           label.get<double>() == std::floor(label.get<double>());
  if (!(label.is_number_integer() || whole_float) || label.get<double>() < 0)
    return "must be a non-negative whole class index or a label vector (a list of numbers), got " + io::json_excerpt(label);
  // The networks take a one-hot of (largest index + 1) entries: an id
  // such as 4294967296 would size them past any memory (or wrap an int).
  const bool too_large = label.is_number_unsigned() ? label.get<uint64_t>() >= uint64_t(kMaxClasses)
                         : whole_float             ? label.get<double>() >= double(kMaxClasses)
                                                   : label.get<int64_t>() >= kMaxClasses;
  if (too_large)
    return "is class " + io::json_excerpt(label) + "; class indices must be below " + std::to_string(kMaxClasses) +
           " (the networks take a one-hot of largest index + 1 entries): number the classes from 0";
  return "";
}

std::string label_kind(const nlohmann::json& label) {
  return label.is_array() ? "a label vector of " + std::to_string(label.size()) + (label.size() == 1 ? " entry" : " entries")
                          : "a class index";
}

}  // namespace

RawLabels parse_labels(const std::vector<std::pair<std::string, nlohmann::json>>& labels) {
  RawLabels out;
  if (labels.empty()) return out;
  const nlohmann::json& first = labels.front().second;
  for (const auto& [name, label] : labels) {
    const std::string problem = one_label_problem(label);
    if (!problem.empty()) throw Error("the label of '" + name + "' " + problem);
    // np.array of class indices and vectors, or of vectors of two lengths,
    // is no 1-D or 2-D array: the official loader fails there.
    if (label.is_array() != first.is_array() || label.size() != first.size())
      throw Error("the label of '" + name + "' is " + label_kind(label) + ", the label of '" + labels.front().first +
                  "' " + label_kind(first) + ": the labels must be all class indices or all vectors of one length");
    if (label.is_array())
      for (const auto& x : label) out.vectors.push_back(static_cast<float>(x.get<double>()));
    else
      out.classes.push_back(label.is_number_float() ? static_cast<int64_t>(label.get<double>()) : label.get<int64_t>());
  }
  if (first.is_array()) out.vector_dim = static_cast<int64_t>(first.size());
  return out;
}

}  // namespace gf

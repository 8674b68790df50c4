#include "data/cifar10.h"

#include <cstring>
#include <map>

#include "engine/error.h"
#include "data/archives/pickle_reader.h"
#include "data/archives/tar_reader.h"
#include "data/archives/zip_reader.h"

namespace gf {

namespace {

constexpr size_t kImageBytes = 3 * Cifar10::kRes * Cifar10::kRes;

// A batch's 'labels': a list of ints (as CIFAR-10 has them) or an integer array.
std::vector<int64_t> label_values(const PyValue& v, const std::string& what) {
  std::vector<int64_t> out;
  if (v.kind == PyValue::Kind::list || v.kind == PyValue::Kind::tuple) {
    for (const PyRef& x : v.items) {
      if (x->kind != PyValue::Kind::integer) throw Error(what + ": 'labels' holds a " + x->type_name() + ", not a class index");
      out.push_back(x->integer);
    }
    return out;
  }
  if (v.kind == PyValue::Kind::ndarray && v.shape.size() == 1 && (v.str == "i8" || v.str == "i4") && v.byte_order != '>') {
    const size_t item = v.str == "i8" ? 8 : 4;
    for (size_t i = 0; i < size_t(v.shape[0]); ++i) {
      int64_t x = 0;
      if (item == 8) {
        std::memcpy(&x, v.data.data() + i * 8, 8);
      } else {
        int32_t y;
        std::memcpy(&y, v.data.data() + i * 4, 4);
        x = y;
      }
      out.push_back(x);
    }
    return out;
  }
  throw Error(what + ": 'labels' is a " + v.type_name() + ", not a list of class indices");
}

}  // namespace

Cifar10 read_cifar10(const std::string& tarball) {
  // A first block that begins no tar archive is refused before the rest is
  // inflated, and nothing past the archive's end block is inflated (Python's
  // tarfile reads no further: bytes after it, even a cut or damaged end of
  // the gzip stream, are not looked at).
  size_t walked = 0;
  const GzipHead tar_head{512, [&](const uint8_t* d, size_t n) {
                            check_tar_start(d, n, tarball);
                            return SIZE_MAX;
                          }};
  const std::vector<uint8_t> tar = read_gzip_file(
      tarball, tar_head, [&](const uint8_t* d, size_t n) { return tar_end_so_far(d, n, &walked, tarball); });
  const std::map<std::string, TarMember> members = list_tar(tar, tarball);
  Cifar10 out;
  for (int batch = 1; batch <= 5; ++batch) {
    const std::string name = "cifar-10-batches-py/data_batch_" + std::to_string(batch);
    const auto it = members.find(name);
    if (it == members.end()) throw Error(tarball + ": no " + name + " in the archive (not CIFAR-10's Python version?)");
    const std::string what = tarball + " " + name;
    const PyRef d = read_pickle(tar.data() + it->second.offset, it->second.size, what);
    if (d->kind != PyValue::Kind::dict) throw Error(what + ": a pickled " + d->type_name() + ", not a dict");
    const PyRef data = d->get("data"), labels = d->get("labels");
    if (!data || !labels) throw Error(what + ": the dict has no 'data' or no 'labels'");
    // The official reshape(-1, 3, 32, 32): any shape of a whole number of images.
    if (data->kind != PyValue::Kind::ndarray || data->str != "u1" || data->fortran_order ||
        data->data.size() % kImageBytes != 0)
      throw Error(what + ": 'data' is a " + data->type_name() + " of " + std::to_string(data->data.size()) +
                  " bytes, not uint8 rows of 3x32x32 images");
    const size_t n = data->data.size() / kImageBytes;
    const std::vector<int64_t> classes = label_values(*labels, what);
    if (classes.size() != n)
      throw Error(what + ": " + std::to_string(n) + " images but " + std::to_string(classes.size()) + " labels");
    for (int64_t c : classes)
      if (c < 0 || c > 9) throw Error(what + ": a label of " + std::to_string(c) + ", outside CIFAR-10's classes 0-9");
    // CHW rows -> HWC, as the official transpose([0, 2, 3, 1]).
    const size_t first = out.pixels.size();
    out.pixels.resize(first + n * kImageBytes);
    constexpr size_t plane = Cifar10::kRes * Cifar10::kRes;
    for (size_t i = 0; i < n; ++i)
      for (size_t c = 0; c < 3; ++c)
        for (size_t p = 0; p < plane; ++p)
          out.pixels[first + i * kImageBytes + p * 3 + c] = uint8_t(data->data[i * kImageBytes + c * plane + p]);
    out.labels.insert(out.labels.end(), classes.begin(), classes.end());
  }
  if (out.size() == 0) throw Error(tarball + ": its batches hold no image");
  return out;
}

}  // namespace gf

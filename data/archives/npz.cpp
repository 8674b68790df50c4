// Written through data/archives/zip_writer.h: stored entries, fixed DOS times, so
// the bytes depend on the arrays only.
#include "data/archives/npz.h"

#include <cstring>
#include <set>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/npy.h"
#include "data/archives/zip_reader.h"
#include "data/archives/zip_writer.h"

namespace gf {

void save_npz(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& arrays,
              io::AtomicFileSet* together) {
  std::vector<std::pair<std::string, std::string>> entries;  // name, bytes
  std::set<std::string> keys;
  for (const auto& [key, t] : arrays) {
    GF_CHECK(!key.empty() && key.find('/') == std::string::npos && key.find("..") == std::string::npos, "save_npz",
             path << ": bad array name '" << key << "'");
    GF_CHECK(keys.insert(key).second, "save_npz", path << ": array name '" << key << "' given twice");
    entries.emplace_back(key + ".npy", io::npy_bytes(t));
  }
  io::AtomicFileSet::write(together, path, [&](std::ostream& f) {
    ZipWriter zip(f, "save_npz");
    for (const auto& [name, bytes] : entries) zip.add(name, bytes.data(), bytes.size());
    zip.finish();
  }, "");  // the error names the file
}

namespace {

bool ends_with_npy(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0;
}

}  // namespace

std::map<std::string, Tensor> read_npz(const std::string& path, const std::vector<std::string>& only) {
  std::map<std::string, Tensor> out;
  try {
    ZipReader zip(path);
    // numpy.load takes a file for an .npz by its first bytes: a local file
    // header, or the end record of an empty archive.
    const std::vector<uint8_t> magic = zip.file_head(4);
    if (magic.size() < 4 || (std::memcmp(magic.data(), "PK\x03\x04", 4) != 0 && std::memcmp(magic.data(), "PK\x05\x06", 4) != 0))
      throw Error("not an .npz: numpy.load reads a zip archive only from its first byte (this one has bytes before it)");
    // The keys: every entry's name less ".npy" (NpzFile.files), or `only`.
    std::vector<std::string> keys = only;
    if (keys.empty()) {
      std::set<std::string> seen;
      for (const ZipReader::Entry& e : zip.entries()) {
        if (e.is_dir()) continue;
        const std::string key = ends_with_npy(e.name) ? e.name.substr(0, e.name.size() - 4) : e.name;
        if (seen.insert(key).second) keys.push_back(key);
      }
    }
    for (const std::string& key : keys) {
      // NpzFile.__getitem__: the entry named the key itself, else "<key>.npy".
      int64_t index = zip.find(key);
      if (index < 0) index = zip.find(key + ".npy");
      if (index < 0) continue;
      const ZipReader::Entry& e = zip.entries()[static_cast<size_t>(index)];
      if (e.is_dir()) continue;
      if (!e.unreadable.empty()) throw Error("entry '" + e.name + "': " + e.unreadable);
      // An entry within kNpyHeadBytes is decoded and CRC-checked before it
      // is parsed. A larger one's header is read from its head, and the
      // entry is decoded whole (and CRC-checked) only once the header's shape
      // is found to fill the size the archive claims: a few compressed bytes
      // claiming 2 GB are refused before 2 GB are inflated.
      const bool small = e.size <= io::kNpyHeadBytes;
      const std::vector<uint8_t> head = small ? std::vector<uint8_t>() : zip.read_head(e, io::kNpyHeadBytes);
      std::vector<uint8_t> whole = small ? zip.read(e) : std::vector<uint8_t>();
      // numpy.load gives an entry without the .npy magic as bytes, no array.
      const std::vector<uint8_t>& first = small ? whole : head;
      if (first.size() < 6 || std::memcmp(first.data(), "\x93NUMPY", 6) != 0)
        throw Error("entry '" + e.name + "' is not a .npy array");
      auto read_at = [&](uint64_t at, void* dst, size_t k) {
        // The data (the read that reaches the end) always from the whole.
        const bool from_head = !small && at + k <= head.size() && at + k < e.size;
        if (!small && !from_head && whole.empty()) whole = zip.read(e);
        if (k > 0) std::memcpy(dst, (from_head ? head : whole).data() + at, k);
      };
      out[key] = io::parse_npy_from(e.size, read_at, e.name);
    }
  } catch (const Error& err) {
    const std::string what = err.what();
    // The zip reader's messages name the file already.
    throw Error("npz: " + (what.find(path) == std::string::npos ? path + ": " + what : what));
  }
  if (out.empty() && only.empty()) throw Error("npz: " + path + ": holds no arrays");
  return out;
}

}  // namespace gf

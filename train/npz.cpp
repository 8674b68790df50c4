// The zip layout written (PKWARE APPNOTE 4.3): per entry a local file header
// and the bytes, then the central directory and its end record. Method 0
// (stored), no data descriptor, DOS time 1980-01-01 00:00 so that the bytes
// depend on the arrays only.
#include "train/npz.h"

#include <cstring>
#include <set>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/npy.h"
#include "train/zip_reader.h"

namespace gf {
namespace {

constexpr uint16_t kVersion = 20;    // 2.0: what a stored file needs
constexpr uint16_t kDosDate = 0x21;  // 1980-01-01

void put16(std::string& s, uint32_t v) {
  s += char(v & 0xff);
  s += char((v >> 8) & 0xff);
}
void put32(std::string& s, uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}

struct Entry {
  std::string name, bytes;
  uint32_t crc = 0;
  uint64_t offset = 0;
};

// The fields a local header and a central directory record share, from
// "version needed" to the extra field's length.
std::string common_fields(const Entry& e) {
  std::string s;
  put16(s, kVersion);  // version needed to extract
  put16(s, 0);         // flags
  put16(s, 0);         // method: stored
  put16(s, 0);         // time
  put16(s, kDosDate);
  put32(s, e.crc);
  put32(s, uint32_t(e.bytes.size()));  // compressed size
  put32(s, uint32_t(e.bytes.size()));  // size
  put16(s, uint32_t(e.name.size()));
  put16(s, 0);  // extra field length
  return s;
}

}  // namespace

void save_npz(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& arrays) {
  std::vector<Entry> entries;
  std::set<std::string> keys;
  uint64_t offset = 0;
  for (const auto& [key, t] : arrays) {
    GF_CHECK(!key.empty() && key.find('/') == std::string::npos && key.find("..") == std::string::npos, "save_npz",
             path << ": bad array name '" << key << "'");
    GF_CHECK(keys.insert(key).second, "save_npz", path << ": array name '" << key << "' given twice");
    Entry e;
    e.name = key + ".npy";
    e.bytes = io::npy_bytes(t);
    e.crc = crc32(reinterpret_cast<const uint8_t*>(e.bytes.data()), e.bytes.size());
    e.offset = offset;
    offset += 30 + e.name.size() + e.bytes.size();
    entries.push_back(std::move(e));
  }
  std::string directory;
  for (const Entry& e : entries) {
    put32(directory, 0x02014b50);
    put16(directory, kVersion);  // version made by (MS-DOS attributes)
    directory += common_fields(e);
    put16(directory, 0);  // comment length
    put16(directory, 0);  // disk number
    put16(directory, 0);  // internal attributes
    put32(directory, 0);  // external attributes
    put32(directory, uint32_t(e.offset));
    directory += e.name;
  }
  GF_CHECK(offset + directory.size() < 0xffffffffu && entries.size() < 0xffff, "save_npz",
           path << ": the arrays need zip64 (over 4 GiB), which this writer does not write");
  std::string end;
  put32(end, 0x06054b50);
  put16(end, 0);  // this disk
  put16(end, 0);  // the directory's disk
  put16(end, uint32_t(entries.size()));
  put16(end, uint32_t(entries.size()));
  put32(end, uint32_t(directory.size()));
  put32(end, uint32_t(offset));
  put16(end, 0);  // comment length
  io::write_atomic(path, [&](std::ostream& f) {
    for (const Entry& e : entries) {
      std::string local;
      put32(local, 0x04034b50);
      local += common_fields(e);
      local += e.name;
      f.write(local.data(), std::streamsize(local.size()));
      f.write(e.bytes.data(), std::streamsize(e.bytes.size()));
    }
    f.write(directory.data(), std::streamsize(directory.size()));
    f.write(end.data(), std::streamsize(end.size()));
  }, "save_npz");
}

std::map<std::string, Tensor> read_npz(const std::string& path, const std::vector<std::string>& only) {
  std::map<std::string, Tensor> out;
  auto wanted = [&](const std::string& name) {
    if (only.empty()) return true;
    for (const std::string& k : only)
      if (name == k + ".npy") return true;
    return false;
  };
  try {
    ZipReader zip(path);
    for (const ZipReader::Entry& e : zip.entries()) {
      if (e.is_dir() || !wanted(e.name)) continue;
      if (e.name.size() <= 4 || e.name.compare(e.name.size() - 4, 4, ".npy") != 0)
        throw Error("entry '" + e.name + "' is not a .npy array");
      if (!e.unreadable.empty()) throw Error("entry '" + e.name + "': " + e.unreadable);
      const std::vector<uint8_t> bytes = zip.read(e);
      out[e.name.substr(0, e.name.size() - 4)] = io::parse_npy(bytes.data(), bytes.size(), e.name);
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

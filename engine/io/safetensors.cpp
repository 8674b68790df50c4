#include "engine/io/safetensors.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/error.h"
#include "engine/io/input_file.h"
#include "engine/io/json_input.h"
#include "engine/io/atomic_file.h"
#include "engine/io/crc32.h"

namespace gf::io {
namespace {

constexpr uint64_t kMaxSafetensorsHeader = 100000000;  // the safetensors library's MAX_HEADER_SIZE

const char* st_dtype(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
  }
  return "?";
}

std::string crc_text(uint32_t crc) {
  char b[12];
  std::snprintf(b, sizeof b, "%08x", crc);
  return b;
}

// kMetadataCrcKey's value for m: every entry but the two checks, in key order.
uint32_t metadata_crc(const Metadata& m) {
  uint32_t crc = 0;
  const char zero = 0;
  for (const auto& [key, value] : m) {
    if (key == kDataCrcKey || key == kMetadataCrcKey) continue;
    crc = crc32(key.data(), key.size(), crc);
    crc = crc32(&zero, 1, crc);
    crc = crc32(value.data(), value.size(), crc);
    crc = crc32(&zero, 1, crc);
  }
  return crc;
}

[[noreturn]] void bad_safetensors(const std::string& path, const std::string& what) {
  throw Error(path + ": " + what);
}

// The name of a zip's first entry, from its local file header at offset 0
// (name length at byte 26, the name at byte 30); "" when it cannot be read.
std::string first_zip_entry(std::ifstream& f) {
  unsigned char local[30];
  f.clear();
  f.seekg(0);
  if (!f.read(reinterpret_cast<char*>(local), sizeof local)) return "";
  const size_t n = std::min<size_t>(local[26] | (local[27] << 8), 200);
  std::string name(n, '\0');
  if (!f.read(name.data(), static_cast<std::streamsize>(n))) return "";
  return name;
}

// What a file is by its first 8 bytes, for the formats most often given
// where a network belongs (images the loader reads, NumPy arrays, gzip,
// JSON); "" for others.
std::string other_format(const unsigned char* b) {
  const auto is = [&](const char* magic, size_t n) { return std::memcmp(b, magic, n) == 0; };
  if (is("\x89PNG\r\n\x1a\n", 8)) return "a PNG image";
  if (is("\xff\xd8\xff", 3)) return "a JPEG image";
  if (is("GIF87a", 6) || is("GIF89a", 6)) return "a GIF image";
  if (is("II*\0", 4) || is("MM\0*", 4)) return "a TIFF image";
  if (is("RIFF", 4)) return "a RIFF file (a WebP image?)";
  if (is("\x93NUMPY", 6)) return "a NumPy .npy array";
  if (is("\x1f\x8b", 2)) return "a gzip file";
  if (is("BM", 2)) return "a BMP image";
  if (is("8BPS", 4)) return "a PSD image";
  if (b[0] == 'P' && b[1] >= '1' && b[1] <= '7' && b[2] != 0 && std::strchr(" \t\r\n", b[2])) return "a PNM image";
  if (b[0] == '{' || b[0] == '[') return "a JSON file";
  return "";
}

}  // namespace

SafetensorsFile read_safetensors(const std::string& path) {
  std::string why;
  std::ifstream f = open_input(path, why, /*seekable=*/true);
  // A file that cannot be opened is no format's fault: the reason alone.
  if (!f.is_open()) throw Error(path + ": " + why);
  f.seekg(0, std::ios::end);
  const uint64_t file_size = static_cast<uint64_t>(f.tellg());
  f.seekg(0);
  if (file_size < 8) bad_safetensors(path, "too short to hold a header (" + std::to_string(file_size) + " bytes)");
  unsigned char len_bytes[8];
  if (!f.read(reinterpret_cast<char*>(len_bytes), 8)) bad_safetensors(path, "read failed");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > kMaxSafetensorsHeader || header_len > file_size - 8) {
    // The usual mistake: an official pickle or a PyTorch checkpoint given as it came.
    const bool pickle = len_bytes[0] == 0x80 && len_bytes[1] >= 2 && len_bytes[1] <= 5;
    const bool torch_zip = len_bytes[0] == 'P' && len_bytes[1] == 'K' && len_bytes[2] == 3 && len_bytes[3] == 4;
    const std::string convert = ", not a ganforge .bin: convert it first with tools/convert_weights.py import";
    if (pickle) bad_safetensors(path, "a Python pickle (an official .pkl, or an older PyTorch .pt)" + convert);
    if (torch_zip) {
      // torch.save's zip starts with "<archive>/data.pkl"; any other first
      // entry is some other zip, most often a dataset given for a network
      // (one too short to name an entry keeps the usual guess).
      const std::string first = first_zip_entry(f);
      if (first.empty() || (first.size() >= 8 && first.compare(first.size() - 8, 8, "data.pkl") == 0))
        bad_safetensors(path, "a zip (a PyTorch .pt or .pth checkpoint)" + convert);
      bad_safetensors(path, "a zip archive whose first entry is " + json_excerpt(nlohmann::json(first)) +
                    ", not a network (a dataset? networks are .bin files, or official checkpoints to convert with "
                    "tools/convert_weights.py import)");
    }
    // Other files given for a network, known by their first bytes.
    const std::string kind = other_format(len_bytes);
    if (!kind.empty())
      bad_safetensors(path, kind + ", not a network (networks are .bin files: snapshots, export_weights' output, or "
                                   "official checkpoints converted with tools/convert_weights.py import)");
    bad_safetensors(path, "header length " + std::to_string(header_len) + " does not fit the file (" +
                  std::to_string(file_size) + " bytes); not a safetensors file, or truncated");
  }
  std::string header(header_len, '\0');
  f.read(header.data(), static_cast<std::streamsize>(header_len));
  // The format: the header begins with '{' (a byte-order mark, which the JSON
  // parser would skip, is refused as the safetensors library refuses it).
  if (header_len == 0 || header[0] != '{')
    bad_safetensors(path, "header does not begin with '{' (safetensors' JSON header; it begins with byte " +
                  (header_len ? std::to_string(static_cast<unsigned char>(header[0])) : std::string("none")) + ")");
  // Unique keys: a tensor named twice would load whichever came last.
  const nlohmann::json j = parse_json(header, path + ": header", /*unique_keys=*/true);
  if (!j.is_object()) bad_safetensors(path, "header is not a JSON object");
  const uint64_t data_size = file_size - 8 - header_len;

  SafetensorsFile out;
  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) bad_safetensors(path, "__metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) bad_safetensors(path, "__metadata__ value '" + m.key() + "' is not a string");
        out.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const std::string& name = it.key();
    const auto& e = *it;
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
      bad_safetensors(path, "tensor '" + name + "' lacks dtype, shape or data_offsets");
    Entry en{name, DType::f32, {}, 0, 0};
    const std::string dt = e["dtype"].is_string() ? e["dtype"].get<std::string>() : "";
    if (dt == "F32") en.dtype = DType::f32;
    else if (dt == "F64") en.dtype = DType::f64;
    else bad_safetensors(path, "tensor '" + name + "' has dtype '" + dt + "' (only F32 and F64 are read)");
    if (!e["shape"].is_array() || e["shape"].size() > 6) bad_safetensors(path, "tensor '" + name + "' has a bad shape");
    for (const auto& d : e["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) bad_safetensors(path, "tensor '" + name + "' has a bad shape");
      en.shape.push_back(d.get<int64_t>());
    }
    const auto& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad_safetensors(path, "tensor '" + name + "' has bad data_offsets");
    en.begin = off[0].get<uint64_t>();
    en.end = off[1].get<uint64_t>();
    // Formed with an overflow check (as the .npy reader does): a shape such
    // as [2^62, 4] wrapped to 0 elements and was taken as an empty tensor.
    uint64_t want = dtype_size(en.dtype);
    for (int64_t d : en.shape)
      if (__builtin_mul_overflow(want, static_cast<uint64_t>(d), &want) || want > uint64_t(INT64_MAX))
        bad_safetensors(path, "tensor '" + name + "' has shape " + shape_str(en.shape) + ", too large for any file");
    if (en.begin <= en.end && en.end - en.begin == want && en.end > data_size)
      bad_safetensors(path, "truncated: tensor '" + name + "' ends at data byte " + std::to_string(en.end) + ", the file holds " +
                    std::to_string(data_size) + " (an interrupted copy or download?)");
    if (en.begin > en.end || en.end > data_size || en.end - en.begin != want)
      bad_safetensors(path, "tensor '" + name + "' byte range [" + std::to_string(en.begin) + ", " + std::to_string(en.end) +
                    ") does not match its shape " + shape_str(en.shape) + " or the file's " +
                    std::to_string(data_size) + " data bytes");
    entries.push_back(std::move(en));
  }
  // The ranges must tile the data section exactly: no overlap, no gap.
  std::vector<const Entry*> order;
  for (const auto& en : entries) order.push_back(&en);
  // By begin, then end: an empty tensor at a neighbour's offset sorts first.
  std::sort(order.begin(), order.end(),
            [](const Entry* a, const Entry* b) { return a->begin != b->begin ? a->begin < b->begin : a->end < b->end; });
  uint64_t at = 0;
  const Entry* previous = nullptr;
  for (const Entry* en : order) {
    if (en->begin > at)  // a tensor's entry removed from the header leaves its bytes behind
      bad_safetensors(path, "data bytes [" + std::to_string(at) + ", " + std::to_string(en->begin) +
                    ") belong to no tensor (before tensor '" + en->name + "'): a tensor missing from the header?");
    if (en->begin < at)
      bad_safetensors(path, "tensor '" + en->name + "' overlaps tensor '" + previous->name + "' (data bytes [" +
                    std::to_string(en->begin) + ", " + std::to_string(std::min(at, en->end)) + "))");
    at = en->end;
    previous = en;
  }
  if (at != data_size) bad_safetensors(path, "data section has " + std::to_string(data_size - at) + " bytes no tensor covers");
  const auto meta_check = out.metadata.find(kMetadataCrcKey);
  if (meta_check != out.metadata.end()) {
    const std::string got = crc_text(metadata_crc(out.metadata));
    if (meta_check->second != got)
      bad_safetensors(path, "its metadata fails its CRC-32 (" + got + ", recorded " +
                    json_excerpt(nlohmann::json(meta_check->second), 20) +
                    "): damaged since it was written (a bad copy, disk or download); use another copy");
    out.metadata.erase(meta_check);
  }

  const std::streamoff data_start = static_cast<std::streamoff>(8 + header_len);
  for (const auto& en : entries) {
    // Memory for what the file really holds (a sparse file claims any size
    // in a few kilobytes of disk): a failure names the file and the tensor.
    Tensor t;
    try {
      t = Tensor::empty(en.shape, en.dtype, Device::cpu());
    } catch (const Error& e) {
      bad_safetensors(path, "tensor '" + en.name + "' of shape " + shape_str(en.shape) + ": " + e.what());
    }
    f.seekg(data_start + static_cast<std::streamoff>(en.begin));
    f.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(en.end - en.begin));
    if (!f) bad_safetensors(path, "read of tensor '" + en.name + "' failed");
    out.tensors[en.name] = t;
  }
  // The writer's check over the data section (a flipped bit in a weight
  // loaded as another weight): taken out of the metadata, which a caller may
  // copy into a file of other data.
  const auto check = out.metadata.find(kDataCrcKey);
  if (check != out.metadata.end()) {
    uint32_t crc = 0;
    for (const Entry* en : order) {
      const Tensor& t = out.tensors.at(en->name);
      crc = crc32(t.raw(), static_cast<size_t>(en->end - en->begin), crc);
    }
    if (check->second != crc_text(crc))
      bad_safetensors(path, "its tensor data fails its CRC-32 (" + crc_text(crc) + ", recorded " +
                    json_excerpt(nlohmann::json(check->second), 20) +
                    "): damaged since it was written (a bad copy, disk or download); use another copy");
    out.metadata.erase(check);
  }
  return out;
}

void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  nlohmann::json j = nlohmann::json::object();
  uint64_t at = 0;
  uint32_t crc = 0;
  std::vector<Tensor> host;
  for (const auto& [name, t] : tensors) {
    GF_CHECK(name != "__metadata__", "save_safetensors", "tensor name __metadata__ is reserved");
    Tensor h = t.detach().to(Device::cpu()).contiguous();
    const uint64_t n = h.nbytes();
    j[name] = {{"dtype", st_dtype(h.dtype())}, {"shape", h.shape()}, {"data_offsets", {at, at + n}}};
    at += n;
    crc = crc32(h.raw(), static_cast<size_t>(n), crc);
    host.push_back(h);
  }
  // The metadata as the header will hold it (invalid UTF-8 replaced, as in
  // every JSON written: a dataset's name from a Latin-1 path), so that the
  // check covers what the file holds; the checks are always this file's,
  // whatever a caller copied in.
  Metadata with_check;
  for (const auto& [key, value] : metadata) {
    const auto as_written = [](const std::string& s) { return nlohmann::json::parse(json_text(nlohmann::json(s))).get<std::string>(); };
    with_check[as_written(key)] = as_written(value);
  }
  with_check[kDataCrcKey] = crc_text(crc);
  with_check[kMetadataCrcKey] = crc_text(metadata_crc(with_check));
  j["__metadata__"] = with_check;
  std::string header = io::json_text(j);
  header.append((8 - header.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  write_atomic(path, [&](std::ostream& f) {
    unsigned char len[8];
    const uint64_t hl = header.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(hl >> (8 * i));
    f.write(reinterpret_cast<const char*>(len), 8);
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const Tensor& h : host) f.write(static_cast<const char*>(h.raw()), static_cast<std::streamsize>(h.nbytes()));
  }, "");  // the error names the file
}

}  // namespace gf::io

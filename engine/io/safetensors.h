// .bin files in the safetensors layout: an 8-byte little-endian header length,
// a JSON header naming every tensor with dtype, shape and byte range (plus an
// optional "__metadata__" map of strings), then the raw little-endian data.
// Any safetensors reader opens them; docs/FORMAT.md describes the layout.
#pragma once
#include <map>
#include <string>

#include "engine/tensor.h"

namespace gf::io {

using TensorMap = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  TensorMap tensors;  // on the CPU
  Metadata metadata;
};

// The metadata key of the CRC-32 (8 hex digits) of a file's data section
// as written, which save_safetensors adds and read_safetensors verifies:
// safetensors itself has no check, so a flipped bit in a weight loaded as
// another weight. Files without it (other tools', ours before 2026-12-03)
// are read unchecked.
inline constexpr const char* kDataCrcKey = "data_crc32";
// The same for the metadata (whose values hold configs, specs, dataset keys
// and counts: a flipped bit in a checkpoint's spec or a stats cache's item
// count was taken as written): the CRC-32 of every other metadata entry,
// in key order (bytewise), each key and value followed by a zero byte.
// Added by save_safetensors, verified and dropped by read_safetensors;
// files without it (others', ours before 2026-12-05) are read unchecked.
inline constexpr const char* kMetadataCrcKey = "metadata_crc32";

// Checks every offset and size against the file before trusting it, the
// metadata against its kMetadataCrcKey and the data against its kDataCrcKey
// where it has them (then dropped from the metadata returned); a bad file
// throws gf::Error naming the file and what is wrong.
SafetensorsFile read_safetensors(const std::string& path);
inline TensorMap load_safetensors(const std::string& path) { return read_safetensors(path).tensors; }

// Writes to "<path>.<pid>.tmp" and renames (io/atomic_file.h), so a crash
// never leaves a half-written file. Adds kDataCrcKey over the data and
// kMetadataCrcKey over the metadata (values of those keys are replaced).
void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});

}  // namespace gf::io

// Tensor basics, devices, dtype conversion and the .bin (safetensors) files.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::random_tensor;

TEST_CASE("devices parse and print", "[tensor]") {
  CHECK(Device::parse("cpu").is_cpu());
  CHECK(Device::parse("cuda:2") == Device::cuda(2));
  CHECK(Device::parse("cuda").str() == "cuda:0");
  REQUIRE_THROWS_WITH(Device::parse("gpu0"), Catch::Contains("gpu0"));
}

TEST_CASE("tensors round-trip through the host and between dtypes", "[tensor]") {
  Tensor x = Tensor::from_vector({1.5, -2.25, 3}, {3}, DType::f32);
  CHECK(x.to_vector() == std::vector<double>{1.5, -2.25, 3});
  CHECK(x.to(DType::f64).dtype() == DType::f64);
  CHECK(x.to(DType::f64).to_vector() == x.to_vector());
  CHECK(Tensor::scalar(4).item() == 4);
  CHECK(zeros({2, 3}).numel() == 6);
  CHECK(ones({2}, DType::f64).to_vector() == std::vector<double>{1, 1});
  REQUIRE_THROWS_WITH(Tensor::empty({1, 1, 1, 1, 1, 1, 1}), Catch::Contains("more than 6"));
  REQUIRE_THROWS_WITH(Tensor::empty({2}, DType::f16), Catch::Contains("reserved"));
  Tensor c = x.clone();
  CHECK(c.raw() != x.raw());
  CHECK(c.to_vector() == x.to_vector());
}

// A shape whose byte count wraps 64 bits read as 0 elements, and a later
// slice of it ran past the buffer; torch refuses such a storage.
TEST_CASE("a shape too large for 64-bit byte counts is refused; zero-size shapes are not", "[tensor]") {
  const int64_t big = int64_t(1) << 62;
  CHECK_THROWS_WITH(zeros({big, 4}), Catch::Contains("is too large (its byte count overflows 64 bits)"));
  CHECK_THROWS_WITH(Tensor::empty({big, 1}, DType::f64, Device::cpu()), Catch::Contains("is too large"));
  CHECK(zeros({big, 0, 4}).numel() == 0);
  CHECK(zeros({0, big}).numel() == 0);
  // A view whose element count wraps: 4 elements reshaped to [2^62 + 1, 4] (4 * (2^62 + 1) wraps to 4).
  const Tensor four = zeros({4});
  CHECK_THROWS_WITH(four.reshape({big + 1, 4}), Catch::Contains("too many elements"));
  CHECK_THROWS_WITH(four.reshape({-1, big + 1, 4}), Catch::Contains("too many elements"));
}

TEST_CASE("using a CUDA device without one is a clear error", "[tensor]") {
  if (cuda_available()) return;  // only meaningful on a machine without a GPU
  REQUIRE_THROWS_AS(zeros({2}, DType::f32, Device::cuda(0)), Error);
}

namespace {
// With the process id: concurrent runs of the suite never share a file.
std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() / ("gf_test_" + std::to_string(::getpid()) + "_" + name)).string();
}
}  // namespace

TEST_CASE(".bin files round-trip bit for bit with metadata", "[tensor][io]") {
  io::TensorMap m{{"a.weight", random_tensor({3, 4}, 1, DType::f32)},
                  {"b", random_tensor({2, 1, 5}, 2, DType::f64)},
                  {"empty", zeros({0, 3})}};
  const std::string path = temp_path("roundtrip.bin");
  io::save_safetensors(path, m, {{"config", "{\"res\": 32}"}});
  std::ifstream tmp(io::temp_name(path));
  CHECK_FALSE(tmp.good());  // the temporary was renamed away
  auto f = io::read_safetensors(path);
  CHECK(f.metadata.at("config") == "{\"res\": 32}");
  REQUIRE(f.tensors.size() == 3);
  for (const auto& [k, t] : m) {
    const Tensor& r = f.tensors.at(k);
    CHECK(r.shape() == t.shape());
    CHECK(r.dtype() == t.dtype());
    CHECK(r.to_vector() == t.to_vector());
  }
  std::remove(path.c_str());
}

TEST_CASE(".bin data carries a CRC-32: a flipped bit is refused, the check stays out of the metadata", "[tensor][io]") {
  // A flipped bit in a weight loaded as another weight: only NaNs were caught.
  const std::string path = temp_path("crc.bin");
  io::save_safetensors(path, {{"a", random_tensor({8}, 4, DType::f32)}, {"b", random_tensor({3}, 5, DType::f64)}},
                       {{"note", "x"}, {io::kDataCrcKey, "stale"}});  // a copied-in check is replaced
  const io::SafetensorsFile f = io::read_safetensors(path);
  CHECK(f.metadata.size() == 1);  // "note": the checks are verified and taken out
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(bytes.find("\"data_crc32\":\"") != std::string::npos);
  bytes[bytes.size() - 30] ^= 0x08;  // one bit of a's data (b's 24 bytes end the file)
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  CHECK_THROWS_WITH(io::read_safetensors(path), Catch::Contains("crc.bin: its tensor data fails its CRC-32") &&
                                                    Catch::Contains("damaged since it was written"));
  std::remove(path.c_str());
}

TEST_CASE(".bin metadata carries a CRC-32: a flipped bit in a value is refused", "[tensor][io]") {
  // A stats cache's num_items 4 -> 5, a checkpoint's spec batch 8 -> 9: one
  // bit in the header, taken as written (the data's CRC covers the data only).
  const std::string path = temp_path("meta_crc.bin");
  io::save_safetensors(path, {{"a", random_tensor({2}, 4, DType::f32)}},
                       {{"num_items", "4"}, {"spec", "{\"batch\":8}"}, {io::kMetadataCrcKey, "stale"}});
  const io::SafetensorsFile f = io::read_safetensors(path);
  CHECK(f.metadata == io::Metadata{{"num_items", "4"}, {"spec", "{\"batch\":8}"}});  // both checks taken out
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(bytes.find("\"metadata_crc32\":\"") != std::string::npos);
  for (const std::string& was : {std::string("\"num_items\":\"4\""), std::string("\\\"batch\\\":8")}) {
    std::string flipped = bytes;
    const size_t at = flipped.find(was);
    REQUIRE(at != std::string::npos);
    flipped[at + was.size() - (was.back() == '"' ? 2 : 1)] ^= 0x01;  // 4 -> 5, 8 -> 9
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(flipped.data(), static_cast<std::streamsize>(flipped.size()));
    }
    CHECK_THROWS_WITH(io::read_safetensors(path), Catch::Contains("meta_crc.bin: its metadata fails its CRC-32") &&
                                                      Catch::Contains("damaged since it was written"));
  }
  // A value that is no UTF-8 (a dataset's name from a Latin-1 path) is
  // written with U+FFFD, as all JSON here, and the check covers that: the
  // file read back is whole, not "damaged".
  io::save_safetensors(path, {{"a", random_tensor({2}, 4, DType::f32)}}, {{"dataset", "caf\xe9"}});
  CHECK(io::read_safetensors(path).metadata.at("dataset") == "caf\xef\xbf\xbd");
  std::remove(path.c_str());
}

TEST_CASE("bad .bin files are refused with the reason", "[tensor][io]") {
  const std::string good = temp_path("good.bin");
  io::save_safetensors(good, {{"w", random_tensor({4, 4}, 3, DType::f32)}});
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [](const std::string& p, const std::string& b) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(b.data(), static_cast<std::streamsize>(b.size()));
  };
  const std::string bad = temp_path("bad.bin");
  write(bad, bytes.substr(0, bytes.size() - 5));
  REQUIRE_THROWS_WITH(io::read_safetensors(bad), Catch::Contains("bad.bin: truncated: tensor 'w' ends at data byte 64, the file holds 59"));
  write(bad, "\x01\x02\x03");
  REQUIRE_THROWS_WITH(io::read_safetensors(bad), Catch::Contains("too short"));
  write(bad, std::string("\xff\xff\xff\x00\x00\x00\x00\x00", 8) + "{}");
  REQUIRE_THROWS_WITH(io::read_safetensors(bad), Catch::Contains("header length"));
  std::string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
  std::string len(8, '\0');
  len[0] = static_cast<char>(header.size());
  write(bad, len + header + std::string(12, '\0'));
  REQUIRE_THROWS_WITH(io::read_safetensors(bad), Catch::Contains("tensor 'v' overlaps tensor 'w' (data bytes [4, 8))"));
  // A tensor's entry deleted from the header, its bytes left: the gap is named, not its neighbour.
  header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
           "\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}";
  len[0] = static_cast<char>(header.size());
  write(bad, len + header + std::string(16, '\0'));
  REQUIRE_THROWS_WITH(io::read_safetensors(bad),
                      Catch::Contains("data bytes [8, 12) belong to no tensor (before tensor 'v'): a tensor missing from the header?"));
  // A shape whose element count wraps 64 bits ([2^62, 4] floats: 0 bytes) is no empty tensor.
  header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}";
  len[0] = static_cast<char>(header.size());
  write(bad, len + header);
  REQUIRE_THROWS_WITH(io::read_safetensors(bad),
                      Catch::Contains("tensor 'w' has shape [4611686018427387904, 4], too large for any file"));
  // An official pickle or a PyTorch checkpoint given as it came: named, with the converter.
  write(bad, std::string("\x80\x04\x95\x10\0\0\0\0\0\0\0}\x94.", 14));
  REQUIRE_THROWS_WITH(io::read_safetensors(bad), Catch::Contains("a Python pickle (an official .pkl, or an older PyTorch .pt), "
                                                                 "not a ganforge .bin: convert it first with tools/convert_weights.py import"));
  write(bad, std::string("PK\3\4\x14\0\0\0\0\0", 10));
  REQUIRE_THROWS_WITH(io::read_safetensors(bad), Catch::Contains("a zip (a PyTorch .pt or .pth checkpoint), not a ganforge .bin"));
  // An image, an array or a gzip given for a network: named (its first bytes
  // as a header length gave "header length 727905341920923785 does not fit").
  const std::pair<std::string, const char*> others[] = {{std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16), "a PNG image"},
                                                        {std::string("\xff\xd8\xff\xe0\0\x10JFIF", 10), "a JPEG image"},
                                                        {std::string("\x93NUMPY\x01\0v\0", 10), "a NumPy .npy array"},
                                                        {std::string("\x1f\x8b\x08\0\0\0\0\0", 8), "a gzip file"},
                                                        {std::string("BM\xf6\0\0\0\0\0", 8), "a BMP image"},
                                                        {std::string("8BPS\0\x01\0\0", 8), "a PSD image"},
                                                        {std::string("P6\n32 32\n", 9), "a PNM image"},
                                                        {std::string("{\"labels\"", 9), "a JSON file"}};
  for (const auto& [bytes, kind] : others) {
    write(bad, bytes + std::string(64, 'x'));
    REQUIRE_THROWS_WITH(io::read_safetensors(bad), Catch::Contains(std::string(kind) + ", not a network (networks are .bin files"));
  }
  REQUIRE_THROWS_WITH(io::read_safetensors(temp_path("missing.bin")), Catch::Contains("cannot open"));
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

// A tensor the file really holds but memory cannot (a sparse file: 1 GiB of
// zeros on no disk): the error names the file and the tensor, as the .npy
// reader's does; the allocator's own named neither.
TEST_CASE("a .bin tensor too large for memory is one error naming the file", "[tensor][io]") {
#if defined(__SANITIZE_ADDRESS__) || defined(GF_ASAN)
  WARN("not under AddressSanitizer, whose allocator maps its own memory");
  return;
#endif
  const std::string path = temp_path("sparse.bin");
  const std::string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[65536,4096],\"data_offsets\":[0,1073741824]}}";
  std::string len(8, '\0');
  len[0] = static_cast<char>(header.size());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << len << header;
  }
  std::filesystem::resize_file(path, 8 + header.size() + (uint64_t{1} << 30));
  const gf::test::ChildEnd end = gf::test::run_with_address_limit(uint64_t{256} << 20, [&] { io::read_safetensors(path); });
  std::remove(path.c_str());
  INFO(end.err);
  REQUIRE(WIFEXITED(end.status));
  CHECK(WEXITSTATUS(end.status) == 1);
  CHECK(end.err.rfind(path + ": tensor 'w' of shape [65536, 4096]: ", 0) == 0);
}

TEST_CASE("tensors move to cuda and back unchanged", "[tensor][cuda]") {
  Tensor x = random_tensor({3, 5, 7}, 9, DType::f32);
  Tensor y = x.to(Device::cuda(0));
  CHECK(y.device() == Device::cuda(0));
  CHECK(y.to(Device::cpu()).to_vector() == x.to_vector());
  CHECK(y.clone().to(Device::cpu()).to_vector() == x.to_vector());
  CHECK(full({4}, 2.5, DType::f32, Device::cuda(0)).to_vector() == std::vector<double>{2.5, 2.5, 2.5, 2.5});
}

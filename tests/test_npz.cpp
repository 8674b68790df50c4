// .npz archives (data/archives/npz.h): a bit-exact round trip, numpy's own files read
// (stored and deflated), and one clear error per kind of bad file. numpy
// reading ours is tested by tests/cli/projector.cmake (numpy.load of the
// projector's projected_w.npz).
//
// The fixtures in tests/data were written by NumPy 1.24 (run in tests/data):
//   /usr/bin/python3 -c "import numpy as np;
//     w = (np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7 - 1).astype(np.float32);
//     np.savez('npz_numpy_w.npz', w=w, b=np.array([1.5, -2.0]));
//     np.savez_compressed('npz_numpy_compressed.npz', w=w)"
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/error.h"
#include "engine/io/npy.h"
#include "engine/ops.h"
#include "tests/testing.h"
#include "tests/zip_fixture.h"
#include "data/archives/npz.h"
#include "data/archives/zip_writer.h"

using namespace gf;
using gf::test::file_bytes;
namespace fs = std::filesystem;

namespace {

const std::string kData = GF_TEST_DATA_DIR;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("gf_test_npz_" + std::to_string(::getpid()) + "_" + name)).string();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

// The values numpy wrote: arange(24) / 7 - 1 in float32.
std::vector<double> numpy_w() {
  std::vector<double> v;
  for (int i = 0; i < 24; ++i) v.push_back(double(float(float(i) / 7.0f - 1.0f)));
  return v;
}

using gf::test::bit_equal;

}  // namespace

TEST_CASE("save_npz and read_npz round-trip arrays bit for bit", "[npz]") {
  Generator g(5);
  const Tensor w = randn({1, 6, 8}, g);
  const Tensor d = randn({3}, g, DType::f64);
  const std::string path = temp_path("round.npz");
  save_npz(path, {{"w", w}, {"d", d}});
  const auto back = read_npz(path);
  REQUIRE(back.size() == 2);
  CHECK(bit_equal(back.at("w"), w));
  CHECK(bit_equal(back.at("d"), d));
  // Each entry holds exactly what save_npy writes, stored: the .npy bytes appear whole in the file.
  CHECK(file_bytes(path).find(io::npy_bytes(w)) != std::string::npos);
  CHECK_FALSE(fs::exists(path + "." + std::to_string(::getpid()) + ".tmp"));
  fs::remove(path);
}

TEST_CASE("read_npz reads numpy's savez and savez_compressed files", "[npz]") {
  const auto a = read_npz(kData + "/npz_numpy_w.npz");
  REQUIRE(a.size() == 2);
  CHECK(a.at("w").shape() == Shape({2, 3, 4}));
  CHECK(a.at("w").dtype() == DType::f32);
  CHECK(a.at("w").to_vector() == numpy_w());
  CHECK(a.at("b").to_vector() == std::vector<double>{1.5, -2.0});
  const auto c = read_npz(kData + "/npz_numpy_compressed.npz");
  CHECK(c.at("w").to_vector() == numpy_w());
}

// An archive with an entry read_npz cannot hold still gives the arrays asked
// for, as numpy.load(f)['w'] does. npz_numpy_step.npz is numpy's
// np.savez(f, w=<npz_numpy_w.npz's w>, step=np.int64(1000)).
TEST_CASE("read_npz with keys reads those entries alone", "[npz]") {
  const std::string path = kData + "/npz_numpy_step.npz";
  REQUIRE_THROWS_WITH(read_npz(path), Catch::Contains("step.npy"));  // int64: not an array read_npz holds
  const auto only_w = read_npz(path, {"w"});
  REQUIRE(only_w.size() == 1);
  CHECK(only_w.at("w").to_vector() == numpy_w());
  CHECK(read_npz(path, {"absent"}).empty());
}

// numpy.load(f)[key] takes the entry named the key itself before
// "<key>.npy" (NpzFile.__getitem__), and reads an array from an entry under
// any name: an archive holding both w and w.npy gave generate --projected-w
// other images than numpy's w.
TEST_CASE("read_npz finds a key as numpy.load does", "[npz]") {
  const std::string path = temp_path("keys.npz");
  auto archive = [&](const std::vector<std::pair<std::string, std::vector<double>>>& entries) {
    std::ofstream f(path, std::ios::binary);
    gf::ZipWriter zip(f, path);
    for (const auto& [name, values] : entries) {
      const std::string b = gf::io::npy_bytes(gf::Tensor::from_vector(values, {int64_t(values.size())}));
      zip.add(name, b.data(), b.size());
    }
    zip.finish();
  };
  for (const bool npy_first : {true, false}) {
    if (npy_first)
      archive({{"w.npy", {0, 0}}, {"w", {1, 1}}});
    else
      archive({{"w", {1, 1}}, {"w.npy", {0, 0}}});
    CHECK(read_npz(path, {"w"}).at("w").to_vector() == std::vector<double>{1, 1});
    const auto all = read_npz(path);
    REQUIRE(all.size() == 1);
    CHECK(all.at("w").to_vector() == std::vector<double>{1, 1});
  }
  archive({{"w", {3, 4}}, {"b.xpy", {5}}});  // no .npy in the names
  CHECK(read_npz(path, {"w"}).at("w").to_vector() == std::vector<double>{3, 4});
  CHECK(read_npz(path).at("b.xpy").to_vector() == std::vector<double>{5});
  fs::remove(path);
}

TEST_CASE("read_npz refuses bad files with one line naming the file", "[npz]") {
  const std::string good = file_bytes(kData + "/npz_numpy_w.npz");
  const std::string path = temp_path("bad.npz");
  SECTION("not a zip") {
    write_bytes(path, "not an archive at all, just text");
    REQUIRE_THROWS_WITH(read_npz(path), Catch::StartsWith("npz: " + path + ": "));
  }
  SECTION("corrupt data: the CRC-32 check") {
    std::string b = good;
    b[b.find("\x93NUMPY") + 80] ^= 0x55;  // inside w's data
    write_bytes(path, b);
    REQUIRE_THROWS_WITH(read_npz(path), Catch::Contains(path) && Catch::Contains("CRC"));
  }
  SECTION("truncated") {
    write_bytes(path, good.substr(0, good.size() / 2));
    REQUIRE_THROWS_WITH(read_npz(path), Catch::StartsWith("npz: " + path));
  }
  SECTION("an entry that is not an array") {
    std::ofstream f(path, std::ios::binary);
    gf::ZipWriter zip(f, path);
    const std::string w = gf::io::npy_bytes(gf::Tensor::from_vector({1.f, 2.f}, {1, 2}));
    zip.add("w.npy", w.data(), w.size());
    zip.add("notes.txt", "text", 4);
    zip.finish();
    f.close();
    REQUIRE_THROWS_WITH(read_npz(path), Catch::Contains("entry 'notes.txt' is not a .npy array"));
    CHECK(read_npz(path, {"w"}).at("w").to_vector() == std::vector<double>{1, 2});
    CHECK_THROWS_WITH(read_npz(path, {"notes.txt"}), Catch::Contains("entry 'notes.txt' is not a .npy array"));
  }
  SECTION("bytes before the archive: numpy.load tells a zip by its first bytes") {
    write_bytes(path, "junk" + good);
    REQUIRE_THROWS_WITH(read_npz(path, {"w"}), Catch::StartsWith("npz: " + path + ": not an .npz"));
  }
  SECTION("missing") {
    REQUIRE_THROWS_WITH(read_npz(kData + "/no-such.npz"), Catch::StartsWith("npz: " + kData + "/no-such.npz"));
  }
  fs::remove(path);
}

// An .npz whose w.npy is a [1, 4] float32 header followed by 256 MiB of
// zeros, deflated to a quarter of a megabyte: a consistent archive (its CRC
// and sizes are right) that claims 256 MiB for a 16-byte array. read_npz
// reads the header from the entry's head and refuses the entry before
// inflating it: under an address-space limit 128 MiB above what it maps.
TEST_CASE("read_npz refuses an entry larger than its header's shape before inflating it", "[npz]") {
  const std::string header = io::npy_header(DType::f32, {1, 4});
  const uint64_t zeros = uint64_t(256) << 20;
  const uint64_t size = header.size() + zeros;
  const gf::test::DeflatedEntry entry = gf::test::deflate_padded(header, zeros);
  REQUIRE(entry.data.size() < size / 500);
  const std::string zip = gf::test::deflated_zip({{"w.npy", entry}});
  const std::string path = temp_path("bomb.npz");
  write_bytes(path, zip);
  // In a child whose address space allows 128 MiB more than it maps: the
  // 256 MiB claim must never be allocated.
  const gf::test::ChildEnd end = gf::test::run_with_address_limit(uint64_t(128) << 20, [&] { read_npz(path); });
  REQUIRE(WIFEXITED(end.status));
  CHECK(WEXITSTATUS(end.status) == 1);
  CHECK_THAT(end.err, Catch::StartsWith("npz: " + path) &&
                          Catch::Contains(std::to_string(size - header.size() - 16) + " bytes after the data of shape [1, 4]"));
  fs::remove(path);
}

TEST_CASE("save_npz refuses bad names", "[npz]") {
  const Tensor t = zeros({2});
  const std::string path = temp_path("names.npz");
  REQUIRE_THROWS_WITH(save_npz(path, {{"", t}}), Catch::Contains("bad array name"));
  REQUIRE_THROWS_WITH(save_npz(path, {{"a/b", t}}), Catch::Contains("bad array name"));
  REQUIRE_THROWS_WITH(save_npz(path, {{"w", t}, {"w", t}}), Catch::Contains("given twice"));
  CHECK_FALSE(fs::exists(path));
}

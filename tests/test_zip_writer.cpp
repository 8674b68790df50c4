// ZipWriter (data/archives/zip_writer.h): what it writes, the zip reader reads back
// entry for entry, past 65535 entries too (zip64 records, as an FFHQ-sized
// dataset needs); bad names are refused.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "engine/error.h"
#include "data/archives/zip_reader.h"
#include "data/archives/zip_writer.h"

using namespace gf;
namespace fs = std::filesystem;

namespace {

// Writes `n` entries "d/<i>.txt" holding "<i>" and reads them back.
void round_trip(int n) {
  const fs::path path = fs::temp_directory_path() / ("gf_test_zip_writer_" + std::to_string(::getpid()) + ".zip");
  {
    std::ofstream f(path, std::ios::binary);
    ZipWriter zip(f, "test");
    for (int i = 0; i < n; ++i) {
      const std::string s = std::to_string(i);
      zip.add("d/" + s + ".txt", s.data(), s.size());
    }
    zip.finish();
    CHECK(zip.entries() == uint64_t(n));
  }
  {
    ZipReader r(path.string());
    REQUIRE(r.entries().size() == size_t(n));
    for (int i : {0, n / 2, n - 1}) {
      const int64_t at = r.find("d/" + std::to_string(i) + ".txt");
      REQUIRE(at >= 0);
      const std::vector<uint8_t> bytes = r.read(r.entries()[size_t(at)]);
      CHECK(std::string(bytes.begin(), bytes.end()) == std::to_string(i));
    }
  }
  fs::remove(path);
}

}  // namespace

TEST_CASE("ZipWriter's archives read back, zip64 past 65535 entries", "[zip_writer]") {
  round_trip(3);
  round_trip(65537);
}

// A name past ASCII is flagged UTF-8 (bit 11, as Python's zipfile writes
// it), in both headers, so that readers do not take it for code page 437.
TEST_CASE("ZipWriter flags non-ASCII names as UTF-8", "[zip_writer]") {
  std::ostringstream out;
  ZipWriter zip(out, "test");
  zip.add("caf\xc3\xa9.png", "x", 1);
  zip.add("plain.png", "y", 1);
  zip.finish();
  const std::string bytes = out.str();
  auto flags_at = [&](size_t at) { return uint8_t(bytes[at]) | uint8_t(bytes[at + 1]) << 8; };
  CHECK(flags_at(6) == 0x800);  // the first local header
  const size_t central = bytes.find(std::string("PK\x01\x02", 4));
  REQUIRE(central != std::string::npos);
  CHECK(flags_at(central + 8) == 0x800);
  const size_t second = bytes.find(std::string("PK\x01\x02", 4), central + 4);
  REQUIRE(second != std::string::npos);
  CHECK(flags_at(second + 8) == 0);  // ASCII: no flag, as zipfile
}

TEST_CASE("ZipWriter refuses bad and repeated names", "[zip_writer]") {
  std::ostringstream out;
  ZipWriter zip(out, "test");
  zip.add("a/b.png", "x", 1);
  CHECK_THROWS_WITH(zip.add("a/b.png", "x", 1), Catch::Contains("given twice"));
  CHECK_THROWS_WITH(zip.add("../c.png", "x", 1), Catch::Contains("bad entry name"));
  CHECK_THROWS_WITH(zip.add("/c.png", "x", 1), Catch::Contains("bad entry name"));
  CHECK_THROWS_WITH(zip.add("", "x", 1), Catch::Contains("bad entry name"));
}

TEST_CASE("a zip written to a full disk says why", "[zip_writer]") {
  // /dev/full takes the open and fails every write with ENOSPC; 1 MiB is past the stream's buffer.
  std::ofstream full("/dev/full", std::ios::binary);
  REQUIRE(full.is_open());
  ZipWriter zip(full, "test");
  const std::vector<char> data(1 << 20, 'x');
  REQUIRE_THROWS_WITH(zip.add("a.bin", data.data(), data.size()),
                      Catch::Contains("writing entry 'a.bin' failed (No space left on device)"));
}

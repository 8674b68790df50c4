// The zip compression methods beside stored and deflate (data/archives/zip_methods.h),
// on tests/data/zip_methods.zip, which Python's zipfile wrote
// (tools/fixtures/make_zip_methods_fixture.py; one LZMA entry without the end marker,
// which Python reads too): every entry reads back; a corrupt,
// cut or mis-sized entry is one error naming it, without a large allocation.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/crc32.h"
#include "tests/testing.h"
#include "data/archives/zip_methods.h"
#include "data/archives/zip_reader.h"
#include "tests/zip_fixture.h"

namespace {

using gf::ZipReader;
using gf::test::file_bytes;

const std::string kZip = std::string(GF_TEST_DATA_DIR) + "/zip_methods.zip";

// make_zip_methods_fixture.py's content().
std::string content() {
  std::string s;
  for (int i = 0; i < 400; ++i)
    s += "line " + std::to_string(i) + ": the quick brown fox " + std::to_string(i * i % 97) + "\n";
  return s;
}

// Offset of the central directory record of `name`.
size_t central_record(const std::string& zip, const std::string& name) {
  for (size_t at = zip.find("PK\x01\x02"); at != std::string::npos; at = zip.find("PK\x01\x02", at + 4))
    if (zip.compare(at + 46, name.size(), name) == 0 && uint8_t(zip[at + 28]) == name.size()) return at;
  FAIL("no central record for " << name);
  return 0;
}

// Offset of the data of `name` (after its local header).
size_t data_offset(const std::string& zip, const std::string& name) {
  const size_t c = central_record(zip, name);
  const auto u16 = [&](size_t at) { return size_t(uint8_t(zip[at])) | size_t(uint8_t(zip[at + 1])) << 8; };
  size_t local = 0;
  std::memcpy(&local, zip.data() + c + 42, 4);
  return local + 30 + u16(local + 26) + u16(local + 28);
}

void put32(std::string& zip, size_t at, uint32_t v) {
  for (int k = 0; k < 4; ++k) zip[at + size_t(k)] = char(v >> (8 * k) & 0xFF);
}

// Reads `name` from the archive `bytes` (written to a temporary file): its
// text, or the error's.
std::string read_entry(const std::string& bytes, const std::string& name) {
  gf::test::TempDir dir("zip_methods");
  std::ofstream(dir / "z.zip", std::ios::binary) << bytes;
  try {
    ZipReader zip(dir / "z.zip");
    const std::vector<uint8_t> out = zip.read(zip.entries()[size_t(zip.find(name))]);
    return std::string(out.begin(), out.end());
  } catch (const gf::Error& e) {
    return std::string("error: ") + e.what();
  }
}

using gf::test::deflate_bytes;

}  // namespace

TEST_CASE("zip reader: every method Python's zipfile writes reads back (stored, deflate, bzip2, LZMA)", "[zip_methods]") {
  ZipReader zip(kZip);
  const std::vector<std::pair<std::string, int>> want = {{"stored.txt", 0}, {"deflate.txt", 8}, {"bzip2.txt", 12},
                                                         {"lzma.txt", 14}, {"empty_bzip2.txt", 12}, {"empty_lzma.txt", 14},
                                                         {"lzma_no_end_marker.txt", 14}, {"lzma_no_end_marker_tail.bin", 14}};
  REQUIRE(zip.entries().size() == want.size());
  for (const auto& [name, method] : want) {
    INFO(name);
    const auto& e = zip.entries()[size_t(zip.find(name))];
    CHECK(e.method == method);
    CHECK(e.unreadable.empty());
    const std::vector<uint8_t> out = zip.read(e);
    if (name == "lzma_no_end_marker_tail.bin") {
      CHECK(out.size() == 387);  // its stream decodes past the end when not stopped at the size
      continue;
    }
    CHECK(std::string(out.begin(), out.end()) == (name.rfind("empty", 0) == 0 ? std::string() : content()));
  }
}

// Entries whose data runs into the next entry's local header: a zip bomb
// (Fifield's overlapped entries) inflates one shared stretch once per entry,
// minutes for a 271 kB file. Here a.txt's sizes and CRC are made to cover
// b.txt's header and data too, a consistent archive that read them; each
// entry must end where the next begins, as Python's zipfile requires.
TEST_CASE("zip reader: an entry that overlaps the next one is refused", "[zip_methods]") {
  std::string zip = gf::test::stored_zip({{"a.txt", "hello"}, {"b.txt", "world"}});
  const std::string covered = zip.substr(30 + 5, 5 + 30 + 5 + 5);  // a's data, b's header and data
  const size_t c = central_record(zip, "a.txt");
  put32(zip, c + 16, gf::crc32(reinterpret_cast<const uint8_t*>(covered.data()), covered.size()));
  put32(zip, c + 20, uint32_t(covered.size()));
  put32(zip, c + 24, uint32_t(covered.size()));
  const std::string got = read_entry(zip, "a.txt");
  CHECK_THAT(got, Catch::StartsWith("error: ") &&
                      Catch::EndsWith("z.zip: entry 'a.txt': overlaps the next entry in the archive (a zip bomb or a "
                                      "damaged archive)"));
  CHECK(read_entry(zip, "b.txt") == "world");  // the last entry ends at the directory
}

// Where an archive's end records send the reader, as Python's zipfile reads
// them: a zip64 end record and locator beside a plain end record (Info-ZIP's
// `zip a.zip -` of a pipe writes one), and the offsets of a self-extractor
// adjusted to its stub (`zip -A`) with the stub cut off again (the offsets
// shift back). Python 3.11 reads both, entries and all.
TEST_CASE("zip reader: a zip64 record beside plain end values, and offsets past a stub cut off", "[zip_methods]") {
  const std::string plain = gf::test::stored_zip({{"a.txt", "hello"}, {"b.txt", "world"}});
  const size_t eocd = plain.size() - 22;
  auto le = [](uint64_t v, int bytes) {
    std::string b;
    for (int k = 0; k < bytes; ++k) b += char(v >> (8 * k) & 0xFF);
    return b;
  };
  auto u32_at = [&](const std::string& z, size_t at) {
    uint32_t v = 0;
    std::memcpy(&v, z.data() + at, 4);
    return v;
  };
  const uint32_t cd_size = u32_at(plain, eocd + 12), cd_offset = u32_at(plain, eocd + 16);
  const std::string record = le(0x06064b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4) + le(2, 8) +
                             le(2, 8) + le(cd_size, 8) + le(cd_offset, 8);
  const std::string locator = le(0x07064b50, 4) + le(0, 4) + le(eocd, 8) + le(1, 4);
  const std::string with_zip64 = plain.substr(0, eocd) + record + locator + plain.substr(eocd);
  CHECK(read_entry(with_zip64, "a.txt") == "hello");
  CHECK(read_entry(with_zip64, "b.txt") == "world");

  std::string adjusted = plain;  // as zip -A leaves it after a 100-byte stub, the stub then cut
  for (const std::string name : {"a.txt", "b.txt"}) {
    const size_t c = central_record(adjusted, name);
    put32(adjusted, c + 42, u32_at(adjusted, c + 42) + 100);
  }
  put32(adjusted, eocd + 16, cd_offset + 100);
  CHECK(read_entry(adjusted, "a.txt") == "hello");
  CHECK(read_entry(adjusted, "b.txt") == "world");
  // Shifted past the file's start: the entries lie outside it.
  put32(adjusted, eocd + 16, cd_offset + 0x7F000000);
  CHECK_THAT(read_entry(adjusted, "a.txt"), Catch::Contains("entry 'a.txt': lies outside the file"));
}

// read_head decodes the entry's first bytes alone: what read() gives, cut.
TEST_CASE("zip reader: read_head gives each method's first n bytes of the entry", "[zip_methods]") {
  ZipReader zip(kZip);
  const std::string text = content();
  for (const std::string name : {"stored.txt", "deflate.txt", "bzip2.txt", "lzma.txt", "lzma_no_end_marker.txt"})
    for (const size_t n : {size_t(0), size_t(1), size_t(100), text.size() - 1, text.size(), text.size() + 10}) {
      INFO(name << ", n " << n);
      const std::vector<uint8_t> head = zip.read_head(zip.entries()[size_t(zip.find(name))], n);
      CHECK(std::string(head.begin(), head.end()) == text.substr(0, n));
    }
  for (const std::string name : {"empty_bzip2.txt", "empty_lzma.txt"})
    CHECK(zip.read_head(zip.entries()[size_t(zip.find(name))], 10).empty());
  // A damaged stream is refused by the head read too.
  std::string bad = file_bytes(kZip);
  bad[data_offset(bad, "bzip2.txt")] = 'X';
  gf::test::TempDir dir("zip_head");
  std::ofstream(dir / "z.zip", std::ios::binary) << bad;
  ZipReader damaged(dir / "z.zip");
  CHECK_THROWS_WITH(damaged.read_head(damaged.entries()[size_t(damaged.find("bzip2.txt"))], 10),
                    Catch::Contains("entry 'bzip2.txt'") && Catch::Contains("corrupt bzip2 data"));
}

TEST_CASE("zip reader: a corrupt, cut or mis-sized bzip2 or LZMA entry is one error naming it", "[zip_methods]") {
  const std::string zip = file_bytes(kZip);
  REQUIRE(zip.size() > 1000);
  const std::string n = std::to_string(content().size());
  const auto error_of = [&](const std::string& bytes, const std::string& name) {
    const std::string got = read_entry(bytes, name);
    INFO(got);
    CHECK(got.rfind("error: ", 0) == 0);  // an error, not the text
    CHECK(got.find("entry '" + name + "': ") != std::string::npos);
    return got;
  };
  for (const std::string name : {"bzip2.txt", "lzma.txt", "lzma_no_end_marker.txt"}) {
    INFO(name);
    const bool bz = name == "bzip2.txt";
    const size_t c = central_record(zip, name), d = data_offset(zip, name);
    std::string bigger = zip, smaller = zip, huge = zip, cut = zip;
    put32(bigger, c + 24, uint32_t(content().size() + 1));
    CHECK(error_of(bigger, name).find("decompresses to " + n + " bytes, its header gives " +
                                      std::to_string(content().size() + 1) + " (corrupt or cut entry)") != std::string::npos);
    put32(smaller, c + 24, uint32_t(content().size() - 1));
    // bzip2's stream ends with a marker, so one past the size is refused as such; LZMA stops at the
    // size, as Python's zipfile does, and the CRC of what it kept decides.
    CHECK(error_of(smaller, name).find(bz ? "decompresses to more than the " + std::to_string(content().size() - 1) +
                                                " bytes its header gives"
                                          : std::string("CRC mismatch (corrupt archive)")) != std::string::npos);
    // A claim of ~4 GB for ~1 kB of data: refused after the real output, not
    // after allocating what the header claims.
    put32(huge, c + 24, 0xFFFFFFFEu);
    CHECK(error_of(huge, name).find("decompresses to " + n + " bytes, its header gives 4294967294") != std::string::npos);
    // A zip64 claim of 2^64 - 1 bytes (size + 1 wrapped to 0, and the data was called cut): refused as such.
    const auto* bytes = reinterpret_cast<const uint8_t*>(zip.data()) + d;
    const auto unzip = [bz](auto... a) { return bz ? gf::unzip_bzip2(a...) : gf::unzip_lzma(a...); };
    CHECK_THROWS_WITH(unzip(bytes, 500, UINT64_MAX, "e"),
                      "e: claims 18446744073709551615 bytes, more than any file holds (corrupt header)");
    put32(cut, c + 20, 200);  // the compressed size: the data ends early
    const std::string cut_error = error_of(cut, name);
    CHECK(cut_error.find(bz ? "bzip2 data ends inside its stream (cut entry)" : "(corrupt or cut entry)") !=
          std::string::npos);
    std::string bad = zip;
    if (bz) {
      bad[d] = 'X';  // "BZh" -> "XZh"
      CHECK(error_of(bad, name).find("corrupt bzip2 data") != std::string::npos);
    } else {
      bad[d + 2] = 4;  // the properties' size
      CHECK(error_of(bad, name).find("LZMA properties of 4 bytes (LZMA1's are 5; corrupt entry)") != std::string::npos);
      bad = zip;
      bad[d + 4] = char(0xFF);  // lc/lp/pb past their range
      CHECK(error_of(bad, name).find("corrupt LZMA properties") != std::string::npos);
    }
  }
  // A method Python's zipfile cannot read either (9, Deflate64) stays unreadable, named.
  std::string deflate64 = zip;
  deflate64[central_record(zip, "deflate.txt") + 10] = 9;
  CHECK(error_of(deflate64, "deflate.txt")
            .find("uses compression method 9 (stored, deflate, bzip2 and LZMA are read, as Python's zipfile reads them)") !=
        std::string::npos);
}

// A .gz is read as Python's gzip module reads it (the official MNIST and
// CIFAR-10 loaders): the header's optional fields skipped, its CRC (FHCRC)
// skipped unchecked and its reserved flag bits ignored (zlib's own gzip
// mode refused both files, where Python reads them), each member's CRC-32
// and size checked.
TEST_CASE("gzip: a member's header as Python reads it; its trailer checked", "[zip_methods]") {
  std::string data;
  for (int i = 0; i < 300; ++i) data += "member data " + std::to_string(i) + "\n";
  const std::string deflated = deflate_bytes(data, 9, -15);
  auto le32 = [](uint32_t v) { return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; };
  const std::string trailer = le32(gf::crc32(data.data(), data.size())) + le32(uint32_t(data.size()));
  // Every optional field (extra, name, comment, a header CRC that is wrong) and the three reserved bits.
  static const char kHeader[] = "\x1f\x8b\x08\xfe\0\0\0\0\0\xff\x03\0abcname\0comment\0\x12\x34";
  const std::string header(kHeader, sizeof kHeader - 1);
  gf::test::TempDir dir("gzip_header");
  auto read = [&](const std::string& bytes) {
    std::ofstream(dir / "a.gz", std::ios::binary) << bytes;
    return gf::read_gzip_file(dir / "a.gz");
  };
  auto error_of = [&](const std::string& bytes) {
    try {
      read(bytes);
    } catch (const gf::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string gz = header + deflated + trailer;
  CHECK(read(gz) == std::vector<uint8_t>(data.begin(), data.end()));
  CHECK(read(gz + std::string(5, '\0') + gz).size() == 2 * data.size());  // two members, zero padding between
  const std::string at = dir / "a.gz" + ": ";
  std::string method = gz;
  method[2] = 7;
  CHECK(error_of(method) == at + "corrupt gzip data (unknown compression method 7)");
  std::string crc = gz, size = gz;
  crc[gz.size() - 8] ^= 1;
  size[gz.size() - 4] ^= 1;
  CHECK(error_of(crc) == at + "CRC mismatch (corrupt file)");
  CHECK(error_of(size) == at + "its size check fails (corrupt file)");
  const std::string cut = at + "truncated gzip file: its data ends inside member 1 (a cut download or copy?)";
  for (const size_t keep : {size_t(12), size_t(20), header.size(), gz.size() - 3}) {  // the header, its data, its trailer
    INFO(keep);
    CHECK(error_of(gz.substr(0, keep)) == cut);
  }
}

// read_gzip_file's head: its check sees the first bytes before anything more
// is decoded, and decoding stops one byte past the size the check returns,
// so a header claiming 800 bytes ahead of 64 MiB of zeros (a 64 KiB file)
// costs 801 bytes. MNIST's IDX and CIFAR-10's tar heads go through it.
TEST_CASE("gzip: a head check sees the first bytes and bounds the decoding", "[zip_methods]") {
  auto member = [](const std::string& data) { return deflate_bytes(data, 1, 15 + 16); };
  gf::test::TempDir dir("gzip_head");
  const std::string path = dir / "a.gz";
  std::vector<std::string> seen;
  auto head = [&](size_t size, size_t limit) {
    return gf::GzipHead{size, [&seen, limit](const uint8_t* d, size_t n) {
                          seen.emplace_back(reinterpret_cast<const char*>(d), n);
                          return limit;
                        }};
  };
  auto read = [&](const std::string& bytes, const gf::GzipHead& h) {
    seen.clear();
    std::ofstream(path, std::ios::binary) << bytes;
    return gf::read_gzip_file(path, h);
  };
  const std::string bomb = member("HEAD0123" + std::string(size_t(64) << 20, '\0'));
  REQUIRE(bomb.size() < (size_t(1) << 20));
  CHECK(read(bomb, head(8, 800)).size() == 801);
  CHECK(seen == std::vector<std::string>{"HEAD0123"});
  CHECK(read(bomb, head(8, 4)).size() == 8);  // a limit inside the head: nothing more is decoded
  CHECK(read(bomb, head(8, SIZE_MAX)).size() == 8 + (size_t(64) << 20));  // any size: the whole, its trailer checked
  CHECK(seen.size() == 1);
  // A head across members; data shorter than the head is seen whole, once.
  CHECK(read(member("HEAD") + member("0123xyz"), head(8, SIZE_MAX)).size() == 11);
  CHECK(seen == std::vector<std::string>{"HEAD0123"});
  CHECK(read(member("HE") + member("AD"), head(8, SIZE_MAX)).size() == 4);
  CHECK(seen == std::vector<std::string>{"HEAD"});
  // The check's error is the reader's, nothing decoded after it.
  const gf::GzipHead refuse{8, [&](const uint8_t*, size_t) -> size_t { throw gf::Error("refused"); }};
  CHECK_THROWS_WITH(read(bomb, refuse), "refused");
  // Past 2 GiB (33 members of 64 MiB of zeros): refused where the head takes any size (as with none: one path).
  const std::string zeros = member(std::string(size_t(64) << 20, '\0'));
  std::string huge;
  for (int k = 0; k < 33; ++k) huge += zeros;
  // The last trailer (never reached) claims 4 GiB, so the output is sized once to the cap: growing it from
  // 1 to 2 GiB held both (3.3 GB and 8 s of this test; the refusal is the same).
  huge.replace(huge.size() - 4, 4, "\xff\xff\xff\xff");
  const std::string over = path + ": gives over 2 GiB uncompressed, which is not supported";
  CHECK_THROWS_WITH(read(huge, head(8, SIZE_MAX)), over);
  // A damaged trailer past the limit is not reached; within it, it is.
  std::string damaged = member("HEAD0123" + std::string(4096, 'x'));
  damaged[damaged.size() - 8] ^= 1;
  CHECK(read(damaged, head(8, 100)).size() == 101);
  CHECK_THROWS_WITH(read(damaged, head(8, SIZE_MAX)), path + ": CRC mismatch (corrupt file)");
}

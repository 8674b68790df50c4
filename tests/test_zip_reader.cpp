// The zip reader as Python's zipfile reads: CRC-32, stored and deflated
// entries, corrupt archives, names twice, code page 437 names, zip64, bytes
// before the archive (self-extracting stubs).
#include <catch2/catch.hpp>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/archives/zip_reader.h"
#include "data/dataset.h"
#include "data/python_order.h"
#include "tests/dataset_fixture.h"
#include "tests/testing.h"
#include "tests/zip_fixture.h"

using namespace gf;
namespace fs = std::filesystem;
using gf::test::error_of;
using gf::test::TempDir;
using gf::test::kFixture;
using gf::test::png_bytes;
using gf::test::write_file;
using gf::test::stored_zip;

TEST_CASE("crc32 matches the standard check value, continued over parts and past empty ones", "[dataset]") {
  const std::string s = "123456789";
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  CHECK(crc32(p, s.size()) == 0xCBF43926u);
  CHECK(crc32(p + 4, 5, crc32(p, 4)) == 0xCBF43926u);
  CHECK(crc32(nullptr, 0, 0xCBF43926u) == 0xCBF43926u);
  CHECK(crc32(nullptr, 0) == 0u);
}

TEST_CASE("zip reader reads deflated entries written by another tool", "[dataset]") {
  ZipReader zip(kFixture);
  std::vector<std::string> names;
  for (const auto& e : zip.entries()) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"a.png", "sub/", "sub/b.png", "c.png", "dataset.json"});
  const auto& json = zip.entries()[static_cast<size_t>(zip.find("dataset.json"))];
  CHECK(json.method == 8);
  const std::vector<uint8_t> text = zip.read(json);
  CHECK(std::string(text.begin(), text.end()).find("\"sub/b.png\", 0") != std::string::npos);
  CHECK(zip.find("missing.png") == -1);
}

TEST_CASE("zip reader reads stored entries and rejects corrupt archives", "[dataset]") {
  TempDir dir("zip");
  const std::string zip_bytes = stored_zip({{"x.bin", "hello"}, {"y/z.bin", std::string(1000, 'q')}});
  write_file(dir / "ok.zip", zip_bytes);
  {
    ZipReader zip(dir / "ok.zip");
    REQUIRE(zip.entries().size() == 2);
    const auto z = zip.read(zip.entries()[1]);
    CHECK(z == std::vector<uint8_t>(1000, 'q'));
    CHECK(zip.entries()[0].method == 0);
  }
  // One flipped data byte: the CRC catches it and the message names the entry.
  std::string flipped = zip_bytes;
  flipped[30 + 5 + 1] ^= 0x20;
  write_file(dir / "flipped.zip", flipped);
  ZipReader bad(dir / "flipped.zip");
  const std::string msg = error_of([&] { bad.read(bad.entries()[0]); });
  CHECK(msg.find("flipped.zip") != std::string::npos);
  CHECK(msg.find("'x.bin'") != std::string::npos);
  CHECK(msg.find("CRC") != std::string::npos);
  // Truncated: the end record is gone, or the directory points past the data.
  write_file(dir / "cut.zip", zip_bytes.substr(0, zip_bytes.size() - 10));
  CHECK(error_of([&] { ZipReader z(dir / "cut.zip"); }).find("cut.zip") != std::string::npos);
  std::string moved = zip_bytes;
  moved[moved.size() - 3] = char(0x7F);  // central directory offset far outside the file
  write_file(dir / "moved.zip", moved);
  CHECK(error_of([&] { ZipReader z(dir / "moved.zip"); }).find("outside the file") != std::string::npos);
  // The end record's 16-bit entry counts are not read, as Python's zipfile
  // (the official loader's) reads none: a wrong one (they were refused as
  // corruption), counts on this disk and in all that differ, and one wrapped
  // past 65535 (a writer without zip64) all read every entry the directory holds.
  std::string miscounted = zip_bytes;
  const size_t end = miscounted.rfind(std::string("PK\x05\x06", 4));
  miscounted[end + 8] = miscounted[end + 10] = 1;
  write_file(dir / "miscounted.zip", miscounted);
  CHECK(ZipReader(dir / "miscounted.zip").entries().size() == 2);
  std::string disk_count = zip_bytes;
  disk_count[end + 8] = 3;
  write_file(dir / "disk_count.zip", disk_count);
  CHECK(ZipReader(dir / "disk_count.zip").entries().size() == 2);
  // Bytes after the end record (padding from a transfer, `cat a.zip extra`)
  // and a comment length that disagrees with the file's end: the last end
  // record is the one, as zipfile's _EndRecData takes it (both were "no end
  // of central directory").
  write_file(dir / "padded.zip", zip_bytes + std::string(512, '\0'));
  CHECK(ZipReader(dir / "padded.zip").read(ZipReader(dir / "padded.zip").entries()[1]) == std::vector<uint8_t>(1000, 'q'));
  std::string long_comment = zip_bytes;
  long_comment[end + 20] = 50;  // a comment of 50 bytes, where none follows
  write_file(dir / "long_comment.zip", long_comment);
  CHECK(ZipReader(dir / "long_comment.zip").entries().size() == 2);
  // A signature too near the end to begin a record: no zip, as there.
  write_file(dir / "late_signature.zip", zip_bytes + std::string("PK\x05\x06", 4) + std::string(10, '\0'));
  CHECK(error_of([&] { ZipReader z(dir / "late_signature.zip"); }).find("no end of central directory") != std::string::npos);
  // The longest comment (65535 bytes) and a byte of padding: within zipfile's
  // window of 22 + 65536 bytes (one byte more was no zip here).
  std::string max_comment = zip_bytes;
  max_comment[end + 20] = max_comment[end + 21] = char(0xFF);
  write_file(dir / "max_comment.zip", max_comment + std::string(0xFFFF, 'c') + std::string(1, '\0'));
  CHECK(ZipReader(dir / "max_comment.zip").entries().size() == 2);
  // The last 22 bytes are a record without a comment: taken first, as
  // zipfile takes them, though a field of it (here the unread counts) spells
  // the signature again (the search from the end stopped there: "no zip").
  std::string sig_in_record = zip_bytes;
  sig_in_record.replace(end + 8, 4, std::string("PK\x05\x06", 4));
  write_file(dir / "sig_in_record.zip", sig_in_record);
  CHECK(ZipReader(dir / "sig_in_record.zip").entries().size() == 2);
  std::string split = zip_bytes;
  split[end + 4] = 1;  // this disk's number
  write_file(dir / "split.zip", split);
  CHECK(error_of([&] { ZipReader z(dir / "split.zip"); }) == dir / "split.zip" + ": multi-disk zip files are not supported");
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 65537; ++i) many.push_back({std::to_string(i), ""});
  write_file(dir / "wrapped.zip", stored_zip(many));  // its count field says 65537 % 65536 = 1
  CHECK(ZipReader(dir / "wrapped.zip").entries().size() == 65537);
  // Exactly 65535 entries: a count of 0xFFFF with no zip64 locator, as
  // Python's zipfile writes it (zip64 only above 65535), is a plain zip.
  many.resize(65535);
  write_file(dir / "full16.zip", stored_zip(many));
  CHECK(ZipReader(dir / "full16.zip").entries().size() == 65535);
  // A deflated entry whose header claims 2 GiB from 5 bytes: refused before the 2 GiB is allocated.
  std::string claims = zip_bytes;
  const size_t x_central = claims.find(std::string("PK\x01\x02", 4));  // x.bin's record comes first
  claims[8] = claims[x_central + 10] = 8;                             // method: deflate (local, central)
  claims[x_central + 24 + 3] = 0x7F, claims[x_central + 24] = 0;       // uncompressed size 0x7F000000
  write_file(dir / "claims.zip", claims);
  ZipReader claimed(dir / "claims.zip");
  CHECK(error_of([&] { claimed.read(claimed.entries()[0]); }) ==
        dir / "claims.zip" + ": entry 'x.bin': claims 2130706432 bytes from 5 compressed bytes, more than deflate can give (corrupt header)");
  // The same claim just under 4 GiB is corrupt too, not "over 2 GiB".
  claims[x_central + 24 + 3] = char(0xFF), claims[x_central + 24 + 2] = char(0xFF);
  claims[x_central + 24 + 1] = char(0xFF), claims[x_central + 24] = char(0xFE);
  write_file(dir / "claims4g.zip", claims);
  ZipReader claimed4g(dir / "claims4g.zip");
  CHECK(error_of([&] { claimed4g.read(claimed4g.entries()[0]); }) ==
        dir / "claims4g.zip" + ": entry 'x.bin': claims 4294967294 bytes from 5 compressed bytes, more than deflate can give (corrupt header)");
  // The last record's name length cut from 7 to 3 ("y/z.bin" to "y/z"): the
  // directory's last 4 bytes are no record. They ended the reading, and the
  // dropped bytes went unnoticed (an entry after them, dataset.json, was lost).
  std::string cd_gap = zip_bytes;
  const size_t y_central = cd_gap.find(std::string("PK\x01\x02", 4), x_central + 4);
  cd_gap[y_central + 28] = 3;
  write_file(dir / "cd_gap.zip", cd_gap);
  CHECK(error_of([&] { ZipReader z(dir / "cd_gap.zip"); }).find(
            dir / "cd_gap.zip" + ": corrupt central directory (no entry record at its byte ") == 0);
  // A local header whose name is not the directory's (Python's zipfile:
  // "File name in directory ... and header ... differ"); its data was read.
  std::string renamed = zip_bytes;
  renamed[30] = 'w';  // x.bin's local name
  write_file(dir / "renamed.zip", renamed);
  ZipReader renamed_zip(dir / "renamed.zip");
  CHECK(error_of([&] { renamed_zip.read(renamed_zip.entries()[0]); }) ==
        dir / "renamed.zip" + ": entry 'x.bin': has another name in its local header (corrupt archive)");
  CHECK(renamed_zip.read(renamed_zip.entries()[1]) == std::vector<uint8_t>(1000, 'q'));
  // A name of bytes past 0x7f (UTF-8) equals itself: char against uint8_t
  // compared -61 with 195 and refused every such entry.
  write_file(dir / "utf8.zip", stored_zip({{"caf\xc3\xa9.png", "hi"}}));
  ZipReader utf8(dir / "utf8.zip");
  CHECK(utf8.read(utf8.entries()[0]) == std::vector<uint8_t>{'h', 'i'});
  write_file(dir / "junk.zip", "not a zip at all, just some text to be rejected");
  CHECK(error_of([&] { ZipReader z(dir / "junk.zip"); }).find("not a zip file") != std::string::npos);
}

// A zip64 archive as Python's zipfile writes one past 65535 entries or
// 4 GiB: each central record's sizes and offset set to 0xFFFFFFFF with the
// values in a zip64 extra field, and the end record's fields set to their
// maximum with a zip64 end record and locator before it.
std::string zip64_archive(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out, cd;
  auto u16 = [](std::string& s, uint64_t v) { s += char(v & 0xFF), s += char(v >> 8 & 0xFF); };
  auto u32 = [&](std::string& s, uint64_t v) { u16(s, v & 0xFFFF), u16(s, v >> 16 & 0xFFFF); };
  auto u64 = [&](std::string& s, uint64_t v) { u32(s, v & 0xFFFFFFFF), u32(s, v >> 32); };
  for (const auto& [name, data] : files) {
    const uint32_t crc = crc32(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    const uint64_t offset = out.size();
    u32(out, 0x04034b50), u16(out, 45), u16(out, 0), u16(out, 0), u16(out, 0), u16(out, 0);
    u32(out, crc), u32(out, data.size()), u32(out, data.size()), u16(out, name.size()), u16(out, 0);
    out += name + data;
    u32(cd, 0x02014b50), u16(cd, 45), u16(cd, 45), u16(cd, 0), u16(cd, 0), u16(cd, 0), u16(cd, 0);
    u32(cd, crc), u32(cd, 0xFFFFFFFF), u32(cd, 0xFFFFFFFF), u16(cd, name.size()), u16(cd, 28);
    u16(cd, 0), u16(cd, 0), u16(cd, 0), u32(cd, 0), u32(cd, 0xFFFFFFFF);
    cd += name;
    u16(cd, 0x0001), u16(cd, 24), u64(cd, data.size()), u64(cd, data.size()), u64(cd, offset);
  }
  const uint64_t cd_offset = out.size(), z_offset = cd_offset + cd.size();
  out += cd;
  u32(out, 0x06064b50), u64(out, 44), u16(out, 45), u16(out, 45), u32(out, 0), u32(out, 0);
  u64(out, files.size()), u64(out, files.size()), u64(out, cd.size()), u64(out, cd_offset);
  u32(out, 0x07064b50), u32(out, 0), u64(out, z_offset), u32(out, 1);
  u32(out, 0x06054b50), u16(out, 0), u16(out, 0), u16(out, 0xFFFF), u16(out, 0xFFFF);
  u32(out, 0xFFFFFFFF), u32(out, 0xFFFFFFFF), u16(out, 0);
  return out;
}

// A name written twice (zipfile's append mode writes a file again): the
// official loader lists set(namelist()) and zipfile.open(name) reads the last
// record; the archive was refused ("appears twice").
TEST_CASE("a zip holding a name twice reads its last record, as zipfile does", "[dataset]") {
  TempDir dir("zip_twice");
  write_file(dir / "dup.zip", stored_zip({{"a.png", png_bytes(8, 8, 3, 10)},
                                          {"b.png", png_bytes(8, 8, 3, 20)},
                                          {"a.png", png_bytes(8, 8, 3, 30)},
                                          {"dataset.json", R"({"labels": [["a.png", 0], ["b.png", 0]]})"},
                                          {"dataset.json", R"({"labels": [["a.png", 1], ["b.png", 0]]})"}}));
  CHECK(ZipReader(dir / "dup.zip").entries().size() == 3);
  DatasetOptions opt;
  opt.use_labels = true;
  auto ds = open_dataset(dir / "dup.zip", opt);
  REQUIRE(ds->size() == 2);
  std::vector<uint8_t> img(3 * 64);
  ds->image(0, img.data());
  CHECK(img[0] == 30);
  ds->image(1, img.data());
  CHECK(img[0] == 20);
  CHECK(ds->c_dim() == 2);  // the second dataset.json's classes 0 and 1
}

// Names of an archive made on Windows or by an older tool: not flagged UTF-8,
// so code page 437, as Python's zipfile reads them. Read as bytes they sorted
// 0x82 (e acute), 0xB0 (light shade), 0xE1 (sharp s), where the official
// sorts the text (U+00DF, U+00E9, U+2591), and dataset.json's labels, which
// name the text, were not found.
// File names sort as Python sorts the official loader's str names: a byte
// that is no valid UTF-8 (a Latin-1 name) is U+DC80 + its value under
// surrogateescape, so it comes after U+00E9 and before U+E000 and U+1F600.
// By bytes (0xF5 above every UTF-8 lead byte) it came last.
TEST_CASE("folder names sort as Python sorts them, undecodable bytes included", "[dataset]") {
  TempDir dir("python_order");
  const std::vector<std::pair<std::string, int>> files = {{"\xf0\x9f\x98\x80.png", 50}, {"\xee\x80\x80.png", 40},
                                                          {"\xf5.png", 30}, {"\xc3\xa9.png", 20}, {"a.png", 10}};
  for (const auto& [name, v] : files) write_file(dir / name, png_bytes(8, 8, 1, uint8_t(v)));
  auto ds = open_dataset(dir.path.string());
  REQUIRE(ds->size() == 5);
  std::vector<uint8_t> img(64);
  for (int64_t i = 0; i < 5; ++i) {
    ds->image(i, img.data());
    CHECK(int(img[0]) == 10 * (i + 1));
  }
  CHECK(python_name_less("a", "ab"));
  CHECK(!python_name_less("ab", "a"));
  CHECK(python_name_less("\xe2\x82\xac", "\xe2\x82"));  // U+20AC before a cut sequence's escaped U+DCE2 (bytes: a prefix first)
  CHECK(python_name_less("\xed\xa0\x80", "\xee\x80\x80"));  // an encoded surrogate is no UTF-8: escaped, U+DCED
}

TEST_CASE("zip names not flagged UTF-8 are code page 437, as Python's zipfile reads them", "[dataset]") {
  TempDir dir("cp437");
  write_file(dir / "cp437.zip", stored_zip({{"\x82.png", png_bytes(8, 8, 3, 10)},
                                            {"\xb0.png", png_bytes(8, 8, 3, 20)},
                                            {"\xe1.png", png_bytes(8, 8, 3, 30)},
                                            {"dataset.json", "{\"labels\": [[\"\xc3\xa9.png\", 1], [\"\xe2\x96\x91.png\", 2], "
                                                             "[\"\xc3\x9f.png\", 0]]}"}}));
  // A name flagged UTF-8 that is not UTF-8: Python's zipfile refuses the archive.
  std::string flagged = stored_zip({{"\xff.png", "x"}});
  flagged[6] = 0, flagged[7] = 0x08;  // the local header's flags: bit 11
  const size_t central = flagged.find(std::string("PK\x01\x02", 4));
  flagged[central + 8] = 0, flagged[central + 9] = 0x08;
  write_file(dir / "flagged.zip", flagged);
  CHECK(error_of([&] { ZipReader z(dir / "flagged.zip"); }) ==
        dir / "flagged.zip" + ": an entry's name is flagged UTF-8 but is not UTF-8 ('\\xff.png'); Python's zipfile refuses the archive too");
  ZipReader zip(dir / "cp437.zip");
  CHECK(zip.entries()[0].name == "\xc3\xa9.png");  // U+00E9 in UTF-8
  CHECK(zip.read(zip.entries()[0]).size() > 0);      // the local header's name, decoded alike, matches
  DatasetOptions cond;
  cond.use_labels = true;
  auto ds = open_dataset(dir / "cp437.zip", cond);
  REQUIRE(ds->size() == 3);
  std::vector<uint8_t> img(3 * 64);
  const int values[3] = {30, 10, 20};  // sharp s, e acute, light shade: the text's order
  for (int64_t i = 0; i < 3; ++i) {
    ds->image(i, img.data());
    CHECK(int(img[0]) == values[i]);
    CHECK(ds->label(i) == i);
  }
}

// The two 8x8 images (the second of value 60) and labels 1, 0 that the
// zip64 and stub archives below hold, read as a labelled dataset.
void check_labelled_pair(const fs::path& zip) {
  DatasetOptions cond;
  cond.use_labels = true;
  auto ds = open_dataset(zip, cond);
  REQUIRE(ds->size() == 2);
  CHECK(ds->label(0) == 1);
  std::vector<uint8_t> img(3 * 64);
  ds->image(1, img.data());
  CHECK(img[0] == 60);
}

TEST_CASE("zip64 archives are read (the official dataset_tool's zip of FFHQ is one)", "[dataset]") {
  TempDir dir("zip64");
  write_file(dir / "set.zip", zip64_archive({{"00000/img00000000.png", png_bytes(8, 8, 3, 0)},
                                             {"00000/img00000001.png", png_bytes(8, 8, 3, 60)},
                                             {"dataset.json", R"({"labels": [["00000/img00000000.png", 1], ["00000/img00000001.png", 0]]})"}}));
  check_labelled_pair(dir / "set.zip");
  // The zip64 end record's counts are not read either (zipfile reads the directory by its size).
  std::string z = zip64_archive({{"a", "x"}, {"b", "y"}});
  const size_t z64 = z.rfind(std::string("PK\x06\x06", 4));
  z[z64 + 24] = z[z64 + 32] = 3;  // entries on this disk, and in all
  write_file(dir / "miscounted.zip", z);
  CHECK(ZipReader(dir / "miscounted.zip").entries().size() == 2);
}

// A zip after other bytes (a self-extracting archive's stub, or `cat stub
// a.zip`) keeps the offsets of the archive alone; Python's zipfile, which the
// official loader uses, shifts them by the bytes before it, and so does the
// reader: plain and zip64 archives read as without the stub.
TEST_CASE("a zip after other bytes (a self-extracting stub) reads as Python's zipfile reads it", "[dataset]") {
  TempDir dir("zip_stub");
  const std::vector<std::pair<std::string, std::string>> files = {
      {"00000/img00000000.png", png_bytes(8, 8, 3, 0)},
      {"00000/img00000001.png", png_bytes(8, 8, 3, 60)},
      {"dataset.json", R"({"labels": [["00000/img00000000.png", 1], ["00000/img00000001.png", 0]]})"}};
  const std::string stub = "MZ" + std::string(777, '\x90');
  for (const bool zip64 : {false, true}) {
    INFO("zip64 " << zip64);
    const std::string zip = zip64 ? zip64_archive(files) : stored_zip(files);
    write_file(dir / "stub.zip", stub + zip);
    ZipReader z(dir / "stub.zip");
    REQUIRE(z.entries().size() == 3);
    for (const auto& [name, data] : files) {
      const std::vector<uint8_t> got = z.read(z.entries()[size_t(z.find(name))]);
      CHECK(std::string(got.begin(), got.end()) == data);
    }
    check_labelled_pair(dir / "stub.zip");
  }
  // A directory size past where the directory can be is still refused.
  std::string z = stored_zip(files);
  z[z.size() - 7] = char(0x7F);  // the end record's directory size, raised past the file
  write_file(dir / "far.zip", stub + z);
  CHECK(error_of([&] { ZipReader r(dir / "far.zip"); }).find("central directory lies outside the file") != std::string::npos);
}

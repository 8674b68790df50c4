// Datasets: folder and zip datasets with labels (dataset.json), the errors
// that name the bad file, max_images, data read from its files, the resume
// keys, Fashion-MNIST's IDX files, the infinite sampler. The image formats are
// test_image_formats.cpp's, the zip reader test_zip_reader.cpp's.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

#include "data/archives/zip_reader.h"
#include "data/dataset.h"
#include "data/images/image_io.h"
#include "data/images/png_image.h"
#include "data/infinite_sampler.h"
#include "data/mnist_idx.h"
#include "data/python_order.h"
#include "engine/io/atomic_file.h"
#include "tests/dataset_fixture.h"
#include "tests/testing.h"
#include "tests/zip_fixture.h"
#include "train/checkpoint_state.h"
#include "train/progressive.h"

using namespace gf;
namespace fs = std::filesystem;
using gf::test::error_of;
using gf::test::TempDir;
using gf::test::kFixture;
using gf::test::png_bytes;
using gf::test::write_file;
using gf::test::be32s;
using gf::test::png_chunk;
using gf::test::encoded;
using gf::test::has_line;
using gf::test::stored_zip;

// 16 valid 8x8 PNGs, each followed by 24 MiB of zeros (bytes after IEND,
// which PIL never reads), deflated to 25 kB each: the decoding pass read 256
// files at a time, 384 MiB here (and 256 GB for 256 entries of a gigabyte,
// from a zip of a few hundred kilobytes). In a child whose address space
// allows 256 MiB more than it maps, the dataset opens whole.
TEST_CASE("a dataset's decoding pass holds a bounded amount of file bytes", "[dataset]") {
#if defined(__SANITIZE_ADDRESS__) || defined(GF_ASAN)  // GF_ASAN: the engine is, these sources may not be
  WARN("skipped: AddressSanitizer's quarantine keeps freed buffers mapped");
  return;
#endif
  gf::test::TempDir dir("padded");
  const gf::test::DeflatedEntry entry = gf::test::deflate_padded(png_bytes(8, 8, 3, 40), uint64_t(24) << 20);
  REQUIRE(entry.data.size() < 64 * 1024);
  std::vector<std::pair<std::string, gf::test::DeflatedEntry>> files;
  for (int i = 0; i < 16; ++i) files.push_back({"img" + std::to_string(i + 10) + ".png", entry});
  const std::string zip = dir / "padded.zip";
  write_file(zip, gf::test::deflated_zip(files));
  const gf::test::ChildEnd end = gf::test::run_with_address_limit(uint64_t(256) << 20, [&] {
    const auto ds = open_dataset(zip, {});
    std::fprintf(stderr, "%lld images of %d\n", static_cast<long long>(ds->size()), ds->resolution());
  });
  REQUIRE(WIFEXITED(end.status));
  CHECK(end.err == "16 images of 8\n");
  CHECK(WEXITSTATUS(end.status) == 0);
}

// MNIST's IDX files are checked from their gzip heads and decoded no
// further than their headers' sizes: an image file claiming one image ahead
// of 2 GiB of zeros (2 MB of gzip members) is refused for its size after 801
// bytes, where it was inflated to the 2 GiB cap first (seconds, 2 GB).
TEST_CASE("MNIST IDX files: headers checked before the data is inflated, sizes bound the decoding", "[dataset]") {
  test::TempDir dir("idx_head");
  auto gzip_member = [&](const std::string& bytes) {  // as gzip writes it, through a file
    const std::string tmp = dir / "member.gz";
    gzFile f = gzopen(tmp.c_str(), "wb1");
    REQUIRE(f != nullptr);
    REQUIRE(gzwrite(f, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
    REQUIRE(gzclose(f) == Z_OK);
    std::ifstream in(tmp, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string zeros = gzip_member(std::string(size_t(64) << 20, '\0'));
  // header + items bytes of class 7 / grey level 7, then `zero_members` x 64 MiB of zeros.
  auto write_gz = [&](const std::string& path, const std::string& header, size_t items, int zero_members) {
    std::string bytes = gzip_member(header + std::string(items, '\x07'));
    for (int k = 0; k < zero_members; ++k) bytes += zeros;
    write_file(path, bytes);
  };
  auto be = [](uint32_t v) { return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; };
  const std::string img = dir / "train-images-idx3-ubyte.gz", lbl = dir / "train-labels-idx1-ubyte.gz";
  write_gz(lbl, be(0x801) + be(1), 1, 0);
  write_gz(img, be(0x803) + be(1) + be(28) + be(28), 784, 0);
  CHECK(read_idx_images(img, lbl).labels.size() == 1);
  auto error_of = [&] {
    try {
      read_idx_images(img, lbl);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("read");
  };
  write_gz(img, be(0x803) + be(1) + be(28) + be(28), 784, 33);  // 2.06 GiB
  CHECK(error_of() == img + ": holds more data than its header's count of 1 image (a damaged file?)");
  write_gz(img, be(0x803) + be(1) + be(28) + be(28), 784, 0);
  write_gz(lbl, be(0x801) + be(1), 1, 33);
  CHECK(error_of() == lbl + ": holds more data than its header's count of 1 label (a damaged file?)");
  write_gz(lbl, be(0x801) + be(2), 2, 0);
  CHECK(error_of() == lbl + ": counts 2 labels for the 1 image of " + img);
  write_gz(lbl, be(0x801) + be(3), 2, 0);
  CHECK(error_of() == lbl + ": holds less data than its header's count of 3 labels (a damaged file?)");
  write_gz(lbl, be(0x801) + be(1), 1, 0);
  write_gz(img, be(0x803) + be(1) + be(32) + be(28), 896, 33);
  CHECK(error_of() == img + ": expected 28x28 images");
  write_gz(img, be(0x801) + be(1) + be(28) + be(28), 784, 33);
  CHECK(error_of() == img + ": not an IDX image file");
  write_gz(img, be(0x803) + be(1), 0, 0);  // under a header
  CHECK(error_of() == img + ": not an IDX image file");
  // Claims past 2 GiB, and an image count unlike the labels', are refused from the headers alone
  // (each was decoded up to the 2 GiB cap first: seconds and 2 GB).
  write_gz(lbl, be(0x801) + be(0xffffffff), 1, 33);
  CHECK(error_of() == lbl + ": its header gives a size of 4294967303 bytes, over the 2 GiB supported");
  write_gz(lbl, be(0x801) + be(3000000), 3000000, 0);
  write_gz(img, be(0x803) + be(3000000) + be(28) + be(28), 784, 33);
  CHECK(error_of() == img + ": its header gives a size of 2352000016 bytes, over the 2 GiB supported");
  write_gz(lbl, be(0x801) + be(1), 1, 0);
  write_gz(img, be(0x803) + be(2) + be(28) + be(28), 784, 33);
  CHECK(error_of() == lbl + ": counts 1 label for the 2 images of " + img);
}

// An entry's name may hold a newline or an escape sequence: the log lists it
// on one line, escaped as error lines are (it split the listing, and an
// ESC reached the terminal).
TEST_CASE("the dataset's log lines stay single lines whatever the names hold", "[dataset]") {
  TempDir dir("dataset_names");
  write_file(dir / "names.zip", stored_zip({{"a.png", png_bytes(8, 8, 3, 0)},
                                            {"b\nfake line.png", "not a png"},
                                            {"c\x1b[31mred.png", png_bytes(8, 8, 1, 9)}}));
  auto ds = open_dataset(dir / "names.zip", {});
  REQUIRE(ds->size() == 2);
  for (const std::string& line : ds->notes()) {
    INFO(line);
    CHECK(line.find_first_of("\n\x1b") == std::string::npos);
  }
  CHECK(ds->notes().size() == 4);  // skipped: a head and one file; grey: a head and one file
  CHECK(ds->notes()[1].find("names.zip/b\\nfake line.png: ") != std::string::npos);
  CHECK(ds->notes()[3].find("names.zip/c\\x1b[31mred.png") != std::string::npos);
}

TEST_CASE("zip dataset: sorted names, labels, gray promoted to RGB", "[dataset]") {
  DatasetOptions opt;
  opt.use_labels = true;
  auto ds = open_dataset(kFixture, opt);
  CHECK(ds->name() == "dataset_fixture");
  CHECK(ds->size() == 3);
  CHECK(ds->resolution() == 8);
  CHECK(ds->channels() == 3);  // a.png has colour, so sub/b.png is replicated
  CHECK(ds->c_dim() == 3);
  // Sorted: a.png, c.png, sub/b.png.
  CHECK(ds->label(0) == 1);
  CHECK(ds->label(1) == 2);
  CHECK(ds->label(2) == 0);
  std::vector<uint8_t> img(3 * 64);
  ds->image(0, img.data());
  CHECK(img[1 * 64 + 0 * 8 + 2] == (2 * 30 + 10) % 256);  // a.png, channel 1, y 0, x 2
  ds->image(2, img.data());
  for (int c = 0; c < 3; ++c) CHECK(img[c * 64 + 5 * 8 + 1] == 150);  // sub/b.png, y 5
  ds->image(1, img.data());
  CHECK(img[2 * 64 + 3 * 8 + 4] == 255 - (4 + 3 * 8 + 2));
  // Replicating grey is lossless, but the log still names the file.
  CHECK(ds->notes() == std::vector<std::string>{
                           "Dataset " + kFixture + ": 1 of 3 images are grey in a colour dataset: replicated to RGB (lossless):",
                           "  " + kFixture + "/sub/b.png"});

  const auto batch = ds->batch({2, 0});
  CHECK(batch.images.shape() == Shape{2, 3, 8, 8});
  CHECK(batch.labels.shape() == Shape{2, 3});
  CHECK(batch.labels.to_vector() == std::vector<double>{1, 0, 0, 0, 1, 0});
  CHECK(batch.images.to_vector()[5 * 8 + 1] == Approx(150 / 127.5 - 1));

  auto unlabelled = open_dataset(kFixture, {});
  CHECK_FALSE(unlabelled->has_labels());
  CHECK(unlabelled->c_dim() == 0);
  CHECK(unlabelled->label(0) == -1);
  CHECK(unlabelled->batch({0, 1}).labels.shape() == Shape{2, 0});
}

// The official loader looks a zip name up in dataset.json with '\\' as '/'
// (a zip made on Windows), and casts the labels to int64 (1.0, as tools that
// write floats give it, is class 1).
TEST_CASE("labels: a Windows zip's names and whole-number float classes, as the official loader takes them", "[dataset]") {
  TempDir dir("labels");
  std::vector<uint8_t> px(8 * 8 * 3, 9);
  write_file(dir / "win.zip", stored_zip({{"sub\\a.png", encoded(8, 8, 3, px, "png")},
                                          {"b.png", encoded(8, 8, 3, px, "png")},
                                          {"dataset.json", R"({"labels": [["sub/a.png", 1.0], ["b.png", 0]]})"}}));
  DatasetOptions cond;
  cond.use_labels = true;
  auto ds = open_dataset(dir / "win.zip", cond);
  REQUIRE(ds->size() == 2);
  CHECK(ds->label(0) == 0);  // "b.png" sorts before "sub\\a.png"
  CHECK(ds->label(1) == 1);
  CHECK(ds->c_dim() == 2);
  write_file(dir / "half.zip", stored_zip({{"a.png", encoded(8, 8, 3, px, "png")},
                                           {"dataset.json", R"({"labels": [["a.png", 1.5]]})"}}));
  CHECK(error_of([&] { open_dataset(dir / "half.zip", cond); }).find("'a.png' must be a non-negative whole class index or a label vector (a list of numbers), got 1.5") !=
        std::string::npos);
}

// The official loader's float32 labels: dataset.json gives each image a
// vector (np.array of them is 2-D), which is the conditioning c as it is.
TEST_CASE("label vectors are the conditioning as they are, through x-flips, subsets, batches and the resume key", "[dataset]") {
  TempDir dir("label_vectors");
  for (int i = 0; i < 4; ++i) write_file(dir / ("vec/" + std::to_string(i) + ".png"), png_bytes(8, 8, 3, 10 * i));
  // 0.1 is no float32: the batch holds float32(0.1), as astype(np.float32).
  write_file(dir / "vec/dataset.json",
             R"({"labels": [["0.png", [0.1, -2, 3e5]], ["1.png", [1, 0, 0]], ["2.png", [0.5, 0.25, -1.0]], ["3.png", [7, 7, 7]]]})");
  DatasetOptions cond;
  cond.use_labels = true;
  cond.xflip = true;
  auto ds = open_dataset(dir / "vec", cond);
  REQUIRE(ds->size() == 8);
  CHECK(ds->c_dim() == 3);
  CHECK(ds->has_labels());
  CHECK(ds->has_label_vectors());
  CHECK(ds->label(0) == -1);  // no class index
  const std::vector<double> want0{double(0.1f), -2, 3e5}, want2{0.5, 0.25, -1};
  const auto batch = ds->batch({0, 6});  // 6: image 2 mirrored
  CHECK(batch.labels.shape() == Shape{2, 3});
  std::vector<double> both = want0;
  both.insert(both.end(), want2.begin(), want2.end());
  CHECK(batch.labels.to_vector() == both);
  gf::Generator rng(5);
  const std::vector<int64_t> items = random_items(*ds, 6, rng);
  const std::vector<double> drawn = labels_of(*ds, items, Device::cpu()).to_vector();
  for (size_t k = 0; k < items.size(); ++k) {
    std::vector<float> row(3);
    ds->label_row(items[k], row.data());
    for (size_t j = 0; j < 3; ++j) CHECK(drawn[3 * k + j] == row[j]);
  }
  // A subset keeps each image's own vector.
  DatasetOptions sub = cond;
  sub.xflip = false;
  sub.max_images = 2;
  auto two = open_dataset(dir / "vec", sub);
  REQUIRE(two->size() == 2);
  for (int64_t i = 0; i < 2; ++i) {
    std::vector<uint8_t> img(3 * 64);
    two->image(i, img.data());
    const int raw = img[0] / 10;
    std::vector<float> row(3), want(3);
    two->label_row(i, row.data());
    ds->label_row(raw, want.data());
    CHECK(row == want);
  }
  // A resume key tells other vectors apart.
  const std::string key = gf::dataset_resume_key(*ds);
  write_file(dir / "vec/dataset.json",
             R"({"labels": [["0.png", [0.1, -2, 3e5]], ["1.png", [1, 0, 0]], ["2.png", [0.5, 0.25, -1.0]], ["3.png", [7, 7, 7.5]]]})");
  CHECK(gf::dataset_resume_key(*open_dataset(dir / "vec", cond)) != key);
}

// Python's json.load(bytes) takes UTF-16 and UTF-32 (json.detect_encoding);
// PowerShell's > writes UTF-16LE with a BOM. Such a dataset.json was "not JSON".
TEST_CASE("dataset.json in UTF-16 or UTF-32, with or without a BOM, is read as the official loader reads it", "[dataset]") {
  TempDir dir("utf16");
  write_file(dir / "set/a.png", png_bytes(8, 8, 3, 0));
  write_file(dir / "set/\xc3\xa9.png", png_bytes(8, 8, 3, 0));          // U+00E9
  write_file(dir / "set/\xf0\x9f\x98\x80.png", png_bytes(8, 8, 3, 0));  // U+1F600: a surrogate pair in UTF-16
  const std::u32string text = U"{\"labels\": [[\"a.png\", 2], [\"\u00e9.png\", 0], [\"\U0001F600.png\", 1]]}";
  auto encode = [&](int unit, bool big, bool bom) {
    std::u32string units;
    if (bom) units += char32_t(0xFEFF);
    for (char32_t c : text) {
      if (unit == 2 && c >= 0x10000) {
        units += char32_t(0xD800 + ((c - 0x10000) >> 10));
        units += char32_t(0xDC00 + ((c - 0x10000) & 0x3FF));
      } else {
        units += c;
      }
    }
    std::string out;
    for (char32_t u : units)
      for (int k = 0; k < unit; ++k) out += char((u >> (8 * (big ? unit - 1 - k : k))) & 0xFF);
    return out;
  };
  DatasetOptions cond;
  cond.use_labels = true;
  for (int unit : {2, 4})
    for (bool big : {false, true})
      for (bool bom : {false, true}) {
        INFO("UTF-" << 8 * unit << (big ? "BE" : "LE") << (bom ? " with a BOM" : ""));
        write_file(dir / "set/dataset.json", encode(unit, big, bom));
        auto ds = open_dataset(dir / "set", cond);
        REQUIRE(ds->size() == 3);
        // Sorted by bytes: a.png, then U+00E9, then U+1F600.
        CHECK(ds->label(0) == 2);
        CHECK(ds->label(1) == 0);
        CHECK(ds->label(2) == 1);
      }
  std::string cut = encode(2, false, true);
  cut.pop_back();
  write_file(dir / "set/dataset.json", cut);
  CHECK(error_of([&] { open_dataset(dir / "set", cond); }).find("dataset.json: UTF-16 text cut short") != std::string::npos);
}

// np.array of the labels must be 1-D (int64 classes) or 2-D (float32
// vectors); anything else fails in the official loader, and here with a line.
TEST_CASE("labels that are neither all class indices nor all vectors of one length are refused by name", "[dataset]") {
  TempDir dir("label_mix");
  write_file(dir / "set/a.png", png_bytes(8, 8, 3, 0));
  write_file(dir / "set/b.png", png_bytes(8, 8, 3, 0));
  DatasetOptions cond;
  cond.use_labels = true;
  auto refused = [&](const std::string& a, const std::string& b) {
    write_file(dir / "set/dataset.json", R"({"labels": [["a.png", )" + a + R"(], ["b.png", )" + b + "]]}");
    return error_of([&] { open_dataset(dir / "set", cond); });
  };
  const std::string where = dir / "set/dataset.json" + ": ";
  CHECK(refused("[1, 2]", "3") == where + "the label of 'b.png' is a class index, the label of 'a.png' a label vector of 2 entries: "
                                          "the labels must be all class indices or all vectors of one length");
  CHECK(refused("[1, 2]", "[1, 2, 3]") == where + "the label of 'b.png' is a label vector of 3 entries, the label of 'a.png' a "
                                                  "label vector of 2 entries: the labels must be all class indices or all vectors of one length");
  CHECK(refused("[1]", "[]") == where + "the label of 'b.png' is an empty label vector (the networks would take no label: leave --cond out)");
  CHECK(refused("[1, [2]]", "[1, 2]") == where + "the label of 'a.png' is a label vector with [2] in it; its entries must be numbers");
  CHECK(refused("[true, 1]", "[1, 2]") == where + "the label of 'a.png' is a label vector with true in it; its entries must be numbers");
  CHECK(refused("[1e39, 1]", "[1, 2]") == where + "the label of 'a.png' is a label vector with 1e+39 in it, which is no finite float32");
  CHECK(refused("\"cat\"", "1") == where + "the label of 'a.png' must be a non-negative whole class index or a label vector (a list of numbers), got \"cat\"");
  CHECK(refused("[1, 2]", "[1, 2]") == "(no error)");
  CHECK(open_dataset(dir / "set", cond)->c_dim() == 2);
  // One image with two vectors.
  write_file(dir / "set/dataset.json", R"({"labels": [["a.png", [1, 2]], ["b.png", [1, 2]], ["a.png", [1.0, 2.0]], ["a.png", [1, 3]]]})");
  CHECK(error_of([&] { open_dataset(dir / "set", cond); }) == where + "'a.png' is labelled twice, [1,2] and [1,3]");
}

TEST_CASE("folder dataset: labels, x-flips, max_images", "[dataset]") {
  TempDir dir("folder");
  write_file(dir / "img/0.png", png_bytes(4, 4, 1, 0));
  write_file(dir / "img/1.png", png_bytes(4, 4, 1, 100));
  write_file(dir / "img/deep/2.png", png_bytes(4, 4, 1, 200));
  write_file(dir / "img/notes.txt", "ignored");
  write_file(dir / "img/dataset.json", R"({"labels": [["0.png", 4], ["1.png", 0], ["deep/2.png", 2]]})");

  DatasetOptions opt;
  opt.use_labels = true;
  opt.xflip = true;
  auto ds = open_dataset(dir / "img/", opt);
  CHECK(ds->name() == "img");
  CHECK(ds->channels() == 1);
  CHECK(ds->resolution() == 4);
  CHECK(ds->c_dim() == 5);
  REQUIRE(ds->size() == 6);
  std::vector<uint8_t> a(16), b(16);
  for (int64_t i = 0; i < 3; ++i) {
    CHECK(ds->label(i + 3) == ds->label(i));
    ds->image(i, a.data());
    ds->image(i + 3, b.data());
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) CHECK(b[y * 4 + x] == a[y * 4 + 3 - x]);
  }
  ds->image(2, a.data());
  CHECK(a[0] == 200);
  CHECK(ds->label(2) == 2);
  CHECK(ds->batch({5}).labels.to_vector() == std::vector<double>{0, 0, 1, 0, 0});

  // A seeded subset of 2, in file order, taken before the mirroring.
  opt.max_images = 2;
  auto sub = open_dataset(dir / "img", opt);
  REQUIRE(sub->size() == 4);
  std::set<int64_t> labels{sub->label(0), sub->label(1)};
  CHECK(labels.size() == 2);
  CHECK(sub->label(2) == sub->label(0));
  auto again = open_dataset(dir / "img", opt);
  CHECK(again->label(0) == sub->label(0));
  CHECK(again->label(1) == sub->label(1));
  // The class count is the whole dataset's (as the official label_shape),
  // whether or not the subset holds the highest class (label 4, 0.png).
  bool missed_highest = false;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    opt.subset_seed = seed;
    auto s = open_dataset(dir / "img", opt);
    CHECK(s->c_dim() == 5);
    missed_highest = missed_highest || (s->label(0) != 4 && s->label(1) != 4);
  }
  CHECK(missed_highest);  // the case that matters was met
  opt.subset_seed = 0;
  // Only the subset is decoded (and held): 1 colour and 9 grey images, of
  // which the log's count of grey images counts 2 at most.
  write_file(dir / "many/colour.png", png_bytes(4, 4, 3, 0));
  for (int k = 0; k < 9; ++k) write_file(dir / ("many/" + std::to_string(k) + ".png"), png_bytes(4, 4, 1, uint8_t(k)));
  DatasetOptions two;
  two.max_images = 2;
  for (uint64_t seed = 0; seed < 4; ++seed) {
    two.subset_seed = seed;
    auto picked = open_dataset(dir / "many", two);
    CHECK(picked->size() == 2);
    CHECK(picked->channels() == 3);  // decided by all the files' headers, whichever are picked
    CHECK_FALSE(has_line(picked->notes(), " of 10 images"));
  }
}

// --max-images N gives N images while N of the files decode: a picked file
// that fails is replaced by the next of the seeded order, and the subset
// stays in name order.
TEST_CASE("max_images replaces a picked file that fails to decode", "[dataset]") {
  TempDir dir("max_images_stand_in");
  for (int k = 0; k < 6; ++k) write_file(dir / ("img/g" + std::to_string(k) + ".png"), png_bytes(4, 4, 1, uint8_t(10 * k + 10)));
  const std::string good = png_bytes(4, 4, 1, 7);
  for (int k = 0; k < 4; ++k) write_file(dir / ("img/t" + std::to_string(k) + ".png"), good.substr(0, 41));  // its header and the image data's chunk header: no pixels
  DatasetOptions opt;
  bool replaced = false;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    opt.subset_seed = seed;
    opt.max_images = 5;
    auto ds = open_dataset(dir / "img", opt);
    REQUIRE(ds->size() == 5);
    std::vector<uint8_t> px(16);
    int previous = 0;
    for (int64_t i = 0; i < 5; ++i) {
      ds->image(i, px.data());
      CHECK(px[0] % 10 == 0);      // a good file's value
      CHECK(px[0] > previous);     // name order
      previous = px[0];
    }
    for (const char* t : {"t0.png", "t1.png", "t2.png", "t3.png"})
      replaced = replaced || has_line(ds->notes(), std::string(t) + ": truncated PNG: the file ends before its pixels do");
    // Asking for more than decode gives every good file.
    opt.max_images = 8;
    CHECK(open_dataset(dir / "img", opt)->size() == 6);
  }
  CHECK(replaced);  // some seed picked a failing file, which was replaced
}

// --data-from-files: the same dataset whether its pixels are held or decoded
// again per item, in every option that changes which items there are.
TEST_CASE("a dataset read from its files has the held dataset's items, batches, notes and keys", "[dataset]") {
  TempDir dir("from_files");
  std::vector<std::pair<std::string, std::string>> entries;
  for (int k = 0; k < 9; ++k)
    entries.push_back({"img" + std::to_string(k) + ".png", png_bytes(8, 8, k == 4 ? 1 : 3, uint8_t(20 * k + 3))});
  entries.push_back({"cut.png", png_bytes(8, 8, 3, 9).substr(0, 41)});  // fails to decode: skipped, or stood in for
  std::string labels = R"({"labels": [)";
  for (int k = 0; k < 9; ++k) labels += std::string(k ? ", " : "") + "[\"img" + std::to_string(k) + ".png\", " + std::to_string(k % 3) + "]";
  entries.push_back({"dataset.json", labels + R"(, ["cut.png", 2]]})"});
  for (const auto& [name, bytes] : entries) write_file(dir / ("folder/" + name), bytes);
  write_file(dir / "data.zip", stored_zip(entries));
  for (const std::string& data : {dir / "folder", dir / "data.zip"}) {
    for (int variant = 0; variant < 4; ++variant) {
      DatasetOptions opt;
      opt.use_labels = variant == 1;
      opt.xflip = variant == 2;
      if (variant == 3) opt.max_images = 4, opt.subset_seed = 5;
      INFO(data << ", variant " << variant);
      const auto held = open_dataset(data, opt);
      opt.from_files = true;
      const auto read = open_dataset(data, opt);
      CHECK_FALSE(held->from_files());
      CHECK(read->from_files());
      REQUIRE(read->size() == held->size());
      CHECK(read->channels() == held->channels());
      CHECK(read->c_dim() == held->c_dim());
      CHECK(read->notes() == held->notes());
      std::vector<int64_t> all;
      const size_t image_size = size_t(held->channels()) * 64;
      for (int64_t i = 0; i < held->size(); ++i) {
        std::vector<uint8_t> a(image_size), b(image_size);
        held->image(i, a.data());
        read->image(i, b.data());
        CHECK(a == b);
        all.push_back(held->size() - 1 - i);
      }
      const Dataset::Batch x = held->batch(all), y = read->batch(all);
      CHECK(x.images.to_vector() == y.images.to_vector());
      CHECK(x.labels.to_vector() == y.labels.to_vector());
      CHECK(read->pixel_hashes() == held->pixel_hashes());  // the metrics' cache key's parts
      CHECK(dataset_keys(*read).all == dataset_keys(*held).all);
    }
  }
  // A file that no longer holds what was decoded when the dataset opened
  // (other pixels of the same size too) is named when it is read, by a
  // batch or PGGAN's level images, and is no crash. The keys never read a
  // file: they name the pixels decoded at the opening, which every read
  // after it is checked against.
  DatasetOptions opt;
  opt.from_files = true;
  const auto read = open_dataset(dir / "folder", opt);
  const std::string opened_key = dataset_keys(*open_dataset(dir / "folder", {})).all;
  const std::string changed = ": changed since the dataset was opened (the run reads each image from its file again: "
                              "leave the data as it is while it trains)";
  write_file(dir / "folder/img2.png", png_bytes(8, 8, 3, 77));
  CHECK(error_of([&] { read->batch({0, 1, 2, 3}); }) == dir / "folder/img2.png" + changed);
  CHECK(dataset_keys(*read).all == opened_key);
  CHECK(dataset_keys(*open_dataset(dir / "folder", {})).all != opened_key);
  fs::remove(dir / "folder/img3.png");
  CHECK(error_of([&] { read->batch({3}); }).rfind(dir / "folder/img3.png: ", 0) == 0);
  CHECK(read->batch({0, 1}).images.numel() == 2 * 3 * 64);
  // The same through PGGAN's level images.
  CHECK(error_of([&] { level_pixels(*read, {0, 1, 2}, 1, {}); }) == dir / "folder/img2.png" + changed);
  const auto held = open_dataset(dir / "folder", {});
  CHECK(level_pixels(*read, {0, 1}, 1, {}).to_vector() == level_pixels(*held, {0, 1}, 1, {}).to_vector());
}

// The resume key's values are pinned: checkpoints written before carry them
// and must still resume. These are what train_stylegan at 35d3946 (before
// the keys came from Dataset::pixel_hashes) wrote for the fixture zip.
TEST_CASE("the resume keys of the fixture zip are those older checkpoints hold", "[dataset]") {
  for (const bool files : {false, true}) {
    DatasetOptions opt;
    opt.from_files = files;
    const auto plain = open_dataset(kFixture, opt);
    CHECK(dataset_keys(*plain).all == "all-237ca03eead3c601");
    CHECK(dataset_keys(*plain).labels == "29492a20048d5f4b");
    CHECK(dataset_keys(*plain).pixels == "4f32ee39fb4f91f9");
    opt.xflip = true;
    const auto mirrored = open_dataset(kFixture, opt);
    CHECK(dataset_keys(*mirrored).all == "all-819b17dfc0052e3a");
    CHECK(dataset_keys(*mirrored).labels == "a6087d110d32714e");
    CHECK(dataset_keys(*mirrored).pixels == "451ab7d4be50b0ff");
  }
}

TEST_CASE("JPEG images and stored zips (the official dataset_tool layout)", "[dataset]") {
  TempDir dir("jpeg");
  std::vector<uint8_t> px(16 * 16 * 3, 128);
  std::string jpg;
  auto append = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append((char*)data, size); };
  REQUIRE(stbi_write_jpg_to_func(append, &jpg, 16, 16, 3, px.data(), 95));
  write_file(dir / "jpg/a.JPG", jpg);
  auto ds = open_dataset(dir / "jpg", {});
  CHECK(ds->resolution() == 16);
  CHECK(ds->channels() == 3);
  std::vector<uint8_t> img(3 * 256);
  ds->image(0, img.data());
  CHECK(std::abs(int(img[100]) - 128) <= 2);  // lossy, but flat gray stays close

  write_file(dir / "stored.zip", stored_zip({{"00000/img00000000.png", png_bytes(8, 8, 3, 0)},
                                             {"00000/img00000001.png", png_bytes(8, 8, 3, 50)},
                                             {"dataset.json", R"({"labels": null})"}}));
  auto zipped = open_dataset(dir / "stored.zip", {});
  CHECK(zipped->name() == "stored");
  CHECK(zipped->size() == 2);
  zipped->image(1, img.data());
  CHECK(img[0] == 50);
  DatasetOptions cond;
  cond.use_labels = true;
  CHECK(error_of([&] { open_dataset(dir / "stored.zip", cond); }).find("needs labels") != std::string::npos);
}

TEST_CASE("bad datasets stop with an error naming the file", "[dataset]") {
  TempDir dir("bad");
  auto expect = [&](const std::string& folder, const std::string& file, const std::string& what,
                    DatasetOptions opt = {}) {
    const std::string msg = error_of([&] { open_dataset(dir / folder, opt); });
    INFO(msg);
    CHECK(msg.find(file) != std::string::npos);
    CHECK(msg.find(what) != std::string::npos);
  };
  write_file(dir / "mixed/a.png", png_bytes(8, 8, 3, 0));
  write_file(dir / "mixed/b.png", png_bytes(16, 16, 3, 0));
  expect("mixed", "mixed/b.png", "same size");
  write_file(dir / "nonsquare/a.png", png_bytes(8, 4, 3, 0));
  expect("nonsquare", "nonsquare/a.png", "square");
  write_file(dir / "npot/a.png", png_bytes(12, 12, 3, 0));
  expect("npot", "npot/a.png", "power of two");
  // Nothing readable: the error counts the skipped files and names the first.
  const std::string png = png_bytes(8, 8, 3, 7);
  write_file(dir / "truncated/a.png", png.substr(0, 40));
  expect("truncated", "truncated/a.png", "no images the decoders here read");
  write_file(dir / "empty/readme.txt", "no images");
  expect("empty", "empty/readme.txt", "no images the decoders here read (PNG, JPEG, JPEG 2000, BMP, TGA, GIF, PSD, PNM, PCX, WebP, TIFF) in files named as PIL names images; skipped 1 file, e.g. ");
  DatasetOptions cond;
  cond.use_labels = true;
  write_file(dir / "nolabels/a.png", png_bytes(8, 8, 3, 0));
  expect("nolabels", "nolabels", "needs labels", cond);
  write_file(dir / "missing/a.png", png_bytes(8, 8, 3, 0));
  write_file(dir / "missing/b.png", png_bytes(8, 8, 3, 0));
  write_file(dir / "missing/dataset.json", R"({"labels": [["a.png", 1]]})");
  expect("missing", "b.png", "no label", cond);
  // A class id far past any class count (the one-hot would have id + 1 entries).
  for (const char* id : {"65536", "4294967296", "100000000"}) {
    write_file(dir / "ids/a.png", png_bytes(8, 8, 3, 0));
    write_file(dir / "ids/dataset.json", std::string(R"({"labels": [["a.png", )") + id + "]]}");
    expect("ids", "ids/dataset.json", std::string("the label of 'a.png' is class ") + id + "; class indices must be below 65536", cond);
  }
  // One file with two classes.
  write_file(dir / "twice/a.png", png_bytes(8, 8, 3, 0));
  write_file(dir / "twice/dataset.json", R"({"labels": [["a.png", 1], ["a.png", 1], ["a.png", 5]]})");
  expect("twice", "twice/dataset.json", "'a.png' is labelled twice, 1 and 5", cond);
  // A zip of a folder: its dataset.json is one level down, and named.
  write_file(dir / "zipped.zip", stored_zip({{"photos/a.png", png_bytes(8, 8, 3, 0)},
                                             {"photos/dataset.json", R"({"labels": [["a.png", 0]]})"}}));
  CHECK(error_of([&] { open_dataset(dir / "zipped.zip", cond); }) ==
        dir / "zipped.zip" + ": conditioning (--cond) needs labels in dataset.json at the top level (there is a "
                             "photos/dataset.json: labels name the images from the top, so make the archive or folder from "
                             "inside that folder)");
  // A dataset.json that is a link to nothing is named as one (it read as no dataset.json).
  write_file(dir / "deadlink/a.png", png_bytes(8, 8, 3, 0));
  fs::create_symlink("gone.json", dir / "deadlink/dataset.json");
  CHECK(error_of([&] { open_dataset(dir / "deadlink", cond); }) ==
        dir / "deadlink" + ": conditioning (--cond) needs labels in dataset.json (its dataset.json is a link to nothing)");
  write_file(dir / "ids/dataset.json", R"({"labels": [["a.png", 65535]]})");
  auto widest = open_dataset(dir / "ids", cond);
  CHECK(widest->c_dim() == 65536);
  CHECK(error_of([&] { open_dataset(dir / "nowhere", {}); }).find("no such file") != std::string::npos);
  // Headers alone claim the size: 4096 files of 69 bytes that say 8192x8192
  // RGB (within PIL's pixel limit) would need 768 GiB, allocated and zeroed
  // before any of them decoded.
  std::string ihdr = be32s(8192) + be32s(8192) + std::string("\x08\x02\0\0\0", 5);
  const std::string claim = "\x89PNG\r\n\x1a\n" + png_chunk("IHDR", ihdr) + png_chunk("IDAT", "") + png_chunk("IEND", "");
  for (int i = 0; i < 4096; ++i) write_file(dir / ("claims/" + std::to_string(i) + ".png"), claim);
  // Past the memory there is, the images are read from their files (each
  // decoded once here, one at a time): these have no pixels, so none is read.
  const std::string big = error_of([&] { open_dataset(dir / "claims", {}); });
  INFO(big);
  CHECK(big.rfind(dir / "claims: no images the decoders here read", 0) == 0);
  // One real 8192x8192 image among them (1-bit white, a few kilobytes): the
  // dataset opens from its files, and says why.
  const std::string row = std::string(1, '\0') + std::string(1024, '\xff');
  std::string rows;
  for (int y = 0; y < 8192; ++y) rows += row;
  std::string idat(compressBound(rows.size()), '\0');
  uLongf idat_size = idat.size();
  REQUIRE(compress2(reinterpret_cast<Bytef*>(&idat[0]), &idat_size, reinterpret_cast<const Bytef*>(rows.data()),
                    rows.size(), 9) == Z_OK);
  idat.resize(idat_size);
  write_file(dir / "claims/white.png", "\x89PNG\r\n\x1a\n" +
                                           png_chunk("IHDR", be32s(8192) + be32s(8192) + std::string("\x01\0\0\0\0", 5)) +
                                           png_chunk("IDAT", idat) + png_chunk("IEND", ""));
  const auto one = open_dataset(dir / "claims", {});
  CHECK(one->from_files());
  REQUIRE(one->size() == 1);
  CHECK(has_line(one->notes(), dir / "claims: 4097 images of 8192x8192x3 (as " + dir /
                                   "claims/0.png says) need 768.2 GiB in memory as 8-bit pixels, more than "));
  CHECK(has_line(one->notes(), " GiB: read from the files, each image decoded again whenever a batch takes it"));
  std::vector<uint8_t> px(size_t(3) << 26);
  one->image(0, px.data());
  CHECK((px.front() == 255 && px.back() == 255));
}

// Registered as its own ctest entry (cpu.test_dataset.fashion_mnist), which
// reports itself skipped when the dataset is not installed.
TEST_CASE("Fashion-MNIST opens from the IDX files, padded to 32x32", "[dataset][fashion-mnist]") {
  INFO("dataset-fashion-mnist is not installed in " << kFashionMnistDir << " (scripts/install_deps.sh installs it)");
  REQUIRE(fashion_mnist_installed());
  DatasetOptions opt;
  opt.use_labels = true;
  auto ds = open_dataset("", opt);
  CHECK(ds->name() == "fashion-mnist");
  REQUIRE(ds->size() == 60000);
  CHECK(ds->channels() == 1);
  CHECK(ds->resolution() == 32);
  CHECK(ds->c_dim() == 10);
  std::vector<int64_t> count(10, 0);
  for (int64_t i = 0; i < ds->size(); ++i) {
    const int64_t l = ds->label(i);
    REQUIRE((l >= 0 && l < 10));
    ++count[static_cast<size_t>(l)];
  }
  for (int64_t c : count) CHECK(c == 6000);  // the training split is balanced

  const auto batch = ds->batch({0, 1, 59999});
  CHECK(batch.images.shape() == Shape{3, 1, 32, 32});
  const auto v = batch.images.to_vector();
  double interior_max = -1;
  for (size_t n = 0; n < 3; ++n)
    for (size_t y = 0; y < 32; ++y)
      for (size_t x = 0; x < 32; ++x) {
        const double p = v[(n * 32 + y) * 32 + x];
        REQUIRE((p >= -1.0 && p <= 1.0));
        if (y < 2 || y >= 30 || x < 2 || x >= 30) REQUIRE(p == -1.0);
        else interior_max = std::max(interior_max, p);
      }
  CHECK(interior_max > 0.5);
  CHECK(batch.labels.to_vector()[9] == 1.0);  // image 0 is class 9 (ankle boot)

  opt.use_labels = false;
  opt.max_images = 100;
  auto small = open_dataset("", opt);
  CHECK(small->size() == 100);
  CHECK_FALSE(small->has_labels());
}

TEST_CASE("infinite sampler: seeded, covers the dataset, resumes exactly", "[dataset]") {
  InfiniteSampler a(100, 7), b(100, 7), c(100, 8);
  const auto first = a.next_batch(100);
  CHECK(first == b.next_batch(100));
  CHECK(first != c.next_batch(100));
  // The window swaps reach back across the epoch boundary, so only a sampler
  // without them walks an exact permutation; with them every item still comes up.
  const auto more = a.next_batch(2000);
  CHECK(std::set<int64_t>(more.begin(), more.end()).size() == 100);
  const auto plain = InfiniteSampler(100, 7, true, 0.0).next_batch(100);
  CHECK(std::set<int64_t>(plain.begin(), plain.end()).size() == 100);
  CHECK(plain != InfiniteSampler(100, 7, false, 0.0).next_batch(100));

  const io::TensorMap state = a.state_dict();
  InfiniteSampler resumed(100, 12345);
  resumed.load_state_dict(state);
  CHECK(resumed.next_batch(250) == a.next_batch(250));

  InfiniteSampler ordered(5, 0, /*shuffle=*/false, /*window=*/0);
  CHECK(ordered.next_batch(7) == std::vector<int64_t>{0, 1, 2, 3, 4, 0, 1});
  CHECK_THROWS_AS(InfiniteSampler(10, 0).load_state_dict(state), Error);  // wrong size
}

TEST_CASE("folder links: a link loop or a link inside the dataset is not followed; what is read does not depend on the walk's order", "[dataset]") {
  TempDir dir("links");
  write_file(dir / "data/sub/a.png", png_bytes(8, 8, 3, 0));
  write_file(dir / "elsewhere/b.png", png_bytes(8, 8, 3, 100));
  fs::create_directory_symlink("..", dir / "data/sub/up");    // a loop: read forever, 40 links deep in every branch
  fs::create_directory_symlink("sub", dir / "data/alias");    // sub again, under another name
  fs::create_directory_symlink(dir / "elsewhere", dir / "data/ext");  // a folder outside: read
  fs::create_directory_symlink(dir / "data", dir / "elsewhere/back");  // and a loop back through it
  auto ds = open_dataset(dir / "data", {});
  REQUIRE(ds->size() == 2);  // sub/a.png and ext/b.png, once each
  std::vector<uint8_t> img(3 * 64);
  ds->image(0, img.data());
  CHECK(img[0] == 100);  // ext/b.png sorts first
  ds->image(1, img.data());
  CHECK(img[0] == 0);
  const auto& notes = ds->notes();
  CHECK(has_line(notes, "  " + dir / "data/alias: a link to " + (fs::canonical(dir / "data/sub")).string() +
                            ", inside or above the dataset folder: not followed"));
  CHECK(has_line(notes, "  " + dir / "data/sub/up: a link to "));
  CHECK(has_line(notes, "  " + dir / "data/ext/back: a link to "));
  // Two links to one folder outside: both read, whichever the walk meets
  // first (a first-come rule made the names, and dataset.json's lookup,
  // depend on the file system's order); a loop outside the dataset, through
  // a link back to a folder on the link's own path, is cut.
  fs::create_directory_symlink(dir / "elsewhere", dir / "data/ext2");
  fs::create_directory_symlink(dir / "elsewhere", dir / "elsewhere/self");
  auto twice = open_dataset(dir / "data", {});
  CHECK(twice->size() == 3);  // ext/b.png, ext2/b.png, sub/a.png
  CHECK(has_line(twice->notes(), "  " + dir / "data/ext/self: a link to a folder on its own path (a loop): not followed"));
  CHECK(has_line(twice->notes(), "  " + dir / "data/ext2/self: a link to a folder on its own path (a loop): not followed"));
  // Links that lead nowhere: to a missing file, and round a loop of file
  // links (which was called "a link to nothing" too).
  fs::create_symlink("missing.png", dir / "data/dangling.png");
  fs::create_symlink("loop_b.png", dir / "data/loop_a.png");
  fs::create_symlink("loop_a.png", dir / "data/loop_b.png");
  auto dead = open_dataset(dir / "data", {});
  CHECK(dead->size() == 3);
  CHECK(has_line(dead->notes(), "  " + dir / "data/dangling.png: a link to nothing"));
  // A link to a device is no link to nothing.
  fs::create_symlink("/dev/zero", dir / "data/zero.png");
  auto dev = open_dataset(dir / "data", {});
  CHECK(has_line(dev->notes(), "  " + dir / "data/zero.png: a link to something that is not a regular file"));
  CHECK(has_line(dead->notes(), "  " + dir / "data/loop_a.png: a link in a loop of links"));
  CHECK(has_line(dead->notes(), "  " + dir / "data/loop_b.png: a link in a loop of links"));
}

TEST_CASE("a folder dataset is named by the folder however the path is written", "[dataset]") {
  gf::test::TempDir dir("dataset_name");
  const fs::path photos = dir.path / "my photos";
  fs::create_directories(photos);
  write_file((photos / "a.png").string(), png_bytes(8, 8, 3, 10));
  for (const std::string& given : {photos.string(), photos.string() + "/", (photos / ".").string()})
    CHECK(open_dataset(given)->name() == "my photos");
  // "." from inside the folder: the working folder's name, not ".".
  const fs::path before = fs::current_path();
  fs::current_path(photos);
  const std::string name = open_dataset(".")->name();
  fs::current_path(before);
  CHECK(name == "my photos");
}

namespace {

// The key checkpoints of 2026-12-02 hold (checkpoint_state.h), written out
// from its definition: bytewise FNV-1a 64 over the count, shape and c_dim,
// then 16 evenly spread items' indices and pixels.
std::string sampled_key_as_defined(const gf::Dataset& ds) {
  uint64_t h = 1469598103934665603ull;
  auto bytes = [&](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  auto i64 = [&](int64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i));
    bytes(b, 8);
  };
  const int64_t n = ds.size();
  for (int64_t v : {n, int64_t(ds.resolution()), int64_t(ds.channels()), ds.c_dim()}) i64(v);
  std::vector<uint8_t> px(static_cast<size_t>(ds.channels()) * ds.resolution() * ds.resolution());
  const int64_t k = std::min<int64_t>(n, 16);
  for (int64_t j = 0; j < k; ++j) {
    const int64_t i = k == 1 ? 0 : j * (n - 1) / (k - 1);
    i64(i);
    ds.image(i, px.data());
    bytes(px.data(), px.size());
  }
  char hex[20];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace

TEST_CASE("the resume key covers every image's pixels; a sampled key from before still reads", "[dataset]") {
  // 40 images: item 1 is none of the 16 the old key sampled (0, 2, 5, ...),
  // so data that differed there resumed, and ranks trained on it, unnoticed.
  std::vector<uint8_t> pixels(40 * 16);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 37 + 11);
  std::vector<uint8_t> other = pixels;
  other[1 * 16 + 5] ^= 1;
  const gf::Dataset a("a", 4, 1, pixels, {}, {}), renamed("b", 4, 1, pixels, {}, {}), changed("a", 4, 1, other, {}, {});
  const std::string key = gf::dataset_resume_key(a);
  CHECK(key.rfind("all-", 0) == 0);
  CHECK(gf::dataset_resume_key(renamed) == key);
  CHECK(gf::dataset_resume_key(changed) != key);
  // Two changes in words' top bytes (0x80 at bytes 7 and 15 of one image)
  // cancelled in a word-wise FNV without a fold.
  std::vector<uint8_t> top = pixels;
  top[3 * 16 + 7] ^= 0x80;
  top[3 * 16 + 15] ^= 0x80;
  CHECK(gf::dataset_resume_key(gf::Dataset("a", 4, 1, top, {}, {})) != key);
  gf::io::SafetensorsFile file;
  gf::add_dataset_metadata(file.metadata, a);
  CHECK_NOTHROW(gf::check_same_dataset(file, "ck.bin", renamed, "--data"));
  CHECK_THROWS_WITH(gf::check_same_dataset(file, "ck.bin", changed, "--data"),
                    Catch::Contains("(40 images, other pixels: key "));
  // The error names which part changed: labels, pixels or both; a checkpoint
  // without the parts' keys (before 2026-12-04) can only say "other content".
  std::vector<int64_t> classes(40, 0), other_classes(40, 0);
  other_classes[7] = 1;
  const gf::Dataset labelled("a", 4, 1, pixels, classes, {}, 2), relabelled("a", 4, 1, pixels, other_classes, {}, 2),
      both("a", 4, 1, other, other_classes, {}, 2);
  gf::io::SafetensorsFile lf;
  gf::add_dataset_metadata(lf.metadata, labelled);
  CHECK_NOTHROW(gf::check_same_dataset(lf, "ck.bin", labelled, "--data"));
  CHECK_THROWS_WITH(gf::check_same_dataset(lf, "ck.bin", relabelled, "--data"), Catch::Contains(", other labels: key "));
  CHECK_THROWS_WITH(gf::check_same_dataset(lf, "ck.bin", both, "--data"),
                    Catch::Contains(", other pixels and labels: key "));
  // Another count (--mirror doubles it) is named as such, not as other pixels and labels.
  std::vector<uint8_t> fewer(pixels.begin(), pixels.end() - 16);
  const gf::Dataset shorter("a", 4, 1, fewer, std::vector<int64_t>(39, 0), {}, 2);
  CHECK_THROWS_WITH(gf::check_same_dataset(lf, "ck.bin", shorter, "--data"),
                    Catch::Contains("(39 images, another image count: key "));
  lf.metadata.erase("dataset_labels_key");
  lf.metadata.erase("dataset_pixels_key");
  CHECK_THROWS_WITH(gf::check_same_dataset(lf, "ck.bin", relabelled, "--data"), Catch::Contains(", other content: key "));
  // A checkpoint of the sampled key: compared as it was made (it cannot see item 1).
  file.metadata["dataset_key"] = sampled_key_as_defined(a);
  CHECK_NOTHROW(gf::check_same_dataset(file, "ck.bin", changed, "--data"));
  other[0] ^= 1;  // item 0 is sampled
  const gf::Dataset changed_sampled("a", 4, 1, other, {}, {});
  CHECK_THROWS_WITH(gf::check_same_dataset(file, "ck.bin", changed_sampled, "--data"), Catch::Contains("other content"));
}

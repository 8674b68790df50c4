// Datasets and image files: the zip reader (stored and deflated entries,
// corruption), folder and zip datasets with labels, the errors that name the
// bad file, Fashion-MNIST, the infinite sampler, and image grids.
//
// tests/data/dataset_fixture.zip was written by Python's zipfile (deflate):
// a.png (8x8 RGB, value (30x + 10c) % 256), sub/ (a folder entry), sub/b.png
// (8x8 gray, value 30y), c.png (8x8 RGB, value 255 - (x + 8y + c)) and a
// dataset.json labelling them 1, 0, 2.
#include <catch2/catch.hpp>
#include <stb_image_write.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "engine/io/atomic_file.h"
#include "tests/testing.h"
#include "train/dataset.h"
#include "train/image_io.h"
#include "train/zip_reader.h"

using namespace gf;
namespace fs = std::filesystem;

namespace {

const std::string kFixture = std::string(GF_TEST_DATA_DIR) + "/dataset_fixture.zip";

// A fresh, empty folder under the system temp dir, removed at scope exit.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    path = fs::temp_directory_path() / ("gf_test_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::string png_bytes(int w, int h, int c, uint8_t base) {
  std::vector<uint8_t> px(static_cast<size_t>(w * h * c));
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(base + i);
  std::string out;
  auto append = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append((char*)data, size); };
  REQUIRE(stbi_write_png_to_func(append, &out, w, h, c, px.data(), w * c));
  return out;
}

void write_file(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

// A zip with stored entries, as the official dataset_tool writes them.
std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out, cd;
  auto u16 = [](std::string& s, uint32_t v) { s.push_back(char(v & 0xFF)), s.push_back(char(v >> 8 & 0xFF)); };
  auto u32 = [&](std::string& s, uint32_t v) { u16(s, v & 0xFFFF), u16(s, v >> 16); };
  for (const auto& [name, data] : files) {
    const uint32_t crc = crc32(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    const uint32_t offset = static_cast<uint32_t>(out.size());
    u32(out, 0x04034b50), u16(out, 20), u16(out, 0), u16(out, 0), u16(out, 0), u16(out, 0);
    u32(out, crc), u32(out, uint32_t(data.size())), u32(out, uint32_t(data.size()));
    u16(out, uint32_t(name.size())), u16(out, 0);
    out += name + data;
    u32(cd, 0x02014b50), u16(cd, 20), u16(cd, 20), u16(cd, 0), u16(cd, 0), u16(cd, 0), u16(cd, 0);
    u32(cd, crc), u32(cd, uint32_t(data.size())), u32(cd, uint32_t(data.size()));
    u16(cd, uint32_t(name.size())), u16(cd, 0), u16(cd, 0), u16(cd, 0), u16(cd, 0), u32(cd, 0), u32(cd, offset);
    cd += name;
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += cd;
  u32(out, 0x06054b50), u16(out, 0), u16(out, 0), u16(out, uint32_t(files.size())), u16(out, uint32_t(files.size()));
  u32(out, uint32_t(cd.size())), u32(out, cd_offset), u16(out, 0);
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("crc32 matches the standard check value", "[dataset]") {
  const std::string s = "123456789";
  CHECK(crc32(reinterpret_cast<const uint8_t*>(s.data()), s.size()) == 0xCBF43926u);
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
  write_file(dir / "junk.zip", "not a zip at all, just some text to be rejected");
  CHECK(error_of([&] { ZipReader z(dir / "junk.zip"); }).find("not a zip file") != std::string::npos);
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
  write_file(dir / "corrupt/a.png", png_bytes(8, 8, 3, 0));
  write_file(dir / "corrupt/b.png", "\x89PNG garbage that is not an image");
  expect("corrupt", "corrupt/b.png", "not a readable image");
  // A valid header over a truncated body fails at decode time, still naming the file.
  const std::string png = png_bytes(8, 8, 3, 7);
  write_file(dir / "truncated/a.png", png.substr(0, 40));
  expect("truncated", "truncated/a.png", "image");
  write_file(dir / "empty/readme.txt", "no images");
  expect("empty", "empty", "no PNG or JPEG images");
  DatasetOptions cond;
  cond.use_labels = true;
  write_file(dir / "nolabels/a.png", png_bytes(8, 8, 3, 0));
  expect("nolabels", "nolabels", "needs labels", cond);
  write_file(dir / "missing/a.png", png_bytes(8, 8, 3, 0));
  write_file(dir / "missing/b.png", png_bytes(8, 8, 3, 0));
  write_file(dir / "missing/dataset.json", R"({"labels": [["a.png", 1]]})");
  expect("missing", "b.png", "no label", cond);
  CHECK(error_of([&] { open_dataset(dir / "nowhere", {}); }).find("no such file") != std::string::npos);
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

TEST_CASE("image grid: written as a PNG that reads back exactly", "[dataset]") {
  TempDir dir("grid");
  // Values on the uint8 grid survive the round trip exactly; out-of-range ones clip.
  std::vector<double> v(6 * 3 * 4 * 5);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>((i * 37) % 256) / 127.5 - 1.0;
  v[0] = -3.0;
  v[1] = 2.5;
  const Tensor imgs = Tensor::from_vector(v, {6, 3, 4, 5});
  const std::string path = dir / "grid.png";
  save_image_grid(imgs, path, /*gw=*/3, /*gh=*/2);
  CHECK_FALSE(fs::exists(io::temp_name(path)));
  const Tensor back = read_image(path);
  REQUIRE(back.shape() == Shape{1, 3, 8, 15});
  const auto r = back.to_vector();
  for (int64_t n = 0; n < 6; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < 4; ++y)
        for (int64_t x = 0; x < 5; ++x) {
          const int64_t gy = n / 3, gx = n % 3;
          double want = v[static_cast<size_t>(((n * 3 + c) * 4 + y) * 5 + x)];
          want = std::min(1.0, std::max(-1.0, want));
          REQUIRE(r[static_cast<size_t>((c * 8 + gy * 4 + y) * 15 + gx * 5 + x)] == Approx(want).margin(1e-9));
        }
  // Gray grids stay gray; a wrong image count is refused.
  save_image_grid(Tensor::from_vector(std::vector<double>(4 * 16, 0.0), {4, 1, 4, 4}), dir / "gray.png", 2, 2);
  CHECK(read_image(dir / "gray.png").shape() == Shape{1, 1, 8, 8});
  CHECK_THROWS_AS(save_image_grid(imgs, dir / "bad.png", 4, 2), Error);
  CHECK_FALSE(fs::exists(dir / "bad.png"));
}

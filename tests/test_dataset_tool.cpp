// dataset_tool's output, read back by the training loader (data/dataset.h):
// the pixels are the source's, centre-cropped and resized with PIL's
// filters (data/images/image_resize.h), in source order, with the source's labels;
// a .zip gives the same dataset as a folder; MNIST's IDX files give the
// Fashion-MNIST images the trainer pads itself. (The comparison with the
// official semantics in NumPy and PIL is tests/cli/dataset_tool.cmake.)
// GF_BIN_DIR comes from tests/cli/bad_input.cmake.
#include <catch2/catch.hpp>
#include <stb_image_write.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "data/dataset.h"
#include "data/mnist_idx.h"
#include "data/images/image_resize.h"
#include "tests/testing.h"
#include "tests/zip_fixture.h"

using namespace gf;
namespace fs = std::filesystem;

namespace {

const std::string kBin = GF_BIN_DIR;

using gf::test::TempDir;

int run(const std::string& command) {
  return gf::test::shell("OMP_NUM_THREADS=1 " + command + " > /dev/null");
}

struct Source {
  int w, h;
  std::vector<uint8_t> px;  // HWC RGB
};

// The official center-crop: the square of the short side, centred with integer division.
std::vector<uint8_t> center_crop(const Source& s) {
  const int c = std::min(s.w, s.h), top = (s.h - c) / 2, left = (s.w - c) / 2;
  std::vector<uint8_t> out;
  for (int y = 0; y < c; ++y)
    for (int x = 0; x < c; ++x)
      for (int k = 0; k < 3; ++k) out.push_back(s.px[(size_t(top + y) * s.w + left + x) * 3 + k]);
  return out;
}

// Item i of ds as HWC.
std::vector<uint8_t> hwc(const Dataset& ds, int64_t i) {
  const int r = ds.resolution(), c = ds.channels();
  std::vector<uint8_t> chw(size_t(c) * r * r), out(chw.size());
  ds.image(i, chw.data());
  for (int k = 0; k < c; ++k)
    for (int p = 0; p < r * r; ++p) out[size_t(p) * c + k] = chw[size_t(k) * r * r + p];
  return out;
}

}  // namespace

TEST_CASE("dataset_tool's folder and zip read back by the loader: cropped, resized pixels and labels",
          "[dataset_tool]") {
  TempDir dir("dataset_tool");
  const fs::path src = dir.path / "photos";
  fs::create_directories(src / "more");
  // Non-square photos of odd sizes, in source order (sorted names), and their classes.
  const std::vector<std::pair<std::string, std::pair<int, int>>> files = {
      {"a.png", {40, 30}}, {"b.png", {31, 53}}, {"more/c.png", {64, 47}}};
  const std::vector<int> classes = {2, 0, 1};
  std::vector<Source> sources;
  uint32_t state = 7;
  for (const auto& [name, wh] : files) {
    Source s{wh.first, wh.second, {}};
    for (int i = 0; i < s.w * s.h * 3; ++i) s.px.push_back(uint8_t((state = state * 1664525u + 1013904223u) >> 24));
    REQUIRE(stbi_write_png((src / name).c_str(), s.w, s.h, 3, s.px.data(), s.w * 3));
    sources.push_back(std::move(s));
  }
  std::ofstream(src / "dataset.json") << R"({"labels": [["a.png", 2], ["b.png", 0], ["more/c.png", 1]]})";

  const std::string cmd = kBin + "/dataset_tool --source " + src.string() + " --transform center-crop --width 16 --height 16";
  REQUIRE(run(cmd + " --dest " + (dir.path / "out").string()) == 0);
  REQUIRE(run(cmd + " --dest " + (dir.path / "out.zip").string()) == 0);
  DatasetOptions opt;
  opt.use_labels = true;
  for (const std::string out : {"out", "out.zip"}) {
    INFO(out);
    const auto ds = open_dataset((dir.path / out).string(), opt);
    REQUIRE(ds->size() == 3);
    REQUIRE(ds->resolution() == 16);
    REQUIRE(ds->channels() == 3);
    for (int64_t i = 0; i < 3; ++i) {
      const Source& s = sources[size_t(i)];
      const int c = std::min(s.w, s.h);
      CHECK(hwc(*ds, i) == resize_lanczos_pil(center_crop(s), c, c, 3, 16, 16));
      CHECK(ds->label(i) == classes[size_t(i)]);
    }
  }
  // A source without dataset.json: the loader finds "labels": null, no classes.
  fs::remove(src / "dataset.json");
  REQUIRE(run(cmd + " --resize-filter box --dest " + (dir.path / "unlabelled").string()) == 0);
  const auto ds = open_dataset((dir.path / "unlabelled").string());
  CHECK_FALSE(ds->has_labels());
  const int c = std::min(sources[1].w, sources[1].h);
  CHECK(hwc(*ds, 1) == resize_box_pil(center_crop(sources[1]), c, c, 3, 16, 16));
}

TEST_CASE("dataset_tool on Fashion-MNIST's IDX files gives the images and classes the trainer reads",
          "[dataset_tool][fashion-mnist]") {
  TempDir dir("dataset_tool_mnist");
  const std::string out = (dir.path / "fm.zip").string();
  REQUIRE(run(kBin + "/dataset_tool --source " + std::string(kFashionMnistDir) +
              "/train-images-idx3-ubyte.gz --max-images 20 --dest " + out) == 0);
  DatasetOptions opt;
  opt.use_labels = true;
  const auto got = open_dataset(out, opt), want = open_dataset("", opt);
  REQUIRE(got->size() == 20);
  REQUIRE(got->resolution() == 32);
  REQUIRE(got->channels() == 1);
  for (int64_t i = 0; i < 20; ++i) {
    CHECK(hwc(*got, i) == hwc(*want, i));
    CHECK(got->label(i) == want->label(i));
  }
}

TEST_CASE("dataset_tool passes labels on as they are, as the official, and says in one line when --cond will refuse them",
          "[dataset_tool]") {
  TempDir dir("dataset_tool_label_vectors");
  const fs::path src = dir.path / "photos";
  fs::create_directories(src);
  const std::vector<uint8_t> px(8 * 8 * 3, 128);
  for (const char* name : {"a.png", "b.png"}) REQUIRE(stbi_write_png((src / name).c_str(), 8, 8, 3, px.data(), 8 * 3));
  const std::string base = kBin + "/dataset_tool --source " + src.string() + " --dest ";
  const fs::path log = dir.path / "stderr.txt";
  auto warning = [&] {
    std::ifstream f(log);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  // Class indices: no warning.
  std::ofstream(src / "dataset.json") << R"({"labels": [["a.png", 1], ["b.png", 0]]})";
  REQUIRE(run(base + (dir.path / "classes.zip").string() + " 2> " + log.string()) == 0);
  CHECK(warning().empty());
  // Label vectors (the official trainer's float labels): written as given, no warning.
  std::ofstream(src / "dataset.json") << R"({"labels": [["a.png", [0.5, 1.5]], ["b.png", [3, -1e-3]]]})";
  const fs::path vectors = dir.path / "vectors";
  REQUIRE(run(base + vectors.string() + " 2> " + log.string()) == 0);
  CHECK(warning().empty());
  std::ifstream vectors_meta(vectors / "dataset.json");
  CHECK(std::string(std::istreambuf_iterator<char>(vectors_meta), {}) ==
        "{\"labels\": [[\"00000/img00000000.png\", [0.5, 1.5]], [\"00000/img00000001.png\", [3, -0.001]]]}");
  // A vector and a class index (np.array of them fails in the official
  // trainer): written as given, and one warning line.
  std::ofstream(src / "dataset.json") << R"({"labels": [["a.png", [0.5, 1.5]], ["b.png", 3]]})";
  const fs::path out = dir.path / "mixed";
  REQUIRE(run(base + out.string() + " 2> " + log.string()) == 0);
  CHECK(warning() ==
        "dataset_tool: warning: --cond will refuse these labels: the label of '00000/img00000001.png' is a class index, "
        "the label of '00000/img00000000.png' a label vector of 2 entries: the labels must be all class indices or all "
        "vectors of one length\n");
  std::ifstream meta(out / "dataset.json");
  CHECK(std::string(std::istreambuf_iterator<char>(meta), {}).find("[0.5, 1.5]") != std::string::npos);
  // One image without a label: "labels" is null (as the official tool writes it), said in one line.
  std::ofstream(src / "dataset.json") << R"({"labels": [["a.png", 1]]})";
  REQUIRE(run(base + (dir.path / "partial").string() + " 2> " + log.string()) == 0);
  CHECK(warning() == "dataset_tool: warning: 1 of 2 images have no label in dataset.json (the first: b.png), so none "
                     "keeps its label: \"labels\" is null, as the official tool writes it\n");
  std::ifstream partial(dir.path / "partial" / "dataset.json");
  CHECK(std::string(std::istreambuf_iterator<char>(partial), {}) == "{\"labels\": null}");
  // The trainer's loader refuses the same label with the same words.
  DatasetOptions opt;
  opt.use_labels = true;
  CHECK_THROWS_WITH(open_dataset(out.string(), opt),
                    Catch::Contains("the label of '00000/img00000001.png' is a class index, the label of '00000/img00000000.png' a label vector"));
  CHECK(open_dataset(vectors.string(), opt)->c_dim() == 2);
}

// A zip that names a file twice (zipfile's append mode writes it again): the
// official open_image_zip lists sorted(z.namelist()), which holds the name
// twice, and z.open(name) reads the last record both times: three images.
TEST_CASE("dataset_tool lists a name a zip holds twice twice, each its last record, as the official", "[dataset_tool]") {
  TempDir dir("dataset_tool_twice");
  auto png = [](uint8_t v) {
    const std::vector<uint8_t> px(8 * 8 * 3, v);
    std::string out;
    auto append = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append(static_cast<char*>(data), size); };
    REQUIRE(stbi_write_png_to_func(append, &out, 8, 8, 3, px.data(), 8 * 3));
    return out;
  };
  const fs::path src = dir.path / "dup.zip", out = dir.path / "out";
  std::ofstream(src, std::ios::binary) << gf::test::stored_zip({{"a.png", png(10)}, {"b.png", png(20)}, {"a.png", png(30)}});
  REQUIRE(run(kBin + "/dataset_tool --source " + src.string() + " --dest " + out.string()) == 0);
  const auto ds = open_dataset(out.string());
  REQUIRE(ds->size() == 3);
  CHECK(hwc(*ds, 0)[0] == 30);
  CHECK(hwc(*ds, 1)[0] == 30);
  CHECK(hwc(*ds, 2)[0] == 20);
}

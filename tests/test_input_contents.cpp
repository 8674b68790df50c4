// Bad and unusual input as users meet it, in the inputs' contents, each case
// run through the program a user runs (issue 11):
//  - transparent images are refused before any run folder is made;
//  - every .npy input refuses no rows, a wrong shape or dtype, an empty file;
//  - psp names each file of a folder or zip it skips;
//  - a many-gigabyte file that is no zip is named from its head, in one line.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/npy.h"
#include "engine/ops.h"
#include "data/dataset.h"
#include "data/archives/npz.h"
#include "tests/program_runs.h"
#include "tests/testing.h"
#include "tests/zip_fixture.h"

namespace fs = std::filesystem;
using gf::test::file_bytes;
using gf::test::kBase;
using gf::test::kBin;
using gf::test::kSource;
using gf::test::png;
using gf::test::quoted;
using gf::test::Result;
using gf::test::run;
using gf::test::write;

TEST_CASE("transparent training images are refused before any run folder is made", "[bad_input]") {
  const fs::path base = kBase / "alpha";
  fs::remove_all(base);
  // The reported case: left half opaque, right half alpha 0 over pure red.
  std::vector<uint8_t> rgba(8 * 8 * 4, 0);
  for (int i = 0; i < 64; ++i) {
    const bool left = i % 8 < 4;
    rgba[i * 4 + 0] = left ? 40 : 255;
    rgba[i * 4 + 3] = left ? 255 : 0;
  }
  for (int k = 0; k < 6; ++k) write(base / "data" / (std::to_string(k) + ".png"), png(8, 8, 4, rgba));
  const Result r = run(kBin + "/train_stylegan --cfg tiny --kimg 0 --data " + (base / "data").string() + " --outdir " +
                       (base / "runs").string());
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.lines() == 1);
  CHECK(r.out.rfind("train_stylegan: error: " + (base / "data/0.png").string() + ": has transparent pixels", 0) == 0);
  CHECK(r.out.find("(5 more images have transparent pixels)") != std::string::npos);
  CHECK_FALSE(fs::exists(base / "runs"));
  fs::remove_all(base);
}

// Every program input that is an array (.npy) refuses, in one line naming
// the file: no rows (N = 0), a wrong shape, a dtype other than float, an
// empty file, and a NaN or an infinity (they gave black images or NaN
// latents, and exit 0), named with the first bad element. Without the N check, psp encode failed deep in concat and psp
// mix wrote nothing and exited 0.
TEST_CASE("every .npy input refuses N = 0, a wrong shape, an integer dtype (labels aside), an empty file and a NaN in one line",
          "[bad_input]") {
  const fs::path base = kBase / "arrays";
  fs::remove_all(base);
  fs::create_directories(base / "out");
  const std::string data = kSource + "/tests/data/", out = (base / "out").string();
  const struct {
    std::string program, command;  // the bad array's path follows the command
    gf::Shape row;                 // the shape of one good row
  } inputs[] = {
      {"discriminate", "discriminate --network " + data + "parity_32x1.bin --out " + out + "/l.npy --images", {1, 32, 32}},
      {"discriminate", "discriminate --network " + data + "pggan_32x1.bin --out " + out + "/l.npy --images", {1, 32, 32}},
      {"discriminate", "discriminate --network " + data + "stylegan_16x3.bin --out " + out + "/l.npy --images", {3, 16, 16}},
      {"generate", "generate --network " + data + "parity_32x1.bin --outdir " + out + " --z", {16}},
      {"generate", "generate --network " + data + "parity_32x1.bin --outdir " + out + " --w", {16}},
      {"generate", "generate --network " + data + "parity_32x3_c4.bin --outdir " + out + " --seeds 0 --c", {4}},
      {"generate", "generate --network " + data + "pggan_32x1.bin --outdir " + out + " --z", {8}},
      {"generate", "generate --network " + data + "stylegan_16x3.bin --outdir " + out + " --z", {8}},
      {"psp encode", "psp encode --network " + data + "psp_gradual.bin --outdir " + out + " --images", {3, 32, 32}},
      {"psp mix", "psp mix --network " + data + "psp_gradual.bin --latent-mask 4 --outdir " + out + " --images", {3, 32, 32}},
  };
  int k = 0;
  for (const auto& in : inputs) {
    // The good row shape first makes the check of each bad file meaningful: the program takes it.
    gf::Shape zero = in.row, one = in.row;
    zero.insert(zero.begin(), 0);
    one.insert(one.begin(), 1);
    const std::string dir = (base / std::to_string(k++)).string() + "/";
    fs::create_directories(dir);
    gf::io::save_npy(dir + "good.npy", gf::zeros(one));
    gf::io::save_npy(dir + "zero rows.npy", gf::zeros(zero));  // a space in the path too
    gf::io::save_npy(dir + "flat.npy", gf::zeros({7}));
    std::string ints = file_bytes(dir + "good.npy");
    ints.replace(ints.find("<f4"), 3, "<i4");
    write(dir + "ints.npy", ints);
    write(dir + "empty.npy", "");
    // One NaN, last in the second row (float32); one -inf, first (float64).
    gf::Shape two = in.row;
    two.insert(two.begin(), 2);
    const int64_t per_row = gf::shape_numel(in.row);
    std::vector<double> values(static_cast<size_t>(2 * per_row), 0.25);
    values.back() = std::nan("");
    gf::io::save_npy(dir + "nan.npy", gf::Tensor::from_vector(values, two, gf::DType::f32, gf::Device::cpu()));
    values.back() = 0.25;
    values.front() = -INFINITY;
    gf::io::save_npy(dir + "inf.npy", gf::Tensor::from_vector(values, two, gf::DType::f64, gf::Device::cpu()));
    std::string last = "1", first = "0";
    for (int64_t d : in.row) {
      last += ", " + std::to_string(d - 1);
      first += ", 0";
    }
    const std::string cmd = kBin + "/" + in.command + " ";
    const Result good = run(cmd + quoted(dir + "good.npy"));
    INFO(in.command << " good.npy -> " << good.out);
    CHECK(good.code == 0);
    const struct {
      std::string file, says;
    } bad[] = {{"zero rows.npy", "N >= 1"},
               {"flat.npy", "shape [7]"},
               {"ints.npy", "dtype '<i4' is not supported"},
               {"empty.npy", "not a .npy file"},
               {"nan.npy", ": element [" + last + "] is nan (the array must hold finite numbers)"},
               {"inf.npy", ": element [" + first + "] is -inf (the array must hold finite numbers)"}};
    // Labels (--c) are read as integers too, as the official networks cast c.
    const bool labels = in.command.size() > 4 && in.command.compare(in.command.size() - 4, 4, " --c") == 0;
    for (const auto& b : bad) {
      const Result r = run(cmd + quoted(dir + b.file));
      INFO(in.command << " " << b.file << " -> exit " << r.code << ":\n" << r.out);
      if (labels && b.file == "ints.npy") {
        CHECK(r.code == 0);
        continue;
      }
      CHECK(r.code == 1);
      CHECK(r.lines() == 1);
      CHECK(r.out.rfind(in.program + ": error: ", 0) == 0);
      CHECK(r.out.find(dir + b.file) != std::string::npos);
      CHECK(r.out.find(b.says) != std::string::npos);
    }
  }
  // The projector's projected_w.npz, read by generate --projected-w: 'w' [N, num_ws, w_dim].
  std::vector<double> w(2 * 8 * 16, 0.5);
  w[8 * 16 + 5] = INFINITY;
  gf::save_npz((base / "w.npz").string(), {{"w", gf::Tensor::from_vector(w, {2, 8, 16}, gf::DType::f32, gf::Device::cpu())}});
  const Result r = run(kBin + "/generate --network " + data + "parity_32x1.bin --outdir " + out + " --projected-w " +
                       (base / "w.npz").string());
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out == "generate: error: --projected-w " + (base / "w.npz").string() +
                     ": 'w': element [1, 0, 5] is inf (the array must hold finite numbers)\n");
  fs::remove_all(base);
}

// psp reads a folder or zip as the training datasets do (data/dataset.h):
// each file it cannot use is named on stderr and the rest are encoded; an
// image that would stop the run (transparent pixels) stops it before any output.
TEST_CASE("psp names each file of a folder or zip that it skips; a transparent image stops it before any output",
          "[bad_input]") {
  const fs::path base = kBase / "psp_skips";
  fs::remove_all(base);
  std::vector<uint8_t> px(32 * 32 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(i * 7);
  const std::string good = png(32, 32, 3, px);
  std::vector<std::pair<std::string, std::string>> files = {
      {"good.png", good}, {"notes.txt", "not an image"}, {"truncated.png", good.substr(0, 60)}};
  for (const auto& [name, bytes] : files) write(base / "folder" / name, bytes);
  files.push_back({"deflate64.png", good});
  std::string zip = gf::test::stored_zip(files);
  zip[zip.rfind(std::string("PK\x01\x02", 4)) + 10] = 9;  // Deflate64, which neither this reader nor Python's reads
  write(base / "set.zip", zip);
  const std::string encode = kBin + "/psp encode --network " + kSource + "/tests/data/psp_gradual.bin --no-images";
  for (const fs::path& images : {base / "folder", base / "set.zip"}) {
    const fs::path out = base / ("out_" + images.filename().string());
    const Result r = run(encode + " --images " + images.string() + " --outdir " + out.string());
    INFO(r.out);
    CHECK(r.code == 0);
    CHECK(r.out.find("psp: skipped " + (images / "notes.txt").string() + ": " + gf::kNotImageNameReason) != std::string::npos);
    CHECK(r.out.find("psp: skipped " + (images / "truncated.png").string() + ": truncated PNG: the file ends before its pixels do") !=
          std::string::npos);
    CHECK((r.out.find("psp: skipped " + (images / "deflate64.png").string() + ": entry uses compression method 9") !=
           std::string::npos) == (images.extension() == ".zip"));
    CHECK(r.out.find("psp encode: 1 image -> ") != std::string::npos);
    CHECK(file_bytes(out / "names.txt") == "good\n");
  }
  // Transparent pixels: refused before the output folder is made, as train_stylegan refuses them.
  std::vector<uint8_t> rgba(32 * 32 * 4, 255);
  rgba[3] = 0;
  write(base / "alpha/a.png", good);
  write(base / "alpha/b.png", png(32, 32, 4, rgba));
  const Result r = run(encode + " --images " + (base / "alpha").string() + " --outdir " + (base / "out_alpha").string());
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.lines() == 1);
  CHECK(r.out.rfind("psp encode: error: " + (base / "alpha/b.png").string() + ": has transparent pixels", 0) == 0);
  CHECK_FALSE(fs::exists(base / "out_alpha"));
  // --n-images 1: the scan stops at the first usable image (a 70k-image folder
  // for a few images), so b.png, never encoded, does not stop the run.
  const Result first = run(encode + " --n-images 1 --images " + (base / "alpha").string() + " --outdir " +
                           (base / "out_first").string());
  INFO(first.out);
  CHECK(first.code == 0);
  CHECK(file_bytes(base / "out_first/names.txt") == "a\n");
  fs::remove_all(base);
}

// A --data or --images file that is no zip is named by its head alone: a
// tar of the dataset (the reported case, gigabytes) was read whole to see
// whether it was one image, which ended in "std::bad_alloc" or the OOM
// killer. Run under a 1 GiB address-space limit with a sparse 3 GiB tar.
TEST_CASE("a many-gigabyte --data or --images file that is no zip is named from its head, in one line", "[bad_input]") {
  const fs::path base = kBase / "big_archive";
  fs::remove_all(base);
  fs::create_directories(base);
  const fs::path tar = base / "dataset.tar";
  write(tar, std::string(257, '\0') + "ustar");
  fs::resize_file(tar, 3ull << 30);  // sparse: no disk used
  const std::string T = tar.string();
  const struct {
    std::string command, program;
  } cases[] = {
      {kBin + "/train_stylegan --cfg tiny --kimg 0 --data " + T + " --outdir " + (base / "runs").string(), "train_stylegan"},
      {kBin + "/psp encode --network " + kSource + "/tests/data/psp_gradual.bin --images " + T + " --outdir " +
           (base / "out").string(), "psp encode"},
  };
  for (const auto& c : cases) {
    const Result r = run("ulimit -v 1048576; " + c.command);
    INFO(c.command << " -> exit " << r.code << ":\n" << r.out);
    CHECK(r.code == 1);
    CHECK(r.lines() == 1);
    CHECK(r.out == c.program + ": error: " + T + ": not a folder or a .zip of images (a tar archive: unpack it to a folder, or make a .zip)\n");
  }
  fs::remove_all(base);
}

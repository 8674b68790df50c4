// Bad and unusual input as users meet it, in training, each case run through
// the program a user runs (issue 11):
//  - a run with nothing to train (--kimg 0, a finished
//    checkpoint resumed) still trains one minibatch and writes a network, as
//    the official loop does; the options a run records pass back through
//    their flags;
//  - a dataset's skipped files are named in the run log;
//  - train_psp's missing weights files and losses without their network, and
//    train_stylegan's augmentation flags that do not go together, are one line.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "tests/program_runs.h"
#include "tests/testing.h"

using nlohmann::json;
namespace fs = std::filesystem;
using gf::test::file_bytes;
using gf::test::kBase;
using gf::test::kBin;
using gf::test::kSource;
using gf::test::png;
using gf::test::Result;
using gf::test::run;
using gf::test::write;

namespace {

// The one run folder under outdir.
fs::path run_folder(const fs::path& outdir) {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(outdir)) dirs.push_back(e.path());
  REQUIRE(dirs.size() == 1);
  return dirs[0];
}

}  // namespace

TEST_CASE("a run with nothing to train still trains a minibatch and writes a network; its options pass back",
          "[bad_input]") {
  const fs::path base = kBase / "train";
  fs::remove_all(base);
  // The reported dataset: 6 PNGs and 2 BMPs (and a file that is no image).
  std::vector<uint8_t> px(8 * 8 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(i * 5);
  for (int k = 0; k < 6; ++k) write(base / "data" / ("img" + std::to_string(k) + ".png"), png(8, 8, 3, px));
  for (int k = 0; k < 2; ++k) write(base / "data" / ("img" + std::to_string(k) + ".bmp"), png(8, 8, 3, px, true));
  write(base / "data/notes.txt", "not an image");
  const std::string train = kBin + "/train_stylegan --cfg tiny --data " + (base / "data").string();

  // --kimg 0 (with the largest seed): one minibatch, a snapshot, and the log says so.
  const Result zero = run(train + " --kimg 0 --seed 4294967295 --outdir " + (base / "kimg0").string());
  INFO(zero.out);
  REQUIRE(zero.code == 0);
  CHECK(zero.out.find("data (8 images, 8x8)") != std::string::npos);
  CHECK(zero.out.find("Dataset " + (base / "data").string() + ": 1 of 9 files skipped, 8 images used:\n  " +
                      (base / "data/notes.txt").string() + ": " + gf::kNotImageNameReason) != std::string::npos);
  CHECK(zero.out.find("Nothing left to train: kimg 0.000 of 0.000 is reached; training one minibatch") != std::string::npos);
  const fs::path first = run_folder(base / "kimg0");
  CHECK(fs::file_size(first / "network-snapshot-000000.bin") > 0);
  CHECK(fs::exists(first / "checkpoint.bin"));
  CHECK(file_bytes(first / "stats.jsonl").find("\"tick\":0") != std::string::npos);

  // --kimg 1e-9 is not reached at 0 images (the official cur_nimg >= total_kimg * 1000):
  // one minibatch trains as the run's whole length, and a snapshot is written.
  const Result tiny = run(train + " --kimg 1e-9 --outdir " + (base / "kimg1e-9").string());
  INFO(tiny.out);
  REQUIRE(tiny.code == 0);
  CHECK(tiny.out.find("Nothing left to train") == std::string::npos);
  CHECK(fs::exists(run_folder(base / "kimg1e-9") / "network-snapshot-000000.bin"));
  CHECK(file_bytes(run_folder(base / "kimg1e-9") / "stats.jsonl").find("\"kimg\":0.004,") != std::string::npos);

  // The finished run's checkpoint resumed without a larger --kimg: one more minibatch and a network.
  // (A checkpoint brings its own config: no --cfg.)
  const Result resumed = run(kBin + "/train_stylegan --data " + (base / "data").string() + " --resume " +
                             (first / "checkpoint.bin").string() + " --outdir " + (base / "resumed").string());
  INFO(resumed.out);
  REQUIRE(resumed.code == 0);
  CHECK(resumed.out.find("Nothing left to train: kimg 0.004 of 0.000") != std::string::npos);
  CHECK(fs::exists(run_folder(base / "resumed") / "network-snapshot-000000.bin"));

  // Every option the first run recorded passes back through its flag and is
  // recorded the same (the seed 2^32-1 included; --batch-gpu 0 is the config's "batch / gpus").
  const json opt = json::parse(file_bytes(first / "training_options.json"));
  CHECK(opt["seed"] == 4294967295ULL);
  const json& spec = opt["spec"];
  const std::string again = kBin + "/train_stylegan --data " + opt["data"].get<std::string>() + " --cfg " +
                            spec["cfg"].get<std::string>() + " --seed " + opt["seed"].dump() + " --kimg " +
                            spec["kimg"].dump() + " --gamma " + spec["gamma"].dump() + " --batch " + spec["batch"].dump() +
                            " --batch-gpu " + spec["batch_gpu"].dump() + " --gpus " + spec["gpus"].dump() + " --snap " +
                            opt["snap"].dump() + " --tick " + opt["tick"].dump() +
                            (opt["max_images"].is_null() ? "" : " --max-images " + opt["max_images"].dump());
  const Result back = run(again + " --outdir " + (base / "again").string());
  INFO(again << "\n" << back.out);
  REQUIRE(back.code == 0);
  CHECK(json::parse(file_bytes(run_folder(base / "again") / "training_options.json")) == opt);
  fs::remove_all(base);
}

TEST_CASE("train_psp refuses a missing weights file, or a loss without its network, in one line", "[bad_input]") {
  const fs::path out = kBase / "psp_runs";
  fs::remove_all(out);
  const std::string G = kSource + "/tests/data/parity_32x1.bin", none = (kBase / "no-such.bin").string();
  const std::string train = kBin + "/train_psp --outdir " + out.string() + " --max-images 40";
  const struct {
    std::string flags, message;
  } cases[] = {
      {"--generator " + none, "--generator " + none + ": no such file (the StyleGAN2 network to invert)"},
      {"--resume " + none, "--resume " + none + ": no such file"},
      // A folder is no file, and is called a folder (it said "no such file").
      {"--generator " + kSource + "/tests/data", "--generator " + kSource + "/tests/data: a folder; give the file (the StyleGAN2 network to invert)"},
      {"", "--generator is required"},
      // The psp config's LPIPS lambda (0.8) needs LPIPS's weights, and the id loss ArcFace's.
      {"--generator " + G, "--lpips-lambda 0.8 needs the LPIPS weights: --lpips FILE.bin"},
      {"--generator " + G + " --lpips-lambda 0 --lpips-lambda-crop 0.5",
       "--lpips-lambda-crop 0.5 needs the LPIPS weights"},
      {"--generator " + G + " --lpips " + none, "--lpips " + none + ": no such file (LPIPS weights"},
      {"--generator " + G + " --lpips-lambda 0 --id-lambda 0.1", "--id-lambda 0.1 needs the ArcFace weights: --arcface"},
      {"--generator " + G + " --lpips-lambda 0 --id-lambda 0.1 --arcface " + none,
       "--arcface " + none + ": no such file (ArcFace weights"},
      // A weights file of the wrong kind names what it is not.
      {"--generator " + G + " --lpips " + G, G + ": not a converted lpips network"},
      // Given where no loss reads it (both LPIPS lambdas 0), it was checked,
      // recorded and never used; it is refused.
      {"--generator " + G + " --lpips-lambda 0 --lpips " + G,
       "--lpips is read by the LPIPS losses, and --lpips-lambda and --lpips-lambda-crop are 0: give a lambda, or leave "
       "--lpips out"},
      {"--generator " + kSource + "/tests/data/psp_lpips.bin", "psp_lpips.bin"},
      // The MoCo loss: its network, given only with its lambda, never beside the id loss (coach.py's ValueError).
      {"--generator " + G + " --lpips-lambda 0 --moco-lambda 0.5", "--moco-lambda 0.5 needs MoCo's ResNet-50: --moco FILE.bin"},
      {"--generator " + G + " --lpips-lambda 0 --moco-lambda 0.5 --moco " + none,
       "--moco " + none + ": no such file (MoCo's ResNet-50"},
      {"--generator " + G + " --lpips-lambda 0 --moco-lambda 0.5 --moco " + G, G + ": not a converted moco network"},
      {"--generator " + G + " --lpips-lambda 0 --moco " + kSource + "/tests/data/psp_moco.bin",
       "--moco is read by the MoCo loss, and --moco-lambda is 0: give --moco-lambda, or leave --moco out"},
      {"--generator " + G + " --lpips-lambda 0 --id-lambda 0.1 --moco-lambda 0.5",
       "--id-lambda and --moco-lambda are both > 0: pSp takes one of the two similarity losses"},
  };
  for (const auto& c : cases) {
    const Result r = run(train + " --cfg psp " + c.flags);
    INFO(c.flags << " -> exit " << r.code << ":\n" << r.out);
    CHECK(r.code == 1);
    CHECK(r.lines() == 1);
    CHECK(r.out.rfind("train_psp: error: ", 0) == 0);
    CHECK(r.out.find(c.message) != std::string::npos);
  }
  CHECK_FALSE(fs::exists(out));  // refused before any run folder is made
}

// ADA's flags as the official train.py combines them: each wrong combination
// is one line naming the flags, before any data is read or folder made.
TEST_CASE("train_stylegan refuses augmentation flags that do not go together", "[bad_input]") {
  const fs::path base = kBase / "ada_flags";
  fs::remove_all(base);
  const std::string train = kBin + "/train_stylegan --cfg tiny --kimg 0 --outdir " + (base / "runs").string();
  const struct {
    std::string flags, says;
  } cases[] = {
      {"--aug adaptive", "--aug must be ada, noaug or fixed, got 'adaptive'"},
      {"--aug fixed", "--aug fixed needs --p"},
      {"--p 0.3", "--p can only be given with --aug fixed"},
      {"--aug noaug --target 0.5", "--target can only be given with --aug ada"},
      {"--aug noaug --augpipe bg", "--augpipe cannot be given with --aug noaug"},
      {"--augpipe bgcx", "bgcfnc"},
      {"--arch stylegan --aug noaug", "--aug is StyleGAN2-ADA's augmentation; --arch stylegan trains without it"},
  };
  for (const auto& c : cases) {
    const Result r = run(train + " " + c.flags);
    INFO(c.flags << " -> exit " << r.code << ":\n" << r.out);
    CHECK(r.code == 1);
    CHECK(r.lines() == 1);
    CHECK(r.out.rfind("train_stylegan: error: ", 0) == 0);
    CHECK(r.out.find(c.says) != std::string::npos);
    CHECK_FALSE(fs::exists(base / "runs"));
  }
}

// Bad and unusual input as users meet it, in the output paths, each case run
// through the program a user runs (issue 11): no output over an input or inside a
// folder it reads; an output's missing folder is made, a file in its way refused.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "engine/io/npy.h"
#include "engine/ops.h"
#include "tests/program_runs.h"
#include "tests/testing.h"

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

// An output that names one of the program's inputs (by any path or link)
// would replace it: generate --raw net.bin wrote images over the network,
// discriminate --out imgs.npy its logits over the images. Refused in one
// line before anything is written; the input keeps its bytes.
TEST_CASE("no program writes an output over one of its inputs", "[bad_input]") {
  const fs::path base = kBase / "over_inputs";
  fs::remove_all(base);
  fs::create_directories(base / "out");
  const std::string net = (base / "net.bin").string(), psp_net = (base / "psp.bin").string();
  fs::copy_file(kSource + "/tests/data/parity_32x1.bin", net);
  fs::copy_file(kSource + "/tests/data/psp_gradual.bin", psp_net);
  fs::create_symlink("net.bin", base / "link to net.bin");
  const std::string z = (base / "z.npy").string(), imgs = (base / "imgs.npy").string();
  gf::io::save_npy(z, gf::zeros({2, 16}));
  gf::io::save_npy(imgs, gf::zeros({2, 1, 32, 32}));
  const std::string latents = (base / "out/latents.npy").string();
  gf::io::save_npy(latents, gf::zeros({1, 3, 32, 32}));  // psp --images that sits where psp writes its latents
  const std::string target_png = (base / "out/target.png").string();  // projector --target where it writes target.png
  fs::copy_file(kSource + "/tests/data/z_2x16.npy", target_png);
  const std::string data_zip = (base / "data.zip").string();  // dataset_tool --source and --dest
  fs::copy_file(net, data_zip);
  const std::string gen = kBin + "/generate --network " + net + " --outdir " + (base / "gen").string();
  const std::string dis = kBin + "/discriminate --network " + net;
  const struct {
    std::string command, input, says;
  } cases[] = {
      {gen + " --seeds 0 --raw " + net, net, "generate: error: --raw " + net + " is the --network file"},
      {gen + " --seeds 0 --raw " + quoted((base / "link to net.bin").string()), net, "is the --network file"},
      {gen + " --z " + z + " --raw " + z, z, "generate: error: --raw " + z + " is the --z file"},
      {dis + " --images " + imgs + " --out " + imgs, imgs, "discriminate: error: --out " + imgs + " is the --images file"},
      {dis + " --images " + imgs + " --out " + net, net, "discriminate: error: --out " + net + " is the --network file"},
      {kBin + "/psp encode --network " + psp_net + " --images " + imgs + " --raw " + psp_net, psp_net,
       "psp encode: error: --raw " + psp_net + " is the --network file"},
      {kBin + "/psp encode --network " + psp_net + " --images " + latents + " --outdir " + (base / "out").string(),
       latents, "psp encode: error: --outdir " + (base / "out").string() + ": " + latents + " is the --images file"},
      {kBin + "/projector --save-video false --network " + net + " --vgg16 " + net + " --target " + target_png + " --outdir " +
           (base / "out").string(),
       target_png, "projector: error: --outdir " + (base / "out").string() + ": " + target_png + " is the --target file"},
      {kBin + "/dataset_tool --source " + data_zip + " --dest " + data_zip, data_zip,
       "dataset_tool: error: --dest " + data_zip + " is the --source file"},
      // No file named: refused before the work, not at the rename after it.
      {gen + " --seeds 0 --raw ''", net, "generate: error: --raw is empty; give a file name"},
      {gen + " --seeds 0 --raw " + (base / "out").string(), net, "generate: error: --raw " + (base / "out").string() + ": a folder"},
      {dis + " --images " + imgs + " --out " + (base / "new/").string(), imgs, "discriminate: error: --out " + (base / "new/").string() + ": a folder"},
  };
  for (const auto& c : cases) {
    const std::string before = file_bytes(c.input);
    const Result r = run(c.command);
    INFO(c.command << " -> exit " << r.code << ":\n" << r.out);
    CHECK(r.code == 1);
    CHECK(r.lines() == 1);
    CHECK(r.out.find(c.says) != std::string::npos);
    CHECK(file_bytes(c.input) == before);
  }
  fs::remove_all(base);
}

// Every output file flag takes a path in a folder that does not exist yet
// and makes it, as generate --raw and every --outdir do (discriminate --out
// and export_weights --out failed at the rename, after the work); a file in
// the way of that folder is one line, before any work; a run refused later
// leaves no new folder.
TEST_CASE("every output file flag makes its missing folder; a file in the way is one line", "[bad_input]") {
  const fs::path base = kBase / "out_folders";
  fs::remove_all(base);
  const std::string net = kSource + "/tests/data/parity_32x1.bin", psp_net = kSource + "/tests/data/psp_gradual.bin";
  const std::string imgs = (base / "imgs.npy").string(), psp_imgs = (base / "psp_imgs.npy").string();
  fs::create_directories(base);
  gf::io::save_npy(imgs, gf::zeros({2, 1, 32, 32}));
  gf::io::save_npy(psp_imgs, gf::zeros({1, 3, 32, 32}));
  write(base / "file", "in the way");
  const struct {
    std::string program, command;  // the output path follows the command
  } outputs[] = {
      {"discriminate", "discriminate --network " + net + " --images " + imgs + " --out"},
      {"export_weights", "export_weights --in " + net + " --net D --out"},
      {"generate", "generate --network " + net + " --seeds 0 --outdir " + (base / "png").string() + " --raw"},
      {"psp encode", "psp encode --network " + psp_net + " --images " + psp_imgs + " --no-images --outdir " +
                         (base / "psp").string() + " --raw"},
  };
  int k = 0;
  for (const auto& o : outputs) {
    const fs::path out = base / ("new" + std::to_string(k++)) / "deeper" / "out.bin";
    const Result r = run(kBin + "/" + o.command + " " + out.string());
    INFO(o.command << " -> exit " << r.code << ":\n" << r.out);
    CHECK(r.code == 0);
    CHECK(fs::file_size(out) > 0);
    const std::string bad = (base / "file" / "out.bin").string();
    const Result refused = run(kBin + "/" + o.command + " " + bad);
    INFO(refused.out);
    CHECK(refused.code == 1);
    CHECK(refused.lines() == 1);
    CHECK(refused.out == o.program + ": error: " + (o.program == "export_weights" || o.program == "discriminate" ? "--out " : "--raw ") +
                             bad + ": cannot make its folder " + (base / "file").string() + ": Not a directory\n");
  }
  // Refused after the up-front checks (an input missing or not given): the
  // output's new folder is made only at the write, so none is left behind.
  const std::string missing = (base / "missing.bin").string();
  const std::string refused_later[] = {
      "export_weights --in " + missing + " --net D --out",
      "discriminate --network " + missing + " --images " + imgs + " --out",
      "generate --network " + missing + " --seeds 0 --outdir " + (base / "png").string() + " --raw",
      "psp encode --network " + missing + " --images " + psp_imgs + " --no-images --outdir " + (base / "psp").string() + " --raw",
      "psp encode --images " + psp_imgs + " --no-images --outdir " + (base / "psp").string() + " --raw",
  };
  k = 0;
  for (const std::string& command : refused_later) {
    const fs::path never = base / ("never" + std::to_string(k++));
    const Result r = run(kBin + "/" + command + " " + (never / "deeper/out.bin").string());
    INFO(command << " -> exit " << r.code << ":\n" << r.out);
    CHECK(r.code == 1);
    CHECK_FALSE(fs::exists(never));
  }
  fs::remove_all(base);
}

// A folder input (psp's --images, the trainers' --data) is read with all its
// subfolders, so an output folder in it writes among the inputs: `psp encode
// --images photos --outdir photos` wrote photos/inference_results/x.png, an
// input of the next run or over one. Refused in one line before any work,
// by any path or link; a folder beside it is fine.
TEST_CASE("no program writes its output folder inside a folder it reads", "[bad_input]") {
  const fs::path base = kBase / "out_in_inputs";
  fs::remove_all(base);
  std::vector<uint8_t> px(32 * 32 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(i * 3);
  const fs::path photos = base / "photos";
  write(photos / "x.png", png(32, 32, 3, px));
  write(base / "out/inference_results/y.png", png(32, 32, 3, px));
  write(base / "out/style_mixing/z.png", png(32, 32, 3, px));
  fs::create_directory_symlink("photos", base / "link");
  fs::create_symlink("photos/x.png", base / "raw_link.npy");
  const std::string P = photos.string(), O = (base / "out").string();
  const std::string encode = kBin + "/psp encode --network " + kSource + "/tests/data/psp_gradual.bin --images ";
  const std::string mix = kBin + "/psp mix --latent-mask 4 --network " + kSource + "/tests/data/psp_gradual.bin --images ";
  const std::string inside = ", which is read with all its subfolders";
  const struct {
    std::string command, says;
  } cases[] = {
      {encode + P + " --outdir " + P, "psp encode: error: --outdir " + P + " is the --images folder" + inside},
      {encode + P + " --outdir " + P + "/sub/deeper", "psp encode: error: --outdir " + P + "/sub/deeper is inside the --images folder " + P + inside},
      {encode + P + " --outdir " + (base / "link/sub").string(), "is inside the --images folder " + P + inside},
      {encode + P + "/ --outdir " + (base / "photos/./sub").string(), "is inside the --images folder " + P + "/" + inside},
      {mix + P + " --outdir " + P + "/mixed", "psp mix: error: --outdir " + P + "/mixed is inside the --images folder"},
      // encode's --raw file too: it wrote over photos/x.png (a breaker's case), directly or through a link.
      {encode + P + " --outdir " + O + "2 --raw " + P + "/x.png",
       "psp encode: error: --raw " + P + "/x.png is inside the --images folder " + P + inside},
      {encode + P + " --outdir " + O + "2 --raw " + (base / "raw_link.npy").string(), "is inside the --images folder"},
      {encode + O + "/inference_results --outdir " + O,
       "psp encode: error: --outdir " + O + ": " + O + "/inference_results is the --images folder" + inside},
      {mix + O + "/style_mixing --outdir " + O, "psp mix: error: --outdir " + O + ": " + O + "/style_mixing is the --images folder"},
      {kBin + "/train_stylegan --cfg tiny --kimg 0 --data " + P + " --outdir " + P + "/runs",
       "train_stylegan: error: --outdir " + P + "/runs is inside the --data folder " + P + inside},
      {kBin + "/train_stylegan --cfg tiny --kimg 0 --data " + P + " --outdir " + (base / "runs").string() +
           " --record-draws " + P + "/draws",
       "train_stylegan: error: --record-draws " + P + "/draws is inside the --data folder " + P + inside},
      {kBin + "/train_pggan --kimg 0 --data " + P + " --outdir " + P, "train_pggan: error: --outdir " + P + " is the --data folder"},
      {kBin + "/train_psp --data " + P + " --outdir " + P + "/runs", "train_psp: error: --outdir " + P + "/runs is inside the --data folder"},
  };
  const auto listing = [&] {
    std::set<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(base)) files.insert(e.path().string());
    return files;
  };
  const std::set<std::string> before = listing();
  for (const auto& c : cases) {
    const Result r = run(c.command);
    INFO(c.command << " -> exit " << r.code << ":\n" << r.out);
    CHECK(r.code == 1);
    CHECK(r.lines() == 1);
    CHECK(r.out.find(c.says) != std::string::npos);
    CHECK(listing() == before);  // refused before anything is written
  }
  // Beside the input folder, even one whose name begins with the input's: written.
  const Result beside = run(encode + P + " --outdir " + P + "2");
  INFO(beside.out);
  CHECK(beside.code == 0);
  CHECK(fs::exists(base / "photos2/inference_results/x.png"));
  // Only the folders this run writes count: mix writes style_mixing alone, so
  // it may read encode's inference_results in the same --outdir, and encode
  // --no-images writes no image folder.
  for (const std::string& reads_results : {mix + O + "/inference_results --outdir " + O,
                                           encode + O + "/inference_results --no-images --outdir " + O}) {
    const Result r = run(reads_results);
    INFO(reads_results << " -> " << r.out);
    CHECK(r.code == 0);
  }
  CHECK(fs::exists(base / "out/style_mixing/y.png"));
  CHECK(fs::exists(base / "out/latents.npy"));
  fs::remove_all(base);
}

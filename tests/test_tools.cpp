// The programs generate, discriminate and export_weights, run as a user runs
// them, on a bundle written in-process (the layout of a training snapshot):
// their .npy outputs must equal, bit for bit, what the in-process networks
// give for the same inputs. GF_TOOLS_DIR (tests/cli/generate.cmake) is where
// the programs are built.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include "engine/io/npy.h"
#include "models/stylegan2/network_file.h"
#include "tests/testing.h"

using namespace gf;
using namespace gf::stylegan2;
using gf::test::file_bytes;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("gf_test_tools_" + std::to_string(::getpid()));
  TempDir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// Runs a program from GF_TOOLS_DIR; returns its exit code, and its output through `log`.
int run_tool(const TempDir& dir, const std::string& args, std::string* log = nullptr) {
  const std::string out = dir / "tool.log";
  const int code = gf::test::shell(std::string(GF_TOOLS_DIR) + "/" + args + " > " + out + " 2>&1");
  if (log) *log = file_bytes(out);
  return code;
}

using gf::test::bit_equal;

Tensor at(const Tensor& t, int64_t i) { return slice(t, 0, i, i + 1); }

// A small conditional G and D saved as a snapshot-style bundle ("G_ema.", "D.").
struct Nets {
  GeneratorConfig gc;
  DiscriminatorConfig dc;
  std::unique_ptr<stylegan2::Generator> G;
  std::unique_ptr<Discriminator> D;
  std::string bundle;

  explicit Nets(const TempDir& dir) {
    gc.z_dim = gc.w_dim = 8;
    gc.c_dim = dc.c_dim = 3;
    gc.img_resolution = dc.img_resolution = 8;
    gc.img_channels = dc.img_channels = 3;
    gc.channel_base = dc.channel_base = 64;
    gc.channel_max = dc.channel_max = 8;
    gc.mapping_layers = dc.mapping_layers = 2;
    dc.mbstd_group_size = 2;
    G = std::make_unique<stylegan2::Generator>(gc, 11);
    D = std::make_unique<Discriminator>(dc, 12);
    // A trained w_avg, so truncation moves w.
    G->mapping.w_avg->copy_(test::random_tensor({8}, 4, DType::f32));
    io::TensorMap all = add_prefix(G->state_dict(), "G_ema.");
    all.merge(add_prefix(D->state_dict(), "D."));
    bundle = dir / "network-snapshot-000000.bin";
    io::save_safetensors(bundle, all, {{"G_kwargs", to_json(gc).dump()}, {"D_kwargs", to_json(dc).dump()}});
  }
};

}  // namespace

TEST_CASE("tools: a TMPDIR with a space is refused before any command runs, naming it", "[tools]") {
  // The tests paste temporary paths into shell commands unquoted: "> /tmp/t p/log"
  // would truncate a file /tmp/t. The shell helper refuses such a TMPDIR first.
  const char* before = std::getenv("TMPDIR");
  const std::string saved = before ? before : "";
  const fs::path spaced = fs::temp_directory_path() / ("gf test tmp " + std::to_string(::getpid()));
  const fs::path marker = fs::temp_directory_path() / ("gf test tmp " + std::to_string(::getpid()) + ".ran");
  fs::create_directories(spaced);
  ::setenv("TMPDIR", spaced.c_str(), 1);
  std::string message;
  try {
    gf::test::shell("touch '" + marker.string() + "'");
  } catch (const std::exception& e) {
    message = e.what();
  }
  if (before) ::setenv("TMPDIR", saved.c_str(), 1); else ::unsetenv("TMPDIR");
  fs::remove_all(spaced);
  CHECK(message.find("the temporary folder '" + spaced.string() + "' (TMPDIR) holds a space") != std::string::npos);
  CHECK_FALSE(fs::exists(marker));  // nothing ran
  fs::remove(marker);
}

TEST_CASE("tools: generate --z --c --raw is the in-process generator's output; discriminate is D's", "[tools]") {
  TempDir dir;
  Nets nets(dir);
  const Tensor z = test::random_tensor({4, 8}, 1, DType::f32), c = test::random_tensor({4, 3}, 2, DType::f32);
  io::save_npy(dir / "z.npy", z);
  io::save_npy(dir / "c.npy", c);
  std::string log;
  REQUIRE(run_tool(dir, "generate --network " + nets.bundle + " --z " + (dir / "z.npy") + " --c " + (dir / "c.npy") +
                            " --trunc 0.7 --raw " + (dir / "raw.npy") + " --outdir " + (dir / "png"),
                   &log) == 0);
  INFO(log);
  const Tensor raw = io::read_npy(dir / "raw.npy");
  REQUIRE(raw.shape() == Shape{4, 3, 8, 8});
  SynthesisOptions so;
  so.noise_mode = NoiseMode::constant;  // generate's default
  NoGradGuard ng;
  for (int64_t i = 0; i < 4; ++i) {
    REQUIRE(bit_equal(at(raw, i), nets.G->forward(at(z, i), at(c, i), 0.7, std::nullopt, so)));
    REQUIRE(fs::file_size(dir / ("png/img000" + std::to_string(i) + ".png")) > 0);
  }

  REQUIRE(run_tool(dir, "discriminate --network " + nets.bundle + " --images " + (dir / "raw.npy") + " --c " +
                            (dir / "c.npy") + " --out " + (dir / "logits.npy"),
                   &log) == 0);
  const Tensor logits = io::read_npy(dir / "logits.npy");
  REQUIRE(logits.shape() == Shape{4, 1});
  for (double v : logits.to_vector()) REQUIRE(std::isfinite(v));
  REQUIRE(bit_equal(logits, nets.D->forward(raw, c)));

  // --batch 2: each pair is its own minibatch-stddev group.
  REQUIRE(run_tool(dir, "discriminate --network " + nets.bundle + " --images " + (dir / "raw.npy") + " --c " +
                            (dir / "c.npy") + " --batch 2 --out " + (dir / "logits2.npy"),
                   &log) == 0);
  const Tensor pairs = io::read_npy(dir / "logits2.npy");
  REQUIRE(bit_equal(slice(pairs, 0, 0, 2), nets.D->forward(slice(raw, 0, 0, 2), slice(c, 0, 0, 2))));
  REQUIRE(bit_equal(slice(pairs, 0, 2, 4), nets.D->forward(slice(raw, 0, 2, 4), slice(c, 0, 2, 4))));
  REQUIRE_FALSE(bit_equal(pairs, logits));  // other groups, other logits
  // Passes of 3 images do not fill groups of 2.
  REQUIRE(run_tool(dir, "discriminate --network " + nets.bundle + " --images " + (dir / "raw.npy") + " --c " +
                            (dir / "c.npy") + " --batch 3 --out " + (dir / "logits3.npy"),
                   &log) != 0);
  REQUIRE_THAT(log, Catch::Contains("a batch of 3 images") && Catch::Contains("--batch"));
}

TEST_CASE("tools: export_weights writes the bundle's network alone; generate from it matches the bundle", "[tools]") {
  TempDir dir;
  Nets nets(dir);
  std::string log;
  REQUIRE(run_tool(dir, "export_weights --in " + nets.bundle + " --net G_ema --out " + (dir / "G_ema.bin"), &log) == 0);
  const io::SafetensorsFile g = io::read_safetensors(dir / "G_ema.bin");
  REQUIRE(g.metadata.at("network") == "G_ema");
  REQUIRE(generator_config_from_json(nlohmann::json::parse(g.metadata.at("G_kwargs"))).c_dim == 3);
  const io::TensorMap want = nets.G->state_dict();
  REQUIRE(g.tensors.size() == want.size());
  for (const auto& [name, t] : want) REQUIRE(bit_equal(g.tensors.at(name), t));

  REQUIRE(run_tool(dir, "export_weights --in " + nets.bundle + " --net D --out " + (dir / "D.bin")) == 0);
  const io::SafetensorsFile d = io::read_safetensors(dir / "D.bin");
  REQUIRE(d.metadata.at("network") == "D");
  for (const auto& [name, t] : nets.D->state_dict()) REQUIRE(bit_equal(d.tensors.at(name), t));

  // --w of [N, w_dim]: broadcast to every layer, no truncation, same bits from either file.
  const Tensor w = test::random_tensor({2, 8}, 3, DType::f32);
  io::save_npy(dir / "w.npy", w);
  for (const std::string net : {"network-snapshot-000000.bin", "G_ema.bin"})
    REQUIRE(run_tool(dir, "generate --network " + (dir / net) + " --w " + (dir / "w.npy") + " --raw " + (dir / (net + ".npy")) +
                              " --outdir " + (dir / "png")) == 0);
  REQUIRE(file_bytes(dir / "G_ema.bin.npy") == file_bytes(dir / "network-snapshot-000000.bin.npy"));
  const Tensor raw = io::read_npy(dir / "G_ema.bin.npy");
  SynthesisOptions so;
  so.noise_mode = NoiseMode::constant;
  NoGradGuard ng;
  const int nw = nets.G->num_ws();
  REQUIRE(bit_equal(at(raw, 1), nets.G->synthesis.forward(expand(at(w, 1).reshape({1, 1, 8}), {1, nw, 8}), so)));

  // The bundle holds no G, and the output may not replace the input.
  REQUIRE(run_tool(dir, "export_weights --in " + nets.bundle + " --net G --out " + (dir / "G.bin"), &log) == 1);
  REQUIRE_THAT(log, Catch::Contains("export_weights: error:") && Catch::Contains("holds no G network"));
  REQUIRE_FALSE(fs::exists(dir / "G.bin"));
  REQUIRE(run_tool(dir, "export_weights --in " + nets.bundle + " --out " + nets.bundle, &log) == 1);
  REQUIRE_THAT(log, Catch::Contains("is the --in file; choose another name"));
}

TEST_CASE("tools: generate's --interp ends and mixing-grid cells are the seeds' own images", "[tools]") {
  TempDir dir;
  Nets nets(dir);
  const std::string gen = "generate --network " + nets.bundle + " --class 1 --trunc 0.7 --outdir " + (dir / "png");
  for (const char* seed : {"5", "9"})
    REQUIRE(run_tool(dir, gen + " --seeds " + seed + " --raw " + (dir / (std::string("seed") + seed + ".npy"))) == 0);
  const Tensor s5 = io::read_npy(dir / "seed5.npy"), s9 = io::read_npy(dir / "seed9.npy");
  REQUIRE_FALSE(bit_equal(s5, s9));

  std::string log;
  REQUIRE(run_tool(dir, gen + " --interp 5,9 --frames 3 --raw " + (dir / "interp.npy"), &log) == 0);
  INFO(log);
  const Tensor f = io::read_npy(dir / "interp.npy");
  REQUIRE(f.shape() == Shape{3, 3, 8, 8});
  REQUIRE(bit_equal(at(f, 0), s5));
  REQUIRE(bit_equal(at(f, 2), s9));
  REQUIRE(fs::exists(dir / "png/frame0002.png"));

  // Every style from the column seed: the mixed cell is the column seed's image.
  const std::string all_styles = "0-" + std::to_string(nets.G->num_ws() - 1);
  REQUIRE(run_tool(dir, gen + " --mix-rows 5 --mix-cols 9 --mix-styles " + all_styles + " --raw " + (dir / "mix.npy")) == 0);
  const Tensor m = io::read_npy(dir / "mix.npy");
  REQUIRE(m.shape() == Shape{4, 3, 8, 8});
  for (double v : at(m, 0).to_vector()) REQUIRE(v == -1);  // the empty corner
  REQUIRE(bit_equal(at(m, 1), s9));
  REQUIRE(bit_equal(at(m, 2), s5));
  REQUIRE(bit_equal(at(m, 3), s9));
  REQUIRE(fs::file_size(dir / "png/grid.png") > 0);
}

// ---- the programs on CUDA: whole paths against the CPU ----

namespace {

// Three minibatches of the tiny config on Fashion-MNIST's first 64 images;
// returns the run folder (the checkpoint holds the whole trainer state).
// Without ADA: Adam's first steps turn a gradient element near 0 into a step
// of about +-lr, so the CPU's and the GPU's rounding of the augmentation's
// resampling moved single D biases past the tolerance (--gpus 2, 1.05x).
// ADA on CUDA against the CPU is test_training's.
std::string train(const TempDir& dir, const std::string& name, const std::string& flags) {
  const std::string out = dir / name;
  std::string log;
  const int rc = run_tool(dir,
                          "train_stylegan --cfg tiny --max-images 64 --kimg 0.012 --tick 0.012 --snap 1 --seed 3 --aug noaug "
                          "--outdir " + out + " " + flags,
                          &log);
  INFO(log);
  REQUIRE(rc == 0);
  for (const auto& e : fs::directory_iterator(out))
    if (e.is_directory()) return e.path().string();
  FAIL("train_stylegan made no run folder in " << out);
  return "";
}

std::string newest_snapshot(const std::string& run) {
  std::string best;
  for (const auto& e : fs::directory_iterator(run)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("network-snapshot-", 0) == 0 && e.path().string() > best) best = e.path().string();
  }
  REQUIRE_FALSE(best.empty());
  return best;
}

}  // namespace

TEST_CASE("tools on CUDA: train_stylegan's state after three minibatches and generate's images agree with the CPU",
          "[tools][cuda]") {
  TempDir dir;
  const std::string cpu = train(dir, "cpu", "--device cpu"), gpu = train(dir, "cuda", "--device cuda");
  test::check_close_state(io::load_safetensors(gpu + "/checkpoint.bin"), io::load_safetensors(cpu + "/checkpoint.bin"));

  // The same snapshot on both devices: the seeds' latents come from Philox,
  // so the images differ only by float32 rounding.
  const std::string snap = newest_snapshot(cpu);
  for (const char* device : {"cpu", "cuda"})
    REQUIRE(run_tool(dir, "generate --network " + snap + " --seeds 0-3 --trunc 0.7 --noise-mode const --raw " +
                              (dir / (std::string(device) + ".npy")) + " --outdir " + (dir / device) +
                              " --device " + device) == 0);
  const Tensor on_cpu = io::read_npy(dir / "cpu.npy"), on_gpu = io::read_npy(dir / "cuda.npy");
  const test::Check c = test::allclose(on_gpu, on_cpu, 1e-4, 1e-4);
  INFO(c.message);
  CHECK(c.ok);
}

TEST_CASE("tools on CUDA: train_stylegan --gpus 2 on two devices agrees with two CPU replicas", "[tools][cuda]") {
  if (cuda_device_count() < 2) {
    WARN("needs two CUDA devices (GFEMU_DEVICES=2 on the emulator); not run");
    return;
  }
  TempDir dir;
  const std::string cpu = train(dir, "cpu2", "--device cpu --gpus 2"), gpu = train(dir, "cuda2", "--device cuda --gpus 2");
  test::check_close_state(io::load_safetensors(gpu + "/checkpoint.bin"), io::load_safetensors(cpu + "/checkpoint.bin"));
}

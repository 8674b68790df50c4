// train_psp's training (train/psp/): pSp's input pipeline, the network it
// starts from (latent_avg, ArcFace initialization), short runs on a tiny
// generator made here (losses finite and falling on a fixed set of images,
// an exact resume across a Lookahead sync, only the encoder training unless
// train_decoder, the shared tick loop's schedule in pSp's steps), and the
// cpu config learning to invert the main job's Fashion-MNIST generator: the
// reconstruction L2 on held-out generated images falls well below its start.
#include <map>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "engine/io/safetensors.h"
#include "models/perceptual/network_file.h"
#include "models/psp/network_file.h"
#include "models/stylegan2/network_file.h"
#include "tests/testing.h"
#include "train/psp/checkpoint.h"
#include "train/psp/data.h"
#include "train/psp/trainer.h"
#include "data/images/image_io.h"
#include "train/psp/training_loop.h"

using namespace gf;
using namespace gf::psp;

namespace {

stylegan2::GeneratorConfig tiny_generator_config(int channels = 1) {
  stylegan2::GeneratorConfig g;
  g.z_dim = g.w_dim = 16;
  g.img_resolution = 32;
  g.img_channels = channels;
  g.mapping_layers = 2;
  g.channel_base = 128;
  g.channel_max = 16;
  return g;
}

// n images of G (constant noise, w_avg-free z ~ N(0, I) from seed) as a dataset, uint8 as a loader holds them.
// n images of G as 8-bit pixels, and those of the first `keep` (all by default) as a dataset.
std::unique_ptr<Dataset> generated_dataset(stylegan2::Generator& G, int64_t n, uint64_t seed, int64_t keep = -1) {
  NoGradGuard ng;
  Generator rng(seed);
  stylegan2::SynthesisOptions so;
  so.noise_mode = NoiseMode::constant;
  const Tensor img = G.forward(randn({n, G.config().z_dim}, rng), Tensor(), 1, std::nullopt, so);
  std::vector<uint8_t> px;
  for (double v : img.to_vector()) px.push_back(uint8_t(std::lround(std::min(255.0, std::max(0.0, (v + 1) * 127.5)))));
  if (keep >= 0) px.resize(size_t(keep * (px.size() / size_t(n))));
  return std::make_unique<Dataset>("generated", G.config().img_resolution, G.config().img_channels, px,
                                   std::vector<int64_t>{}, DatasetOptions{});
}

PspTrainSpec cpu_spec(const stylegan2::GeneratorConfig& g) {
  PspTrainSpec s = make_psp_train_spec("cpu", g);
  s.net.start_from_latent_avg = true;
  return s;
}

bool same_tensors(const io::TensorMap& a, const io::TensorMap& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [n, t] : a) {
    auto it = b.find(n);
    if (it == b.end() || it->second.to_vector() != t.to_vector()) {
      INFO("differs: " << n);
      CHECK(false);
      return false;
    }
  }
  return true;
}

double stat(const std::vector<std::pair<std::string, double>>& s, const std::string& key) {
  for (const auto& [k, v] : s)
    if (k == key) return v;
  FAIL("no statistic " << key);
  return 0;
}

std::string tmp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("gf_test_psp_train_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

}  // namespace

TEST_CASE("pSp's input transform: resize, flip, [-1, 1] as ToTensor and Normalize, grey to RGB", "[psp_train]") {
  // A 2x2 grey image to 2x2 (no resize), flipped, and replicated to RGB.
  const std::vector<uint8_t> hwc = {0, 255, 51, 128};
  float out[12];
  transform_image(hwc, 2, 2, 1, 2, true, 3, out);
  const auto f = [](int v) { return (float(v) / 255.0f - 0.5f) / 0.5f; };
  for (int c = 0; c < 3; ++c) {
    CHECK(out[c * 4 + 0] == f(255));
    CHECK(out[c * 4 + 1] == f(0));
    CHECK(out[c * 4 + 2] == f(128));
    CHECK(out[c * 4 + 3] == f(51));
  }
  // 4x4 to 2x2: PIL's bilinear reduction of a constant image is the constant.
  const std::vector<uint8_t> flat(16 * 3, 77);
  float small[12];
  transform_image(flat, 4, 4, 3, 2, false, 3, small);
  for (float v : small) CHECK(v == f(77));
  // Colour data for a grey network is refused.
  CHECK_THROWS_WITH(transform_image(flat, 4, 4, 3, 2, false, 1, small), Catch::Contains("cannot become"));
}

TEST_CASE("the network to train: the generator as decoder, latent_avg from w_avg or the mapping's mean", "[psp_train]") {
  stylegan2::Generator G(tiny_generator_config(), 3);
  const PspTrainSpec spec = cpu_spec(G.config());
  CHECK(spec.net.depths == std::vector<int>{8, 8, 16, 16});
  CHECK(spec.net.input_size == 32);
  CHECK(spec.net.n_styles == G.num_ws());
  // A fresh generator's w_avg is zero (never tracked): the mean over 1e5 mapped latents, as pSp's mean_latent.
  std::string note;
  auto net = make_psp_to_train(spec, G, 1, &note);
  CHECK(note.find("100000") != std::string::npos);
  CHECK(net->latent_avg.shape() == Shape({G.num_ws(), 16}));
  {
    NoGradGuard ng;
    Generator rng(9);
    const Tensor w = slice(G.mapping.forward(randn({20000, 16}, rng), Tensor()), 1, 0, 1).reshape({20000, 16});
    CHECK(test::allclose(slice(net->latent_avg, 0, 0, 1).reshape({16}), mean(w, {0}), 0, 0.02).ok);
  }
  CHECK(slice(net->latent_avg, 0, 0, 1).to_vector() == slice(net->latent_avg, 0, 7, 8).to_vector());
  // With a w_avg, that is latent_avg, repeated per style.
  G.mapping.w_avg->copy_(full({16}, 0.25));
  net = make_psp_to_train(spec, G, 1, &note);
  CHECK(note.find("w_avg") != std::string::npos);
  CHECK(net->latent_avg.to_vector() == std::vector<double>(size_t(G.num_ws()) * 16, 0.25));
  for (const auto& [n, t] : G.state_dict()) CHECK(net->decoder->state_dict().at(n).to_vector() == t.to_vector());
  // A conditional generator is refused.
  stylegan2::GeneratorConfig cond = tiny_generator_config();
  cond.c_dim = 3;
  CHECK_THROWS_WITH(make_psp_train_spec("cpu", cond), Catch::Contains("conditional"));
}

TEST_CASE("the encoder starts from ArcFace's input layer and body when its body is ArcFace's", "[psp_train]") {
  const auto arcface = perceptual::load_arcface(std::string(GF_TEST_DATA_DIR) + "/psp_arcface.bin");
  PspConfig cfg;  // the fixture's ArcFace body: units 1,1,1,1 at depths 8, 12, 16, 20
  cfg.units = {1, 1, 1, 1};
  cfg.depths = {8, 12, 16, 20};
  cfg.se_reduction = 4;
  cfg.input_size = 32;
  cfg.n_styles = 8;
  ParamInit init(5);
  const auto enc = make_encoder(cfg, init);
  const std::string note = init_encoder_from_arcface(*enc, *arcface);
  const io::TensorMap a = arcface->state_dict(), e = enc->state_dict();
  int copied = 0;
  for (const auto& [n, t] : e)
    if (n.rfind("body.", 0) == 0 || n.rfind("input_layer.", 0) == 0) {
      INFO(n);
      CHECK(t.to_vector() == a.at(n).to_vector());
      ++copied;
    }
  CHECK(note.find(std::to_string(copied) + " tensors") != std::string::npos);
  // A grey encoder keeps its own first conv.
  cfg.input_nc = 1;
  ParamInit init2(5);
  const auto grey = make_encoder(cfg, init2);
  const std::string note2 = init_encoder_from_arcface(*grey, *arcface);
  CHECK(note2.find("1 left out (the first conv: input channels 1 here, 3 in ArcFace)") != std::string::npos);
  CHECK(grey->state_dict().at("input_layer.0.weight").shape() == Shape({64, 1, 3, 3}));
  // A body of other depths takes nothing (it took the tensors whose shapes
  // happened to agree), and says why.
  cfg.input_nc = 3;
  cfg.depths = {8, 12, 16, 24};
  ParamInit init3(5);
  const auto other = make_encoder(cfg, init3);
  const io::TensorMap before = other->state_dict();
  std::map<std::string, std::vector<double>> was;
  for (const auto& [n, t] : before) was[n] = t.to_vector();
  const std::string note3 = init_encoder_from_arcface(*other, *arcface);
  CHECK(note3.rfind("encoder initialized at random: its body is not ArcFace's (body.", 0) == 0);
  for (const auto& [n, t] : other->state_dict()) CHECK(t.to_vector() == was.at(n));
}

TEST_CASE("a short pSp run: losses finite and falling on a fixed set of images", "[psp_train]") {
  stylegan2::Generator G(tiny_generator_config(), 3);
  auto ds = generated_dataset(G, 5, 11);  // 4 to train on, 1 held out: every batch is those 4 images
  PspTrainSpec spec = cpu_spec(G.config());
  spec.batch = 4;
  spec.val_images = 1;
  PspTrainer t(spec, 0, Device::cpu(), *ds, make_psp_to_train(spec, G, 0), nullptr, nullptr);
  std::vector<double> losses;
  for (int i = 0; i < 30; ++i) {
    t.step();
    const auto s = t.take_stats();
    losses.push_back(stat(s, "loss"));
    REQUIRE(std::isfinite(losses.back()));
    CHECK(stat(s, "loss") == stat(s, "loss_l2"));  // only l2, weight 1
  }
  const double first = (losses[0] + losses[1] + losses[2]) / 3, last = (losses[27] + losses[28] + losses[29]) / 3;
  INFO("loss over the first 3 steps " << first << ", the last 3 " << last);
  CHECK(last < 0.5 * first);
  CHECK(t.cur_step() == 30);
  CHECK(t.cur_nimg() == 120);
}

TEST_CASE("the cpu config learns to invert the main job's Fashion-MNIST generator: held-out L2 below half its start",
          "[psp_train]") {
  // G_ema of the README's main job at its end (scripts/main.sh: train_stylegan --cfg small --kimg 50 --tick 1 --snap 5
  // on Fashion-MNIST; export_weights --net G_ema of network-snapshot-000050.bin, 1 MB), and images it generates:
  // 64 to train on, the last 16 held out.
  const auto G = stylegan2::load_generator(std::string(GF_TEST_DATA_DIR) + "/fashion_mnist_small_G.bin");
  REQUIRE(G->config().img_resolution == 32);
  auto ds = generated_dataset(*G, 80, 12);
  PspTrainSpec spec = cpu_spec(G->config());  // as the README's command: --cfg cpu --start-from-latent-avg
  spec.val_images = 16;
  PspTrainer t(spec, 0, Device::cpu(), *ds, make_psp_to_train(spec, *G, 0), nullptr, nullptr);
  const double start = stat(t.validate(), "val_loss_l2");
  // Random noise as coach.validate's forward, from a stream of the seed and
  // the step: the same losses again at the same step.
  CHECK(stat(t.validate(), "val_loss_l2") == start);
  for (int i = 0; i < 30; ++i) t.step();
  const double end = stat(t.validate(), "val_loss_l2");
  INFO("held-out L2 " << start << " -> " << end);
  CHECK(std::isfinite(end));
  CHECK(end < 0.5 * start);  // 0.35 -> 0.117 (0.34x) here
}

TEST_CASE("pSp's held-out loss averages full batches: a short last batch is dropped, as pSp's test loader does",
          "[psp_train]") {
  stylegan2::Generator G(tiny_generator_config(), 3);
  PspTrainSpec spec = cpu_spec(G.config());
  spec.batch = 4;
  // 14 images, the last 6 held out: one full batch of 4, and 2 left over.
  auto all = generated_dataset(G, 14, 21);
  spec.val_images = 6;
  PspTrainer six(spec, 0, Device::cpu(), *all, make_psp_to_train(spec, G, 0), nullptr, nullptr);
  // The same 8 training images and the same first 4 held out, without the 2.
  auto fewer = generated_dataset(G, 14, 21, 12);
  spec.val_images = 4;
  PspTrainer four(spec, 0, Device::cpu(), *fewer, make_psp_to_train(spec, G, 0), nullptr, nullptr);
  const double a = stat(six.validate(), "val_loss_l2"), b = stat(four.validate(), "val_loss_l2");
  CHECK(std::isfinite(a));
  CHECK(a == b);
  // Fewer held-out images than a batch: the one short batch (pSp would have no loss).
  spec.val_images = 3;
  auto eleven = generated_dataset(G, 14, 21, 11);
  PspTrainer three(spec, 0, Device::cpu(), *eleven, make_psp_to_train(spec, G, 0), nullptr, nullptr);
  CHECK(std::isfinite(stat(three.validate(), "val_loss_l2")));
}

TEST_CASE("a pSp run resumed from its checkpoint continues bit for bit", "[psp_train]") {
  stylegan2::Generator G(tiny_generator_config(), 3);
  auto ds = generated_dataset(G, 12, 13);
  PspTrainSpec spec = cpu_spec(G.config());
  spec.batch = 4;
  spec.val_images = 4;
  spec.lambdas.w_norm = 0.01;
  PspTrainer straight(spec, 7, Device::cpu(), *ds, make_psp_to_train(spec, G, 7), nullptr, nullptr);
  PspTrainer first(spec, 7, Device::cpu(), *ds, make_psp_to_train(spec, G, 7), nullptr, nullptr);
  for (int i = 0; i < 8; ++i) straight.step();  // past Ranger's Lookahead sync at step 6
  for (int i = 0; i < 4; ++i) first.step();
  const std::string path = tmp_path("checkpoint.bin");
  save_checkpoint(path, first);
  const io::SafetensorsFile file = io::read_safetensors(path);
  std::filesystem::remove(path);
  uint64_t seed = 0;
  const PspTrainSpec spec2 = checkpoint_spec(file, path, &seed);
  CHECK(seed == 7);
  PspTrainer resumed(spec2, seed, Device::cpu(), *ds, checkpoint_network(file, path), nullptr, nullptr);
  load_checkpoint_state(resumed, file, path);
  CHECK(resumed.cur_step() == 4);
  for (int i = 0; i < 4; ++i) resumed.step();
  CHECK(same_tensors(resumed.net().encoder->state_dict(), straight.net().encoder->state_dict()));
  CHECK(same_tensors(resumed.optimizer().state_dict(), straight.optimizer().state_dict()));
  CHECK(resumed.rng().offset == straight.rng().offset);
  // A checkpoint made on other data is refused.
  auto other = generated_dataset(G, 13, 14);
  PspTrainer wrong(spec2, seed, Device::cpu(), *other, checkpoint_network(file, path), nullptr, nullptr);
  CHECK_THROWS_WITH(load_checkpoint_state(wrong, file, path), Catch::Contains("made on dataset"));
  // Without any optimizer state past step 0 (an edited file): refused, not
  // resumed with a fresh Ranger.
  io::SafetensorsFile no_opt = file;
  for (auto it = no_opt.tensors.begin(); it != no_opt.tensors.end();)
    it = it->first.rfind("opt.", 0) == 0 ? no_opt.tensors.erase(it) : std::next(it);
  PspTrainer fresh_opt(spec2, seed, Device::cpu(), *ds, checkpoint_network(no_opt, path), nullptr, nullptr);
  CHECK_THROWS_WITH(load_checkpoint_state(fresh_opt, no_opt, path),
                    Catch::Contains("holds no optimizer state (opt.*) at step 4"));
}

// With --train-decoder, Ranger centralizes the decoder's conv weights, const
// and to_rgb bias as pSp's rosinality shapes (a leading 1): the first step
// (RAdam unrectified: the update is the centralized gradient) moves each by
// an update of zero mean over the whole tensor; the to_rgb bias's RGB sum
// stays (a grey generator's one-value bias does not move at all). Per output
// channel (ADA's shapes), the biases moved by about 0.04.
TEST_CASE("Ranger trains pSp's decoder with the official layout's gradient centralization", "[psp_train]") {
  stylegan2::Generator G(tiny_generator_config(3), 3);
  auto ds = generated_dataset(G, 10, 15);
  PspTrainSpec spec = cpu_spec(G.config());
  spec.batch = 4;
  spec.val_images = 2;
  spec.train_decoder = true;
  spec.optim = "ranger";
  spec.lr = 0.01;
  PspTrainer t(spec, 0, Device::cpu(), *ds, make_psp_to_train(spec, G, 0), nullptr, nullptr);
  t.step();
  int checked = 0;
  for (const auto& [n, v] : t.net().decoder->named_parameters()) {
    if (!psp_decoder_unit_leading_dim("decoder." + n)) continue;
    const Tensor d = (v - G.state_dict().at(n)).to(DType::f64);
    const double moved = sum(abs(d)).item();
    INFO(n);
    CHECK(moved > 0);
    CHECK(std::abs(sum(d).item()) <= 1e-4 * moved);
    ++checked;
  }
  CHECK(checked >= 5);  // const, the convs, to_rgb weights and biases
}

TEST_CASE("only the encoder trains unless train_decoder; BatchNorms train on batch statistics", "[psp_train]") {
  stylegan2::Generator G(tiny_generator_config(), 3);
  auto ds = generated_dataset(G, 10, 15);
  for (bool train_decoder : {false, true}) {
    PspTrainSpec spec = cpu_spec(G.config());
    spec.batch = 4;
    spec.val_images = 2;
    spec.train_decoder = train_decoder;
    spec.optim = "adam";
    PspTrainer t(spec, 0, Device::cpu(), *ds, make_psp_to_train(spec, G, 0), nullptr, nullptr);
    const io::TensorMap enc0 = [&] {
      io::TensorMap m;
      for (const auto& [n, v] : t.net().encoder->state_dict()) m[n] = v.clone();
      return m;
    }();
    t.step();
    bool dec_moved = false;
    for (const auto& [n, v] : t.net().decoder->named_parameters())
      dec_moved = dec_moved || v.to_vector() != G.state_dict().at(n).to_vector();
    CHECK(dec_moved == train_decoder);
    const io::TensorMap enc1 = t.net().encoder->state_dict();
    CHECK(enc1.at("styles.0.linear.weight").to_vector() != enc0.at("styles.0.linear.weight").to_vector());
    // Running statistics moved: the batch norms ran in training mode.
    CHECK(enc1.at("input_layer.1.running_mean").to_vector() != enc0.at("input_layer.1.running_mean").to_vector());
  }
  PspTrainSpec spec = cpu_spec(G.config());
  spec.val_images = 8;  // 10 images: 2 left, fewer than a batch of 8
  CHECK_THROWS_WITH(PspTrainer(spec, 0, Device::cpu(), *ds, make_psp_to_train(spec, G, 0), nullptr, nullptr),
                    Catch::Contains("fewer than a batch"));
}

TEST_CASE("the shared tick loop runs pSp in steps: ticks, grids, snapshots, the end at max_steps", "[psp_train]") {
  stylegan2::Generator G(tiny_generator_config(), 3);
  auto ds = generated_dataset(G, 11, 16);  // 8 to train on, 3 held out
  PspTrainSpec spec = cpu_spec(G.config());
  spec.batch = 4;
  spec.val_images = 3;
  spec.max_steps = 6;
  const std::string outdir = tmp_path("loop");
  std::filesystem::remove_all(outdir);
  const auto read = [](const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  const auto lines = [&](const std::string& path) {
    std::vector<nlohmann::json> rows;
    std::istringstream in(read(path));
    for (std::string l; std::getline(in, l);) rows.push_back(nlohmann::json::parse(l));
    return rows;
  };
  std::string first_dir;
  int64_t best_step = -1;
  {
    PspTrainer t(spec, 0, Device::cpu(), *ds, make_psp_to_train(spec, G, 0), nullptr, nullptr);
    RunDir run(outdir, "loop", /*echo=*/false);
    first_dir = run.path();
    PspLoopOptions lo;
    lo.tick_steps = 2;
    lo.snap_ticks = 2;
    lo.grid_w = 2;  // 2 x 2 pairs asked, 3 held out: 2 rows, the last one padded
    lo.grid_h = 2;
    run_psp_training(t, run, lo);
    CHECK(t.cur_step() == 6);
    // Ticks after step 1 (StyleGAN2-ADA's tick 0), then every 2 steps, and at the end.
    const auto rows = lines(run.file("stats.jsonl"));
    REQUIRE(rows.size() == 4);
    const int64_t steps[] = {1, 3, 5, 6};
    for (size_t i = 0; i < rows.size(); ++i) {
      CHECK(rows[i].at("tick").get<int64_t>() == int64_t(i));
      CHECK(rows[i].at("step").get<int64_t>() == steps[i]);
      CHECK(rows[i].at("kimg").get<double>() == steps[i] * 4 / 1000.0);
      CHECK(std::isfinite(rows[i].at("loss_l2").get<double>()));
      CHECK(std::isfinite(rows[i].at("val_loss_l2").get<double>()));
    }
    // Grids and snapshots every 2 ticks and at the end, named by step as
    // pSp's iteration_<step>.pt (by kimg, all of them were 000000 and
    // replaced each other), the checkpoint at the end.
    for (const char* f : {"reals.png", "fakes000001.png", "fakes000005.png", "fakes000006.png", "network-snapshot-000001.bin",
                          "network-snapshot-000005.bin", "network-snapshot-000006.bin", "checkpoint.bin", "report.html"})
      CHECK(std::filesystem::exists(run.file(f)));
    // best_model.bin: the network at the lowest held-out loss, as pSp's
    // best_model.pt; the log names its step.
    double lowest = std::numeric_limits<double>::infinity();
    for (const auto& r : rows)
      if (r.at("val_loss").get<double>() < lowest) {
        lowest = r.at("val_loss").get<double>();
        best_step = r.at("step").get<int64_t>();
      }
    CHECK(t.best_step() == best_step);
    CHECK(t.best_val_loss() == lowest);
    CHECK(std::filesystem::exists(run.file("best_model.bin")));
    CHECK(read(run.file("log.txt")).find("best_model.bin: step " + std::to_string(best_step) + ", held-out loss") !=
          std::string::npos);
    // Its bytes are the network of that step (a snapshot of it when one was written).
    const std::string best_snapshot = run.file("network-snapshot-" + std::string(6 - std::to_string(best_step).size(), '0') +
                                               std::to_string(best_step) + ".bin");
    if (std::filesystem::exists(best_snapshot)) CHECK(read(run.file("best_model.bin")) == read(best_snapshot));
    // reals.png: the 3 held-out images in a row; fakes: 2 pairs a row, the missing pair black.
    CHECK(read_image(run.file("reals.png")).shape() == Shape({1, 1, 32, 3 * 32}));
    const Tensor fakes = read_image(run.file("fakes000006.png"));
    REQUIRE(fakes.shape() == Shape({1, 1, 2 * 32, 4 * 32}));
    CHECK(max(slice(slice(fakes, 2, 32, 64), 3, 64, 128)).item() == -1);
    const std::string log = read(run.file("log.txt"));
    CHECK(log.find("tick 3     kimg 0.0      step 6 ") != std::string::npos);  // 'tick %-5d', as the official loops
    CHECK(read(run.file("report.html")).find("Reconstruction L2") != std::string::npos);
    // The earlier grids are captioned by step, as they are named.
    CHECK(read(run.file("report.html")).find("<figcaption>step 5</figcaption>") != std::string::npos);
    uint64_t seed = 1;
    const io::SafetensorsFile ck = io::read_safetensors(run.file("checkpoint.bin"));
    CHECK(checkpoint_spec(ck, "checkpoint.bin", &seed).max_steps == 6);
  }
  {
    // Resumed at its end: nothing trains (pSp tests the step count first), and the network is written as it is.
    const io::SafetensorsFile ck = io::read_safetensors(first_dir + "/checkpoint.bin");
    uint64_t seed = 0;
    PspTrainer t(checkpoint_spec(ck, "checkpoint.bin", &seed), seed, Device::cpu(), *ds,
                 checkpoint_network(ck, "checkpoint.bin"), nullptr, nullptr);
    load_checkpoint_state(t, ck, "checkpoint.bin");
    CHECK(t.best_step() == -1);  // a resumed run keeps its own best, as pSp's coach
    CHECK(best_step > 0);
    RunDir run(outdir, "again", /*echo=*/false);
    run_psp_training(t, run, PspLoopOptions{});
    CHECK(t.cur_step() == 6);
    CHECK(read(run.file("log.txt")).find("Nothing left to train: step 6 of 6 is reached; writing a snapshot without "
                                         "training, where the official loop writes nothing (a larger --max-steps trains longer)") !=
          std::string::npos);
    CHECK(std::filesystem::exists(run.file("network-snapshot-000006.bin")));
    CHECK(std::filesystem::exists(run.file("checkpoint.bin")));
    CHECK(read(run.file("stats.jsonl")).empty());  // no tick
  }
  std::filesystem::remove_all(outdir);
}

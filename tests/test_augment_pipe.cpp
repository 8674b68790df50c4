// StyleGAN2-ADA's augmentation pipeline (train/augment_pipe.h): the draws of
// tools/fixtures/make_augment_fixtures.py replayed through gf::AugmentPipe against the
// PyTorch reference (outputs, input gradients, a second-order quantity as R1
// forms it); first and second order by finite differences; p = 0; the specs;
// bad input; draw logs and seeds.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <unistd.h>

#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "tests/fixtures.h"
#include "tests/testing.h"
#include "train/augment_pipe.h"
#include "train/draw_log.h"

using namespace gf;
using namespace gf::test;

namespace {

constexpr double kTol = 1e-4;  // float32 parity

using gf::test::bit_equal;

AugmentPipe make_pipe(const std::string& name, float p) {
  AugmentPipe pipe(augpipe_spec(name));
  pipe.p = p;
  return pipe;
}

std::string scratch(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("gf_test_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  return dir.string();
}

}  // namespace

TEST_CASE("augpipe_spec gives the official augpipe_specs and refuses other names", "[augment_pipe]") {
  CHECK(augpipe_names() == std::vector<std::string>{"blit", "geom", "color", "filter", "noise", "cutout", "bg", "bgc",
                                                     "bgcf", "bgcfn", "bgcfnc"});
  const AugmentSpec off;  // the official defaults: everything off
  CHECK(off.xflip == 0);
  CHECK(off.xint_max == 0.125);
  CHECK(off.scale_std == 0.2);
  CHECK(off.rotate_max == 1);
  CHECK(off.xfrac_std == 0.125);
  CHECK(off.brightness_std == 0.2);
  CHECK(off.contrast_std == 0.5);
  CHECK(off.hue_max == 1);
  CHECK(off.saturation_std == 1);
  CHECK(off.imgfilter_bands == std::vector<double>{1, 1, 1, 1});
  CHECK(off.imgfilter_std == 1);
  CHECK(off.noise_std == 0.1);
  CHECK(off.cutout_size == 0.5);
  // Which multipliers each name sets to 1: blit, geom, color, filter, noise, cutout.
  const auto families = [](const AugmentSpec& s) {
    std::string f;
    f += s.xflip == 1 && s.rotate90 == 1 && s.xint == 1 ? 'b' : s.xflip + s.rotate90 + s.xint == 0 ? '-' : '?';
    f += s.scale == 1 && s.rotate == 1 && s.aniso == 1 && s.xfrac == 1       ? 'g'
         : s.scale + s.rotate + s.aniso + s.xfrac == 0                       ? '-'
                                                                             : '?';
    const double c = s.brightness + s.contrast + s.lumaflip + s.hue + s.saturation;
    f += s.brightness == 1 && s.contrast == 1 && s.lumaflip == 1 && s.hue == 1 && s.saturation == 1 ? 'c'
         : c == 0                                                                                   ? '-'
                                                                                                    : '?';
    f += s.imgfilter == 1 ? 'f' : s.imgfilter == 0 ? '-' : '?';
    f += s.noise == 1 ? 'n' : s.noise == 0 ? '-' : '?';
    f += s.cutout == 1 ? 'c' : s.cutout == 0 ? '-' : '?';
    return f;
  };
  const std::vector<std::pair<std::string, std::string>> want = {
      {"blit", "b-----"},  {"geom", "-g----"}, {"color", "--c---"}, {"filter", "---f--"},
      {"noise", "----n-"}, {"cutout", "-----c"}, {"bg", "bg----"},   {"bgc", "bgc---"},
      {"bgcf", "bgcf--"},  {"bgcfn", "bgcfn-"}, {"bgcfnc", "bgcfnc"}};
  for (const auto& [name, f] : want) {
    INFO(name);
    const AugmentSpec s = augpipe_spec(name);
    CHECK(families(s) == f);
    // Only the multipliers change; the ranges keep their defaults.
    CHECK(s.xint_max == off.xint_max);
    CHECK(s.cutout_size == off.cutout_size);
  }
  CHECK_THROWS_WITH(augpipe_spec("bgcx"), "augpipe: unknown pipe 'bgcx'; valid: blit, geom, color, filter, noise, "
                                          "cutout, bg, bgc, bgcf, bgcfn, bgcfnc");
}

TEST_CASE("AugmentPipe refuses images it cannot augment, in one clear message", "[augment_pipe]") {
  Generator rng(1);
  const AugmentPipe bgc = make_pipe("bgc", 1);
  CHECK_THROWS_WITH(bgc(zeros({2, 2, 8, 8}), rng, nullptr, ""),
                    "AugmentPipe: images must have 1 or 3 channels (L or RGB), got 2");
  CHECK_THROWS_WITH(bgc(zeros({2, 4, 8, 8}), rng, nullptr, ""),
                    "AugmentPipe: images must have 1 or 3 channels (L or RGB), got 4");
  CHECK_THROWS_WITH(bgc(zeros({3, 8, 8}), rng, nullptr, ""), "AugmentPipe: images must be [N, C, H, W], got [3, 8, 8]");
  CHECK_THROWS_WITH(bgc(zeros({0, 3, 8, 8}), rng, nullptr, ""), "AugmentPipe: empty images [0, 3, 8, 8]");
  // The filter bank's reflect padding (21) needs 22 rows and columns, as torch's pad does.
  const AugmentPipe filter = make_pipe("filter", 1);
  CHECK_THROWS_WITH(filter(zeros({1, 3, 21, 30}), rng, nullptr, ""),
                    "AugmentPipe: imgfilter pads by reflection by 21 pixels, so images need at least 22 rows and "
                    "columns, got [1, 3, 21, 30]");
  CHECK_NOTHROW(filter(zeros({1, 3, 22, 22}), rng, nullptr, ""));
  AugmentSpec bands = augpipe_spec("filter");
  bands.imgfilter_bands = {1, 1, 1};
  CHECK_THROWS_WITH(AugmentPipe(bands), "AugmentPipe: imgfilter_bands needs 4 entries, got 3");
}

TEST_CASE("reflect_pad2d pads as torch's 'reflect' and is differentiable twice", "[augment_pipe][grad]") {
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3}, DType::f64);
  // Rows [1 2 3] and [4 5 6]: 2 columns left, 1 right, 1 row above, 1 below.
  const Tensor y = reflect_pad2d(x, 2, 1, 1, 1);
  CHECK(y.shape() == Shape{1, 1, 4, 6});
  CHECK(y.to_vector() == std::vector<double>{6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2});
  CHECK(bit_equal(reflect_pad2d(x, 0, 0, 0, 0), x));
  CHECK_THROWS_WITH(reflect_pad2d(x, 0, 0, 2, 0),
                    "reflect_pad2d: padding (2, 0) must be >= 0 and below the size 2 of dim 2");
  check_first_and_second_order(
      [](const std::vector<Tensor>& in) { return square(reflect_pad2d(in[0], 3, 1, 2, 4)); },
      {random_tensor({2, 1, 5, 4}, 11).requires_grad_()});
}

TEST_CASE("AugmentPipe matches the PyTorch reference on replayed draws", "[augment_pipe]") {
  const std::string path = data_path("augment_pipe.bin");
  const io::SafetensorsFile file = io::read_safetensors(path);
  const auto cases = nlohmann::json::parse(file.metadata.at("cases"));
  const int second = std::stoi(file.metadata.at("second"));
  REQUIRE(cases.size() >= 11);
  std::set<std::string> pipes;
  for (const auto& cs : cases) {
    const int k = cs["k"].get<int>();
    const std::string name = cs["name"], key = "case" + std::to_string(k) + "/";
    pipes.insert(cs["pipe"].get<std::string>());
    INFO("case " << name << " (" << cs["pipe"].get<std::string>() << ", p = " << cs["p"].get<double>() << ")");
    const AugmentPipe pipe = make_pipe(cs["pipe"], cs["p"].get<float>());
    auto log = DrawLog::replayer({path});
    log->set_scope("mb" + std::to_string(k) + "/");
    Generator rng(99);
    Tensor x = file.tensors.at(key + "images").detach().requires_grad_();
    const Tensor out = pipe(x, rng, log.get(), "aug/");
    CHECK(rng.offset == 0);                       // replayed: the generator is left alone
    CHECK_NOTHROW(log->end_minibatch(k));         // every draw of the case was taken
    const double err = max_rel_error(out, file.tensors.at(key + "out"));
    INFO("output: max relative error " << err);
    CHECK(err < kTol);
    const Tensor& w = file.tensors.at(key + "w");
    const bool second_order = k == second;
    const Tensor g = grad({sum(out * w)}, {x}, {}, false, second_order)[0];
    const double gerr = max_rel_error(g, file.tensors.at(key + "grad"));
    INFO("input gradient: max relative error " << gerr);
    CHECK(gerr < kTol);
    if (!second_order) continue;
    // r = |dD(aug(x))/dx|^2 with D(y) = sum(a * softplus(y)): R1 through the pipe.
    Tensor a = w.detach().requires_grad_();
    Generator rng2(99);
    auto log2 = DrawLog::replayer({path});
    log2->set_scope("mb" + std::to_string(k) + "/");
    Tensor x2 = file.tensors.at(key + "images").detach().requires_grad_();
    const Tensor d_real = sum(a * softplus(pipe(x2, rng2, log2.get(), "aug/")));
    const Tensor gx = grad({d_real}, {x2}, {}, /*create_graph=*/true)[0];
    const std::vector<Tensor> dr = grad({sum(square(gx))}, {a, x2});
    const double err_a = max_rel_error(dr[0], file.tensors.at(key + "dr_da"));
    const double err_x = max_rel_error(dr[1], file.tensors.at(key + "dr_dx"));
    INFO("dr/da: " << err_a << ", dr/dx: " << err_x);
    CHECK(err_a < kTol);
    CHECK(err_x < kTol);
  }
  // Every family alone and the full pipe are among the cases.
  for (const char* p : {"blit", "geom", "color", "filter", "noise", "cutout", "bgc", "bgcfnc"}) CHECK(pipes.count(p));
}

TEST_CASE("AugmentPipe: first- and second-order gradients with respect to the images", "[augment_pipe][grad]") {
  // The draws come from a fresh generator in every evaluation: the same augmentation each time.
  const auto run = [](const std::string& name) {
    return [name](const std::vector<Tensor>& in) {
      Generator rng(5);
      return make_pipe(name, 1)(in[0], rng, nullptr, "");
    };
  };
  SECTION("geometric and color") { check_first_and_second_order(run("bgc"), {random_tensor({1, 3, 5, 7}, 1).requires_grad_()}); }
  SECTION("filter, noise and cutout") {
    AugmentSpec s = augpipe_spec("filter");
    s.noise = s.cutout = 1;
    s.cutout_size = 0.3;
    check_first_and_second_order(
        [s](const std::vector<Tensor>& in) {
          Generator rng(5);
          AugmentPipe pipe(s);
          pipe.p = 1;
          return pipe(in[0], rng, nullptr, "");
        },
        {random_tensor({1, 1, 22, 23}, 2).requires_grad_()});
  }
}

TEST_CASE("at p = 0 color, noise and cutout leave the images unchanged; geometry changes them by rounding only",
          "[augment_pipe]") {
  for (const int64_t c : {1, 3}) {
    INFO(c << " channels");
    const Tensor x = random_tensor({3, c, 9, 7}, 3, DType::f32);
    AugmentSpec s = augpipe_spec("color");
    s.noise = s.cutout = 1;
    AugmentPipe pipe(s);
    Generator rng(4);
    CHECK(pipe.p == 0);  // as the training loop starts it
    const Tensor y = pipe(x, rng, nullptr, "");
    CHECK(rng.offset > 0);  // the draws are taken all the same
    CHECK(bit_equal(y, x));
    const Tensor z = make_pipe("bgc", 0)(x, rng, nullptr, "");
    const Check ck = allclose(z, x, 0, 3e-5);
    INFO(ck.message);
    CHECK(ck.ok);
    CHECK_FALSE(bit_equal(z, x));  // padded, upsampled, resampled and downsampled: not a copy
  }
}

TEST_CASE("AugmentPipe: a recorded draw log replays bit for bit, and a seed gives the same images", "[augment_pipe]") {
  const AugmentPipe pipe = make_pipe("bgcfnc", 0.7f);
  const Tensor x = random_tensor({3, 3, 22, 24}, 6, DType::f32);
  Generator a(17), b(17), other(18);
  const Tensor ya = pipe(x, a, nullptr, "aug/"), yb = pipe(x, b, nullptr, "aug/");
  CHECK(bit_equal(ya, yb));
  CHECK(a.offset == b.offset);
  CHECK_FALSE(bit_equal(pipe(x, other, nullptr, "aug/"), ya));

  const std::string dir = scratch("augment_draws");
  auto rec = DrawLog::recorder(dir);
  rec->set_scope("mb0/");
  Generator r(17);
  const Tensor recorded = pipe(x, r, rec.get(), "aug_real/");
  CHECK(bit_equal(recorded, ya));  // recording does not change the numbers
  const std::vector<std::string> names = rec->names();
  std::set<std::string> want;
  for (const char* n :
       {"xflip_i", "xflip_p", "rotate90_i", "rotate90_p", "xint_t", "xint_p", "scale_s", "scale_p", "rotate_pre_theta",
        "rotate_pre_p", "aniso_s", "aniso_p", "rotate_post_theta", "rotate_post_p", "xfrac_t", "xfrac_p",
        "brightness_b", "brightness_p", "contrast_c", "contrast_p", "lumaflip_i", "lumaflip_p", "hue_theta", "hue_p",
        "saturation_s", "saturation_p", "imgfilter0_t", "imgfilter0_p", "imgfilter1_t", "imgfilter1_p",
        "imgfilter2_t", "imgfilter2_p", "imgfilter3_t", "imgfilter3_p", "noise_sigma", "noise_p", "noise", "cutout_p",
        "cutout_center"})
    want.insert(std::string("mb0/aug_real/") + n);
  CHECK(std::set<std::string>(names.begin(), names.end()) == want);
  rec->end_minibatch(0);

  auto rep = DrawLog::replayer({dir});
  rep->set_scope("mb0/");
  Generator unused(12345);
  CHECK(bit_equal(pipe(x, unused, rep.get(), "aug_real/"), ya));
  CHECK(unused.offset == 0);
  CHECK_NOTHROW(rep->end_minibatch(0));

  // A replayed uniform outside [0, 1) (an edited log) is refused, not taken
  // as a transform no draw gives; a second recording into the folder too.
  CHECK_THROWS_WITH(DrawLog::recorder(dir), Catch::Contains("holds draws-mb000000.bin already"));
  const std::string file = dir + "/draws-mb000000.bin";
  io::SafetensorsFile f = io::read_safetensors(file);
  Tensor xflip = f.tensors.at("mb0/aug_real/xflip_i").clone();
  xflip.data<float>()[1] = 7.0f;
  f.tensors["mb0/aug_real/xflip_i"] = xflip;
  io::save_safetensors(file, f.tensors, f.metadata);
  auto edited = DrawLog::replayer({dir});
  edited->set_scope("mb0/");
  CHECK_THROWS_WITH(pipe(x, unused, edited.get(), "aug_real/"),
                    Catch::Contains("'mb0/aug_real/xflip_i' in ") &&
                        Catch::Contains(" holds 7 at element 1; a uniform draw lies in [0, 1)"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("AugmentPipe on cuda matches the cpu", "[augment_pipe][cuda]") {
  const Device gpu = Device::cuda(0);
  const AugmentPipe pipe = make_pipe("bgcfnc", 0.8f);
  const Tensor x = random_tensor({2, 3, 22, 26}, 8, DType::f32);
  Generator rc(3), rg(3);
  Tensor xc = x.detach().requires_grad_(), xg = x.to(gpu).requires_grad_();
  const Tensor yc = pipe(xc, rc, nullptr, ""), yg = pipe(xg, rg, nullptr, "");
  CHECK(yg.device() == gpu);
  CHECK(rc.offset == rg.offset);  // the per-pixel noise, drawn on the device, takes the same counters
  const Check ck = allclose(yg, yc, 1e-4, 1e-5);
  INFO(ck.message);
  CHECK(ck.ok);
  const Tensor w = random_tensor(yc.shape(), 9, DType::f32);
  const Check cg = allclose(grad({sum(yg * w.to(gpu))}, {xg})[0], grad({sum(yc * w)}, {xc})[0], 1e-4, 1e-5);
  INFO(cg.message);
  CHECK(cg.ok);
}

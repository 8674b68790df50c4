// train/draw_log.h on its own: what a replay refuses in a log (draws that
// no generator gives, another program's file, a pipe in the folder) and a
// recording into a folder that holds a log already. The replays of whole
// training steps are in test_step_parity.cpp and the families' parity tests.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "tests/testing.h"
#include "train/draw_log.h"

using namespace gf;
namespace fs = std::filesystem;

namespace {

// A fresh folder for one case (not yet made), under one that goes when the tests end.
std::string fresh(const std::string& name) {
  static const test::TempDir all("draw_log");
  const std::string dir = all / name;
  fs::remove_all(dir);
  return dir;
}

// A log of minibatch 0 with z = values, recorded as a trainer would.
void record_z(const std::string& dir, const std::vector<double>& values) {
  auto rec = DrawLog::recorder(dir);
  rec->set_scope("mb0/");
  const int64_t n = static_cast<int64_t>(values.size());
  rec->draw("z", {n}, DType::f32, Device::cpu(), [&] { return Tensor::from_vector(values, {n}); });
  rec->end_minibatch(0);
}

Tensor replay_z(const std::string& path, int64_t n) {
  auto rep = DrawLog::replayer({path});
  rep->set_scope("mb0/");
  return rep->draw("z", {n}, DType::f32, Device::cpu(), [] { return Tensor(); });
}

}  // namespace

TEST_CASE("draw log: a replayed draw that is not finite is refused, naming it", "[draw_log]") {
  const std::string dir = fresh("draws_nonfinite");
  record_z(dir, {0.5, -1.25, 2.0});
  CHECK(replay_z(dir, 3).to_vector() == std::vector<double>{0.5, -1.25, 2.0});
  // The same log with a NaN (an edited or damaged file whose CRC was made anew).
  const std::string file = dir + "/draws-mb000000.bin";
  for (const double bad : {std::nan(""), double(INFINITY)}) {
    io::SafetensorsFile f = io::read_safetensors(file);
    Tensor z = f.tensors.at("mb0/z").clone();
    z.data<float>()[2] = static_cast<float>(bad);
    f.tensors["mb0/z"] = z;
    io::save_safetensors(file, f.tensors, f.metadata);
    CHECK_THROWS_WITH(replay_z(dir, 3), Catch::Contains("'mb0/z' in ") && Catch::Contains(" at element 2") &&
                                            Catch::Contains("draws are finite numbers"));
  }
  fs::remove_all(dir);
}

TEST_CASE("draw log: a replayed uniform outside [0, 1) is refused (logged_uniform)", "[draw_log]") {
  // PGGAN's gp_eps of 7.5 took the gradient penalty at an extrapolated
  // point; v1's mixing cutoff from a mix_v of -3 took every style from the
  // second latent.
  const std::string dir = fresh("draws_uniform");
  Generator rng(3);
  {
    auto rec = DrawLog::recorder(dir);
    rec->set_scope("mb0/");
    const Tensor u = logged_uniform(rec.get(), "gp_eps", {4}, DType::f32, Device::cpu(), rng);
    Generator again(3);
    CHECK(u.to_vector() == rand({4}, again, DType::f32).to_vector());  // rand()'s numbers
    rec->end_minibatch(0);
  }
  auto replay = [&] {
    auto rep = DrawLog::replayer({dir});
    rep->set_scope("mb0/");
    return logged_uniform(rep.get(), "gp_eps", {4}, DType::f32, Device::cpu(), rng);
  };
  CHECK_NOTHROW(replay());
  const std::string file = dir + "/draws-mb000000.bin";
  io::SafetensorsFile f = io::read_safetensors(file);
  for (const float bad : {7.5f, -0.25f, 1.0f}) {
    Tensor u = f.tensors.at("mb0/gp_eps").clone();
    u.data<float>()[3] = bad;
    f.tensors["mb0/gp_eps"] = u;
    io::save_safetensors(file, f.tensors, f.metadata);
    CHECK_THROWS_WITH(replay(), Catch::Contains("'mb0/gp_eps' in ") && Catch::Contains(" at element 3; a uniform draw lies in [0, 1)"));
  }
  fs::remove_all(dir);
}

TEST_CASE("draw log: a recording into a folder that holds a log is refused", "[draw_log]") {
  // A shorter second recording over a longer first left the first's later
  // minibatches beside its own, and a replay of the folder mixed the runs.
  const std::string dir = fresh("draws_twice");
  record_z(dir, {1.0});
  CHECK_THROWS_WITH(DrawLog::recorder(dir), Catch::Contains("holds draws-mb000000.bin already") &&
                                                Catch::Contains("give a new or empty folder"));
  fs::remove_all(dir);
  // The projector's trace.bin counts as a log too.
  fs::create_directories(dir);
  io::save_safetensors(dir + "/trace.bin", {{"w", Tensor::from_vector({1.0}, {1})}});
  CHECK_THROWS_WITH(DrawLog::recorder(dir), Catch::Contains("holds trace.bin already"));
  fs::remove_all(dir);
  // Other files in the folder are no log.
  fs::create_directories(dir);
  io::save_safetensors(dir + "/notes.bin", {{"w", Tensor::from_vector({1.0}, {1})}});
  CHECK_NOTHROW(DrawLog::recorder(dir));
  fs::remove_all(dir);
}

TEST_CASE("draw log: a replay into a run of another seed is refused; a log without one is read", "[draw_log]") {
  // The programs record their run's seed: replayed with another, the draws
  // were the log's but the networks started elsewhere, silently.
  const std::string dir = fresh("draws_seed");
  {
    auto rec = draw_log_from_flags(dir, "", 2);
    rec->set_scope("mb0/");
    rec->draw("z", {1}, DType::f32, Device::cpu(), [] { return Tensor::from_vector({0.5}, {1}); });
    rec->end_minibatch(0);
  }
  CHECK(io::read_safetensors(dir + "/draws-mb000000.bin").metadata.at("seed") == "2");
  CHECK_NOTHROW(draw_log_from_flags("", dir, 2));
  CHECK_THROWS_WITH(draw_log_from_flags("", dir, 9),
                    Catch::Contains("was recorded by a run of seed 2, this run has 9") &&
                        Catch::Contains("give the recording run's --seed"));
  // A log without a seed (a reference's, or one recorded before 2026-12-05) is read by any run.
  const std::string plain = fresh("draws_no_seed");
  record_z(plain, {0.5});
  CHECK_NOTHROW(draw_log_from_flags("", plain, 9));
  fs::remove_all(dir);
  fs::remove_all(plain);
}

TEST_CASE("draw log: another program's .bin with its own format tag is no log; a pipe is refused, not waited on",
          "[draw_log]") {
  const std::string dir = fresh("draws_format");
  fs::create_directories(dir);
  const Tensor z = Tensor::from_vector({0.25}, {1});
  io::save_safetensors(dir + "/draws-mb000000.bin", {{"mb0/z", z}}, {{"format", "ganforge-stylegan2-checkpoint/1"}});
  CHECK_THROWS_WITH(replay_z(dir, 1), Catch::Contains("is a 'ganforge-stylegan2-checkpoint/1' file, not a draw log"));
  // Without a format (a reference's fixture file), its mb<K>/ entries are read.
  io::save_safetensors(dir + "/draws-mb000000.bin", {{"mb0/z", z}});
  CHECK(replay_z(dir, 1).to_vector() == std::vector<double>{0.25});
  // A FIFO in the folder, under a log's name: opening it blocked forever.
  fs::remove(dir + "/draws-mb000000.bin");
  REQUIRE(::mkfifo((dir + "/draws-mb000000.bin").c_str(), 0600) == 0);
  CHECK_THROWS_WITH(replay_z(dir, 1), Catch::Contains("draws-mb000000.bin: is a pipe, not a file"));
  fs::remove_all(dir);
}

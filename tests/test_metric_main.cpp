// What every metric goes through (metric_main, training_metrics): the official names, the jsonl lines and their
// appends, snapshot_pkl, check_metric's refusals at set-up, and a stop signal between batches.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "engine/error.h"
#include "engine/ops.h"
#include "metrics/linear_separability.h"
#include "metrics/metric_main.h"
#include "metrics/perceptual_path_length.h"
#include "metrics/training_metrics.h"
#include "train/stop_signal.h"
#include "tests/metrics_fixture.h"
#include "tests/testing.h"

using namespace gf;
using namespace gf::metrics;
namespace fs = std::filesystem;
using gf::test::flat_embedding;
using gf::test::replay;
using gf::test::small_dataset;
using gf::test::stand_in_context;

TEST_CASE("report_metric writes the official jsonl line", "[metrics]") {
  const fs::path dir = fs::temp_directory_path() / ("gf_metrics_run_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  MetricResult r;
  r.metric = "fid50k_full";
  r.results = {{"fid50k_full", 12.5}};
  r.total_time = 3725.4;
  const std::string line = report_metric(r, dir.string(), (dir / "network-snapshot-000004.bin").string());
  report_metric(r, dir.string(), (dir / "network-snapshot-000008.bin").string());
  std::ifstream f(dir / "metric-fid50k_full.jsonl");
  std::string l1, l2;
  REQUIRE(std::getline(f, l1));
  REQUIRE(std::getline(f, l2));
  CHECK(l1 == line);
  const auto j = nlohmann::json::parse(l2);
  CHECK(j["results"]["fid50k_full"] == 12.5);
  CHECK(j["metric"] == "fid50k_full");
  CHECK(j["total_time_str"] == "1h 02m 05s");
  CHECK(j["num_gpus"] == 1);
  CHECK(j["snapshot_pkl"] == "network-snapshot-000008.bin");
  CHECK(j.contains("timestamp"));
  CHECK(!j.contains("num_gen"));
  fs::remove_all(dir);
}

TEST_CASE("a metric's line is shown before its append, and a run folder that refuses it is named with the cause",
          "[metrics]") {
  const fs::path dir = fs::temp_directory_path() / ("gf_metrics_append_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // Nothing there yet, a writable folder: passes and creates nothing.
  CHECK_NOTHROW(check_metric_files_writable({"fid50k_full", "is50k"}, dir.string()));
  CHECK(fs::is_empty(dir));
  // A jsonl that is a folder (root cannot append to it either): refused up front, with the cause.
  fs::create_directories(dir / "metric-is50k.jsonl");
  CHECK_THROWS_WITH(check_metric_files_writable({"fid50k_full", "is50k"}, dir.string()),
                    "cannot write the results to " + (dir / "metric-is50k.jsonl").string() + ": Is a directory");
  CHECK_THROWS_WITH(check_metric_files_writable({"kid50k"}, (dir / "missing").string()),
                    Catch::EndsWith("No such file or directory"));
  CHECK_THROWS_WITH(append_metric_line(dir.string(), "is50k", "{}"),
                    "cannot append to " + (dir / "metric-is50k.jsonl").string() + ": Is a directory");
  append_metric_line(dir.string(), "fid50k_full", "{\"a\":1}");
  append_metric_line(dir.string(), "fid50k_full", "{\"a\":2}");
  std::ifstream f(dir / "metric-fid50k_full.jsonl");
  std::stringstream all;
  all << f.rdbuf();
  CHECK(all.str() == "{\"a\":1}\n{\"a\":2}\n");

  // A line that does not fit (a full disk; here a file size limit, in a
  // child) is cut back off: half a line stayed before, and the next result
  // was glued to it.
  const std::string jsonl = (dir / "metric-fid50k_full.jsonl").string();
  const pid_t child = ::fork();
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_IGN);  // the write fails with EFBIG instead
    const rlimit lim{static_cast<rlim_t>(fs::file_size(jsonl) + 5), RLIM_INFINITY};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    try {
      append_metric_line(dir.string(), "fid50k_full", "{\"a\":3, \"too\":\"long\"}");
    } catch (const gf::Error& e) {
      ::_exit(std::string(e.what()).find("File too large") != std::string::npos ? 0 : 2);
    }
    ::_exit(1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  std::ifstream again(jsonl);
  std::stringstream after;
  after << again.rdbuf();
  CHECK(after.str() == "{\"a\":1}\n{\"a\":2}\n");

  // A file that ends inside a line (a run killed while it wrote, a cut
  // copy): the next result starts a line of its own. Glued to the part, it
  // was lost with it (calc_metrics printed it and exited 0).
  std::ofstream(jsonl, std::ios::app) << "{\"results\": {\"fid50k_full\": 1.0}, \"timest";
  append_metric_line(dir.string(), "fid50k_full", "{\"a\":3}");
  std::ifstream cut(jsonl);
  std::stringstream after_cut;
  after_cut << cut.rdbuf();
  CHECK(after_cut.str() == "{\"a\":1}\n{\"a\":2}\n{\"results\": {\"fid50k_full\": 1.0}, \"timest\n{\"a\":3}\n");

  // A link named like a metric file (in a folder copied from elsewhere) is
  // refused, up front and when appending; what it leads to is untouched.
  std::ofstream(dir / "network-snapshot-000000.bin") << "weights";
  fs::create_symlink("network-snapshot-000000.bin", dir / "metric-kid50k.jsonl");
  CHECK_THROWS_WITH(check_metric_files_writable({"kid50k"}, dir.string()), Catch::Contains("a symbolic link"));
  CHECK_THROWS_WITH(append_metric_line(dir.string(), "kid50k", "{}"), Catch::Contains("a symbolic link"));
  std::ifstream weights(dir / "network-snapshot-000000.bin");
  std::string w;
  std::getline(weights, w);
  CHECK(w == "weights");
  fs::remove_all(dir);
}

TEST_CASE("metric names are the official ones", "[metrics]") {
  CHECK(parse_metric_list("none").empty());
  // As the official CommaSeparatedList: "none" in any case, or "" (refused before).
  CHECK(parse_metric_list("None").empty());
  CHECK(parse_metric_list("NONE").empty());
  CHECK(parse_metric_list("").empty());
  CHECK(parse_metric_list("fid50k_full,is50k") == std::vector<std::string>{"fid50k_full", "is50k"});
  CHECK(parse_metric_list("kid50k_full,kid50k") == std::vector<std::string>{"kid50k_full", "kid50k"});
  CHECK_THROWS_WITH(parse_metric_list("fid50k_full,fid10k"),
                    Catch::Contains("unknown metric 'fid10k'") &&
                        Catch::Contains("fid50k_full, kid50k_full, pr50k3_full, ppl2_wend, is50k, fid50k, kid50k, "
                                        "pr50k3, ppl_zfull, ppl_wfull, ppl_zend, ppl_wend"));
  // An empty piece, trailing or between commas, is an unknown metric, as the official split(',') has it.
  for (const char* list : {"fid50k_full,", "fid50k_full,,is50k", ",is50k"})
    CHECK_THROWS_WITH(parse_metric_list(list), Catch::StartsWith("unknown metric ''"));
  CHECK(is_valid_metric("fid50k"));
  CHECK(is_valid_metric("kid50k_full"));
  CHECK(is_valid_metric("kid50k"));
  CHECK(!is_valid_metric("ppl_wmid"));
  // What each runs, and the fewest images each takes.
  for (const char* m : {"pr50k3_full", "pr50k3", "ppl2_wend", "ppl_zfull", "ppl_wfull", "ppl_zend", "ppl_wend"}) {
    CHECK(is_valid_metric(m));
    CHECK(metric_needs_vgg16(m));
    CHECK(!metric_needs_inception(m));
  }
  for (const char* m : {"fid50k_full", "kid50k", "is50k"}) CHECK((metric_needs_inception(m) && !metric_needs_vgg16(m)));
  CHECK(metric_needs_mapping("ppl_zend"));
  CHECK(!metric_needs_mapping("pr50k3"));
  CHECK(metric_min_items("pr50k3_full") == 4);
  CHECK(metric_min_items("ppl_wend") == 1);
  // PGGAN's: no detector, no mapping; MS-SSIM takes a pair.
  for (const char* m : {"swd16k", "msssim20k"})
    CHECK((is_valid_metric(m) && !metric_needs_inception(m) && !metric_needs_vgg16(m) && !metric_needs_mapping(m)));
  CHECK(metric_min_items("swd16k") == 1);
  CHECK(metric_min_items("msssim20k") == 2);
}

// metric_main.py's report_metric writes json.dumps(...): ", " and ": "
// between items, a non-finite result as NaN (it was compact JSON with null).
TEST_CASE("a metric line is laid out as the official json.dumps writes it", "[metrics]") {
  MetricResult r;
  r.metric = "is50k";
  r.results = {{"is50k_mean", std::numeric_limits<double>::quiet_NaN()}, {"is50k_std", 0.25}};
  r.total_time = 61.25;
  r.num_gpus = 2;
  const std::string line = metric_line(r, "/runs/00001-x", "/runs/00001-x/network-snapshot-000004.bin");
  INFO(line);
  CHECK(line.rfind("{\"results\": {\"is50k_mean\": NaN, \"is50k_std\": 0.25}, \"metric\": \"is50k\", \"total_time\": 61.25, "
                   "\"total_time_str\": \"1m 01s\", \"num_gpus\": 2, \"snapshot_pkl\": \"network-snapshot-000004.bin\", "
                   "\"timestamp\": ",
                   0) == 0);
  CHECK(line.back() == '}');
  CHECK(line.find("num_gen") == std::string::npos);  // only for capped runs
}

// metric_main.py's snapshot_pkl is os.path.relpath(snapshot, run_dir):
// lexical. A snapshot reached through a link was named by the link's target
// (std::filesystem::relative), which report.html does not match.
TEST_CASE("snapshot_pkl is os.path.relpath's: no link followed", "[metrics]") {
  namespace fs = std::filesystem;
  const gf::test::TempDir dir("relpath");
  fs::create_directories(dir.path / "elsewhere");
  fs::create_directories(dir.path / "run");
  std::ofstream(dir / "elsewhere/snap.bin") << "x";
  fs::create_symlink("../elsewhere/snap.bin", dir.path / "run/network-snapshot-000123.bin");
  fs::create_symlink("elsewhere", dir.path / "link");
  CHECK(python_relpath(dir / "run/network-snapshot-000123.bin", dir / "run") == "network-snapshot-000123.bin");
  CHECK(python_relpath(dir / "run/network-snapshot-000123.bin", dir / "run/") == "network-snapshot-000123.bin");
  CHECK(python_relpath(dir / "link/snap.bin", dir / "run") == "../link/snap.bin");
  CHECK(python_relpath(dir / "run/../elsewhere/./snap.bin", dir / "run") == "../elsewhere/snap.bin");
  // os.path.relpath('/a/b/c.bin', '/x') and relative to the working folder
  CHECK(python_relpath("/a/b/c.bin", "/x") == "../a/b/c.bin");
  CHECK(python_relpath("c.bin", fs::current_path().string()) == "c.bin");
  CHECK(python_relpath(fs::current_path().string() + "/c.bin", ".") == "c.bin");
}

// A dataset too small for a metric is refused when the programs set up
// (metric_context checks every requested metric), not at the first snapshot
// after hours of training.
TEST_CASE("check_metric refuses too few real images and missing detectors at set-up", "[metrics]") {
  const auto one = small_dataset(1, false);
  std::vector<std::string> lines;
  MetricContext ctx = stand_in_context(*one, "", 0, lines);
  ctx.generator = replay(*one);
  CHECK_NOTHROW(check_metric("fid50k_full", ctx));  // one real image is enough for FID
  CHECK_THROWS_WITH(check_metric("kid50k_full", ctx), Catch::Contains("needs at least 2 generated and 2 real images, got 50000 and 1"));
  const auto two = small_dataset(2, false);
  ctx.dataset = two.get();
  CHECK_NOTHROW(check_metric("kid50k_full", ctx));
  // Through the programs' set-up: a request without its detector stops there.
  MetricRequest req;
  req.names = {"kid50k_full"};
  CHECK_THROWS_WITH(metric_context(req, MetricDetectors{}, *two, replay(*two), PathSampler{}, LatentSampler{},
                                   Device::cpu(), 0, {}),
                    Catch::Contains("kid50k_full: needs the Inception detector"));
}

// A PPL whose images would reach the VGG16 below its 16x16 minimum (the crop
// of a 16x16 generator is 8x8) is refused at set-up with one line naming the
// metric, not by the VGG16 in the middle of an evaluation.
TEST_CASE("check_metric refuses a PPL whose cropped images are below the VGG16's 16x16", "[metrics]") {
  const auto ds = small_dataset(2, false);
  std::vector<std::string> lines;
  MetricContext ctx = stand_in_context(*ds, "", 0, lines);
  ctx.generator = replay(*ds);
  ctx.lpips = flat_embedding();
  ctx.lpips_min_side = 16;  // as the VGG16 detector sets it
  int64_t side = 8;
  ctx.paths = [&side](int64_t n, const PplSpec&, gf::Generator&) { return zeros({2 * n, 3, side, side}); };
  CHECK_THROWS_WITH(check_metric("ppl_wend", ctx),
                    Catch::Contains("ppl_wend: the generator's images come to 8x8 after the official crop; the VGG16's LPIPS needs at least 16x16"));
  side = 16;
  CHECK_NOTHROW(check_metric("ppl_wend", ctx));
}

TEST_CASE("stop_between_batches: a pending stop signal stops the generator, the PPL paths and the feature loops",
          "[metrics]") {
  MetricContext ctx;
  int calls = 0;
  ctx.generator = [&](int64_t n, gf::Generator&) {
    ++calls;
    return zeros({n, 1, 8, 8});
  };
  ctx.paths = [&](int64_t n, const PplSpec&, gf::Generator&) {
    ++calls;
    return zeros({2 * n, 1, 8, 8});
  };
  std::vector<std::string> lines;
  ctx.feature_opt.progress = [&](const std::string& l) { lines.push_back(l); };
  stop_between_batches(ctx);
  gf::Generator g(0);
  ctx.generator(1, g);
  ctx.paths(1, PplSpec{}, g);
  ctx.feature_opt.progress("1000 of 2000");
  CHECK(calls == 2);
  CHECK(lines == std::vector<std::string>{"1000 of 2000"});  // the hook it had still runs
  set_stop_signal_for_test(SIGINT);
  CHECK_THROWS_WITH(ctx.generator(1, g), "Interrupted by SIGINT");
  CHECK_THROWS_WITH(ctx.paths(1, PplSpec{}, g), "Interrupted by SIGINT");
  CHECK_THROWS_WITH(ctx.feature_opt.progress("2000 of 2000"), "Interrupted by SIGINT");
  set_stop_signal_for_test(0);
  CHECK(calls == 2);  // nothing drawn after the signal
  CHECK(lines.size() == 1);
  // The real images' loop asks through the progress hook: a stop during it ends it.
  MetricContext bare;
  stop_between_batches(bare);  // no hook before: one now, which only checks
  REQUIRE(bool(bare.feature_opt.progress));
  CHECK_FALSE(bool(bare.generator));
}

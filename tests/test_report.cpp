// train/report.h: resumed runs continue the curves of the runs before them
// (through a chain of resumes), empty and broken folders, the atomic write.
// The page's structure and pixels are checked by tests/test_report.py.
#include <algorithm>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/utf8.h"
#include "tests/testing.h"
#include "train/report.h"

namespace fs = std::filesystem;
using namespace gf;

namespace {

// A fresh folder under one per-process folder that goes when the tests end.
fs::path fresh_dir(const std::string& name) {
  static const test::TempDir all("report");
  const fs::path d = all.path / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string read(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// One run's ticks, as a tick loop writes them: kimg from k0 in steps of 1,
// the run's clock from 0 at 10 s per tick, loss_G = kimg.
void write_ticks(const fs::path& dir, double k0, int n) {
  std::ofstream f(dir / "stats.jsonl", std::ios::app);
  for (int t = 0; t < n; ++t)
    f << "{\"tick\": " << t << ", \"kimg\": " << k0 + t << ", \"total_sec\": " << 10.0 * (t + 1)
      << ", \"loss_G\": " << k0 + t << "}\n";
}

// The coordinate pairs of the curve of `key` in a page, as "M"/"L" commands.
std::vector<std::string> curve_commands(const std::string& page, const std::string& key) {
  const std::regex path_re("data-key=\"" + key + "\" d=\"([^\"]*)\"");
  std::smatch m;
  REQUIRE(std::regex_search(page, m, path_re));
  const std::string d = m[1];
  std::vector<std::string> cmds;
  const std::regex cmd_re("[ML]");
  for (auto it = std::sregex_iterator(d.begin(), d.end(), cmd_re); it != std::sregex_iterator(); ++it) cmds.push_back(it->str());
  return cmds;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a resumed run's page continues the curves of the runs it came from", "[report]") {
  // Run A trains kimg 1..8 with a checkpoint at 4; B resumes from it and
  // trains 5..10 with a checkpoint at 8; C resumes from that and trains 9..11.
  const fs::path a = fresh_dir("a"), b = fresh_dir("b"), c = fresh_dir("c");
  write_ticks(a, 1, 8);
  carry_earlier_stats(b.string(), (a / "checkpoint.bin").string(), 4000);
  write_ticks(b, 5, 6);
  carry_earlier_stats(c.string(), (b / "checkpoint.bin").string(), 8000);
  write_ticks(c, 9, 3);

  // A's ticks after its checkpoint (5..8) are left out: B trained them again.
  const std::string b_earlier = read(b / "stats-earlier.jsonl");
  CHECK(count(b_earlier, "\n") == 4);
  CHECK(b_earlier.find("\"kimg\": 5") == std::string::npos);
  const std::string c_earlier = read(c / "stats-earlier.jsonl");
  CHECK(count(c_earlier, "\n") == 8);  // A's 1..4, B's 5..8

  const std::string page = render_report(c.string());
  // One point per tick, kimg 1..11, one unbroken line.
  const std::vector<std::string> cmds = curve_commands(page, "loss_G");
  CHECK(cmds.size() == 11);
  CHECK(std::count(cmds.begin(), cmds.end(), "M") == 1);
  // Two resumes, each marked; the training time adds each run's clock: 40 + 40 + 30 s.
  CHECK(count(page, "class=\"resume\"") == 2);
  CHECK(page.find("training time 1m 50s") != std::string::npos);
  CHECK(page.find("stats-earlier.jsonl") != std::string::npos);
}

TEST_CASE("carry_earlier_stats takes the checkpoint's tick from checkpoint-tick.json when its line never reached stats.jsonl",
          "[report]") {
  // Killed between the checkpoint at kimg 4 (the metrics run there) and the
  // tick's line: stats.jsonl ends at kimg 3, the file beside the checkpoint
  // holds the line.
  const fs::path a = fresh_dir("killed"), b = fresh_dir("after_kill"), c = fresh_dir("line_there"),
                 d = fresh_dir("other_tick");
  write_ticks(a, 1, 3);
  const std::string row = "{\"tick\": 3, \"kimg\": 4, \"total_sec\": 40, \"loss_G\": 4}";
  std::ofstream(a / kCheckpointTickFile) << row << "\n";
  carry_earlier_stats(b.string(), (a / "checkpoint.bin").string(), 4000);
  const std::string earlier = read(b / "stats-earlier.jsonl");
  CHECK(count(earlier, "\n") == 4);
  CHECK(earlier.substr(earlier.size() - row.size() - 1) == row + "\n");

  // When the line is there, it is not taken twice.
  write_ticks(a, 4, 1);
  carry_earlier_stats(c.string(), (a / "checkpoint.bin").string(), 4000);
  CHECK(count(read(c / "stats-earlier.jsonl"), "\n") == 4);

  // A line of another tick than the resume point's is not taken.
  carry_earlier_stats(d.string(), (a / "checkpoint.bin").string(), 5000);
  const std::string other = read(d / "stats-earlier.jsonl");
  CHECK(count(other, "\n") == 4);
  CHECK(other.find("\"total_sec\": 40,") == std::string::npos);
}

// Killed during the metrics of the checkpoint's tick, after FID's record and
// before KID's: the recovered line carries FID's result. Records of an
// earlier snapshot of the same name (formed before the line) or of another
// snapshot are not its results.
TEST_CASE("carry_earlier_stats gives the recovered tick the results its metric records hold", "[report]") {
  const fs::path a = fresh_dir("killed_in_metrics"), b = fresh_dir("after_metrics_kill");
  write_ticks(a, 1, 3);
  std::ofstream(a / kCheckpointTickFile) << "{\"kimg\":4.0,\"loss_G\":4,\"tick\":3,\"timestamp\":1000.5}\n";
  std::ofstream(a / "metric-fid50k_full.jsonl")
      << "{\"results\": {\"fid50k_full\": 99.0}, \"metric\": \"fid50k_full\", \"snapshot_pkl\": "
         "\"network-snapshot-000004.bin\", \"timestamp\": 900.0}\n"  // an earlier tick's snapshot 000004
      << "{\"results\": {\"fid50k_full\": 77.0}, \"metric\": \"fid50k_full\", \"snapshot_pkl\": "
         "\"network-snapshot-000003.bin\", \"timestamp\": 950.0}\n"
      << "{\"results\": {\"fid50k_full\": 12.5}, \"metric\": \"fid50k_full\", \"snapshot_pkl\": "
         "\"network-snapshot-000004.bin\", \"timestamp\": 1001.0}\n";
  std::ofstream(a / "metric-kid50k_full.jsonl")
      << "{\"results\": {\"kid50k_full\": 0.25}, \"metric\": \"kid50k_full\", \"snapshot_pkl\": "
         "\"network-snapshot-000003.bin\", \"timestamp\": 951.0}\n";
  // A record whose results name the line's own fields, or are no numbers: not taken.
  std::ofstream(a / "metric-odd.jsonl")
      << "{\"results\": {\"kimg\": 99.0, \"tick\": 7, \"note\": \"text\"}, \"metric\": \"odd\", \"snapshot_pkl\": "
         "\"network-snapshot-000004.bin\", \"timestamp\": 1002.0}\n";
  carry_earlier_stats(b.string(), (a / "checkpoint.bin").string(), 4000);
  const std::string earlier = read(b / "stats-earlier.jsonl");
  REQUIRE(count(earlier, "\n") == 4);
  const std::string last = earlier.substr(earlier.rfind('\n', earlier.size() - 2) + 1);
  CHECK(last == "{\"fid50k_full\":12.5,\"kimg\":4.0,\"loss_G\":4,\"tick\":3,\"timestamp\":1000.5}\n");
}

// calc_metrics run on a run's snapshots afterwards: its page drew the
// results, and the page of a run resumed from it dropped them (a breaker's
// find), at the checkpoint's own tick too. The records of the snapshots up to
// the resume point now travel with the carried ticks; a later snapshot's,
// which the resumed run trains again, does not.
TEST_CASE("a resumed run's page keeps the metric results recorded for the earlier snapshots", "[report]") {
  const fs::path a = fresh_dir("measured"), b = fresh_dir("resumed_after_measuring");
  write_ticks(a, 1, 8);
  auto record = [](int kimg, double fid) {
    return "{\"results\": {\"fid50k_full\": " + std::to_string(fid) +
           "}, \"metric\": \"fid50k_full\", \"snapshot_pkl\": \"network-snapshot-00000" + std::to_string(kimg) + ".pkl\"}\n";
  };
  std::ofstream(a / "metric-fid50k_full.jsonl") << record(2, 20.5) << record(4, 14.5) << record(6, 9.5);
  CHECK(curve_commands(render_report(a.string()), "fid50k_full").size() == 3);
  carry_earlier_stats(b.string(), (a / "checkpoint.bin").string(), 4000);
  write_ticks(b, 5, 2);
  const std::string earlier = read(b / "stats-earlier.jsonl");
  REQUIRE(count(earlier, "\n") == 4);
  CHECK(count(earlier, "fid50k_full") == 2);
  CHECK(earlier.find("\"fid50k_full\":14.5") != std::string::npos);
  CHECK(earlier.find("9.5") == std::string::npos);
  // The lines without a result are copied as they were.
  CHECK(earlier.find("{\"tick\": 0, \"kimg\": 1, \"total_sec\": 10, \"loss_G\": 1}\n") == 0);
  CHECK(curve_commands(render_report(b.string()), "fid50k_full").size() == 2);
}

TEST_CASE("carry_earlier_stats copies nothing without a resume point or earlier stats", "[report]") {
  const fs::path a = fresh_dir("plain"), b = fresh_dir("from_snapshot"), c = fresh_dir("no_stats");
  write_ticks(a, 1, 4);
  carry_earlier_stats(b.string(), (a / "network-snapshot-000004.bin").string(), 0);  // weights only: starts at 0
  CHECK_FALSE(fs::exists(b / "stats-earlier.jsonl"));
  carry_earlier_stats(c.string(), (fresh_dir("elsewhere") / "checkpoint.bin").string(), 4000);
  CHECK_FALSE(fs::exists(c / "stats-earlier.jsonl"));
}

TEST_CASE("report pages for folders without ticks, and for what is no run folder", "[report]") {
  const fs::path d = fresh_dir("no_ticks");
  std::ofstream(d / "training_options.json") << "{\"dataset\": \"x\", \"total_kimg\": 5}";
  const std::string page = render_report(d.string(), {/*live=*/true, 30});
  CHECK(page.find("No tick yet.") != std::string::npos);
  CHECK(page.find("No statistics yet.") != std::string::npos);
  CHECK(page.find("http-equiv=\"refresh\" content=\"30\"") != std::string::npos);

  // A run with nothing to train (--kimg 0, or resumed at its total) is finished, not waiting.
  for (const char* options : {"{\"total_kimg\": 0}", "{\"total_kimg\": 4, \"resume_kimg\": 4}"}) {
    const fs::path z = fresh_dir("nothing_to_train");
    std::ofstream(z / "training_options.json") << options;
    const std::string done = render_report(z.string(), {/*live=*/true, 30});
    CHECK(done.find("Finished with nothing to train") != std::string::npos);
    CHECK(done.find("No tick yet.") == std::string::npos);
    CHECK(done.find("http-equiv=\"refresh\"") == std::string::npos);
  }

  CHECK_THROWS_AS(render_report((d / "nothing").string()), Error);
  CHECK_THROWS_AS(render_report(fresh_dir("empty").string()), Error);
  // The tick loop's call never throws; the page is simply not written.
  update_report((d / "nothing").string(), true);
  CHECK_FALSE(fs::exists(d / "nothing"));
}

TEST_CASE("a run whose log ends with its error line is shown stopped, live or not", "[report]") {
  const fs::path d = fresh_dir("stopped");
  std::ofstream(d / "training_options.json") << "{\"dataset\": \"x\", \"total_kimg\": 5}";
  write_ticks(d, 0, 2);
  std::ofstream(d / "log.txt") << "tick 0 kimg 0.0\ntick 1 kimg 1.0\n";
  const std::string running = render_report(d.string(), {/*live=*/true, 30});
  CHECK(running.find("Running: kimg") != std::string::npos);
  CHECK(running.find(" left at ") != std::string::npos);
  std::ofstream(d / "log.txt", std::ios::app) << "train_stylegan: error: Interrupted by SIGINT\n";
  for (const bool live : {true, false}) {
    const std::string page = render_report(d.string(), {live, 30});
    CHECK(page.find("Stopped: Interrupted by SIGINT") != std::string::npos);
    CHECK(page.find("http-equiv=\"refresh\"") == std::string::npos);
    CHECK(page.find(" left at ") == std::string::npos);
    CHECK(page.find("Running") == std::string::npos);
  }
  // Only a program's error line as the last line counts.
  std::ofstream(d / "log.txt", std::ios::app) << "tick 2 kimg 2.0\n";
  CHECK(render_report(d.string()).find("Stopped") == std::string::npos);
  std::ofstream(d / "log.txt", std::ios::app) << "Dataset a: error: b\n";
  CHECK(render_report(d.string()).find("Stopped") == std::string::npos);
  // An error line longer than any fixed tail (a list of paths) is read whole.
  const std::string paths(100000, 'p');
  std::ofstream(d / "log.txt", std::ios::app) << "train_stylegan: error: cannot read " << paths << "\n";
  CHECK(render_report(d.string()).find("Stopped: cannot read " + paths) != std::string::npos);
}

TEST_CASE("a progressive run below its final resolution gives the time left as a lower bound", "[report]") {
  const fs::path d = fresh_dir("growing");
  std::ofstream(d / "training_options.json") << "{\"dataset\": \"x\", \"total_kimg\": 10, \"resolution\": 32}";
  {
    std::ofstream f(d / "stats.jsonl");
    for (int t = 0; t < 3; ++t)  // 10 s per kimg at 8x8
      f << "{\"tick\": " << t << ", \"kimg\": " << t << ", \"total_sec\": " << 10.0 * t << ", \"resolution\": 8}\n";
  }
  const std::string growing = render_report(d.string(), {/*live=*/true, 30});
  CHECK(growing.find("At least 1m 20s left: 10 s/kimg at 8x8, slower at the higher resolutions to 32x32.") !=
        std::string::npos);
  CHECK(growing.find("done about") == std::string::npos);
  // At the final resolution the speed holds: an estimate with its end time.
  std::ofstream(d / "stats.jsonl", std::ios::app) << "{\"tick\": 3, \"kimg\": 3, \"total_sec\": 30, \"resolution\": 32}\n";
  const std::string grown = render_report(d.string(), {/*live=*/true, 30});
  CHECK(grown.find("At least") == std::string::npos);
  CHECK(grown.find("About 1m 10s left at 10 s/kimg") != std::string::npos);
}

TEST_CASE("write_report writes the page atomically", "[report]") {
  const fs::path d = fresh_dir("write");
  write_ticks(d, 1, 3);
  write_report(d.string());
  CHECK(read(d / "report.html") == render_report(d.string()));
  CHECK_FALSE(fs::exists(io::temp_name((d / "report.html").string())));
}

TEST_CASE("write_report replaces a link named report.html, never the file it leads to", "[report]") {
  // A copied run folder whose report.html leads to its stats.jsonl (or
  // outside the folder): the page overwrote that file before.
  const fs::path d = fresh_dir("link");
  write_ticks(d, 1, 3);
  const std::string stats = read(d / "stats.jsonl");
  fs::create_symlink("stats.jsonl", d / "report.html");
  write_report(d.string());
  CHECK(read(d / "stats.jsonl") == stats);
  CHECK_FALSE(fs::is_symlink(d / "report.html"));
  CHECK(read(d / "report.html") == render_report(d.string()));
}

TEST_CASE("a run folder's file that is no plain file is noted and left out, never read", "[report]") {
  // A pipe hung the reader; /dev/zero as training_options.json read until
  // memory ran out; a folder as stats.jsonl gave "No tick yet." alone.
  const fs::path d = fresh_dir("special");
  std::ofstream(d / "training_options.json") << "{\"total_kimg\": 5}";
  REQUIRE(::mkfifo((d / "stats.jsonl").c_str(), 0600) == 0);
  REQUIRE(::mkfifo((d / "log.txt").c_str(), 0600) == 0);
  REQUIRE(::mkfifo((d / "fakes000000.png").c_str(), 0600) == 0);
  fs::create_symlink("/dev/zero", d / "stats-earlier.jsonl");
  const std::string page = render_report(d.string());
  CHECK(page.find("stats.jsonl is not a plain file") != std::string::npos);
  CHECK(page.find("stats-earlier.jsonl is not a plain file") != std::string::npos);
  const fs::path e = fresh_dir("special_options");
  fs::create_symlink("/dev/zero", e / "training_options.json");
  fs::create_directory(e / "stats.jsonl");
  const std::string page_e = render_report(e.string());
  CHECK(page_e.find("training_options.json is not a plain file") != std::string::npos);
  CHECK(page_e.find("stats.jsonl is not a plain file") != std::string::npos);
}

TEST_CASE("report values near the limits of a double: whole numbers, finite curves, no false dates", "[report]") {
  const fs::path d = fresh_dir("huge");
  std::ofstream(d / "training_options.json") << "{\"total_kimg\": 0.032}";
  std::ofstream(d / "stats.jsonl") << "{\"kimg\": 0, \"tick\": 0, \"loss_G\": 1e308, \"total_sec\": 1, \"timestamp\": 1e300}\n"
                                   << "{\"kimg\": 1.7e308, \"tick\": 1, \"loss_G\": -1.7e308, \"total_sec\": 2, \"timestamp\": 1e300}\n";
  const std::string page = render_report(d.string());
  // "%.1f" of 1.7e308 has 310 characters: all of them (cut at 63 before).
  const std::regex kimg_re("kimg (1699999[0-9]*)\\.0 of");
  std::smatch m;
  REQUIRE(std::regex_search(page, m, kimg_re));
  CHECK(m[1].length() == 309);
  // Every curve coordinate is a number ("-inf" and "inf" before).
  CHECK(page.find("inf") == std::string::npos);
  CHECK(page.find("nan") == std::string::npos);
  for (const std::string& cmds : curve_commands(page, "loss_G")) CHECK((cmds == "M" || cmds == "L"));
  CHECK(page.find("Last tick") == std::string::npos);  // a timestamp of 1e300 is no date
}

TEST_CASE("image links are percent-encoded file names", "[report]") {
  // '#', '?' and '%' cut the link short; "fakes:x.png" read as a scheme.
  const fs::path d = fresh_dir("links");
  write_ticks(d, 1, 1);
  for (const char* name : {"fakes#2.png", "fakes:javascript:alert(1).png", "fakes 50%.png"}) std::ofstream(d / name) << "x";
  const std::string page = render_report(d.string());
  CHECK(page.find("href=\"fakes%232.png\"") != std::string::npos);
  CHECK(page.find("href=\"fakes%3Ajavascript%3Aalert%281%29.png\"") != std::string::npos);
  CHECK(page.find("href=\"fakes%2050%25.png\"") != std::string::npos);
  CHECK(page.find("href=\"fakes:") == std::string::npos);
}

TEST_CASE("an official StyleGAN2-ADA run's stats.jsonl is read: each statistic's mean, in the report's keys", "[report]") {
  // Its lines hold {"num", "mean", "std"} per statistic (training_loop.py):
  // every line was "could not be read" and the page said "No tick yet".
  const fs::path d = fresh_dir("official");
  std::ofstream(d / "training_options.json") << "{\"total_kimg\": 25000}";
  std::ofstream f(d / "stats.jsonl");
  for (int t = 0; t < 3; ++t)
    f << "{\"Progress/tick\": {\"num\": 1, \"mean\": " << t << ", \"std\": 0}, \"Progress/kimg\": {\"num\": 1, \"mean\": "
      << 4.0 * t << ", \"std\": 0}, \"Timing/total_sec\": {\"num\": 1, \"mean\": " << 60.0 * (t + 1)
      << ", \"std\": 0}, \"Loss/G/loss\": {\"num\": 40, \"mean\": " << 1.5 + t << ", \"std\": 0.1}, "
      << "\"Loss/D/reg\": {\"num\": 10, \"mean\": 0.25, \"std\": 0}, \"timestamp\": " << 1.6e9 + 60 * t << "}\n";
  f.close();
  const std::string page = render_report(d.string());
  CHECK(page.find("No tick yet.") == std::string::npos);
  CHECK(page.find("could not be read") == std::string::npos);
  CHECK(page.find("kimg 8.0") != std::string::npos);
  CHECK(curve_commands(page, "loss_G").size() == 3);
  CHECK(curve_commands(page, "Loss/D/reg").size() == 3);
}

TEST_CASE("an official run's NaN and Infinity means are gaps, not lost ticks", "[report]") {
  // json.dumps writes a diverged mean as a bare NaN or Infinity, which is no
  // JSON: the whole tick was left out, and a finished run shown unfinished.
  const fs::path d = fresh_dir("official_nan");
  std::ofstream(d / "training_options.json") << "{\"total_kimg\": 12}";
  std::ofstream f(d / "stats.jsonl");
  const char* loss[] = {"1.5", "NaN", "Infinity", "-Infinity"};
  for (int t = 0; t < 4; ++t)
    f << "{\"Progress/tick\": {\"num\": 1, \"mean\": " << t << ", \"std\": 0}, \"Progress/kimg\": {\"num\": 1, \"mean\": "
      << 4.0 * t << ", \"std\": 0}, \"Timing/total_sec\": {\"num\": 1, \"mean\": " << 60.0 * (t + 1)
      << ", \"std\": 0}, \"Loss/G/loss\": {\"num\": 2, \"mean\": " << loss[t] << ", \"std\": NaN}, "
      << "\"Loss/D/loss\": {\"num\": 2, \"mean\": " << 0.5 + t << ", \"std\": 0}, \"note\": \"NaN in a string stays\", \"timestamp\": "
      << 1.6e9 + 60 * t << "}\n";
  f.close();
  const std::string page = render_report(d.string());
  CHECK(page.find("could not be read") == std::string::npos);
  CHECK(page.find("Finished: kimg 12.0") != std::string::npos);
  CHECK(curve_commands(page, "loss_D").size() == 4);
  CHECK(curve_commands(page, "loss_G").size() == 1);  // the one finite mean
}

TEST_CASE("metric-*.jsonl results are drawn at their snapshot's tick, after stats.jsonl's own", "[report]") {
  // calc_metrics (and an official run) write metrics to metric-<name>.jsonl
  // only; the page took them from stats.jsonl alone.
  const fs::path d = fresh_dir("metric_files");
  std::ofstream(d / "training_options.json") << "{\"total_kimg\": 3}";
  write_ticks(d, 0, 4);  // kimg 0, 1, 2, 3
  std::ofstream(d / "metric-fid50k_full.jsonl")
      << "{\"results\": {\"fid50k_full\": 90.5}, \"metric\": \"fid50k_full\", \"snapshot_pkl\": \"network-snapshot-000001.bin\"}\n"
      << "{\"results\": {\"fid50k_full\": NaN}, \"metric\": \"fid50k_full\", \"snapshot_pkl\": \"/elsewhere/network-snapshot-000002.pkl\"}\n"
      << "{\"results\": {\"fid50k_full\": 40.25}, \"metric\": \"fid50k_full\", \"snapshot_pkl\": \"network-snapshot-000003.pkl\"}\n"
      << "{\"results\": {\"fid50k_full\": 1}, \"metric\": \"fid50k_full\", \"snapshot_pkl\": \"network-snapshot-000009.pkl\"}\n"
      << "{\"results\": {\"fid50k_full\": 1}, \"metric\": \"fid50k_full\", \"snapshot_pkl\": null}\n";
  std::ofstream(d / "metric-kid50k_full.jsonl")
      << "{\"results\": {\"kid50k_full\": 0.02}, \"metric\": \"kid50k_full\", \"snapshot_pkl\": \"network-snapshot-000000.bin\"}\n";
  const std::string page = render_report(d.string());
  CHECK(curve_commands(page, "fid50k_full").size() == 2);  // kimg 1 and 3; NaN at 2 breaks the curve
  CHECK(curve_commands(page, "kid50k_full").size() == 1);
  CHECK(page.find("2 record(s) of metric-*.jsonl name no snapshot of these ticks") != std::string::npos);
}

TEST_CASE("a metric stats.jsonl holds at its snapshot's tick is not drawn again at a later tick of that kimg", "[report]") {
  // train_stylegan --metrics writes both; ticks under 1 kimg put the
  // snapshot's row (kimg 1.0) before another of the same whole kimg (1.5),
  // where the file's record added a point never measured there.
  const fs::path d = fresh_dir("metric_twice");
  std::ofstream(d / "training_options.json") << "{\"total_kimg\": 2}";
  {
    std::ofstream f(d / "stats.jsonl");
    const double kimg[] = {0.5, 1.0, 1.5, 2.0};
    for (int t = 0; t < 4; ++t)
      f << "{\"tick\": " << t << ", \"kimg\": " << kimg[t] << ", \"total_sec\": " << 10 * (t + 1)
        << (t % 2 ? ", \"fid50k_full\": " + std::to_string(50 - t) : std::string()) << "}\n";
  }
  const std::string alone = render_report(d.string());
  std::ofstream(d / "metric-fid50k_full.jsonl")
      << "{\"results\": {\"fid50k_full\": 49}, \"metric\": \"fid50k_full\", \"snapshot_pkl\": \"network-snapshot-000001.bin\"}\n"
      << "{\"results\": {\"fid50k_full\": 47}, \"metric\": \"fid50k_full\", \"snapshot_pkl\": \"network-snapshot-000002.bin\"}\n";
  CHECK(curve_commands(render_report(d.string()), "fid50k_full") == curve_commands(alone, "fid50k_full"));
  CHECK(curve_commands(alone, "fid50k_full").size() == 2);
}

TEST_CASE("a snapshot measured twice (calc_metrics run again) shows its last record", "[report]") {
  const fs::path d = fresh_dir("metric_again"), once = fresh_dir("metric_once");
  for (const fs::path& dir : {d, once}) {
    std::ofstream(dir / "training_options.json") << "{\"total_kimg\": 3}";
    write_ticks(dir, 0, 4);
  }
  const auto record = [](double v, int kimg) {
    return "{\"results\": {\"fid50k_full\": " + std::to_string(v) +
           "}, \"metric\": \"fid50k_full\", \"snapshot_pkl\": \"network-snapshot-00000" + std::to_string(kimg) +
           ".bin\"}\n";
  };
  std::ofstream(d / "metric-fid50k_full.jsonl") << record(90.5, 1) << record(40.25, 3) << record(60, 1);
  std::ofstream(once / "metric-fid50k_full.jsonl") << record(60, 1) << record(40.25, 3);
  const auto drawn = curve_commands(render_report(d.string()), "fid50k_full");
  CHECK(drawn.size() == 2);
  CHECK(drawn == curve_commands(render_report(once.string()), "fid50k_full"));
}

TEST_CASE("format_duration", "[report]") {
  CHECK(format_duration(5.4) == "5s");
  CHECK(format_duration(184) == "3m 04s");
  CHECK(format_duration(2 * 3600 + 3 * 60 + 4) == "2h 03m 04s");
  CHECK(format_duration(2.5) == "2s");  // half to even, as np.rint
  CHECK(format_duration(59.6) == "1m 00s");
  CHECK(format_duration(86400 + 2 * 3600 + 3 * 60) == "1d 02h 03m");
  CHECK(format_duration(-1) == "-");
}

// A NUL in a stats key (valid JSON: "\u0000") went into the page raw, three
// times, and other control characters too: no text HTML allows (grep took
// the page for a binary file). Each is shown as the replacement character.
TEST_CASE("control characters in a run's files reach the page as the replacement character", "[report]") {
  const fs::path d = fresh_dir("controls");
  std::ofstream(d / "stats.jsonl") << "{\"tick\": 0, \"kimg\": 1, \"loss\\u0000G\": 1, \"x\\u001bbell\\u0007\": 2}\n"
                                   << "{\"tick\": 1, \"kimg\": 2, \"loss\\u0000G\": 3, \"x\\u001bbell\\u0007\": 4}\n";
  std::ofstream(d / "training_options.json") << "{\"dataset\": \"a\\u0001b\", \"note\": \"del\\u007f\"}";
  const std::string page = render_report(d.string());
  size_t controls = 0;
  for (const char c : page)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) ++controls;
  CHECK(controls == 0);
  CHECK(page.find("loss\xEF\xBF\xBDG") != std::string::npos);
  CHECK(page.find("a\xEF\xBF\xBD" "b") != std::string::npos);
}

TEST_CASE("a legend gives the value of the last tick that has the key, a diverged one as -", "[report]") {
  // The legends gave the last finite value: a run whose loss went NaN, or
  // whose newest FID failed, showed the value before it.
  const fs::path d = fresh_dir("legend_latest");
  std::ofstream(d / "stats.jsonl") << "{\"tick\": 0, \"kimg\": 0, \"loss_G\": 1.5, \"loss_D\": 7}\n"
                                   << "{\"tick\": 1, \"kimg\": 1, \"loss_G\": 2.5, \"loss_D\": 8}\n"
                                   << "{\"tick\": 2, \"kimg\": 2, \"loss_G\": null, \"loss_D\": 9}\n"
                                   << "{\"tick\": 3, \"kimg\": 3, \"loss_G\": null}\n";
  std::ofstream(d / "metric-fid50k_full.jsonl")
      << "{\"results\": {\"fid50k_full\": 80.5}, \"metric\": \"fid50k_full\", \"snapshot_pkl\": \"network-snapshot-000000.pkl\"}\n"
      << "{\"results\": {\"fid50k_full\": NaN}, \"metric\": \"fid50k_full\", \"snapshot_pkl\": \"network-snapshot-000002.pkl\"}\n";
  const std::string page = render_report(d.string());
  INFO(page);
  CHECK(page.find(">G <b>-</b>") != std::string::npos);
  CHECK(page.find(">G <b>2.5</b>") == std::string::npos);
  CHECK(page.find(">fid50k_full <b>-</b>") != std::string::npos);
  CHECK(page.find("<b>9</b>") != std::string::npos);  // loss_D's last tick that has it (tick 2)
}

TEST_CASE("a line longer than a report reads is skipped and counted; the ticks after it are kept", "[report]") {
  // A line of gigabytes made its string fail to grow, and the read stopped
  // in silence: a finished run was shown at a third of its ticks.
  const fs::path d = fresh_dir("giant_line");
  {
    std::ofstream f(d / "stats.jsonl", std::ios::binary);
    f << "{\"tick\": 0, \"kimg\": 0, \"loss_G\": 1}\n";
  }
  {
    // 384 MiB of NULs without a newline, as a hole in a sparse file.
    std::fstream f(d / "stats.jsonl", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0, std::ios::end);
    const std::streamoff end = f.tellp();
    f.seekp(end + (std::streamoff(384) << 20));
    f << "\n{\"tick\": 1, \"kimg\": 1, \"loss_G\": 2}\n{\"tick\": 2, \"kimg\": 2, \"loss_G\": 3}\n";
  }
  std::ofstream(d / "training_options.json") << "{\"total_kimg\": 2}";
  // In a child whose address space cannot hold the line (it held it until
  // an allocation failed, then stopped reading).
  const test::ChildEnd end = test::run_with_address_limit(size_t(192) << 20, [&] {
    const std::string page = render_report(d.string());
    if (page.find("Finished: kimg 2.000 of 2") == std::string::npos ||
        page.find("1 line(s) of the stats could not be read") == std::string::npos ||
        curve_commands(page, "loss_G").size() != 3)
      throw Error("the page lost ticks or the note");
  });
  INFO(end.err);
  REQUIRE(WIFEXITED(end.status));
  CHECK(WEXITSTATUS(end.status) == 0);
}

TEST_CASE("a line of many statistics draws at most 2000 panels and says how many more", "[report]") {
  // One line of a million keys took minutes (each new key searched every
  // panel) and a page of gigabytes.
  const fs::path d = fresh_dir("many_keys_one_line");
  {
    std::ofstream f(d / "stats.jsonl");
    f << "{\"tick\": 0, \"kimg\": 0";
    for (int k = 0; k < 2100; ++k) f << ", \"k" << k << "\": 1";
    f << "}\n";
  }
  {
    std::ofstream f(d / "stats.jsonl", std::ios::app);  // and 300 statistics without a finite value
    f << "{\"tick\": 1, \"kimg\": 1";
    for (int k = 0; k < 300; ++k) f << ", \"n" << 1000 + k << "\": null";
    f << "}\n";
  }
  const std::string page = render_report(d.string());
  CHECK(count(page, "<figure class=\"panel\">") == 2000);
  CHECK(page.find("100 more statistics are not drawn (a report draws at most 2000 panels).") != std::string::npos);
  CHECK(page.find("No finite value, so no curve: n1000, n1001, ") != std::string::npos);
  CHECK(page.find("n1199 and 100 more.</p>") != std::string::npos);
  CHECK(page.find("n1200") == std::string::npos);
}

TEST_CASE("a page is UTF-8 whatever bytes its folder's name and files hold", "[report]") {
  const fs::path d = fresh_dir("latin1_\xe9\xff_<b>_\xc2\x85");  // the last a C1 control as UTF-8
  std::ofstream(d / "stats.jsonl") << "{\"tick\": 0, \"kimg\": 1, \"loss_G\": 1}\n";
  std::ofstream(d / "training_options.json") << "{\"dataset\": \"caf\xe9\"}";  // no JSON: noted
  // A PNG header claiming 1 x 2^31 - 1: no negative size on the page (the sizes were ints multiplied).
  const unsigned char png[24] = {0x89, 'P', 'N', 'G', 13, 10, 26, 10, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff};
  std::ofstream(d / "reals.png", std::ios::binary).write(reinterpret_cast<const char*>(png), sizeof png);
  const std::string page = render_report(d.string());
  size_t bad = 0;
  for (size_t i = 0; i < page.size();)
    if (!io::next_utf8(page, i)) ++bad, ++i;
  CHECK(bad == 0);
  CHECK(page.find("latin1_\xEF\xBF\xBD\xEF\xBF\xBD_&lt;b&gt;_\xEF\xBF\xBD") != std::string::npos);
  CHECK(page.find("\xC2\x85") == std::string::npos);
  CHECK(page.find("height=\"-") == std::string::npos);
  CHECK(page.find("height=\"17179869176\"") != std::string::npos);
}

// --resume-time (the official resume_time) starts the run's clock there:
// the page's start is its own, not that many seconds before it.
TEST_CASE("a run given --resume-time is shown started when it started", "[report]") {
  const fs::path d = fresh_dir("resume_time");
  std::ofstream(d / "training_options.json") << "{\"total_kimg\": 5, \"resume_time\": 36000}";
  std::ofstream(d / "stats.jsonl") << "{\"kimg\": 1, \"tick\": 1, \"total_sec\": 36010, \"timestamp\": 1700000000}\n";
  auto shown = [](double t) {
    const std::time_t s = static_cast<std::time_t>(t);
    std::tm tm{};
    localtime_r(&s, &tm);
    char b[64];
    std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S %Z", &tm);
    return std::string(b);
  };
  const std::string page = render_report(d.string());
  CHECK(page.find(shown(1700000000 - 10)) != std::string::npos);
  CHECK(page.find(shown(1700000000 - 36010)) == std::string::npos);
}

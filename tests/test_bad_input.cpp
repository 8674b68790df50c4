// Bad and unusual input as users meet it, each case run through the program
// a user runs (issue 11):
//  - every numeric flag of every program refuses bad values (out of range,
//    not finite, not a number) with one line naming the flag and its range:
//    one table over all programs, checked against each program's --help so a
//    new numeric flag cannot be missed;
//  - a run with nothing to train (--kimg 0, a finished
//    checkpoint resumed) still trains one minibatch and writes a network, as
//    the official loop does; the options a run records pass back through
//    their flags;
//  - a dataset's skipped files are named in the run log; transparent images
//    are refused before any run folder is made;
//  - the Python tools, run by a Python without NumPy or PyTorch, say so in one line;
//  - every .npy input refuses no rows, a wrong shape or dtype, an empty file;
//  - psp names each file of a folder or zip it skips.
// GF_BIN_DIR, GF_SOURCE_DIR and GF_PYTHON3 come from tests/cli/bad_input.cmake.
#include <catch2/catch.hpp>
#include <stb_image_write.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "engine/io/npy.h"
#include "engine/ops.h"
#include "data/dataset.h"
#include "data/archives/npz.h"
#include "tests/testing.h"
#include "tests/zip_fixture.h"

using nlohmann::json;
namespace fs = std::filesystem;
using gf::test::file_bytes;

namespace {

const std::string kBin = GF_BIN_DIR, kSource = GF_SOURCE_DIR, kPython = GF_PYTHON3;
// Fixed for this process (its id: concurrent runs of the suite never share
// it), wiped at the start of each case that writes there.
const fs::path kBase = fs::temp_directory_path() / ("gf_test_bad_input_" + std::to_string(::getpid()));
// Removed when the test binary exits (destroyed before kBase, declared after it).
struct RemoveBaseAtExit {
  ~RemoveBaseAtExit() {
    std::error_code ignored;
    fs::remove_all(kBase, ignored);
  }
} remove_base_at_exit;

std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Result {
  int code = -1;
  std::string out;  // stdout and stderr together
  int lines() const { return static_cast<int>(std::count(out.begin(), out.end(), '\n')); }
};

Result run(const std::string& command) {
  fs::create_directories(kBase);
  const fs::path log = kBase / ("run_" + std::to_string(::getpid()) + ".log");
  Result r;
  r.code = gf::test::shell("OMP_NUM_THREADS=1 " + command + " > " + log.string() + " 2>&1");
  r.out = file_bytes(log);
  fs::remove(log);
  return r;
}

bool have_python() { return ::access(kPython.c_str(), X_OK) == 0; }

struct Program {
  std::string name, command, help;  // how to run it (flags follow), how to get its --help
};

std::vector<Program> programs() {
  std::vector<Program> p;
  for (const char* n :
       {"train_stylegan", "train_pggan", "train_psp", "generate", "discriminate", "export_weights", "inspect_weights",
        "calc_metrics", "projector", "dataset_tool"})
    p.push_back({n, kBin + "/" + n, kBin + "/" + n + " --help"});
  for (const char* n : {"psp encode", "psp mix", "psp losses"}) {
    const std::string cmd = kBin + "/psp " + std::string(n).substr(4);
    p.push_back({n, cmd, cmd + " --help"});
  }
  // The converter checks its flags before it needs NumPy or PyTorch; COLUMNS
  // keeps argparse's help on one line per flag.
  const std::string cw = "COLUMNS=1000 " + kPython + " " + kSource + "/tools/convert_weights.py import";
  if (have_python()) p.push_back({"convert_weights", cw + " in.pkl out.bin", cw + " --help"});
  return p;
}

// Each numeric flag in a --help text, with what it accepts (train/cli.h and
// tools/pydeps.py write it the same way).
std::map<std::string, std::string> numeric_flags(const std::string& help) {
  static const std::regex line(
      R"(^\s+--([a-z0-9-]+)\b.*\((an integer in \[[^\]]*\]|a number in [\[(][^\]]*\]|a finite number(?: [<>]=? [-0-9.e+]+)?|a list like 0-3,7 of at most [0-9]+ integers in \[[^\]]*\])\))");
  // One entry per flag: argparse puts the help of a long flag on the next line.
  std::vector<std::string> entries;
  std::istringstream in(help);
  for (std::string l; std::getline(in, l);) {
    const size_t text = l.find_first_not_of(' ');
    if (text == std::string::npos || text == 0) continue;
    if (l.compare(text, 1, "-") == 0 || entries.empty()) entries.push_back(l);
    else entries.back() += " " + l.substr(text);
  }
  std::map<std::string, std::string> out;
  for (const auto& e : entries) {
    std::smatch m;
    if (std::regex_search(e, m, line)) out[m[1]] = m[2];
  }
  return out;
}

// Out-of-range values, chosen per flag; not-a-number values are added for every flag.
struct Row {
  const char* program;
  const char* flag;
  const char* value;
};
const Row kTable[] = {
    {"train_stylegan", "gpus", "0"},         {"train_stylegan", "gpus", "1025"},
    {"train_stylegan", "batch", "0"},        {"train_stylegan", "batch", "2147483648"},
    {"train_stylegan", "batch", "65537"},    {"train_stylegan", "batch-gpu", "2000000000"},
    {"train_stylegan", "batch-gpu", "-1"},   {"train_stylegan", "kimg", "-1"},
    {"train_stylegan", "kimg", "1e10"},      {"train_stylegan", "gamma", "-0.5"},
    {"train_stylegan", "snap", "-3"},        {"train_stylegan", "tick", "0"},
    {"train_stylegan", "metric-items", "0"}, {"calc_metrics", "metric-items", "-1"},
    {"calc_metrics", "seed", "4294967296"},   {"calc_metrics", "gpus", "0"},
    {"projector", "num-steps", "0"},         {"projector", "num-steps", "1000001"},
    {"projector", "seed", "-1"},             {"projector", "seed", "4294967296"},
    {"dataset_tool", "max-images", "0"},     {"dataset_tool", "max-images", "-1"},
    {"dataset_tool", "width", "0"},          {"dataset_tool", "height", "16385"},
    {"train_stylegan", "tick", "-1"},        {"train_stylegan", "seed", "-1"},
    {"train_stylegan", "seed", "4294967296"}, {"train_stylegan", "seed", "18446744073709551615"},
    {"train_stylegan", "max-images", "-2"},  {"train_stylegan", "max-images", "0"},
    {"train_stylegan", "freezed", "-1"},     {"train_stylegan", "freezed", "2147483648"},
    {"train_stylegan", "p", "1.5"},          {"train_stylegan", "target", "-0.1"},
    {"train_psp", "batch", "1"},             {"train_psp", "batch", "65537"},
    {"train_psp", "max-steps", "-1"},        {"train_psp", "lr", "0"},
    {"train_psp", "lr", "1001"},             {"train_psp", "l2-lambda", "-1"},
    {"train_psp", "lpips-lambda", "-0.8"},   {"train_psp", "id-lambda", "-0.1"},
    {"train_psp", "w-norm-lambda", "1e7"},   {"train_psp", "lpips-lambda-crop", "-1"},
    {"train_psp", "l2-lambda-crop", "-1"},   {"train_psp", "val-images", "0"},
    {"train_psp", "moco-lambda", "-0.5"},
    {"train_psp", "max-images", "0"},        {"train_psp", "tick", "0"},
    {"train_psp", "snap", "-1"},             {"train_psp", "seed", "4294967296"},
    {"generate", "seeds", "-1"},             {"generate", "seeds", "0-4294967296"},
    {"generate", "seeds", "0-1000000"},      {"generate", "seeds", "1,,2"},
    {"generate", "trunc", "0x"},             {"generate", "class", "-1"},
    {"generate", "frames", "1"},             {"generate", "frames", "1000001"},
    {"generate", "mix-rows", "-1"},          {"generate", "mix-cols", "0-1000"},
    {"generate", "mix-styles", "1024"},      {"generate", "interp", "1,2,3"},
    {"discriminate", "batch", "0"},          {"discriminate", "batch", "-5"},
    {"generate", "lod", "-1"},               {"generate", "lod", "31"},
    {"generate", "trunc-cutoff", "-1"},      {"generate", "trunc-cutoff", "1025"},
    {"generate", "duration", "0"},           {"generate", "duration", "inf"},
    {"generate", "smoothing", "-1"},         {"generate", "fps", "0"},
    {"generate", "zoom", "65"},              {"generate", "lerp-seed", "4294967296"},
    {"discriminate", "lod", "-0.5"},
    {"train_pggan", "kimg", "-1"},           {"train_pggan", "kimg", "1e10"},
    {"train_pggan", "lod-training-kimg", "-1"}, {"train_pggan", "lod-transition-kimg", "-0.1"},
    {"train_pggan", "resume-kimg", "-1"},   {"train_stylegan", "resume-kimg", "-1"},
    {"train_pggan", "resume-time", "-1"},   {"train_stylegan", "resume-time", "inf"},
    {"train_pggan", "snap", "-3"},           {"train_pggan", "image-snap", "-1"},
    {"train_pggan", "tick", "0"},            {"train_pggan", "seed", "-1"},
    {"train_pggan", "seed", "4294967296"},   {"train_pggan", "max-images", "0"},
    {"psp encode", "batch", "0"},            {"psp encode", "batch", "65537"},
    {"psp encode", "n-images", "0"},         {"psp encode", "latent-mask", "0-1024"},
    {"psp encode", "mix-alpha", "nan"},      {"psp encode", "seed", "-1"},         {"psp mix", "batch", "-1"},
    {"psp mix", "n-images", "0"},            {"psp mix", "latent-mask", "1024"},
    {"psp mix", "latent-mask", "0-1024"},    {"psp mix", "mix-alpha", "nan"},
    {"psp mix", "mix-alpha", "1e400"},        {"psp mix", "n-outputs", "0"},
    {"psp mix", "seed", "4294967296"},      {"psp encode", "test-workers", "-1"}, {"psp mix", "test-workers", "65537"},
    {"psp losses", "batch-size", "0"},       {"psp losses", "batch-size", "65537"},
    {"psp losses", "workers", "-1"},
    {"convert_weights", "conv-clamp", "0"},  {"convert_weights", "conv-clamp", "-1"},
    {"convert_weights", "mapping-lr-multiplier", "0"}, {"convert_weights", "mbstd-group-size", "-1"},
    {"convert_weights", "w-avg-samples", "0"},         {"convert_weights", "w-avg-samples", "1000001"},
};

void expect_refused(const Program& p, const std::string& flag, const std::string& value, const std::string& accepts) {
  const Result r = run(p.command + " " + quoted("--" + flag + "=" + value));
  INFO(p.name << " --" << flag << "=" << value << " -> exit " << r.code << ":\n" << r.out);
  CHECK(r.code != 0);
  CHECK(r.lines() == 1);
  CHECK(r.out.rfind(p.name + ": error: ", 0) == 0);
  CHECK(r.out.find("--" + flag) != std::string::npos);
  CHECK(r.out.find(accepts) != std::string::npos);
}

std::string png(int w, int h, int c, const std::vector<uint8_t>& px, bool bmp = false) {
  std::string out;
  auto append = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append((char*)data, size); };
  if (bmp) REQUIRE(stbi_write_bmp_to_func(append, &out, w, h, c, px.data()));
  else REQUIRE(stbi_write_png_to_func(append, &out, w, h, c, px.data(), w * c));
  return out;
}

void write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// The one run folder under outdir.
fs::path run_folder(const fs::path& outdir) {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(outdir)) dirs.push_back(e.path());
  REQUIRE(dirs.size() == 1);
  return dirs[0];
}

}  // namespace

TEST_CASE("every numeric flag of every program refuses bad values in one line naming the flag and its range",
          "[bad_input]") {
  if (!have_python()) WARN(kPython << " not found: tools/convert_weights.py is left out");
  for (const Program& p : programs()) {
    INFO(p.name);
    const Result help = run(p.help);
    REQUIRE(help.code == 0);
    const std::map<std::string, std::string> declared = numeric_flags(help.out);
    // The table names every numeric flag of --help, and nothing else.
    std::set<std::string> tabled;
    for (const Row& row : kTable)
      if (row.program == p.name) tabled.insert(row.flag);
    std::set<std::string> in_help;
    for (const auto& [flag, accepts] : declared) in_help.insert(flag);
    CHECK(tabled == in_help);
    for (const Row& row : kTable)
      if (row.program == p.name && declared.count(row.flag)) expect_refused(p, row.flag, row.value, declared.at(row.flag));
    for (const auto& [flag, accepts] : declared) {
      // C's hex forms passed strtod: --kimg 0x1p-7 trained 0.0078125 kimg, 0x10 16.
      std::vector<std::string> bad = {"abc", "", "nan", "inf", "-inf", "1e999", "0x10", "0x1p-7"};
      if (accepts.rfind("an integer", 0) == 0 || accepts.rfind("a list", 0) == 0) bad.insert(bad.end(), {"1.5", "1e3"});
      for (const auto& v : bad) expect_refused(p, flag, v, accepts);
    }
  }
  // generate --grid WxH holds two numbers inside one text flag.
  const Program generate{"generate", kBin + "/generate", ""};
  for (const char* v : {"0x2", "2x1001", "2", "x", "2x-1", "2x2.5"}) expect_refused(generate, "grid", v, "[1, 1000]");
  // --device is text in another syntax: a bad one is named with what it accepts, in every program that has it.
  for (const Program& p : programs()) {
    if (run(p.help).out.find("--device") == std::string::npos) continue;
    for (const char* v : {"cuda:-1", "gpu0", "cuda:x", "cuda:1x", ""}) expect_refused(p, "device", v, "cpu, cuda or cuda:N");
    // A device this build or machine lacks: named with the flag, one line.
    const Result missing = run(p.command + " --device=cuda:1000");
    INFO(missing.out);
    CHECK(missing.code != 0);
    CHECK(missing.lines() == 1);
    CHECK(missing.out.find("--device cuda:1000: ") != std::string::npos);
  }
  // The reported command line: the first bad flag is named, nothing runs.
  const Result r = run(kBin + "/train_stylegan --snap -3 --max-images -2 --seed -1 --outdir " + (kBase / "never").string());
  CHECK(r.code == 1);
  CHECK(r.out == "train_stylegan: error: --snap expects an integer in [0, 2147483647], got '-3'\n");
  CHECK_FALSE(fs::exists(kBase / "never"));
}

// Each text flag in a --help text (a value, not numeric, not a choice among
// {a,b}): the name and its value name.
std::map<std::string, std::string> text_flags(const std::string& help) {
  static const std::regex line(R"(^\s+--([a-z0-9-]+) ([A-Za-z][^\s]*)\s)");
  const std::map<std::string, std::string> numeric = numeric_flags(help);
  std::map<std::string, std::string> out;
  std::istringstream in(help);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_search(l, m, line) && !numeric.count(m[1]) && m[1] != "device") out[m[1]] = m[2];
  }
  return out;
}

// An empty value ("$VAR" unset) was read as "not given" or as "/": --data ""
// trained on Fashion-MNIST and calc_metrics --data "" measured the wrong data
// into the run's jsonl, psp mix --outdir "" wrote /style_mixing/, projector
// --outdir "" failed after all its steps, --record-draws "" and the like were
// ignored. Every text flag of every program is refused in one line, before
// anything is written (the programs run in an empty folder that stays empty).
TEST_CASE("every text flag of every program refuses an empty value in one line before any work", "[bad_input]") {
  const fs::path cwd = kBase / "empty_values";
  fs::remove_all(cwd);
  fs::create_directories(cwd);
  int checked = 0;
  for (const Program& p : programs()) {
    const Result help = run(p.help);
    REQUIRE(help.code == 0);
    const std::map<std::string, std::string> flags = text_flags(help.out);
    INFO(p.name << " --help:\n" << help.out);
    CHECK_FALSE(flags.empty());
    for (const auto& [flag, value_name] : flags) {
      // --metrics '' is no metric, as the official CommaSeparatedList reads
      // it (tests/cli/train_stylegan.cmake's click spellings): a choice that
      // computes nothing, never the wrong data.
      if (flag == "metrics") continue;
      for (const std::string& given : {quoted("--" + flag + "="), "--" + flag + " ''"}) {
        const Result r = run("cd " + quoted(cwd.string()) + " && " + p.command + " " + given);
        INFO(p.name << " " << given << " -> exit " << r.code << ":\n" << r.out);
        CHECK(r.code != 0);
        CHECK(r.lines() == 1);
        CHECK(r.out.rfind(p.name + ": error: ", 0) == 0);
        CHECK(r.out.find("--" + flag) != std::string::npos);
        CHECK(r.out.find("is empty; give ") != std::string::npos);
        ++checked;
      }
    }
    CHECK(fs::is_empty(cwd));
  }
  CHECK(checked > 60);
  // The trial's lines, as they read.
  const std::string net = kSource + "/tests/data/parity_32x1.bin";
  const struct {
    std::string command, says;
  } cases[] = {
      {"calc_metrics --network " + net + " --data '' --metrics fid50k_full", "calc_metrics: error: --data is empty; give a path\n"},
      {"train_pggan --data '' --kimg 0", "train_pggan: error: --data is empty; give a path\n"},
      {"train_stylegan --outdir ''", "train_stylegan: error: --outdir is empty; give a folder\n"},
      {"psp mix --network x.bin --images x --outdir ''", "psp mix: error: --outdir is empty; give a folder\n"},
      {"projector --network " + net + " --target t.png --outdir ''", "projector: error: --outdir is empty; give a folder\n"},
      {"train_stylegan --record-draws ''", "train_stylegan: error: --record-draws is empty; give a folder\n"},
      {"train_psp --arcface ''", "train_psp: error: --arcface is empty; give a file name\n"},
      {"calc_metrics --metrics-cache '' --network " + net, "calc_metrics: error: --metrics-cache is empty; give a folder\n"},
      {"dataset_tool --source x --dest d.zip --transform ''", "dataset_tool: error: --transform is empty; give a value (MODE)\n"},
  };
  for (const auto& c : cases) {
    const Result r = run("cd " + quoted(cwd.string()) + " && " + kBin + "/" + c.command);
    INFO(c.command);
    CHECK(r.code == 1);
    CHECK(r.out == c.says);
  }
  if (have_python()) {  // the converter's positional file names too (argparse exits 2)
    const Result r = run("cd " + quoted(cwd.string()) + " && " + kPython + " " + kSource + "/tools/convert_weights.py import '' out.bin");
    CHECK(r.code == 2);
    CHECK(r.out == "convert_weights: error: argument src: is empty; give a file name (see --help)\n");
  }
  CHECK(fs::is_empty(cwd));
  fs::remove_all(cwd);
}

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

TEST_CASE("the Python tools, run by a Python without NumPy or PyTorch, say what they need in one line",
          "[bad_input]") {
  if (!have_python()) {
    WARN(kPython << " not found: skipped");
    return;
  }
  // -S leaves out site-packages, where NumPy and PyTorch live: the Python a
  // user may meet first on the PATH. Every script in tools/, tools/reference/
  // and tools/fixtures/ but the libraries.
  const std::set<std::string> libraries = {"golden_io.py",          "stylegan2_reference.py",
                                           "stylegan2_training_reference.py", "training_step_reference.py",
                                           "pggan_training_reference.py", "stylegan_training_reference.py",
                                           "psp_reference.py",
                                           "perceptual_reference.py", "pydeps.py", "interrupts.py",
                                           "output_folder.py", "augment_reference.py", "inception_reference.py",
                                           "vgg16_reference.py", "tf_network_stub.py"};
  // Tools that need NumPy (and Pillow) but not PyTorch.
  const std::set<std::string> no_torch = {"dataset_tool_reference.py"};
  // Tools of the standard library alone, which run under -S.
  const std::set<std::string> stdlib_only = {"make_zip_methods_fixture.py", "file_local_names.py",
                                              "unity_one_unit.py"};
  int tools = 0;
  for (const char* folder : {"/tools", "/tools/reference", "/tools/fixtures"}) {
    for (const auto& e : fs::directory_iterator(kSource + folder)) {
      const fs::path& path = e.path();
      const std::string name = path.filename().string();
      if (path.extension() != ".py" || libraries.count(name) || stdlib_only.count(name)) continue;
      ++tools;
      const std::string args = name == "convert_weights.py" ? " import in.pkl out.bin" : "";
      const Result r = run(kPython + " -S " + path.string() + args);
      INFO(name << " -> exit " << r.code << ":\n" << r.out);
      CHECK(r.code == 1);
      CHECK(r.lines() == 1);
      CHECK(r.out.rfind(path.stem().string() + ": error: needs ", 0) == 0);
      CHECK(r.out.find(no_torch.count(name) ? "NumPy" : "PyTorch") != std::string::npos);
      CHECK(r.out.find("scripts/install_deps.sh --torch") != std::string::npos);
    }
  }
  CHECK(tools >= 6);
  // Its --help and flag checks need neither.
  CHECK(run(kPython + " -S " + kSource + "/tools/convert_weights.py import --help").code == 0);
}

// The golden-data scripts that take an output file: `--help` wrote a file
// named "--help" (make_grid_sample_golden.py, and the four older ones that
// read sys.argv[1]). Now --help prints the usage and a flag is refused in one
// line; nothing is written either way (run in an empty folder). Both are
// answered before the heavy imports, so a Python without PyTorch runs this too.
TEST_CASE("the golden-data scripts take --help and refuse flags, writing no file named after one", "[bad_input]") {
  if (!have_python()) {
    WARN(kPython << " not found: skipped");
    return;
  }
  const fs::path dir = kBase / "golden_scripts";
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* script : {"make_gan_golden_a.py", "make_modconv_golden.py", "make_pil_resize_golden.py",
                             "make_psp_ops_golden.py", "make_grid_sample_golden.py", "make_metrics_golden.py",
                             "make_pggan_metrics_golden.py", "make_latent_walk_golden.py", "make_conv_golden.py",
                             "make_gan_golden_b.py", "make_zip_methods_fixture.py", "make_psp_train_fixtures.py",
                             "make_ls_fixtures.py"}) {
    const std::string tool = kSource + "/tools/fixtures/" + script;
    const std::string cmd = "cd " + quoted(dir.string()) + " && " + kPython + " " + tool;
    const Result help = run(cmd + " --help");
    INFO(script << " --help -> exit " << help.code << ":\n" << help.out);
    CHECK(help.code == 0);
    CHECK(help.out.find("usage:") != std::string::npos);
    const Result bad = run(cmd + " --bogus");
    INFO(script << " --bogus -> exit " << bad.code << ":\n" << bad.out);
    CHECK(bad.code == 2);
    CHECK(bad.lines() == 1);
    CHECK(bad.out.find("unrecognized arguments: --bogus") != std::string::npos);
    // Before the heavy imports (each takes seconds): -S leaves out site-packages.
    const Result bare = run("cd " + quoted(dir.string()) + " && " + kPython + " -S " + tool + " --bogus");
    INFO(script << " (python3 -S) --bogus -> exit " << bare.code << ":\n" << bare.out);
    CHECK(bare.code == 2);
    CHECK(bare.out.find("unrecognized arguments: --bogus") != std::string::npos);
    CHECK(fs::is_empty(dir));
  }
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

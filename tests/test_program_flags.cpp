// Bad and unusual input as users meet it, in the programs' flags, each case
// run through the program a user runs (issue 11):
//  - every numeric flag of every program refuses bad values (out of range,
//    not finite, not a number) with one line naming the flag and its range:
//    one table over all programs, checked against each program's --help so a
//    new numeric flag cannot be missed;
//  - every text flag of every program refuses an empty value, before any work.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/program_runs.h"

namespace fs = std::filesystem;
using gf::test::have_python;
using gf::test::kBase;
using gf::test::kBin;
using gf::test::kPython;
using gf::test::kSource;
using gf::test::quoted;
using gf::test::Result;
using gf::test::run;

namespace {

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

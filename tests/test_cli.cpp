// train/cli.h: declared ranges, the one-line refusals that name the flag and
// what it accepts, finiteness, strict integers, lists, defaults checked
// against their own declaration, and reads of a kind a flag was not declared as;
// train/setting_checks.h's lod_flag and train/output_paths.h's output-folder checks.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/strings.h"
#include "train/cli.h"
#include "train/output_paths.h"
#include "train/setting_checks.h"

using namespace gf;

namespace {

std::vector<cli::Flag> flags() {
  return {{"out", "DIR", "runs", "where"},
          {"mirror", "", "", "a switch"},
          cli::integer("snap", "N", "50", "interval", 0, cli::kIntMax),
          cli::integer("seed", "N", "0", "seed", 0, cli::kSeedMax),
          cli::number("tick", "KIMG", "4", "interval", cli::Range::above(0, 1e9)),
          cli::number("gamma", "G", "", "weight", cli::Range::at_least(0)),
          cli::number("psi", "PSI", "1", "any", cli::Range::any()),
          cli::integer_list("seeds", "LIST", "0-7", "seeds", 0, cli::kSeedMax, 10)};
}

// The error Args gives for `args`, or "" when it accepts them.
std::string refusal(std::vector<std::string> args, std::vector<cli::Flag> decl = flags()) {
  std::vector<char*> argv{const_cast<char*>("prog")};
  for (auto& a : args) argv.push_back(a.data());
  try {
    cli::Args parsed(static_cast<int>(argv.size()), argv.data(), "prog", "summary", std::move(decl));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

cli::Args parse(std::vector<std::string> args) {
  std::vector<char*> argv{const_cast<char*>("prog")};
  for (auto& a : args) argv.push_back(a.data());
  return cli::Args(static_cast<int>(argv.size()), argv.data(), "prog", "summary", flags());
}

}  // namespace

TEST_CASE("cli: values inside the declared range are read back", "[cli]") {
  const cli::Args a = parse({"--snap", "0", "--seed=4294967295", "--tick", "1e-9", "--gamma", "0", "--psi", "-0.5",
                             "--seeds", "3-5,1", "--mirror"});
  CHECK(a.integer("snap") == 0);
  CHECK(a.integer("seed") == 4294967295LL);
  CHECK(a.number("tick") == 1e-9);
  CHECK(a.number("gamma") == 0);
  CHECK(a.number("psi") == -0.5);
  CHECK(a.integers("seeds") == std::vector<long long>{3, 4, 5, 1});
  CHECK(a.flag("mirror"));
  const cli::Args d = parse({});
  CHECK(d.integer("snap") == 50);
  CHECK(d.integers("seeds") == std::vector<long long>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK_FALSE(d.has("gamma"));
  CHECK_FALSE(d.flag("mirror"));
}

// pSp's options are argparse's (--max_steps, --test_batch_size): a flag
// declared with hyphens takes its underscore spelling too, as the same flag.
TEST_CASE("cli: an underscore spelling reads as the hyphenated flag", "[cli]") {
  std::vector<cli::Flag> decl = flags();
  decl.push_back(cli::integer("max-steps", "N", "10", "steps", 0, cli::kIntMax));
  decl.push_back({"start-from-latent-avg", "", "", "a switch"});
  std::vector<std::string> args{"--max_steps", "7", "--start_from_latent_avg"};
  std::vector<char*> argv{const_cast<char*>("prog")};
  for (auto& x : args) argv.push_back(x.data());
  const cli::Args a(static_cast<int>(argv.size()), argv.data(), "prog", "summary", decl);
  CHECK(a.integer("max-steps") == 7);
  CHECK(a.flag("start-from-latent-avg"));
  CHECK(refusal({"--max_steps=-1"}, decl).find("--max-steps") != std::string::npos);
  CHECK(refusal({"--no_such_flag", "1"}) == "unknown option --no_such_flag (see --help)");
  // pSp's --train_decoder is argparse's type=bool: it takes a word. "True"
  // reads as the switch; "False" (which argparse takes as true) is refused;
  // the hyphenated switch takes no word.
  decl.push_back({"train-decoder", "", "", "a switch"});
  std::vector<std::string> with_word{"--train_decoder", "True", "--max_steps", "3"};
  std::vector<char*> wv{const_cast<char*>("prog")};
  for (auto& x : with_word) wv.push_back(x.data());
  const cli::Args b(static_cast<int>(wv.size()), wv.data(), "prog", "summary", decl);
  CHECK(b.flag("train-decoder"));
  CHECK(b.integer("max-steps") == 3);
  CHECK(refusal({"--train_decoder", "False"}, decl) ==
        "--train_decoder False: the official argparse reads any word given to it, 'False' too, as true (type=bool); here "
        "--train-decoder is a switch: leave it out to keep it off");
  CHECK(refusal({"--train-decoder", "True"}, decl) == "unexpected argument 'True' (see --help)");
  // With '=' too: argparse reads --train_decoder=false as true; here it is refused, not read as off.
  CHECK(refusal({"--train_decoder=false"}, decl) ==
        "--train_decoder=false: the official argparse reads any word given to it, 'false' too, as true (type=bool); here "
        "--train-decoder is a switch: leave it out to keep it off");
  CHECK(refusal({"--train_decoder=0"}, decl).find("'0' too, as true") != std::string::npos);
  CHECK(refusal({"--train_decoder=True"}, decl).empty());
  std::vector<std::string> empty_word{"--train_decoder="};  // bool(""): off, as argparse reads it
  std::vector<char*> ev{const_cast<char*>("prog")};
  for (auto& x : empty_word) ev.push_back(x.data());
  CHECK_FALSE(cli::Args(static_cast<int>(ev.size()), ev.data(), "prog", "summary", decl).flag("train-decoder"));
  CHECK(refusal({"--train-decoder=false"}, decl).empty());  // the hyphenated switch's own =false stays off
}

// train.py's -n is --dry-run: a flag's one-letter form, read as a flag and
// never where it is another flag's value (--out -n is a folder named -n).
TEST_CASE("cli: a one-letter form reads as its flag, not as a value", "[cli]") {
  std::vector<cli::Flag> decl = flags();
  decl.push_back(cli::with_short_name('n', {"dry-run", "", "", "a switch"}));
  std::vector<std::string> args{"-n", "--out", "-n"};
  std::vector<char*> argv{const_cast<char*>("prog")};
  for (auto& x : args) argv.push_back(x.data());
  const cli::Args a(static_cast<int>(argv.size()), argv.data(), "prog", "summary", decl);
  CHECK(a.flag("dry-run"));
  CHECK(a.str("out") == "-n");
  CHECK(refusal({"-x"}, decl) == "unexpected argument '-x' (see --help)");
}

// train.py's --mirror and --cond are click options of type=bool: "--mirror 1"
// (refused as "unexpected argument '1'"), and click's words after '='
// ("--mirror=yes", "=Off"). A plain switch takes no word after a space, so
// "--dry-run n" stays a stray argument, not dry-run off. A switch the
// program lacks (train.py's --fp32) asks for nothing at its off value.
TEST_CASE("cli: a click type=bool switch takes its word as click does", "[cli]") {
  std::vector<cli::Flag> decl = flags();
  decl.push_back(cli::click_bool({"cond", "", "", "a click bool"}));
  decl.push_back(cli::click_bool(cli::not_here("fp32", "is not here: leave it out")));
  auto parsed = [&](std::vector<std::string> args) {
    std::vector<char*> argv{const_cast<char*>("prog")};
    for (auto& x : args) argv.push_back(x.data());
    return cli::Args(static_cast<int>(argv.size()), argv.data(), "prog", "summary", decl);
  };
  CHECK(parsed({"--cond", "1"}).flag("cond"));
  CHECK_FALSE(parsed({"--cond", "False", "--snap", "3"}).flag("cond"));
  CHECK(parsed({"--cond", "--snap", "3"}).flag("cond"));  // alone, before another flag: on
  CHECK(parsed({"--cond"}).flag("cond"));
  for (const char* on : {"1", "true", "T", "yes", "Y", "on", " True "}) CHECK(parsed({std::string("--cond=") + on}).flag("cond"));
  for (const char* off : {"0", "false", "F", "no", "N", "OFF"}) CHECK_FALSE(parsed({std::string("--cond=") + off}).flag("cond"));
  CHECK_FALSE(parsed({"--mirror=no"}).flag("mirror"));  // a plain switch takes the words after '=' too
  CHECK(refusal({"--mirror", "1"}, decl) == "unexpected argument '1' (see --help)");
  CHECK(refusal({"--cond", "2"}, decl) == "unexpected argument '2' (see --help)");
  for (const std::vector<std::string>& off : std::vector<std::vector<std::string>>{{"--fp32=0"}, {"--fp32", "false"}, {"--fp32=No"}})
    CHECK(refusal(off, decl).empty());
  for (const std::vector<std::string>& on : std::vector<std::vector<std::string>>{{"--fp32"}, {"--fp32=1"}, {"--fp32", "true"}})
    CHECK(refusal(on, decl) == "--fp32 is not here: leave it out");
}

TEST_CASE("cli: a count takes the singular noun for one only", "[cli]") {
  CHECK(cli::count_text(1, "image") == "1 image");
  CHECK(cli::count_text(0, "image") == "0 images");
  CHECK(cli::count_text(2, "file") == "2 files");
  CHECK(cli::count_text(-1, "output") == "-1 outputs");
  CHECK(cli::count_text(1, "pass") == "1 pass");
  CHECK(cli::count_text(4, "pass") == "4 passes");
  CHECK(cli::count_text(2, "batch") == "2 batches");
  CHECK(cli::count_text(3, "entry") == "3 entries");
  CHECK(cli::count_text(2, "key") == "2 keys");
}

TEST_CASE("g_format writes a number as printf's %g and Python's f'{v:g}'", "[cli]") {
  CHECK(gf::g_format(0.6) == "0.6");
  CHECK(gf::g_format(10) == "10");
  CHECK(gf::g_format(100000) == "100000");
  CHECK(gf::g_format(1e6) == "1e+06");
  CHECK(gf::g_format(0.0001) == "0.0001");
  CHECK(gf::g_format(0.00001) == "1e-05");
  CHECK(gf::g_format(1.0 / 3) == "0.333333");
  CHECK(gf::g_format(-0.0) == "-0");
  CHECK(gf::g_format(1e39) == "1e+39");
  CHECK(gf::g_format(std::numeric_limits<double>::infinity()) == "inf");
  CHECK(gf::g_format(-std::numeric_limits<double>::infinity()) == "-inf");
  CHECK(gf::g_format(std::numeric_limits<double>::quiet_NaN()) == "nan");
}

TEST_CASE("cli: a bad number is one line naming the flag and its range", "[cli]") {
  // The reported case: each of these was accepted before.
  CHECK(refusal({"--snap", "-3"}) == "--snap expects an integer in [0, 2147483647], got '-3'");
  CHECK(refusal({"--seed", "-1"}) == "--seed expects an integer in [0, 4294967295], got '-1'");
  CHECK(refusal({"--seed", "18446744073709551615"}) == "--seed expects an integer in [0, 4294967295], got '18446744073709551615'");
  CHECK(refusal({"--tick", "0"}) == "--tick expects a number in (0, 1000000000], got '0'");
  CHECK(refusal({"--gamma=-1"}) == "--gamma expects a finite number >= 0, got '-1'");
  CHECK(refusal({"--psi", "nan"}) == "--psi expects a finite number, got 'nan'");
  for (const char* bad : {"nan", "inf", "-inf", "", " ", "1x", "0x", "1__0", "_1", "1_", "1_.5", "1._5"})
    CHECK(refusal({"--gamma", bad}).rfind("--gamma expects a finite number >= 0, got '", 0) == 0);
  CHECK(refusal({"--gamma", "1e999"}) == "--gamma 1e999 is too large for a double (a finite number >= 0)");
  // Decimal numbers only: C's hex floats and integers passed strtod (--kimg
  // 0x1p-7 trained 0.0078125 kimg, --kimg 0x10 16), as did its other spellings.
  for (const char* bad : {"0x10", "0X10", "0x1p-7", "-0x1", "0x.8", "infinity", "nan(1)", ".", "+", "1e", "1e+", "e5",
                          "1.5.2", "--1", "1,5", "1 0", "1d", "1f"})
    CHECK(refusal({"--gamma", bad}) == std::string("--gamma expects a finite number >= 0, got '") + bad + "'");
  for (const char* good : {"1", "1.", ".5", "+2", "1e-3", "1E3", "2.5e+2", "007", "0.0"})
    CHECK(refusal({"--gamma", good}).empty());
  CHECK(parse({"--gamma", "2.5e+2"}).number("gamma") == 250);
  // As Python's float() (click's FLOAT on the official flags): spaces around
  // the number and underscores between digits.
  CHECK(parse({"--gamma", " 2.5 "}).number("gamma") == 2.5);
  CHECK(parse({"--gamma", "\t1_0.2_5e1_0\n"}).number("gamma") == 10.25e10);
  CHECK_THROWS_WITH(cli::parse_number("0x10", "kimg", cli::Range::at_least(0)),
                    "--kimg expects a finite number >= 0, got '0x10'");
  // Integers are whole decimal numbers: no fraction, exponent, hex or overflow.
  for (const char* bad : {"1.5", "1e3", "0x10", "++1", "+ 1", "", " ", "abc", "99999999999999999999", "1__0", "_1", "1_"})
    CHECK(refusal({"--snap", bad}) == std::string("--snap expects an integer in [0, 2147483647], got '") + bad + "'");
  // As Python's int() (click's INT: train.py's --batch +8 was refused): a
  // sign, spaces around it, underscores between digits, leading zeros.
  CHECK(parse({"--snap", "+8"}).integer("snap") == 8);
  CHECK(parse({"--snap", " 12 "}).integer("snap") == 12);
  CHECK(parse({"--seed", "1_000_000"}).integer("seed") == 1000000);
  CHECK(parse({"--snap", "007"}).integer("snap") == 7);
  CHECK(parse({"--seeds", "1_0, 1_1"}).integers("seeds") == std::vector<long long>{10, 11});
  // Lists: every item in range, at most max_count items, forwards.
  const std::string list = "--seeds expects a list like 0-3,7 of at most 10 integers in [0, 4294967295], got '";
  for (const char* bad : {"-1", "1,,2", "", "1-", "0-10", "4294967296", "a"})
    CHECK(refusal({"--seeds", bad}) == list + bad + "'");
  CHECK(refusal({"--seeds", "5-3"}) == "--seeds: range 5-3 runs backwards");
  CHECK(refusal({"--seeds", "0-9"}).empty());
  // Each number as Python's int() takes it (generate.py's num_range: "1, 2" and "+5" are seeds).
  CHECK(parse({"--seeds", "1, 2,+5 , 7-8"}).integers("seeds") == std::vector<long long>{1, 2, 5, 7, 8});
  for (const char* bad : {"++5", "+-5", "+", " , 1", "1 2"})
    CHECK(refusal({"--seeds", bad}) == list + bad + "'");
  // The first bad flag on the line is the one named.
  CHECK(refusal({"--snap", "-3", "--seed", "-1"}).rfind("--snap ", 0) == 0);
  CHECK(refusal({"--mirror=2"}) == "--mirror is a switch: give it alone, or as --mirror=true or =false (1 or 0), got '2'");
  CHECK(refusal({"--snap"}) == "--snap needs a value (N)");
  CHECK(refusal({"--nope", "1"}) == "unknown option --nope (see --help)");
}

TEST_CASE("cli: an empty text value is refused in one line, not read as not given", "[cli]") {
  // An unset "$VAR": --data "" trained on Fashion-MNIST, --outdir "" wrote
  // to /style_mixing/, --record-draws "" was ignored. Each is refused by the
  // parser, so no program can miss it, with what the flag wants.
  const std::vector<cli::Flag> decl = {{"data", "PATH", "", "input"},       {"outdir", "DIR", "out", "output"},
                                       {"raw", "FILE.npy", "", "output"},   {"network", "FILE.bin", "", "input"},
                                       {"replay-draws", "PATHS", "", "in"}, {"cfg", "NAME", "auto", "preset"},
                                       {"mirror", "", "", "a switch"}};
  CHECK(refusal({"--data", ""}, decl) == "--data is empty; give a path");
  CHECK(refusal({"--data="}, decl) == "--data is empty; give a path");
  CHECK(refusal({"--outdir", ""}, decl) == "--outdir is empty; give a folder");
  CHECK(refusal({"--raw="}, decl) == "--raw is empty; give a file name");
  CHECK(refusal({"--network", ""}, decl) == "--network is empty; give a file name");
  CHECK(refusal({"--replay-draws", ""}, decl) == "--replay-draws is empty; give a path");
  CHECK(refusal({"--cfg", ""}, decl) == "--cfg is empty; give a value (NAME)");
  // Before any later flag is looked at: the empty one is named first.
  CHECK(refusal({"--data", "", "--nope"}, decl) == "--data is empty; give a path");
  CHECK(refusal({"--mirror="}, decl) == "--mirror is a switch: give it alone, or as --mirror=true or =false (1 or 0), got ''");
  CHECK(refusal({"--data", "d", "--outdir", "o", "--cfg", "x"}, decl).empty());
  // A flag declared to take "" keeps it (none does today).
  std::vector<cli::Flag> may = decl;
  may[0].may_be_empty = true;
  std::string d0 = "--data", d1;
  std::vector<char*> argv{const_cast<char*>("prog"), d0.data(), d1.data()};
  const cli::Args a(static_cast<int>(argv.size()), argv.data(), "prog", "summary", may);
  CHECK(a.has("data"));
  CHECK(a.str("data").empty());
}

TEST_CASE("cli: --lod past a network's levels is refused, naming its range", "[cli]") {
  const auto lod = [](const std::string& value, int resolution) {
    std::string f = "--lod", v = value;
    std::vector<char*> argv{const_cast<char*>("prog"), f.data(), v.data()};
    const cli::Args a(static_cast<int>(argv.size()), argv.data(), "prog", "summary",
                      {cli::number("lod", "LOD", "", "level", cli::Range::at_least(0, 30))});
    return cli::lod_flag(a, resolution, 0.0, "net.bin");
  };
  // 32x32: levels 0 (32x32) to 3 (4x4); generate --lod 25 gave the lod 3 images.
  CHECK(lod("3", 32) == 3);
  CHECK(lod("2.5", 32) == 2.5);
  CHECK_THROWS_WITH(lod("25", 32), "--lod 25 is outside [0, 3], the levels of net.bin (0: 32x32, 3: 4x4)");
  CHECK_THROWS_WITH(lod("3.01", 32), Catch::StartsWith("--lod 3.01 is outside [0, 3]"));
  CHECK_THROWS_WITH(lod("7", 64), "--lod 7 is outside [0, 4], the levels of net.bin (0: 64x64, 4: 4x4)");
  CHECK(lod("8", 1024) == 8);
  CHECK_THROWS(lod("9", 1024));
  // Without --lod: the network's own.
  const std::vector<cli::Flag> decl = {cli::number("lod", "LOD", "", "level", cli::Range::at_least(0, 30))};
  std::vector<char*> argv{const_cast<char*>("prog")};
  CHECK(cli::lod_flag(cli::Args(1, argv.data(), "prog", "summary", decl), 32, 1.5, "net.bin") == 1.5);
}

TEST_CASE("cli: the declaration is checked: defaults, kinds, help", "[cli]") {
  // A default outside its own range is the program's bug, found on every run.
  CHECK(refusal({}, {cli::integer("n", "N", "-1", "count", 1, 10)}).find("internal: the default of --n") == 0);
  // Reading a flag as a kind it was not declared as throws, so no number goes unchecked.
  const cli::Args a = parse({"--out", "5"});
  CHECK_THROWS_WITH(a.integer("out"), Catch::Contains("--out is read as cli::integer but declared as text"));
  CHECK_THROWS_WITH(a.number("snap"), Catch::Contains("--snap is read as cli::number but declared as cli::integer"));
  CHECK_THROWS_WITH(a.integer("gamma"), Catch::Contains("declared as cli::number"));
  CHECK_THROWS_WITH(a.number("gamma"), Catch::Contains("without a value"));
  // --help shows what each numeric flag accepts.
  const std::string help = a.usage();
  CHECK(help.find("--snap N") != std::string::npos);
  CHECK(help.find("interval (an integer in [0, 2147483647]) [default: 50]") != std::string::npos);
  CHECK(help.find("(a number in (0, 1000000000]) [default: 4]") != std::string::npos);
  CHECK(help.find("(a list like 0-3,7 of at most 10 integers in [0, 4294967295])") != std::string::npos);
  // A click bool switch shows its optional word (calc_metrics --verbose false); a plain switch none.
  CHECK(help.find("  --mirror" + std::string(20, ' ') + "a switch") != std::string::npos);
  std::vector<char*> argv{const_cast<char*>("prog")};
  const cli::Args clicked(1, argv.data(), "prog", "summary", {cli::click_bool({"verbose", "", "", "progress"})});
  CHECK(clicked.usage().find("  --verbose [BOOL]" + std::string(12, ' ') + "progress") != std::string::npos);
  // The helpers for values inside another syntax (generate's --grid WxH).
  CHECK(cli::parse_integer("8", "grid", 1, 1000) == 8);
  CHECK_THROWS_WITH(cli::parse_integer("0", "grid", 1, 1000), "--grid expects an integer in [1, 1000], got '0'");
  CHECK(cli::parse_number("+.5", "x", cli::Range::any()) == 0.5);
  // Text beyond a double was read as 0 or inf without a word.
  CHECK_THROWS_WITH(cli::parse_number("1e-400", "trunc", cli::Range::any()), Catch::StartsWith("--trunc 1e-400 is too close to 0 for a double"));
  CHECK_THROWS_WITH(cli::parse_number("-1e400", "trunc", cli::Range::any()), Catch::StartsWith("--trunc -1e400 is too large for a double"));
}

TEST_CASE("cli: an output folder above a folder input is accepted, one inside it refused", "[cli]") {
  // The comparison walked the output's components past their end when the
  // output was the shorter path (`train_stylegan --data datasets/ffhq --outdir .`).
  namespace fs = std::filesystem;
  const fs::path base = fs::temp_directory_path() / ("gf_test_cli_" + std::to_string(::getpid()));
  fs::create_directories(base / "datasets/ffhq");
  const std::string data = (base / "datasets/ffhq").string();
  std::string d0 = "--data", d1 = data;
  std::vector<char*> argv{const_cast<char*>("prog"), d0.data(), d1.data()};
  const cli::Args a(static_cast<int>(argv.size()), argv.data(), "prog", "summary", {{"data", "DIR", "", "input"}});
  for (const fs::path& above : {base, base / "datasets", fs::path("/"), base / "datasets/other"})
    CHECK_NOTHROW(cli::check_not_in_input_folder(a, "--outdir", above.string(), {"data"}));
  CHECK_THROWS_WITH(cli::check_not_in_input_folder(a, "--outdir", data + "/runs", {"data"}),
                    Catch::Contains("is inside the --data folder"));
  CHECK_THROWS_WITH(cli::check_not_in_input_folder(a, "--outdir", data, {"data"}), Catch::Contains("is the --data folder"));
  // A link in the data folder to the output folder (or above it), even
  // through a second link: the readers follow it, so the next run read the
  // last one's outputs as data. Refused, naming the link.
  fs::create_directories(base / "runs/old");
  fs::create_directories(base / "elsewhere");
  fs::create_symlink(base / "elsewhere", base / "datasets/ffhq/more");
  fs::create_symlink(base / "runs", base / "elsewhere/runs_link");
  CHECK_THROWS_WITH(cli::check_not_in_input_folder(a, "--outdir", (base / "runs").string(), {"data"}),
                    Catch::Contains("through its link " + (base / "datasets/ffhq/more/runs_link").string()));
  CHECK_THROWS_WITH(cli::check_not_in_input_folder(a, "--outdir", (base / "runs/old/new").string(), {"data"}),
                    Catch::Contains("is read as part of the --data folder"));
  // A link above the folder is not followed by the readers (data/dataset.cpp): no refusal through it.
  fs::create_symlink("..", base / "datasets/ffhq/up");
  CHECK_NOTHROW(cli::check_not_in_input_folder(a, "--outdir", (base / "datasets/other").string(), {"data"}));
  fs::remove_all(base);
}

TEST_CASE("cli: a trainer's output folders, given or by default, are each checked against --data", "[cli]") {
  namespace fs = std::filesystem;
  const fs::path base = fs::temp_directory_path() / ("gf_test_cli_outputs_" + std::to_string(::getpid()));
  fs::create_directories(base / "data");
  const std::string data = (base / "data").string();
  const auto args = [&](std::vector<std::string> given) {
    given.insert(given.begin(), {"prog", "--data", data});
    std::vector<char*> argv;
    for (std::string& s : given) argv.push_back(s.data());
    return cli::Args(static_cast<int>(argv.size()), argv.data(), "prog", "summary",
                     {{"data", "DIR", "", "input"}, {"outdir", "DIR", data + "/runs", "run folder"},
                      {"record-draws", "DIR", "", "draw logs"}});
  };
  // The default --outdir lies in --data: refused although not given.
  CHECK_THROWS_WITH(cli::check_output_folders(args({}), {"outdir", "record-draws"}, {"data"}),
                    Catch::StartsWith("--outdir " + data + "/runs is inside the --data folder"));
  const std::string out = (base / "runs").string();
  CHECK_NOTHROW(cli::check_output_folders(args({"--outdir", out}), {"outdir", "record-draws"}, {"data"}));
  CHECK_NOTHROW(cli::check_output_folders(args({"--outdir", out, "--record-draws", out + "/draws"}),
                                          {"outdir", "record-draws"}, {"data"}));
  CHECK_THROWS_WITH(cli::check_output_folders(args({"--outdir", out, "--record-draws", data}), {"outdir", "record-draws"}, {"data"}),
                    Catch::StartsWith("--record-draws " + data + " is the --data folder"));
  // Only the outputs named are checked (train_psp has no --record-draws).
  CHECK_NOTHROW(cli::check_output_folders(args({"--outdir", out, "--record-draws", data}), {"outdir"}, {"data"}));
  fs::remove_all(base);
}

TEST_CASE("cli: values() lists every flag as parsed, so that equal meanings compare equal", "[cli]") {
  using Values = std::vector<std::pair<std::string, std::string>>;
  const Values d = parse({}).values();
  CHECK(d == Values{{"out", "runs"}, {"mirror", "false"}, {"snap", "50"}, {"seed", "0"}, {"tick", "4"},
                    {"gamma", ""}, {"psi", "1"}, {"seeds", "0,1,2,3,4,5,6,7"}});
  CHECK(parse({"--seeds", "0-3,4-7"}).values() == d);  // a list as its numbers
  // The same values written otherwise, and the defaults given explicitly.
  CHECK(parse({"--gamma", "10", "--tick", "4.0", "--snap", "50"}).values() ==
        parse({"--gamma=1e1", "--tick", "4"}).values());
  CHECK(parse({"--mirror"}).values() != d);
  CHECK(parse({"--gamma", "10"}).values() != parse({"--gamma", "10.5"}).values());
  // As a user wrote them (the ranks' "differ" line shows these): not 0.10000000000000001.
  CHECK(parse({"--gamma", "0.1", "--tick", "1e-3"}).values()[3 + 1] == std::make_pair(std::string("tick"), std::string("0.001")));
  CHECK(parse({"--gamma", "0.1"}).values()[5] == std::make_pair(std::string("gamma"), std::string("0.1")));
  CHECK(parse({"--gamma", "0.30000000000000004"}).values() != parse({"--gamma", "0.3"}).values());
}

TEST_CASE("cli: one_line gives one line of UTF-8, escaping controls and bytes that are no UTF-8", "[cli]") {
  CHECK(cli::one_line("a\nb\tc\x1b[31m") == "a\\nb\\tc\\x1b[31m");
  // A Latin-1 byte quoted from a file (a dataset.json's "\xe9") reached the
  // terminal raw; valid UTF-8 stays as it is; C1 controls (U+0085) are escaped.
  CHECK(cli::one_line("caf\xe9 caf\xc3\xa9 \xc2\x85 \xed\xa0\x80") == "caf\\xe9 caf\xc3\xa9 \\x85 \\xed\\xa0\\x80");
  // A cut falls between characters, within max_chars with its "...".
  CHECK(cli::one_line("ab\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8) == "ab\xc3\xa9...");  // 10 bytes
  CHECK(cli::one_line("ab\xc3\xa9\xc3\xa9\xc3\xa9", 8) == "ab\xc3\xa9\xc3\xa9\xc3\xa9");  // 8 fit
  CHECK(cli::one_line("abcdefgh", 8) == "abcdefgh");
  CHECK(cli::one_line("abcdefghi", 8) == "abcde...");
  CHECK(cli::one_line("abcd\n\n\n", 8) == "abcd...");
}

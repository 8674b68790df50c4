// Bad and unusual input as users meet it, in the Python tools (issue 11):
//  - the Python tools, run by a Python without NumPy or PyTorch, say so in one line;
//  - the golden-data scripts take --help and refuse a flag, writing no file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <string>

#include "tests/program_runs.h"

namespace fs = std::filesystem;
using gf::test::have_python;
using gf::test::kBase;
using gf::test::kPython;
using gf::test::kSource;
using gf::test::quoted;
using gf::test::Result;
using gf::test::run;

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

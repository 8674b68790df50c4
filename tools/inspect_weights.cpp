// inspect_weights: lists a .bin's tensors (name, dtype, shape, count) and its
// metadata (the model configuration). Names and values are printed with
// control characters escaped (a newline as \n, ESC as \x1b): a file's name
// "a\nfake.tensor  float32[9]" printed as two lines, ESC reached the terminal.
#include <cstdint>
#include <iostream>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "train/cli.h"
#include "train/run_main.h"

int main(int argc, char** argv) {
  return gf::cli::run_main("inspect_weights", [&] {
    gf::cli::Args args(argc, argv, "inspect_weights", "List the tensors and the configuration stored in a .bin file.",
                       {{"network", "FILE.bin", "", "the .bin to inspect (required)"}});
    if (args.help()) {
      std::cout << args.usage();
      return 0;
    }
    if (!args.has("network")) throw gf::Error("--network is required (see --help)");
    const auto f = gf::io::read_safetensors(args.str("network"));
    int64_t total = 0;
    for (const auto& [name, t] : f.tensors) {
      std::cout << gf::cli::one_line(name, SIZE_MAX) << "  " << gf::dtype_name(t.dtype()) << gf::shape_str(t.shape()) << "\n";
      total += t.numel();
    }
    std::cout << f.tensors.size() << " tensors, " << total << " values\n";
    for (const auto& [k, v] : f.metadata)
      std::cout << "metadata " << gf::cli::one_line(k, SIZE_MAX) << ": " << gf::cli::one_line(v, SIZE_MAX) << "\n";
    return 0;
  });
}

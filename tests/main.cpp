// Catch2 main for gf_tests. `--cuda-or-skip` (used by the ctest entries with
// label cuda) exits with 77, which ctest reports as skipped, when this build or
// machine has no CUDA device; `--cuda-available` only answers that (exit 0 or
// 77), for the program tests that run on CUDA; `--fashion-mnist-or-skip` (the
// ctest entries of [fashion-mnist] cases) skips likewise when Debian's
// dataset-fashion-mnist is not installed. Inside such a case a missing dataset
// is a failure, not a pass. Every test runs with the allocators' debug mode
// on: each block handed out is NaN until written, so an output a kernel
// leaves unwritten fails its test wherever it runs. And with the stop signals
// unblocked (unblock_stop_signals below).
#define CATCH_CONFIG_RUNNER
#ifdef GF_CUDA_EMU
// The emulator's SIGSEGV handler opens device memory to its own device work
// and names host code that touches it (tools/cuda_emu/src/runtime.cpp);
// Catch's, installed at each test case, would take the signal first. A
// crash is reported by ASan, with its stack.
#define CATCH_CONFIG_NO_POSIX_SIGNALS
#endif
#include <catch2/catch.hpp>
#include <signal.h>

#include <cstring>
#include <iostream>
#include <vector>

#include "engine/allocator.h"
#include "engine/device.h"
#include "data/dataset.h"
#include "data/mnist_idx.h"

namespace {
// The signal cases send SIGINT, SIGTERM, SIGHUP or SIGPIPE to this process,
// to children it forks and to programs it starts, and expect them to arrive,
// as in a program started from a shell. ctest starts gf_tests with every
// signal unblocked; run by hand it inherits its shell's mask, which a runner
// may have blocked them in, and every thread, fork and exec keeps it: a
// blocked signal stays pending, and the cases hung (test_atomic_file,
// test_training_loop) or failed (test_linear_svc_pool). Dispositions stay as
// given: a case that needs a default action sets it; nohup's ignored SIGHUP
// stays ignored. (tests/cli/blocked_stop_signals.py)
void unblock_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaddset(&set, sig);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}
}  // namespace

int main(int argc, char** argv) {
  unblock_stop_signals();
  std::vector<char*> args;
  bool cuda_or_skip = false, fashion_mnist_or_skip = false;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--cuda-or-skip") == 0) cuda_or_skip = true;
    else if (std::strcmp(argv[i], "--cuda-available") == 0) return gf::cuda_available() ? 0 : 77;
    else if (std::strcmp(argv[i], "--fashion-mnist-or-skip") == 0) fashion_mnist_or_skip = true;
    else args.push_back(argv[i]);
  }
  gf::set_poison_allocations(true);
  if (cuda_or_skip && !gf::cuda_available()) {
    std::cout << "skipped: no CUDA device (or a build without the CUDA backend)\n";
    return 77;
  }
  if (fashion_mnist_or_skip && !gf::fashion_mnist_installed()) {
    std::cout << "skipped: dataset-fashion-mnist is not installed in " << gf::kFashionMnistDir
              << " (scripts/install_deps.sh installs it)\n";
    return 77;
  }
  Catch::Session session;
  session.configData().filenamesAsTags = true;
  int rc = session.applyCommandLine(static_cast<int>(args.size()), args.data());
  if (rc != 0) return rc;
  return session.run();
}

// gfemu_selftest: the CPU emulator's own tests (Catch2). `gfemu_selftest
// --fault NAME` instead runs one planted fault and prints what the runtime
// answered; the test cases run that in a child process, because most faults
// end the process (the emulator's report, or ASan's / UBSan's).
#define CATCH_CONFIG_RUNNER
// The emulator's SIGSEGV handler must see device memory faults first
// (tools/cuda_emu/src/runtime.cpp), not Catch's.
#define CATCH_CONFIG_NO_POSIX_SIGNALS
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <exception>

#include "tests/cuda_emu/kernels.h"

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--fault") == 0) {
    try {
      const std::string r = emu_test::run_fault(argv[2]);
      std::printf("fault %s: runtime answered %s\n", argv[2], r.c_str());
      return 0;
    } catch (const std::exception& e) {
      std::printf("fault %s: threw %s\n", argv[2], e.what());
      return 3;
    }
  }
  return Catch::Session().run(argc, argv);
}

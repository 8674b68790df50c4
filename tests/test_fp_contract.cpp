// The project's C++ is compiled with -ffp-contract=off (CMakeLists.txt), so
// a * b + c is a product rounded and then a sum rounded, on every CPU, also
// where the compiler may use FMA (-march=native, GF_NATIVE, aarch64). GCC's
// default for C++ is -ffp-contract=fast even under -std=c++17, and clang's
// is "on" (within one expression): either fuses a * b + c into one FMA,
// rounded once, which changes the bits that the bit-for-bit kernel tests,
// pinned summation orders and checkpoint comparisons hold equal across
// builds. This test compiles one function for FMA and checks its a * b + c
// still rounds twice; it fails if the flag is lost from the build.
#include <catch2/catch.hpp>
#include <cmath>

namespace {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GF_TEST_FMA_TARGET __attribute__((target("fma"), noinline))
bool cpu_has_fma() { return __builtin_cpu_supports("fma"); }
#else  // aarch64 and the rest: FMA is in the base instruction set, or there is none to fuse into
#define GF_TEST_FMA_TARGET __attribute__((noinline))
bool cpu_has_fma() { return true; }
#endif

// Compiled with FMA available, under the project's flags.
GF_TEST_FMA_TARGET float mul_add(float a, float b, float c) { return a * b + c; }

}  // namespace

TEST_CASE("a * b + c is not contracted into an FMA in the project's C++", "[fp_contract]") {
  // a * a = 1 + 2^-11 + 2^-24 exactly: a tie that rounds to even, 1 + 2^-11.
  // Rounded twice, a * a + c is 0; fused, it is the 2^-24 that rounding lost.
  volatile float a = 1.0f + 0x1p-12f, c = -(1.0f + 0x1p-11f);
  REQUIRE(std::fma(a, a, c) == 0x1p-24f);  // the inputs tell the two apart
  if (!cpu_has_fma()) {
    WARN("this CPU has no FMA: nothing to check");
    return;
  }
  CHECK(mul_add(a, a, c) == 0.0f);
}

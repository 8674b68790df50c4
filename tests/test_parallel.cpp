// kernels/parallel.h: the loops split over OpenMP threads.
#include <catch2/catch.hpp>

#include <omp.h>

#include <atomic>
#include <new>
#include <stdexcept>

#include "kernels/parallel.h"

using namespace gf;

TEST_CASE("cpu::parallel_for rethrows an iteration's exception after the region", "[parallel]") {
  // An exception leaving an OpenMP region is std::terminate: a kernel's
  // std::bad_alloc (a scratch buffer) ended the process with 2 threads.
  const int threads = omp_get_max_threads();
  omp_set_num_threads(2);
  for (bool parallel : {false, true}) {
    std::atomic<int> ran{0};
    INFO("parallel " << parallel);
    CHECK_THROWS_AS(cpu::parallel_for(1000, parallel,
                                      [&](int64_t i) {
                                        ++ran;
                                        if (i == 600 || i == 100) throw std::bad_alloc();
                                      }),
                    std::bad_alloc);
    CHECK(ran.load() >= 1);
    CHECK(ran.load() <= 1000);
  }
  // The first exception a thread throws is the one rethrown; a loop without one runs every iteration.
  std::atomic<int> all{0};
  cpu::parallel_for(1000, true, [&](int64_t) { ++all; });
  CHECK(all.load() == 1000);
  omp_set_num_threads(threads);
}

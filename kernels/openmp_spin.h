// How long libgomp's idle threads spin before they sleep. By default a thread
// that reaches a barrier first spins 300,000 times (GOMP_SPINCOUNT) waiting
// for the others. On an idle machine that is free; on a busy one (another
// program holding one of two cores) the spinning thread takes the core the
// late thread needs, and every parallel region waits a scheduler time slice:
// the small config's training ran 3.6x slower beside a busy loop, against
// 2.5x with 2,000 spins, which costs nothing measurable on an idle machine
// (bench/RESULTS.md, issue 19).
//
// libgomp reads GOMP_SPINCOUNT once, before main, so the programs call
// prefer_short_openmp_spin() first: when the user set neither
// GOMP_SPINCOUNT nor OMP_WAIT_POLICY and more than one thread would run, it
// sets GOMP_SPINCOUNT=kShortSpinCount and executes the same program again
// (/proc/self/exe with the same arguments, same process id). It does nothing
// under valgrind (an exec would leave the tool) or where the exec fails.
#pragma once

namespace gf::cpu {

inline constexpr const char* kShortSpinCount = "2000";

void prefer_short_openmp_spin();

// GOMP_SPINCOUNT as this process runs with it ("" when libgomp's default).
const char* openmp_spin_count();

}  // namespace gf::cpu

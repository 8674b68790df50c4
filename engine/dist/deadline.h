// The deadline of a communicator's bounded wait (engine/dist/communicator.h:
// every wait ends within its limit): on the steady clock, so a change of the
// wall clock neither ends a wait early nor makes it hang.
#pragma once

#include <chrono>

namespace gf {

using DeadlineClock = std::chrono::steady_clock;

// Now plus `seconds`, in (0, 1e6] as dist_timeout_seconds and
// rendezvous_timeout_seconds (communicator.h) return them.
inline DeadlineClock::time_point deadline_after(double seconds) {
  return DeadlineClock::now() +
         std::chrono::duration_cast<DeadlineClock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace gf

// Where the time of a computation goes, by phase and by op: the measurement
// each CPU optimisation is chosen by (bench/profile_step.cpp prints it for a
// training minibatch).
//
// While profiling is on, every kernel call made through dispatch_float (so
// every op of engine/ops/) is timed under its op name ("conv2d", "add",
// "upfirdn2d", ...) and the innermost open Phase ("Gmain", "Dreg", ...).
// Counters the program can read (OpenMP parallel regions, malloc calls: see
// bench/sys_counters.h) are attributed the same way, so a table says which
// op opens the regions or calls malloc. Time outside every op (autograd
// bookkeeping, tensor metadata, allocation) shows as the phase's remainder.
//
// Times are host wall-clock (or CPU time, see start): on a GPU they measure
// launches, not kernels.
// The host thread that runs the ops is the only one that may call these
// (ops are issued from one thread); off, each hook costs one load of a flag.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace gf::profile {

// Process-wide counts the program can provide (monotonic).
struct Counters {
  int64_t parallel_regions = 0;  // OpenMP parallel regions that may fork (not turned off by an if clause)
  int64_t serial_regions = 0;    // ... turned off by their if clause (they run on the calling thread)
  int64_t mallocs = 0;           // calls to malloc/calloc/realloc/aligned allocation
  int64_t malloc_bytes = 0;
  uint64_t flops = 0;            // the dense products' work (engine/flop_count.h), filled in by read_counters
};
using CounterSource = Counters (*)();
// Installs the program's counter source (none: its counters read 0; flops
// are always read).
void set_counter_source(CounterSource source);
Counters read_counters();

extern bool g_on;
inline bool on() { return g_on; }
// Clears the tables and turns profiling on. With cpu_clock, times are the
// process's CPU time (CLOCK_PROCESS_CPUTIME_ID: every thread, spinning
// included) instead of wall-clock: on a shared machine with one OpenMP thread
// that is the op's own work, whatever else runs.
void start(bool cpu_clock = false);
void stop();
bool cpu_clock();  // what the last start() chose

struct Entry {
  std::string phase, op;  // op empty in a phase's own row
  int64_t calls = 0;
  double seconds = 0;
  Counters counters;  // deltas over the calls
};
struct Report {
  std::vector<Entry> phases;  // in order of first appearance
  std::vector<Entry> ops;     // by phase, in order of first appearance
};
Report report();

// A named phase of the work; phases nest, and a phase's row counts its own
// time and counters without those of the phases nested in it, so the rows
// add up to the whole. Ops count under the innermost phase. Does nothing
// while profiling is off.
class Phase {
 public:
  explicit Phase(const char* name) {
    if (g_on) begin(name);
  }
  ~Phase() {
    if (active_) end();
  }
  Phase(const Phase&) = delete;
  Phase& operator=(const Phase&) = delete;

 private:
  void begin(const char* name);
  void end();
  bool active_ = false;
  const char* name_ = nullptr;
  Phase* outer_ = nullptr;
  double t0_ = 0, nested_seconds_ = 0;
  Counters c0_, nested_;
};

// One op's kernel call (dispatch_float opens one); nested calls count once,
// under the outermost.
class OpTimer {
 public:
  explicit OpTimer(const char* op) {
    if (g_on) begin(op);
  }
  ~OpTimer() {
    if (entered_) end();
  }
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  void begin(const char* op);
  void end();
  bool entered_ = false, outermost_ = false;
  const char* op_ = nullptr;
  double t0_ = 0;
  Counters c0_;
};

}  // namespace gf::profile

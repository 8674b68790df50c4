#include "train/stop_signal.h"

#include <signal.h>

#include <atomic>
#include <cstring>
#include <exception>
#include <iterator>

#include "engine/io/temp_file_guard.h"

namespace gf {
namespace {

std::atomic<int> g_stop{0};  // the first stop signal received, 0 while none
static_assert(std::atomic<int>::is_always_lock_free, "set from a signal handler");

// SIGHUP (the terminal or ssh session closed) and SIGPIPE (stdout's reader
// gone: `train ... | head`) stop the run as Ctrl-C does, said in its log and
// page; they ended it silently before.
constexpr const int* kSignals = io::kGuardedSignals;
constexpr int kNumSignals = static_cast<int>(std::size(io::kGuardedSignals));
struct sigaction g_old[kNumSignals];

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case SIGPIPE: return "SIGPIPE";
    default: return nullptr;
  }
}

void on_stop_signal(int sig) {
  int none = 0;
  if (g_stop.compare_exchange_strong(none, sig)) return;
  // Each later write to a closed pipe raises SIGPIPE again: no second request.
  if (sig == SIGPIPE) return;
  io::remove_temporaries_and_die(sig);  // the second: now
}

}  // namespace

Interrupted::Interrupted(int sig, int rank)
    : Error(std::string("Interrupted by ") + (signal_name(sig) ? signal_name(sig) : "signal " + std::to_string(sig)) +
            (rank >= 0 ? " on rank " + std::to_string(rank) : "")),
      signal(sig) {}

StopOnSignal::StopOnSignal() : uncaught_(std::uncaught_exceptions()) {
  for (int i = 0; i < kNumSignals; ++i) {
    struct sigaction old {};
    if (::sigaction(kSignals[i], nullptr, &old) != 0 || (old.sa_flags & SA_SIGINFO)) continue;
    if (old.sa_handler != SIG_DFL && old.sa_handler != io::remove_temporaries_and_die) continue;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART;  // a read or write under way goes on, not EINTR
    sigemptyset(&sa.sa_mask);
    for (const int sig : io::kGuardedSignals) sigaddset(&sa.sa_mask, sig);  // one handler run at a time; the second's raise lands as it returns
    if (::sigaction(kSignals[i], &sa, &g_old[i]) == 0) installed_[i] = true;
  }
}

StopOnSignal::~StopOnSignal() {
  for (int i = 0; i < kNumSignals; ++i)
    if (installed_[i]) ::sigaction(kSignals[i], &g_old[i], nullptr);
  // A signal after the last check (during the final snapshot): the run is
  // complete, and the process still ends by the signal, as without us.
  const int sig = g_stop.load();
  if (sig != 0 && std::uncaught_exceptions() == uncaught_) ::raise(sig);
}

void throw_if_stop_requested() {
  if (const int sig = g_stop.load(std::memory_order_relaxed)) throw Interrupted(sig);
}

int stop_signal_received() { return g_stop.load(); }

void throw_if_any_rank_stopped(const std::vector<int>& pending) {
  for (size_t r = 0; r < pending.size(); ++r)
    if (pending[r] != 0) throw Interrupted(pending[r], static_cast<int>(r));
}

void set_stop_signal_for_test(int sig) { g_stop.store(sig); }

}  // namespace gf

#include "metrics/linear_svc_pool.h"

#include <omp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <stdexcept>
#include <thread>

#include "engine/error.h"
#include "engine/host_memory.h"
#include "engine/io/temp_file_guard.h"
#include "train/stop_signal.h"

namespace gf::metrics {
namespace {

// What a worker leaves for this process, at the start of its slot of a
// shared mapping; its predictions follow, one byte each.
struct SlotHeader {
  enum State : int32_t { kEmpty = 0, kFitted = 1, kRefused = 2, kFailed = 3 };
  int32_t state;
  int32_t converged;
  int64_t rows;
  char error[2048];  // kRefused: the gf::Error's text; kFailed: another exception's
};

// One slot per worker, shared with the forked processes (MAP_SHARED: their
// writes are this process's to read once they have exited).
class SharedSlots {
 public:
  SharedSlots(int count, int64_t max_rows)
      : slot_bytes_((sizeof(SlotHeader) + size_t(max_rows) + 63) / 64 * 64), bytes_(slot_bytes_ * size_t(count)) {
    base_ = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (base_ == MAP_FAILED)
      throw Error("linear_svc: cannot map " + std::to_string(bytes_) + " bytes for the fits' results: " +
                  std::strerror(errno));
  }
  ~SharedSlots() { ::munmap(base_, bytes_); }
  SharedSlots(const SharedSlots&) = delete;
  SharedSlots& operator=(const SharedSlots&) = delete;
  SlotHeader* header(int k) {
    return reinterpret_cast<SlotHeader*>(static_cast<char*>(base_) + slot_bytes_ * size_t(k));
  }
  uint8_t* predictions(int k) { return reinterpret_cast<uint8_t*>(header(k) + 1); }

 private:
  size_t slot_bytes_, bytes_;
  void* base_ = nullptr;
};

// The running workers by slot (pid -1: free); whatever ends the call early
// kills and reaps those still running.
struct Workers {
  std::vector<pid_t> pid;
  std::vector<size_t> fit;
  explicit Workers(int n) : pid(size_t(n), -1), fit(size_t(n), 0) {}
  ~Workers() {
    for (pid_t p : pid)
      if (p > 0) {
        ::kill(p, SIGKILL);
        while (::waitpid(p, nullptr, 0) < 0 && errno == EINTR) {
        }
      }
  }
};

[[noreturn]] void run_worker(pid_t parent, const std::function<LinearSvcFit(size_t)>& fit, size_t i,
                             int64_t max_rows, SlotHeader* h, uint8_t* out) {
  // Out of the terminal's process group: a Ctrl-C is the parent's to act on
  // (a training run stops between attributes, its ranks together), not a
  // worker's to die of. The parent's handlers are not the worker's (a
  // signal sent to the worker itself ends it); it dies with the parent.
  ::setpgid(0, 0);
  // One the group got between the fork and the line above is pending (the
  // fork held them off): dropped (a signal set to be ignored is discarded).
  for (const int sig : io::kGuardedSignals) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler != SIG_IGN) {
      ::signal(sig, SIG_IGN);
      ::signal(sig, SIG_DFL);
    }
  }
  io::TempFileGuard::reset_signals_in_child();
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(1);  // the parent died before the line above
  linear_svc_process_fits_alone();
  try {
    LinearSvcFit f;
    try {
      f = fit(i);
    } catch (const Error& e) {  // the fit refused its rows (sklearn's ValueError)
      std::snprintf(h->error, sizeof h->error, "%s", refusal_text(e).c_str());
      h->state = SlotHeader::kRefused;
      ::_exit(0);
    }
    if (int64_t(f.predictions.size()) > max_rows)
      throw std::length_error("a fit of " + std::to_string(f.predictions.size()) + " rows in a pool of at most " +
                              std::to_string(max_rows));
    for (size_t k = 0; k < f.predictions.size(); ++k) out[k] = static_cast<uint8_t>(f.predictions[k]);
    h->rows = static_cast<int64_t>(f.predictions.size());
    h->converged = f.converged ? 1 : 0;
    h->state = SlotHeader::kFitted;
  } catch (const std::exception& e) {
    std::snprintf(h->error, sizeof h->error, "%s", e.what());
    h->state = SlotHeader::kFailed;
  } catch (...) {
    std::snprintf(h->error, sizeof h->error, "an exception of no standard type");
    h->state = SlotHeader::kFailed;
  }
  ::_exit(0);  // no exit handlers, no destructors of the parent's objects
}

// A worker for fit i, or -1 where fork failed (errno: EAGAIN at the process
// limit, ENOMEM where the kernel does not overcommit).
pid_t start_worker(const std::function<LinearSvcFit(size_t)>& fit, size_t i, int64_t max_rows, SlotHeader* h,
                   uint8_t* out) {
  h->state = SlotHeader::kEmpty;
  std::fflush(nullptr);  // nothing buffered is written twice
  // The guarded signals held off across the fork: one landing in the worker
  // before its reset would run the parent's handler there.
  sigset_t guarded, before;
  sigemptyset(&guarded);
  for (const int sig : io::kGuardedSignals) sigaddset(&guarded, sig);
  ::sigprocmask(SIG_BLOCK, &guarded, &before);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) run_worker(parent, fit, i, max_rows, h, out);
  const int fork_errno = errno;
  ::sigprocmask(SIG_SETMASK, &before, nullptr);
  errno = fork_errno;
  return pid;
}

bool is_guarded(int sig) {
  for (const int g : io::kGuardedSignals)
    if (sig == g) return true;
  return false;
}

SvcOutcome outcome_of(SlotHeader* h, const uint8_t* out, int status, const std::string& name) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    // Sent to the workers by name (pkill) with this process: stop as it does.
    if (is_guarded(sig)) throw_if_stop_requested();
    throw Error("linear_svc: the process fitting " + name + " was killed by signal " + std::to_string(sig) + " (" +
                strsignal(sig) + (sig == SIGKILL ? "; out of memory?)" : ")"));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || h->state == SlotHeader::kEmpty)
    throw Error("linear_svc: the process fitting " + name + " ended without a result (exit status " +
                std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  if (h->state == SlotHeader::kFailed) throw Error("linear_svc: fitting " + name + ": " + h->error);
  SvcOutcome o;
  if (h->state == SlotHeader::kRefused) {
    o.error = h->error;
    return o;
  }
  o.converged = h->converged != 0;
  o.predictions.assign(out, out + h->rows);
  return o;
}

}  // namespace

std::string refusal_text(const Error& e) {
  const std::string text = e.what();
  return text.empty() ? "refused" : text;
}

SvcOutcome fit_outcome(const std::function<LinearSvcFit(size_t)>& fit, size_t i) {
  SvcOutcome o;
  try {
    LinearSvcFit f = fit(i);
    o.predictions = std::move(f.predictions);
    o.converged = f.converged;
  } catch (const Error& e) {
    o.error = refusal_text(e);
  }
  return o;
}

int linear_svc_workers(int64_t rows, int64_t d) {
  const int threads = std::max(1, omp_get_max_threads());
  // liblinear's nodes (16 bytes a value, d + 2 a row), the row pointers,
  // labels and the solver's per-row arrays.
  const double per_fit = double(rows) * (double(d + 2) * 16.0 + 64.0);
  const uint64_t available = available_host_memory().bytes;
  if (threads == 1 || available == UINT64_MAX || per_fit <= 0) return threads;
  // Half of it: it counts free swap, where a fit (every row read at each of
  // up to 1000 iterations, in shuffled order) would thrash.
  return static_cast<int>(std::clamp<double>(std::floor(double(available) / 2 / per_fit), 1.0, double(threads)));
}

void fit_linear_svcs(const std::vector<std::string>& names, int64_t max_rows, int workers,
                     const std::function<LinearSvcFit(size_t)>& fit,
                     const std::function<void(size_t, SvcOutcome)>& on_done) {
  const size_t count = names.size();
  if (workers <= 1 || count <= 1) {
    for (size_t i = 0; i < count; ++i) on_done(i, fit_outcome(fit, i));
    return;
  }
  throw_if_stop_requested();  // before any worker starts
  const int n = static_cast<int>(std::min<size_t>(size_t(workers), count));
  SharedSlots slots(n, max_rows);
  // Done, waiting for the fits before them. A fit's failure waits its turn too, so that the error
  // reported is the first fit's whatever the finishing order (a stop is at once).
  struct Finished {
    SvcOutcome outcome;
    std::exception_ptr error;
  };
  std::map<size_t, Finished> finished;
  size_t next_fit = 0, next_done = 0;
  auto pause = std::chrono::microseconds(500);
  Workers running(n);  // declared last: killed and reaped before the slots are unmapped
  while (next_done < count) {
    int live = static_cast<int>(std::count_if(running.pid.begin(), running.pid.end(), [](pid_t p) { return p > 0; }));
    for (int k = 0; k < n && next_fit < count; ++k)
      if (running.pid[size_t(k)] < 0) {
        const pid_t pid = start_worker(fit, next_fit, max_rows, slots.header(k), slots.predictions(k));
        if (pid < 0 && live > 0) break;  // no more processes now: the fits go on with those running
        if (pid < 0) {                   // none at all: this one here
          finished[next_fit].outcome = fit_outcome(fit, next_fit);
          ++next_fit;
          continue;
        }
        running.pid[size_t(k)] = pid;
        running.fit[size_t(k)] = next_fit++;
        ++live;
      }
    // Polled, not waitpid(-1): that would reap this process's other children.
    bool any = false;
    for (int k = 0; k < n; ++k) {
      const pid_t pid = running.pid[size_t(k)];
      int status = 0;
      if (pid < 0) continue;
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == 0 || (r < 0 && errno == EINTR)) continue;
      running.pid[size_t(k)] = -1;
      const size_t i = running.fit[size_t(k)];
      if (r < 0) throw Error("linear_svc: lost the process fitting " + names[i] + ": " + std::strerror(errno));
      try {
        finished[i].outcome = outcome_of(slots.header(k), slots.predictions(k), status, names[i]);
      } catch (const Interrupted&) {
        throw;
      } catch (...) {
        finished[i].error = std::current_exception();
      }
      any = true;
    }
    for (auto it = finished.find(next_done); it != finished.end(); it = finished.find(next_done)) {
      if (it->second.error) std::rethrow_exception(it->second.error);
      SvcOutcome o = std::move(it->second.outcome);
      finished.erase(it);
      on_done(next_done++, std::move(o));
    }
    if (any) {
      pause = std::chrono::microseconds(500);
    } else {
      throw_if_stop_requested();  // a fit takes minutes: the running ones are killed on the way out
      std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(20));
    }
  }
}

}  // namespace gf::metrics

#include "engine/io/temp_file_guard.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace gf::io {

// A Ctrl-C or a `kill` during a write would leave "<path>.<pid>.tmp" behind
// (a checkpoint's worth of bytes in the run folder). Each guard registers its
// temporary in a fixed table; the handler unlinks every registered one (unlink
// is async-signal-safe), puts the default action back and raises the signal
// again, so the process still dies of it, and the previous complete file,
// never touched by the handler, stays.

// Slots: 0 free, 1 being filled by its writer (or taken by the handler), 2
// holds a live temporary. The handler takes a slot (2 -> 1) before reading
// its path, so no other thread rewrites the path under it. writer: the
// process creating the file, killed before the unlink (0: none).
constexpr int kSlots = 64;  // concurrent writes of one process; more are written unregistered
struct TempSlot {
  std::atomic<int> state{0};
  std::atomic<pid_t> writer{0};
  char path[PATH_MAX];
};

// FolderGuard's folders, the same states: 0 free, 1 being filled (or taken
// by the handler for good), 2 registered.
struct FolderSlot {
  std::atomic<int> state{0};
  char path[PATH_MAX];
};

namespace {

TempSlot g_slots[kSlots];
FolderSlot g_folders[kSlots];

// Another thread may be writing while the handler runs. Its temporary must
// not appear after the handler's scan: a thread that registered in a slot
// the scan had passed, or whose temporary the handler unlinked before the
// thread created it, left it behind when the process died. So a writer holds
// the guarded signals off its own thread from registering until its temporary
// exists, counted in g_creating, and does not start once g_dying is set; the
// handler sets g_dying, waits until g_creating is 0 (every registered
// temporary exists), then scans. All seq_cst: a writer that counts itself
// after the handler set g_dying sees it, and the handler, after setting it,
// sees any writer counted before.
std::atomic<int> g_creating{0};
std::atomic<bool> g_dying{false};
// A temporary that takes longer to create (a hung network file system) is
// not waited for longer: Ctrl-C must end the process.
constexpr long kCreateWaitNs = 2'000'000'000L;

long elapsed_ns(const timespec& since) {
  timespec now {};
  ::clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  return (now.tv_sec - since.tv_sec) * 1'000'000'000L + (now.tv_nsec - since.tv_nsec);
}

}  // namespace

void remove_temporaries_and_die(int sig) {
  const int saved = errno;
  g_dying.store(true);
  timespec start {};
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  while (g_creating.load() != 0 && elapsed_ns(start) < kCreateWaitNs) {
  }
  for (TempSlot& s : g_slots) {
    int live = 2;
    if (!s.state.compare_exchange_strong(live, 1)) continue;
    // Taken over (-1) in one step: the writer's owner, between its waitid and
    // its waitpid, then sees -1 and leaves the reaping to this handler.
    if (const pid_t w = s.writer.exchange(-1); w > 0) {  // it could still create or extend the file
      ::kill(w, SIGKILL);
      while (::waitpid(w, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    ::unlink(s.path);
  }
  // The folders made for the outputs, now without their temporaries: a pass
  // removes those empty, so each pass frees the next level up.
  for (bool removed = true; removed;) {
    removed = false;
    for (FolderSlot& f : g_folders) {
      int live = 2;
      if (!f.state.compare_exchange_strong(live, 1)) continue;
      if (::rmdir(f.path) == 0) removed = true;  // the slot stays taken
      else f.state.store(2);                    // not empty (yet): a later pass may find it so
    }
  }
  errno = saved;
  ::signal(sig, SIG_DFL);
  ::raise(sig);  // blocked inside the handler: delivered, with the default action, as it returns
}

namespace {

// Adds every signal of kGuardedSignals to set.
void add_guarded(sigset_t* set) {
  for (const int sig : kGuardedSignals) sigaddset(set, sig);
}

// Installed at each write for each of kGuardedSignals where the action is the
// default (once installed it is no longer): a signal the process ignores
// (nohup, a background job's SIGINT) stays ignored, and a program's own
// handler stays.
void install_handlers() {
  for (const int sig : kGuardedSignals) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) != 0 || (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) continue;
    struct sigaction sa {};
    sa.sa_handler = remove_temporaries_and_die;
    sigemptyset(&sa.sa_mask);
    add_guarded(&sa.sa_mask);  // one handler run at a time
    ::sigaction(sig, &sa, nullptr);
  }
}

// Holds the guarded signals off this thread (the previous mask in *old) and
// counts the caller in g_creating, so that a handler on another thread
// waits; once the handler has begun, never returns (the process is ending).
void hold_handler_off(sigset_t* old) {
  install_handlers();
  sigset_t both;
  sigemptyset(&both);
  add_guarded(&both);
  ::pthread_sigmask(SIG_BLOCK, &both, old);
  g_creating.fetch_add(1);
  if (g_dying.load()) {  // the handler is removing temporaries and will end the process
    g_creating.fetch_sub(1);
    ::pthread_sigmask(SIG_SETMASK, old, nullptr);
    for (;;) ::pause();
  }
}

}  // namespace

// Registers tmp for the handler while it exists; a write with no free slot
// (or a path too long for one) just goes unregistered. From construction to
// created() this thread holds the guarded signals off (counted in
// g_creating), so the handler, run by another thread, waits for the
// temporary to exist before it scans, and never runs on this thread while
// it waits. Once the handler has begun, a new write never creates its
// temporary: it waits for the end of the process.
TempFileGuard::TempFileGuard(const std::string& tmp) {
  hold_handler_off(&old_mask_);
  creating_ = true;
  if (tmp.size() >= PATH_MAX) return;
  for (TempSlot& s : g_slots) {
    int free_slot = 0;
    if (!s.state.compare_exchange_strong(free_slot, 1)) continue;
    std::memcpy(s.path, tmp.c_str(), tmp.size() + 1);
    s.writer.store(0);
    s.state.store(2);  // only now may the handler read the path
    slot_ = &s;
    return;
  }
}

FolderGuard::FolderGuard(const std::string& dir) {
  install_handlers();
  if (dir.size() >= PATH_MAX) return;
  for (FolderSlot& f : g_folders) {
    int free_slot = 0;
    if (!f.state.compare_exchange_strong(free_slot, 1)) continue;
    std::memcpy(f.path, dir.c_str(), dir.size() + 1);
    f.state.store(2);  // only now may the handler read the path
    slot_ = &f;
    return;
  }
}

FolderGuard::~FolderGuard() {
  int live = 2;
  if (slot_) slot_->state.compare_exchange_strong(live, 0);  // fails only once the handler has it
}

// The temporary exists, or its creation failed: the handler may remove it now.
void TempFileGuard::created() {
  if (!creating_) return;
  creating_ = false;
  g_creating.fetch_sub(1);
  ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);  // a signal held meanwhile is handled here
}

// Counted as a temporary being created: the handler, run by another thread,
// waits for the count to fall to 0 before it removes anything.
SignalHold::SignalHold() { hold_handler_off(&old_mask_); }

SignalHold::~SignalHold() {
  g_creating.fetch_sub(1);
  ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);  // a signal held meanwhile is handled here
}

pid_t TempFileGuard::set_writer(pid_t pid) { return slot_ ? slot_->writer.exchange(pid) : 0; }

void TempFileGuard::reset_signals_in_child() {
  sigset_t both;
  sigemptyset(&both);
  for (const int sig : kGuardedSignals) {
    struct sigaction old {};
    // An ignored signal stays ignored across the exec; a caught one would be reset by it.
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler != SIG_IGN) ::signal(sig, SIG_DFL);
    sigaddset(&both, sig);
  }
  ::sigprocmask(SIG_UNBLOCK, &both, nullptr);
}

void TempFileGuard::forget() {
  int live = 2;
  if (slot_) slot_->state.compare_exchange_strong(live, 0);  // fails only once the handler has it
  slot_ = nullptr;
  created();
}

// After the rename or the removal: an unlink by the handler in between finds nothing.
TempFileGuard::~TempFileGuard() {
  created();
  int live = 2;
  if (slot_) slot_->state.compare_exchange_strong(live, 0);  // fails only once the handler has it
}

}  // namespace gf::io

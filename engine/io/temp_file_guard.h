// A temporary file removed when a SIGINT (Ctrl-C), SIGTERM, SIGHUP or SIGPIPE ends the
// process: write_atomic (atomic_file.h) guards its "<path>.<pid>.tmp" with
// it, and so does any writer of a temporary outside write_atomic (the
// projector's video, which ffmpeg writes). The handler unlinks every guarded
// temporary and raises the signal again, so the process still dies of it
// (exit status 130, 143, 129 or 141 in a shell) and the previous complete file stays.
#pragma once
#include <signal.h>
#include <sys/types.h>

#include <string>

namespace gf::io {

// The signals whose default action ends the process and that a guard
// catches to remove its temporaries: Ctrl-C, kill, a closed terminal or ssh
// session (SIGHUP), a closed pipe on stdout (SIGPIPE).
constexpr int kGuardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

struct TempSlot;

// Construct it before the file can exist, destroy it after the file is
// renamed or removed. From construction to created() the calling thread
// holds those signals off, so that the file cannot appear after the
// handler has run: call created() once the file exists, its creation failed,
// or the process that will create it is registered by set_writer. The
// handler is installed for each signal whose action is the default (an
// ignored signal stays ignored, a program's own handler stays). 64 guards at
// once per process; more (and a path of PATH_MAX or more) go unregistered,
// their files not removed.
class TempFileGuard {
 public:
  explicit TempFileGuard(const std::string& tmp);
  ~TempFileGuard();
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;

  void created();
  // The file at the guarded name is not this writer's (an exclusive create
  // found it there: another writer's): frees the slot before the held
  // signals are let through, so that the handler never removes it.
  void forget();
  // pid: a child process that writes the file. The handler kills it
  // (SIGKILL) and reaps it before the unlink, so that it cannot create or
  // write the file afterwards. Set 0 once the child has exited but before it
  // is reaped (waitid with WNOWAIT, then waitpid), so that the handler never
  // kills another process that reused its pid. Returns the writer it
  // replaces, or -1 when the handler has taken the writer over (it kills and
  // reaps it and ends the process): then the caller must not reap it.
  pid_t set_writer(pid_t pid);
  // In a child forked while a guard holds the signals off, before its exec:
  // a caught guarded signal back to the default action, all unblocked
  // (an exec keeps the mask). Async-signal-safe.
  static void reset_signals_in_child();

 private:
  TempSlot* slot_ = nullptr;
  sigset_t old_mask_;
  bool creating_ = false;
};

struct FolderSlot;

// A folder made for an output (io::MadeFolders, atomic_file.h) while it is
// to go again should the write fail: the guards' handler removes it too,
// after the temporaries and only when empty (innermost first), so a Ctrl-C
// during the write leaves no new folder. Installs the handler as a guard
// does. 64 at once per process; more go unregistered, left on a signal.
class FolderGuard {
 public:
  explicit FolderGuard(const std::string& dir);
  ~FolderGuard();  // the folder is no longer the handler's (it stays)
  FolderGuard(const FolderGuard&) = delete;
  FolderGuard& operator=(const FolderGuard&) = delete;

 private:
  FolderSlot* slot_ = nullptr;
};

// Holds the guards' handler off, on every thread, for a short scope: the
// renames of a set of files that are replaced together
// (AtomicFileSet::commit). A guarded signal meanwhile ends the process when
// the scope ends (the handler waits for it, up to 2 s), so the set is
// replaced whole, or not at all, never in part. Not for long work: the
// handler's wait is the same as for a temporary being created.
class SignalHold {
 public:
  SignalHold();
  ~SignalHold();
  SignalHold(const SignalHold&) = delete;
  SignalHold& operator=(const SignalHold&) = delete;

 private:
  sigset_t old_mask_;
};

// The guards' signal handler: removes every guarded temporary and then the
// guarded folders left empty, then ends the process by sig (its default
// action). Async-signal-safe; for a program's
// own handler of those signals (a guard installs none over it) when it
// decides the process must end now (train/stop_signal.h: a second Ctrl-C).
void remove_temporaries_and_die(int sig);

}  // namespace gf::io

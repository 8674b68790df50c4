#include "engine/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "engine/error.h"

namespace gf::io {

bool sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

namespace {

// ---- Temporaries removed on SIGINT and SIGTERM ----------------------------
// A Ctrl-C or a `kill` during a write would leave "<path>.<pid>.tmp" behind
// (a checkpoint's worth of bytes in the run folder). Each write registers its
// temporary in a fixed table; the handler unlinks every registered one (unlink
// is async-signal-safe), puts the default action back and raises the signal
// again, so the process still dies of it (exit status 130/143 in a shell)
// and the previous complete file, never touched by the handler, stays.

// Slots: 0 free, 1 being filled by its writer (or taken by the handler), 2
// holds a live temporary. The handler takes a slot (2 -> 1) before reading
// its path, so no other thread rewrites the path under it.
constexpr int kSlots = 64;  // concurrent writes of one process; more are written unregistered
struct Slot {
  std::atomic<int> state{0};
  char path[PATH_MAX];
};
Slot g_slots[kSlots];

// Another thread may be writing while the handler runs. Its temporary must
// not appear after the handler's scan: a thread that registered in a slot
// the scan had passed, or whose temporary the handler unlinked before the
// thread created it, left it behind when the process died. So a writer holds
// SIGINT and SIGTERM off its own thread from registering until its temporary
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

void remove_temporaries_and_die(int sig) {
  const int saved = errno;
  g_dying.store(true);
  timespec start {};
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  while (g_creating.load() != 0 && elapsed_ns(start) < kCreateWaitNs) {
  }
  for (Slot& s : g_slots) {
    int live = 2;
    if (s.state.compare_exchange_strong(live, 1)) ::unlink(s.path);
  }
  errno = saved;
  ::signal(sig, SIG_DFL);
  ::raise(sig);  // blocked inside the handler: delivered, with the default action, as it returns
}

// Installed at each write for SIGINT and SIGTERM where the action is the
// default (once installed it is no longer): a signal the process ignores
// (nohup, a background job's SIGINT) stays ignored, and a program's own
// handler stays.
void install_handlers() {
  for (const int sig : {SIGINT, SIGTERM}) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) != 0 || (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) continue;
    struct sigaction sa {};
    sa.sa_handler = remove_temporaries_and_die;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);  // one handler run at a time
    sigaddset(&sa.sa_mask, SIGTERM);
    ::sigaction(sig, &sa, nullptr);
  }
}

// Registers tmp for the handler while it exists; a write with no free slot
// (or a path too long for one) just goes unregistered. From construction to
// created() this thread holds SIGINT and SIGTERM off (counted in
// g_creating), so the handler, run by another thread, waits for the
// temporary to exist before it scans, and never runs on this thread while
// it waits. Once the handler has begun, a new write never creates its
// temporary: it waits for the end of the process.
class TempGuard {
 public:
  explicit TempGuard(const std::string& tmp) {
    install_handlers();
    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, SIGINT);
    sigaddset(&both, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &both, &old_mask_);
    g_creating.fetch_add(1);
    creating_ = true;
    if (g_dying.load()) {  // the handler is removing temporaries and will end the process
      created();
      for (;;) ::pause();
    }
    if (tmp.size() >= PATH_MAX) return;
    for (Slot& s : g_slots) {
      int free_slot = 0;
      if (!s.state.compare_exchange_strong(free_slot, 1)) continue;
      std::memcpy(s.path, tmp.c_str(), tmp.size() + 1);
      s.state.store(2);  // only now may the handler read the path
      slot_ = &s;
      return;
    }
  }
  // The temporary exists, or its creation failed: the handler may remove it now.
  void created() {
    if (!creating_) return;
    creating_ = false;
    g_creating.fetch_sub(1);
    ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);  // a signal held meanwhile is handled here
  }
  // After the rename or the removal: an unlink by the handler in between finds nothing.
  ~TempGuard() {
    created();
    int live = 2;
    if (slot_) slot_->state.compare_exchange_strong(live, 0);  // fails only once the handler has it
  }
  TempGuard(const TempGuard&) = delete;
  TempGuard& operator=(const TempGuard&) = delete;

 private:
  Slot* slot_ = nullptr;
  sigset_t old_mask_;
  bool creating_ = false;
};

// True when path reaches an open file descriptor of this process:
// /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N, or a link to one.
// Such a name may lead to a regular file (`generate --raw /dev/stdout >>
// all.npy`), which a rename would replace, losing what the shell's
// redirection had there; it is written through the descriptor instead.
bool names_file_descriptor(const std::string& given) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::absolute(given, ec).lexically_normal();
  for (int hop = 0; hop < 8 && !ec; ++hop) {  // /dev/stdout -> /proc/self/fd/1: two hops at most in practice
    const fs::path dir = fs::canonical(p.parent_path(), ec);  // /dev/fd and /proc/self/fd -> /proc/<pid>/fd
    if (!ec && dir.filename() == "fd" && dir.parent_path().parent_path() == "/proc") return true;
    if (!fs::is_symlink(p, ec) || ec) return false;
    const fs::path target = fs::read_symlink(p, ec);
    p = (target.is_absolute() ? target : p.parent_path() / target).lexically_normal();
  }
  return false;
}

// A device, a pipe or a descriptor named as the output (/dev/null, a FIFO,
// /dev/stdout) is written in place: renaming a temporary over it would
// replace the device node itself (as root, /dev/null would become a regular
// file), or the file a redirection opened. Appended to, so that `> f` and
// `>> f` both mean what the shell says; a device or pipe has no end to
// append to.
void write_in_place(const std::string& path, const std::function<void(std::ostream&)>& write, const std::string& who) {
  errno = 0;
  std::ofstream f(path, std::ios::binary | std::ios::app);
  if (!f.good()) throw Error(who + ": cannot write " + path + (errno ? std::string(": ") + std::strerror(errno) : ""));
  errno = 0;
  write(f);
  f.close();
  if (f.fail()) throw Error(who + ": write to " + path + " failed" + (errno ? std::string(": ") + std::strerror(errno) : ""));
}

}  // namespace

std::string temp_name(const std::string& path) { return path + "." + std::to_string(::getpid()) + ".tmp"; }

void write_atomic(const std::string& given, const std::function<void(std::ostream&)>& write, const std::string& who) {
  std::string path = given;
  if (given.empty()) throw Error(who + ": cannot write a file with an empty name");
  struct stat st {};
  const bool exists = ::stat(given.c_str(), &st) == 0;
  if (given.back() == '/' || (exists && S_ISDIR(st.st_mode)))
    throw Error(who + ": cannot write " + given + ": a folder, not a file");
  if (exists) {
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || (S_ISREG(st.st_mode) && names_file_descriptor(given)))
      return write_in_place(given, write, who);
    if (S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode))
      throw Error(who + ": cannot write " + given + ": a block device or socket, not a file");
    // A link to a file: the file is replaced and the link kept, as editors do.
    struct stat lst {};
    std::error_code ec;
    if (S_ISREG(st.st_mode) && ::lstat(given.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
      const std::string target = std::filesystem::canonical(given, ec).string();
      if (!ec) path = target;
    }
  }
  // The process id keeps concurrent writers (two test suites, two runs) off each other's temporary.
  const std::string tmp = temp_name(path);
  TempGuard guard(tmp);  // registered before the file exists, released after it is renamed or removed
  {
    errno = 0;
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    const int open_errno = errno;
    guard.created();
    errno = open_errno;
    // The reason (no such folder, permission denied, a full disk) is open(2)'s.
    if (!f.good()) throw Error(who + ": cannot write " + path + (errno ? std::string(": ") + std::strerror(errno) : ""));
    errno = 0;  // a failed write below leaves its reason here
    try {
      write(f);
    } catch (...) {
      f.close();
      std::remove(tmp.c_str());
      throw;
    }
    f.close();  // a full disk may only show here
    if (f.fail()) {
      std::remove(tmp.c_str());
      throw Error(who + ": write to " + tmp + " failed" + (errno ? std::string(": ") + std::strerror(errno) : ""));
    }
  }
  // The data reaches the disk before the rename, and the rename before we
  // return: after a power loss path holds the old file or the new one.
  if (!sync_path(tmp)) {
    std::remove(tmp.c_str());
    throw Error(who + ": cannot flush " + tmp + " to the disk");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw Error(who + ": cannot rename " + tmp + " to " + path + ": " + std::strerror(err));
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  sync_path(dir.empty() ? "." : dir);  // best effort: some file systems refuse a folder fsync
}

namespace {

// create_directories, and a file in the way (of dir itself) named as ENOTDIR.
std::error_code make_folder(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!ec && !std::filesystem::is_directory(dir, ec)) ec = std::make_error_code(std::errc::not_a_directory);
  return ec;
}

}  // namespace

void create_folder(const std::string& dir, const std::string& what) {
  if (const std::error_code ec = make_folder(dir)) throw Error(what + " " + dir + ": " + ec.message());
}

void check_parent_folder(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) return;
  fs::path at = dir;  // walks up to the first path that exists, a dangling link included
  std::error_code ec;
  while (!at.empty() && !fs::exists(fs::symlink_status(at, ec))) at = at.parent_path();
  const fs::path existing = at.empty() ? fs::path(".") : at;
  int err = 0;
  if (!fs::is_directory(existing, ec)) err = ENOTDIR;
  else if (at != dir && ::access(existing.c_str(), W_OK | X_OK) != 0) err = errno;  // an existing dir is written by the rename's own checks
  if (err) throw Error(what + " " + path + ": cannot make its folder " + dir.string() + ": " + std::strerror(err));
}

void create_parent_folder(const std::string& path, const std::string& what) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) return;
  if (const std::error_code ec = make_folder(dir))
    throw Error(what + " " + path + ": cannot make its folder " + dir + ": " + ec.message());
}

}  // namespace gf::io

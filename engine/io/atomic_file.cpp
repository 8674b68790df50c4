#include "engine/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <system_error>

#include "engine/error.h"
#include "engine/io/temp_file_guard.h"

namespace gf::io {

bool sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

namespace {

// "<who>: " before an error's text; nothing for an empty who (the text alone names the file).
std::string prefix(const std::string& who) { return who.empty() ? "" : who + ": "; }

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
  if (!f.good()) throw Error(prefix(who) + "cannot write " + path + (errno ? std::string(": ") + std::strerror(errno) : ""));
  errno = 0;
  write(f);
  f.close();
  if (f.fail()) throw Error(prefix(who) + "cannot write " + path + (errno ? std::string(": ") + std::strerror(errno) : ""));
}

}  // namespace

namespace {

// temp_name with a tag after the process id ("<path>.<pid>-<tag>.tmp").
std::string tagged_temp_name(const std::string& path, const std::string& tag) {
  const std::string suffix = "." + std::to_string(::getpid()) + (tag.empty() ? "" : "-" + tag) + ".tmp";
  // A name near the 255-byte limit is legal, its temporary's might not be:
  // the temporary then takes a shorter stem (the process id still keeps two
  // writers apart).
  const size_t slash = path.rfind('/');
  const size_t stem = path.size() - (slash == std::string::npos ? 0 : slash + 1);
  constexpr size_t kNameMax = 255;  // NAME_MAX of Linux's file systems
  if (stem + suffix.size() <= kNameMax) return path + suffix;
  // A hash of the whole name keeps two long names of one process apart
  // where their first bytes agree (an AtomicFileSet's files).
  char hash[24];
  std::snprintf(hash, sizeof hash, ".%016zx", std::hash<std::string>{}(path));
  const std::string tail = hash + suffix;
  return path.substr(0, path.size() - (stem + tail.size() - kNameMax)) + tail;
}

// A writer's temporary name at its attempt-th try: temp_name, then where a
// name was taken, random tags (`random` made at the first need).
std::string temp_name_try(const std::string& path, int attempt, std::optional<std::random_device>& random) {
  if (attempt == 0) return tagged_temp_name(path, "");
  if (!random) random.emplace();
  char tag[16];
  std::snprintf(tag, sizeof tag, "%08x", static_cast<unsigned>((*random)()));
  return tagged_temp_name(path, tag);
}

}  // namespace

std::string temp_name(const std::string& path) { return tagged_temp_name(path, ""); }

std::string link_target(const std::string& given, const std::string& who) {
  namespace fs = std::filesystem;
  fs::path p = given;
  std::error_code ec;
  for (int hop = 0; fs::is_symlink(fs::symlink_status(p, ec)); ++hop) {
    if (hop == 40) throw Error(prefix(who) + "cannot write " + given + ": " + std::strerror(ELOOP));
    const fs::path target = fs::read_symlink(p, ec);
    if (ec) break;
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
  // One spelling per file (AtomicFileSet compares the paths it was given).
  const fs::path resolved = fs::weakly_canonical(p, ec);
  return ec ? p.lexically_normal().string() : resolved.string();
}

namespace {

// Where write_atomic's bytes go for `given`: the file to rename a temporary
// over (a link's file: the file is replaced and the link kept, as editors
// do), or in_place for a device, a pipe or a descriptor's name. Throws for
// an empty name, a folder, a block device or a socket.
struct Destination {
  std::string path;
  bool in_place = false;
  mode_t mode = 0;  // the permissions of the file replaced, kept by the new one; 0 for a new file
};

Destination destination(const std::string& given, const std::string& who, Link link) {
  if (given.empty()) throw Error(prefix(who) + "cannot write a file with an empty name");
  struct stat lst {};
  const bool listed = ::lstat(given.c_str(), &lst) == 0;
  const bool is_link = listed && S_ISLNK(lst.st_mode);
  // A name the program chose in its own folder (report.html): the rename
  // replaces a link there, or a pipe or device, with a plain file, never the
  // file it leads to (which may be one of the folder's inputs), never
  // blocking on a pipe with no reader.
  if (link == Link::replace && listed && !S_ISREG(lst.st_mode) && !S_ISDIR(lst.st_mode)) return {given, false, 0};
  struct stat st {};
  const bool exists = ::stat(given.c_str(), &st) == 0;
  if (given.back() == '/' || (exists && S_ISDIR(st.st_mode)))
    throw Error(prefix(who) + "cannot write " + given + ": a folder, not a file");
  if (!exists) return {is_link ? link_target(given, who) : given, false, 0};
  if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || (S_ISREG(st.st_mode) && names_file_descriptor(given)))
    return {given, true, 0};
  if (S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode))
    throw Error(prefix(who) + "cannot write " + given + ": a block device or socket, not a file");
  const mode_t mode = st.st_mode & 07777;
  return {is_link ? link_target(given, who) : given, false, mode};
}

}  // namespace

// The process id alone kept writers apart only within one PID namespace: two
// containers on a shared volume, or two machines on NFS, ran writers of one
// process id, which truncated each other's temporary (one reported success
// over the other's bytes). A temporary a killed process left under this id
// is passed over the same way.
std::string create_guarded_temporary(const std::string& path, std::unique_ptr<TempFileGuard>& guard,
                                     const std::string& who) {
  std::optional<std::random_device> random;  // made only when a name is taken
  for (int attempt = 0;; ++attempt) {
    guard.reset();
    const std::string tmp = temp_name_try(path, attempt, random);
    guard = std::make_unique<TempFileGuard>(tmp);  // registered before the file exists
    errno = 0;
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    const int open_errno = errno;
    if (fd >= 0) {
      ::close(fd);
      return tmp;
    }
    // Another writer's file there: never the handler's to remove.
    if (open_errno == EEXIST) guard->forget();
    else guard->created();
    // The reason (no such folder, permission denied, a full disk) is open(2)'s.
    if (open_errno != EEXIST || attempt == 16)
      throw Error(prefix(who) + "cannot write " + path + (open_errno ? std::string(": ") + std::strerror(open_errno) : ""));
  }
}

namespace {

// create_guarded_temporary, its name set in tmp, and returned opened for
// writing: opened before the guard lets the signals through, since a stream
// opened by name after the handler's unlink would make the file again (a
// temporary left behind by a stopped process); on failure removes it and
// throws naming path, never the temporary.
std::ofstream create_temporary(const std::string& path, std::string& tmp, std::unique_ptr<TempFileGuard>& guard,
                               const std::string& who) {
  tmp = create_guarded_temporary(path, guard, who);
  errno = 0;
  std::ofstream f(tmp, std::ios::binary | std::ios::trunc);  // this writer's alone now
  const int reopen_errno = errno;
  guard->created();
  if (!f.good()) {
    std::remove(tmp.c_str());
    throw Error(prefix(who) + "cannot write " + path + (reopen_errno ? std::string(": ") + std::strerror(reopen_errno) : ""));
  }
  return f;
}

// Writes the created temporary tmp through f and flushes it to the disk; on
// failure removes it and throws naming path, never the temporary.
void write_temporary(const std::string& path, const std::string& tmp, std::ofstream f,
                     const std::function<void(std::ostream&)>& write, const std::string& who, mode_t keep_mode) {
  {
    // The replaced file's permissions from the start (a private file's new
    // bytes are never readable by others), with the owner's read and write
    // until the flush below; exactly the old ones before the rename.
    if (keep_mode != 0) ::chmod(tmp.c_str(), keep_mode | S_IRUSR | S_IWUSR);
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
      throw Error(prefix(who) + "cannot write " + path + (errno ? std::string(": ") + std::strerror(errno) : ""));
    }
  }
  // The data reaches the disk before the rename: after a power loss path
  // holds the old file or the new one.
  if (!sync_path(tmp)) {
    std::remove(tmp.c_str());
    throw Error(prefix(who) + "cannot write " + path + ": its data could not be flushed to the disk");
  }
  // The new file keeps the old one's permissions (a private 0600 file stays
  // private), as an editor's save does; best effort, as for the owner, which
  // only root may keep.
  if (keep_mode != 0) ::chmod(tmp.c_str(), keep_mode);
}

// The folder whose entry a rename to path changes ("." for a bare name).
std::string folder_of(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

Error rename_failed(const std::string& path, const std::string& who, int err) {
  return Error(prefix(who) + "cannot write " + path + ": renaming its temporary failed: " + std::strerror(err));
}

// Renames the written temporary over path and flushes the folder's entry, so
// that the rename reaches the disk before we return.
void rename_temporary(const std::string& path, const std::string& tmp, const std::string& who) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw rename_failed(path, who, err);
  }
  sync_path(folder_of(path));  // best effort: some file systems refuse a folder fsync
}

}  // namespace

void write_atomic(const std::string& given, const std::function<void(std::ostream&)>& write, const std::string& who,
                  Link link) {
  const Destination d = destination(given, who, link);
  if (d.in_place) return write_in_place(d.path, write, who);
  // The process id (and O_EXCL) keeps concurrent writers (two test suites, two runs) off each other's temporary.
  std::string tmp;
  std::unique_ptr<TempFileGuard> guard;  // released after the temporary is renamed or removed
  write_temporary(d.path, tmp, create_temporary(d.path, tmp, guard, who), write, who, d.mode);
  rename_temporary(d.path, tmp, who);
}

struct AtomicFileSet::Staged {
  std::string path, tmp, who;
  std::unique_ptr<TempFileGuard> guard;
};

AtomicFileSet::AtomicFileSet() = default;

AtomicFileSet::~AtomicFileSet() {
  for (const std::unique_ptr<Staged>& s : staged_) std::remove(s->tmp.c_str());
}

void AtomicFileSet::add(const std::string& given, const std::function<void(std::ostream&)>& write,
                        const std::string& who) {
  const Destination d = destination(given, who, Link::follow);
  if (d.in_place) return write_in_place(d.path, write, who);
  for (const std::unique_ptr<Staged>& s : staged_)
    if (s->path == d.path) throw Error(prefix(who) + "cannot write " + given + " twice in one set of outputs");
  auto s = std::make_unique<Staged>();
  s->path = d.path;
  s->who = who;
  write_temporary(s->path, s->tmp, create_temporary(s->path, s->tmp, s->guard, who), write, who, d.mode);
  staged_.push_back(std::move(s));
}

void AtomicFileSet::write(AtomicFileSet* together, const std::string& path,
                          const std::function<void(std::ostream&)>& write, const std::string& who) {
  if (together)
    together->add(path, write, who);
  else
    write_atomic(path, write, who);
}

void AtomicFileSet::commit() {
  // Renames cannot run out of disk; what is left to fail (a folder made
  // read-only meanwhile) fails on the first, before any file is replaced.
  std::vector<std::string> folders;  // flushed once, after all the renames
  for (const std::unique_ptr<Staged>& s : staged_) {
    const std::string dir = folder_of(s->path);
    if (std::find(folders.begin(), folders.end(), dir) == folders.end()) folders.push_back(dir);
  }
  // A Ctrl-C between two renames removed the temporaries not yet renamed
  // and left the set half replaced: the renames run under a SignalHold,
  // with nothing there that allocates (the signal may have stopped another
  // thread inside malloc) or waits on the disk (the handler waits 2 s).
  size_t renamed = 0;
  int err = 0;
  {
    const SignalHold hold;
    for (; renamed < staged_.size(); ++renamed)
      if (std::rename(staged_[renamed]->tmp.c_str(), staged_[renamed]->path.c_str()) != 0) {
        err = errno;
        break;
      }
  }
  for (const std::string& dir : folders) sync_path(dir);  // best effort: some file systems refuse a folder fsync
  if (err != 0) {
    const std::string failed = staged_[renamed]->path, who = staged_[renamed]->who;
    // The renamed ones are in place; the destructor removes the temporaries left.
    staged_.erase(staged_.begin(), staged_.begin() + static_cast<std::ptrdiff_t>(renamed));
    throw rename_failed(failed, who, err);
  }
  staged_.clear();
}

namespace {

// Why a dangling link stands where a folder goes: "<link> is a link to
// '<target>', which does not exist" (at == dir: without "<link> is"). Both
// the check and the making say so (create_directories said "File exists",
// and strerror's "Not a directory" hid the link).
std::string dangling_link_why(const std::filesystem::path& at, const std::filesystem::path& dir) {
  std::error_code ec, loop;
  const std::string target = std::filesystem::read_symlink(at, ec).string();
  (void)std::filesystem::status(at, loop);  // ELOOP: the links lead back to themselves
  const bool self = at == dir || (!dir.has_filename() && at == dir.parent_path());  // "out/" is out itself
  return (self ? "a link to '" : at.string() + " is a link to '") + target +
         (loop.value() == ELOOP ? "', a loop of links" : "', which does not exist");
}

bool is_dangling_link(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_symlink(std::filesystem::symlink_status(p, ec)) && !std::filesystem::exists(p, ec);
}

// dir, or the nearest of its ancestors that exists (a dangling link
// included); "." when none does.
std::filesystem::path first_existing(const std::filesystem::path& dir) {
  std::filesystem::path at = dir;
  std::error_code ec;
  while (!at.empty() && !std::filesystem::exists(std::filesystem::symlink_status(at, ec))) at = at.parent_path();
  return at.empty() ? std::filesystem::path(".") : at;
}

// create_directories; "" when dir is a folder now, else why not (a file in
// the way of dir itself named as ENOTDIR).
std::string make_folder(const std::string& dir) {
  if (const std::filesystem::path at = first_existing(dir); is_dangling_link(at)) return dangling_link_why(at, dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!ec && !std::filesystem::is_directory(dir, ec)) ec = std::make_error_code(std::errc::not_a_directory);
  return ec ? ec.message() : std::string();
}

}  // namespace

void create_folder(const std::string& dir, const std::string& what) {
  if (const std::string why = make_folder(dir); !why.empty()) throw Error(what + " " + dir + ": " + why);
}

std::string create_temporary_folder(const std::string& path, const std::string& what) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  if (!parent.empty()) create_folder(parent, what);
  std::optional<std::random_device> random;  // made only when a name is taken
  for (int attempt = 0;; ++attempt) {
    const std::string tmp = temp_name_try(path, attempt, random);
    if (::mkdir(tmp.c_str(), 0777) == 0) return tmp;
    if (errno != EEXIST || attempt == 16) throw Error(what + " " + path + ": " + std::strerror(errno));
  }
}

namespace {

// Why make_folder(dir) would fail, or ""; makes nothing.
std::string folder_check_error(const std::filesystem::path& dir) {
  const std::filesystem::path existing = first_existing(dir);
  if (is_dangling_link(existing)) return dangling_link_why(existing, dir);
  std::error_code ec;
  if (!std::filesystem::is_directory(existing, ec)) return std::strerror(ENOTDIR);
  // an existing dir is written by the rename's own checks
  if (existing != dir && ::access(existing.c_str(), W_OK | X_OK) != 0) return std::strerror(errno);
  return "";
}

}  // namespace

void check_folder(const std::string& dir, const std::string& what) {
  if (dir.empty()) return;
  if (const std::string why = folder_check_error(dir); !why.empty()) throw Error(what + " " + dir + ": " + why);
}

void check_parent_folder(const std::string& path, const std::string& what) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) return;
  if (const std::string why = folder_check_error(dir); !why.empty())
    throw Error(what + " " + path + ": cannot make its folder " + dir.string() + ": " + why);
}

MadeFolders::MadeFolders() = default;

MadeFolders::MadeFolders(std::vector<std::string> innermost_first) : dirs_(std::move(innermost_first)) {
  for (const std::string& dir : dirs_) guards_.push_back(std::make_unique<FolderGuard>(dir));
}

MadeFolders::MadeFolders(MadeFolders&& other) noexcept
    : dirs_(std::move(other.dirs_)), guards_(std::move(other.guards_)) {
  other.dirs_.clear();
  other.guards_.clear();
}

MadeFolders::~MadeFolders() { remove(); }

void MadeFolders::keep() {
  dirs_.clear();
  guards_.clear();
}

void MadeFolders::remove() {
  for (const std::string& dir : dirs_)
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) break;  // not empty: it and its parents stay
  keep();
}

std::string path_once_made(const std::string& path) {
  const std::filesystem::path given(path), existing = first_existing(given);
  if (existing == given) return path;
  // The components after existing's ("." stands for none: a relative path of which nothing exists).
  std::filesystem::path rest;
  auto part = given.begin();
  if (existing != ".")
    for (auto e = existing.begin(); e != existing.end() && part != given.end(); ++e) ++part;
  for (; part != given.end(); ++part) rest /= *part;
  std::filesystem::path normal = rest.lexically_normal();
  if (normal == ".") normal.clear();
  const std::filesystem::path out = existing == "." ? normal : existing / normal;
  return out.empty() ? std::string(".") : out.string();
}

MadeFolders create_parent_folder(const std::string& path, const std::string& what) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) return MadeFolders();
  // Each prefix made in turn, outermost first, and recorded only where this
  // call made it: a folder that was there ("a/../b" with "b" there, or one
  // another process made meanwhile) is never taken for one made here.
  std::vector<std::string> made_here;
  std::filesystem::path at;
  for (const std::filesystem::path& part : dir) {
    if (part.empty()) continue;  // a trailing separator
    at /= part;
    if (::mkdir(at.c_str(), 0777) == 0) {
      made_here.insert(made_here.begin(), at.string());
    } else if (errno != EEXIST) {  // some file systems say EACCES or EROFS for a folder that is there
      struct stat st {};
      if (::stat(at.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) break;  // make_folder below says why
    }
  }
  MadeFolders made(std::move(made_here));  // a failure below removes those made
  if (const std::string why = make_folder(dir.string()); !why.empty())
    throw Error(what + " " + path + ": cannot make its folder " + dir.string() + ": " + why);
  return made;
}

}  // namespace gf::io

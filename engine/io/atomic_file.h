// Every file ganforge writes goes through here: the bytes go to
// "<path>.<pid>.tmp", which is flushed to the disk and then renamed over path,
// so a crash, a power loss or a full disk never leaves a half-written
// checkpoint, image or array, and two processes writing the same path (two
// runs of the test suite) never share a temporary: it is made exclusively,
// and where "<path>.<pid>.tmp" exists (a writer of another PID namespace
// with this process id: containers on a shared volume, machines on NFS) it is
// "<path>.<pid>-<random tag>.tmp". A SIGINT (Ctrl-C) or
// SIGTERM during a write removes the temporary and ends the process by that
// signal as before (each write installs the handler where the signal's action
// is the default), so an interrupted run leaves the previous
// complete file and no "*.tmp".
#pragma once
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace gf::io {

// The temporary write_atomic uses for path: "<path>.<process id>.tmp", its
// file name cut short where that would pass 255 bytes.
std::string temp_name(const std::string& path);

// The file a link leads to (followed through further links, the last
// one's target made absolute and normalized), where `cp` or a shell's `>`
// would write it, a dangling link's too. For a path that is a link (a path
// without one comes back absolute and normalized). Throws gf::Error("<who>:
// cannot write <given>: ...") for a loop of links, as cp refuses one.
std::string link_target(const std::string& given, const std::string& who);

class TempFileGuard;
class FolderGuard;

// For a temporary written outside write_atomic (the projector's video, which
// ffmpeg writes): creates it, empty, as write_atomic does (temp_name(path)
// made exclusively, or where that exists, a random tag after the process
// id) under a guard made here (io/temp_file_guard.h), whose hold of the
// signals on this thread lasts until the caller's guard->created(). Returns
// its name; throws gf::Error("<who>: cannot write <path>: <why>").
std::string create_guarded_temporary(const std::string& path, std::unique_ptr<TempFileGuard>& guard,
                                     const std::string& who);

// Calls write with a binary stream on temp_name(path), then renames it to path.
// On failure removes the temporary file and throws gf::Error("<who>: cannot
// write <path>: <why>"), naming path, never the temporary ("cannot write
// <path>: ..." alone for an empty who).
// A path that is a link to a file has its file replaced (the link stays), a
// dangling link has its file created, as `cp` does; a character device, a
// pipe or an open descriptor (/dev/null, a FIFO, /dev/stdout, /dev/fd/N,
// whatever they lead to) is written in place by appending, never replaced; a
// block device or a socket is refused. A file replaced keeps its permissions.
// Link::replace is for the names a program chooses in a folder it was handed
// (a run folder's report.html): a link there is replaced by a plain file, so
// a copied folder whose report.html leads to stats.jsonl, or outside the
// folder, never has that file overwritten.
enum class Link { follow, replace };
void write_atomic(const std::string& path, const std::function<void(std::ostream&)>& write, const std::string& who,
                  Link link = Link::follow);

// Files that belong together, whose old and new versions must not be mixed
// (psp encode's latents.npy and names.txt: the rows of one are the names of
// the other): add() writes each file's temporary as write_atomic does, and
// commit() renames them all only once every one is written, so that a
// failure on any (a full disk on the last) leaves every old file as it was.
// A device, a pipe or a descriptor's name is written in place by add(), as
// write_atomic does (it cannot wait for the others); nothing is renamed
// before commit(). The set removes the temporaries it has not renamed when
// destroyed. add() throws as write_atomic, and for a path added twice.
class AtomicFileSet {
 public:
  AtomicFileSet();
  ~AtomicFileSet();
  AtomicFileSet(const AtomicFileSet&) = delete;
  AtomicFileSet& operator=(const AtomicFileSet&) = delete;

  void add(const std::string& path, const std::function<void(std::ostream&)>& write, const std::string& who);
  void commit();

  // For writers that take an optional set: add() to `together`, or
  // write_atomic alone when it is null.
  static void write(AtomicFileSet* together, const std::string& path, const std::function<void(std::ostream&)>& write,
                    const std::string& who);

 private:
  struct Staged;
  std::vector<std::unique_ptr<Staged>> staged_;
};

// Flushes a file's (or a folder's entries') data to the disk, as
// write_atomic does before and after its rename; false when that fails (some
// file systems refuse a folder's fsync). For outputs built of many files
// (dataset_tool's folder).
bool sync_path(const std::string& path);

// Creates the folder dir (and its parents) for a program's outputs; throws
// gf::Error("<what> <dir>: <why>") when it cannot, e.g. "--outdir out.png:
// Not a directory" for a file in the way, "--outdir out: a link to 'gone',
// which does not exist" for a dangling link.
void create_folder(const std::string& dir, const std::string& what);

// Makes a new, empty folder to build `path` in before a rename (and its
// parent folders, as create_folder): "<path>.<pid>.tmp" made exclusively
// (mkdir), or where that exists, "<path>.<pid>-<random tag>.tmp", as
// write_atomic's temporaries: a folder of another writer with this process
// id (another PID namespace, an interrupted run) is neither used nor
// removed. Returns its name; throws gf::Error("<what> <path>: <why>").
std::string create_temporary_folder(const std::string& path, const std::string& what);

// Checks, making nothing, that create_folder(dir) can make dir: its first
// existing ancestor (dir itself when it exists) is a folder, one the process
// may write into when folders are to be made under it. For a program's
// up-front checks, so that a run refused later leaves no new empty folder;
// the program makes dir when it writes its first output. Throws
// gf::Error("<what> <dir>: <why>") as create_folder does.
void check_folder(const std::string& dir, const std::string& what);

// Checks, making nothing, that create_parent_folder(path) can make the folder
// of path: its first existing ancestor is a folder (not a file or a dangling
// link), one the process may write into when folders are to be made under it
// (an existing folder's permissions are left to the write). For the up-front checks of a program, so
// that a refused run leaves no new folder behind. Throws gf::Error("<what>
// <path>: cannot make its folder <dir>: <why>"), why being strerror's text
// (Not a directory, Permission denied) or "<link> is a link to '<target>',
// which does not exist".
void check_parent_folder(const std::string& path, const std::string& what);

// The folders create_parent_folder made for a file, removed again (those
// still empty, innermost first) when this is destroyed before keep(): an
// output whose write fails (a full disk, ffmpeg dying under --lerp-video)
// leaves no new folder behind; meanwhile the temporaries' signal handler
// removes them too (io::FolderGuard), so a Ctrl-C leaves none either.
class MadeFolders {
 public:
  MadeFolders();
  explicit MadeFolders(std::vector<std::string> innermost_first);
  MadeFolders(MadeFolders&& other) noexcept;
  MadeFolders& operator=(MadeFolders&&) = delete;
  MadeFolders(const MadeFolders&) = delete;
  ~MadeFolders();
  void keep();    // the file is written: the folders stay
  void remove();  // now (a program's own signal handling, say); then nothing is held
  const std::vector<std::string>& folders() const { return dirs_; }

 private:
  std::vector<std::string> dirs_;
  std::vector<std::unique_ptr<FolderGuard>> guards_;  // the signal handler's hold on dirs_
};

// path as the system will resolve it once its missing folders are made: the
// part after its deepest existing ancestor normalized lexically (a folder
// yet to be made is no link, so "made/../keep" is "keep" and
// "have/made/../../x" is "have/../x"); the existing part as given. For a
// program that asks whether its output exists before it makes folders
// (dataset_tool --dest took "made/../keep" for a new folder and renamed
// over the keep that was there).
std::string path_once_made(const std::string& path);

// Creates the folder that will hold the file path (and its parents), so that
// every output file flag takes a path in a new folder as --outdir does
// (`--out results/logits.npy`); nothing for a name without a folder. Throws
// gf::Error("<what> <path>: cannot make its folder <dir>: <why>"). Returns
// the folders it made, to be kept once the file is written.
[[nodiscard]] MadeFolders create_parent_folder(const std::string& path, const std::string& what);

}  // namespace gf::io
